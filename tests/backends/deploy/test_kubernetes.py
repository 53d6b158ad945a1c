"""Kubernetes manifests: strict schema validation, the hardening conventions, and a kustomize
package whose overlays render exactly the manifests of each environment."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests_support import require_tool

from autocoder.backends.deploy import kubeschema
from autocoder.backends.deploy.kubernetes import (
    config_checksum,
    egress_peers,
    in_cluster,
    ingress_namespace,
    objects,
)
from autocoder.backends.deploy.kustomize import json_patch, kubernetes_drafts, neutral_target
from autocoder.backends.deploy.model import (
    CONTAINER_GID,
    CONTAINER_UID,
    DATA_DIR,
    SECRETS_DIR,
    TMP_DIR,
    Egress,
    Target,
    targets,
)
from autocoder.backends.deploy.render import apply_json_patch, render_files
from autocoder.backends.deploy.yamlout import load_all
from autocoder.compiler import compile_source
from autocoder.ir.endpoints import OWN_PATHS
from autocoder.ir.models import Ingress, Tls

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/architecture.yaml"))
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CLUSTER_SCOPED = {"Namespace"}
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def systems() -> dict[str, list[Target]]:
    """Every example's environments: example name -> targets."""
    out = {}
    for name in EXAMPLES:
        result = compile_source(ROOT / "examples" / name)
        assert result.ir is not None, name
        out[name] = targets(result.ir)
    return out


def only(objs: list[Obj], kind: str) -> Obj:
    found = [o for o in objs if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def of_kind(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def canonical(objs: list[Obj]) -> Counter[str]:
    return Counter(json.dumps(o, sort_keys=True) for o in objs)


def pod_of(objs: list[Obj]) -> Obj:
    spec: Obj = only(objs, "Deployment")["spec"]["template"]["spec"]
    return spec


# -- schema validation ---------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_object_of_every_environment_validates_strictly(
    systems: dict[str, list[Target]], name: str
) -> None:
    for target in systems[name]:
        errors = [e for o in objects(target) for e in kubeschema.validate_manifest(o)]
        assert errors == [], f"{name}/{target.env}: {errors}"


def test_builtin_kinds_also_pass_kubernetes_validate_itself(
    systems: dict[str, list[Target]],
) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for found in systems.values():
        # The environment with the most objects of each example (each call takes ~20 ms).
        richest = max(found, key=lambda t: len(objects(t)))
        for obj in objects(richest):
            if (obj["apiVersion"], obj["kind"]) not in kubeschema.CRD_SCHEMAS:
                kubernetes_validate.validate(obj, kubeschema.KUBERNETES_VERSION, strict=True)


def test_validating_every_example_is_fast(systems: dict[str, list[Target]]) -> None:
    objs = [o for found in systems.values() for t in found for o in objects(t)]
    start = time.perf_counter()
    for obj in objs:
        kubeschema.validate_manifest(obj)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"{len(objs)} objects took {elapsed:.2f} s"


def test_an_unknown_field_and_a_wrong_type_are_reported(
    systems: dict[str, list[Target]],
) -> None:
    deployment = copy.deepcopy(only(objects(systems["todo-api"][0]), "Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["runAsRoot"] = False
    deployment["spec"]["replicas"] = "3"
    errors = kubeschema.validate_manifest(deployment)
    assert errors == [
        "spec.replicas: '3' is not of type 'integer', 'null'",
        "spec.template.spec.containers.0.securityContext: Additional properties are not "
        "allowed ('runAsRoot' was unexpected)",
    ]


def test_custom_resources_are_validated_strictly(systems: dict[str, list[Target]]) -> None:
    prod = next(t for t in systems["todo-api"] if t.env == "prod")
    monitor = copy.deepcopy(only(objects(prod), "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    monitor["spec"]["endpoints"][0]["interval"] = 30
    errors = kubeschema.validate_manifest(monitor)
    assert any("intervall" in e for e in errors), errors
    assert any("interval" in e and "string" in e for e in errors), errors

    external = copy.deepcopy(of_kind(objects(prod), "ExternalSecret")[0])
    external["spec"]["secretStoreRef"]["kind"] = "Vault"
    del external["spec"]["data"][0]["remoteRef"]["key"]
    errors = kubeschema.validate_manifest(external)
    assert any("secretStoreRef.kind" in e for e in errors), errors
    assert any("'key' is a required property" in e for e in errors), errors


def test_a_kind_without_a_schema_fails_closed() -> None:
    errors = kubeschema.validate_manifest(
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )
    assert errors == ["no schema for example.com/v1/Widget"]
    assert kubeschema.validate_manifest({"kind": "Pod"}) != []


def test_the_pinned_kubernetes_version_is_installed() -> None:
    assert kubeschema.available() is None


# -- the conventions -----------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_pod_is_hardened(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        objs = objects(target)
        pod = pod_of(objs)
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": CONTAINER_UID,
            "runAsGroup": CONTAINER_GID,
            "fsGroup": CONTAINER_GID,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert pod["automountServiceAccountToken"] is False
        assert only(objs, "ServiceAccount")["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == target.app
        assert pod["terminationGracePeriodSeconds"] == 40
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert key not in pod
        assert all("hostPath" not in v for v in pod["volumes"])
        (container,) = pod["containers"]
        assert container["name"] == target.app
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["privileged"] is False
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == CONTAINER_UID
        assert security["capabilities"] == {"drop": ["ALL"]}
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}
        assert container["resources"] == {"requests": target.requests, "limits": target.limits}


@pytest.mark.parametrize("name", EXAMPLES)
def test_probes_ports_image_and_environment(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        objs = objects(target)
        (container,) = pod_of(objs)["containers"]
        assert container["ports"] == [
            {"name": "http", "containerPort": target.port, "protocol": "TCP"}
        ]
        probes = {
            "livenessProbe": OWN_PATHS["liveness"],
            "readinessProbe": OWN_PATHS["readiness"],
            "startupProbe": OWN_PATHS["liveness"],
        }
        for probe, path in probes.items():
            assert container[probe]["httpGet"]["path"] == path
            assert container[probe]["httpGet"]["port"] == "http"
        assert container["image"] == target.image
        assert not container["image"].endswith(":latest") and ":" in container["image"]
        assert container["imagePullPolicy"] == target.pull_policy
        assert container["envFrom"] == [{"configMapRef": {"name": f"{target.app}-config"}}]
        assert only(objs, "ConfigMap")["data"] == target.config
        # Secrets the service reads from a file are paths; the others are secretKeyRefs.
        env = {e["name"]: e.get("value") or e["valueFrom"] for e in container.get("env", [])}
        assert env == {
            (s.file_env if s.as_file else s.env): (
                s.file_path if s.as_file else {"secretKeyRef": {"name": s.secret, "key": s.key}}
            )
            for s in target.secrets
        }


@pytest.mark.parametrize("name", EXAMPLES)
def test_secrets_are_read_only_files(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        pod = pod_of(objects(target))
        (container,) = pod["containers"]
        files = [s for s in target.secrets if s.as_file]
        assert files, target.env  # every example has API keys at least
        assert {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True} in container[
            "volumeMounts"
        ]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "secrets"]
        assert volume["projected"]["defaultMode"] == 0o440
        sources = [source["secret"] for source in volume["projected"]["sources"]]
        assert [source["name"] for source in sources] == sorted({s.secret for s in files})
        provided = {
            f"{SECRETS_DIR}/{item['path']}": (source["name"], item["key"])
            for source in sources
            for item in source["items"]
        }
        assert provided == {s.file_path: (s.secret, s.key) for s in files}
        literal = {e["name"] for e in container["env"] if "value" in e}
        assert literal == {s.file_env for s in files}
        refs = {e["name"] for e in container["env"] if "valueFrom" in e}
        assert refs == {s.env for s in target.secrets if not s.as_file}


@pytest.mark.parametrize("name", EXAMPLES)
def test_writable_directories(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        pod = pod_of(objects(target))
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes[mounts[TMP_DIR]] == {"name": mounts[TMP_DIR], "emptyDir": {}}
        assert (DATA_DIR in mounts) == target.sqlite, target.env
        if target.sqlite:
            assert "emptyDir" in volumes[mounts[DATA_DIR]]
            # SQLite is one file on one pod: never two pods at once, even during a rollout.
            assert only(objects(target), "Deployment")["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_objects_due_per_environment(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        objs = objects(target)
        pod = pod_of(objs)
        deployment = only(objs, "Deployment")
        assert len(of_kind(objs, "PodDisruptionBudget")) == int(target.highly_available)
        assert ("affinity" in pod) == target.highly_available
        assert ("topologySpreadConstraints" in pod) == target.highly_available
        if target.highly_available:
            terms = pod["affinity"]["podAntiAffinity"][
                "preferredDuringSchedulingIgnoredDuringExecution"
            ]
            assert terms[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
            (spread,) = pod["topologySpreadConstraints"]
            assert spread["topologyKey"] == "topology.kubernetes.io/zone"
            assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
            pdb = only(objs, "PodDisruptionBudget")["spec"]
            assert pdb["selector"]["matchLabels"] == target.labels
            assert pdb.get("minAvailable") == 1 or pdb.get("maxUnavailable") == 1
        hpas = of_kind(objs, "HorizontalPodAutoscaler")
        assert len(hpas) == int(target.autoscaling is not None)
        if target.autoscaling is not None:
            spec = hpas[0]["spec"]
            assert spec["minReplicas"] == target.autoscaling.min_replicas
            assert spec["maxReplicas"] == target.autoscaling.max_replicas
            assert spec["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
            assert deployment["spec"]["replicas"] == target.autoscaling.min_replicas
        else:
            assert deployment["spec"]["replicas"] == target.replicas
        monitors = of_kind(objs, "ServiceMonitor")
        assert len(monitors) == int(target.service_monitor)
        if target.service_monitor:
            spec = monitors[0]["spec"]
            assert spec["selector"]["matchLabels"] == target.labels
            assert spec["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
        assert deployment["spec"]["revisionHistoryLimit"] == 5
        for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Secret"):
            assert of_kind(objs, kind) == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_secrets_come_from_external_secrets(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        objs = objects(target)
        externals = {o["metadata"]["name"]: o["spec"] for o in of_kind(objs, "ExternalSecret")}
        assert sorted(externals) == target.secret_names
        for secret in target.secrets:
            spec = externals[secret.secret]
            assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "secret-store"}
            assert spec["target"] == {"name": secret.secret, "creationPolicy": "Owner"}
            assert spec["refreshInterval"] == "1h"
            assert {
                "secretKey": secret.key,
                "remoteRef": {"key": secret.secret, "property": secret.key},
            } in spec["data"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_names_labels_and_namespaces(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        objs = objects(target)
        keys = [(o["kind"], o["metadata"]["name"]) for o in objs]
        assert len(keys) == len(set(keys))
        for obj in objs:
            metadata = obj["metadata"]
            assert DNS_1123_LABEL.match(metadata["name"]), metadata["name"]
            assert metadata["labels"].items() >= target.common_labels.items()
            if obj["kind"] in CLUSTER_SCOPED:
                assert "namespace" not in metadata
            else:
                assert metadata["namespace"] == target.namespace
        namespace = only(objs, "Namespace")
        assert namespace["metadata"]["name"] == target.namespace
        for mode in ("enforce", "audit", "warn"):
            assert namespace["metadata"]["labels"][f"pod-security.kubernetes.io/{mode}"] == (
                "restricted"
            )


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_service_selects_the_pods(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        objs = objects(target)
        deployment = only(objs, "Deployment")["spec"]
        service = only(objs, "Service")["spec"]
        pod_labels = deployment["template"]["metadata"]["labels"]
        assert service["selector"] == deployment["selector"]["matchLabels"] == target.labels
        assert service["selector"].items() <= pod_labels.items()
        assert "app.kubernetes.io/version" not in service["selector"]
        assert service["type"] == "ClusterIP"
        assert service["ports"] == [
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
        ]


@pytest.mark.parametrize("name", EXAMPLES)
def test_ingress_when_configured(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        ingresses = of_kind(objects(target), "Ingress")
        assert len(ingresses) == int(target.ingress is not None)
        if target.ingress is None:
            continue
        ingress, wanted = ingresses[0], target.ingress
        spec = ingress["spec"]
        assert spec.get("ingressClassName") == wanted.class_name
        (rule,) = spec["rules"]
        assert rule["host"] == wanted.host
        (path,) = rule["http"]["paths"]
        assert path["path"] == wanted.path and path["pathType"] == "Prefix"
        assert path["backend"] == {"service": {"name": target.app, "port": {"number": 80}}}
        annotations = ingress["metadata"].get("annotations", {})
        assert annotations.items() >= wanted.annotations.items()
        if wanted.tls is not None:
            assert spec["tls"] == [{"hosts": [wanted.host], "secretName": wanted.tls.secret_name}]
            if wanted.tls.issuer:
                assert annotations["cert-manager.io/cluster-issuer"] == wanted.tls.issuer


def _egress_ports(policy: Obj) -> dict[int, list[Obj]]:
    out: dict[int, list[Obj]] = {}
    for rule in policy["spec"]["egress"]:
        for port in rule["ports"]:
            out.setdefault(port["port"], []).append(rule)
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_network_policies(systems: dict[str, list[Target]], name: str) -> None:
    for target in systems[name]:
        policies = {
            o["metadata"]["name"]: o["spec"] for o in of_kind(objects(target), "NetworkPolicy")
        }
        assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        allow = policies[target.app]
        assert allow["podSelector"] == {"matchLabels": target.labels}
        ports = _egress_ports({"spec": allow})
        dns = ports[53][0]
        assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
        assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
        assert dns["to"][0]["namespaceSelector"] == {
            "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
        }
        assert (5432 in ports) == ("postgresql" in target.engines), target.env
        nats = target.broker is not None and target.broker.kind == "nats"
        assert (4222 in ports) == nats, target.env
        for egress in target.egress:
            assert any(r["to"] == egress_peers(egress) for r in ports[egress.port])
        assert all(p["protocol"] == "TCP" for r in allow["egress"][1:] for p in r["ports"])
        sources = [
            r["from"][0]["namespaceSelector"]["matchLabels"] for r in allow.get("ingress", [])
        ]
        expected = []
        if target.ingress is not None:
            expected.append({"kubernetes.io/metadata.name": "ingress-nginx"})
        if target.service_monitor:
            expected.append({"kubernetes.io/metadata.name": "monitoring"})
        assert sources == expected
        assert all(
            r["ports"] == [{"protocol": "TCP", "port": "http"}] for r in allow.get("ingress", [])
        )


def test_egress_destinations() -> None:
    for host in ("db", "db.data.svc", "otel.observability.svc.cluster.local"):
        assert in_cluster(host), host
    for host in ("api.courier.example", "127.0.0.1", "10.0.0.7", "wms.eu.acme.example"):
        assert not in_cluster(host), host
    outside = egress_peers(Egress("webhook", 443, "api.courier.example"))
    assert outside == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]
    assert egress_peers(Egress("otel", 4317, "otel.observability.svc")) == [
        {"namespaceSelector": {}}
    ]
    # `name.namespace` and `example.com` look alike, and a URL kept in a secret may point
    # anywhere: both are allowed into the cluster and out of it.
    for host in ("otel-collector.observability", "example.com"):
        assert egress_peers(Egress("otel", 4317, host)) == [{"namespaceSelector": {}}, *outside]
    assert egress_peers(Egress("database", 5432)) == [{"namespaceSelector": {}}, *outside]


def test_ingress_controller_namespaces() -> None:
    assert ingress_namespace(None) == "ingress-nginx"
    assert ingress_namespace("nginx") == "ingress-nginx"
    assert ingress_namespace("traefik") == "traefik"
    assert ingress_namespace("haproxy") == "haproxy"


def test_a_config_change_rolls_the_pods(systems: dict[str, list[Target]]) -> None:
    dev = systems["todo-api"][0]
    changed = dataclasses.replace(dev, config={**dev.config, "LOG_LEVEL": "warning"})
    before = only(objects(dev), "Deployment")["spec"]["template"]["metadata"]["annotations"]
    after = only(objects(changed), "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert before["checksum/config"] == config_checksum(dev.config)
    assert before["checksum/config"] != after["checksum/config"]


# -- the kustomize package -----------------------------------------------------------------


def variants(found: list[Target]) -> list[Target]:
    """Extra environments that exercise what the examples do not: a pinned digest, an ingress
    with another controller and no TLS, one replica on PostgreSQL with no service monitor."""
    prod = next(t for t in found if t.env == "prod")
    digest = "sha256:" + "ab" * 32
    return [
        *found,
        dataclasses.replace(prod, env="pinned", namespace="x-pinned", image_digest=digest),
        dataclasses.replace(
            prod,
            env="edge",
            namespace="x-edge",
            replicas=1,
            autoscaling=None,
            service_monitor=False,
            ingress=Ingress(host="edge.example", class_name="traefik"),
        ),
        dataclasses.replace(
            prod,
            env="internal",
            namespace="x-internal",
            ingress=Ingress(host="internal.example", tls=Tls(secret_name="internal-tls")),
        ),
    ]


@pytest.fixture(scope="module")
def packages(systems: dict[str, list[Target]]) -> dict[str, tuple[list[Target], dict[str, str]]]:
    """Every example with its variants: name -> (targets, kustomize files by path)."""
    out = {}
    for name, found in systems.items():
        extended = variants(found)
        out[name] = (extended, {d.path: d.content.decode() for d in kubernetes_drafts(extended)})
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_overlays_render_the_manifests_in_python(
    packages: dict[str, tuple[list[Target], dict[str, str]]], name: str
) -> None:
    found, files = packages[name]
    for target in found:
        rendered = render_files(files, target.env)
        assert canonical(rendered) == canonical(objects(target)), target.env


@pytest.mark.parametrize("name", EXAMPLES)
def test_overlays_render_the_manifests_with_kubectl(
    packages: dict[str, tuple[list[Target], dict[str, str]]], name: str, tmp_path: Path
) -> None:
    kubectl = shutil.which("kubectl")
    require_tool("kubectl", kubectl is not None, "install kubectl (with kustomize) on PATH")
    assert kubectl is not None
    found, files = packages[name]
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    for target in found:
        result = subprocess.run(
            [kubectl, "kustomize", str(tmp_path / "kubernetes" / "overlays" / target.env)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        rendered = load_all(result.stdout)
        assert canonical(rendered) == canonical(objects(target)), target.env


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_package_layout(
    packages: dict[str, tuple[list[Target], dict[str, str]]], name: str
) -> None:
    found, files = packages[name]
    drafts = kubernetes_drafts(found)
    assert {d.path: d.content.decode() for d in drafts} == files  # deterministic
    paths = [d.path for d in drafts]
    assert len(paths) == len(set(paths))
    assert "kubernetes/base/kustomization.yaml" in paths
    for target in found:
        assert f"kubernetes/overlays/{target.env}/kustomization.yaml" in paths
    for path, text in files.items():
        assert path.startswith("kubernetes/") and path.endswith(".yaml")
        assert text.startswith("# "), path
        assert "Generated by Autocoder" in text and "do not edit" in text, path
        assert load_all(text), path
        assert "kind: Secret\n" not in text
        if path.endswith("kustomization.yaml"):
            (kustomization,) = load_all(text)
            for transformer in ("labels", "commonLabels", "commonAnnotations", "namePrefix"):
                assert transformer not in kustomization, path
        if "/patches/" in path:
            (ops,) = load_all(text)
            assert ops and all(op["op"] in ("add", "replace", "remove") for op in ops)
    # The base is environment-neutral: no secret of any environment, no env-only objects.
    base = [load_all(t)[0] for p, t in files.items() if p.startswith("kubernetes/base/")]
    kinds = {o["kind"] for o in base}
    assert kinds >= {"Kustomization", "Deployment", "Service", "ConfigMap", "NetworkPolicy"}
    assert not kinds & {"ExternalSecret", "Namespace", "Ingress", "HorizontalPodAutoscaler"}
    neutral = neutral_target(found)
    assert neutral.secrets == [] and neutral.image_repository == neutral.app


def test_json_patch() -> None:
    old = {"a": 1, "b": {"c/d": [1, 2], "e~": "x"}, "gone": True}
    new = {"a": 2, "b": {"c/d": [1, 3], "e~": "x", "f": [1]}, "z": None}
    ops = json_patch(old, new)
    assert ops == [
        {"op": "remove", "path": "/gone"},
        {"op": "replace", "path": "/a", "value": 2},
        {"op": "replace", "path": "/b/c~1d/1", "value": 3},
        {"op": "add", "path": "/b/f", "value": [1]},
        {"op": "add", "path": "/z", "value": None},
    ]
    assert apply_json_patch(old, ops) == new
    assert json_patch([1, 2], [1, 2, 3]) == [{"op": "replace", "path": "", "value": [1, 2, 3]}]
    assert json_patch({"x": 1}, {"x": True}) == [{"op": "replace", "path": "/x", "value": True}]
    assert json_patch(old, old) == []
