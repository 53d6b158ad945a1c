"""The Helm chart: helm lints and renders it for every environment, the rendering is the kustomize
package's objects (strictly valid, hardened), and values.schema.json refuses values that would
break the image."""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tests_support import require_tool

from autocoder.backends.deploy import kubernetes, yamlout
from autocoder.backends.deploy.helm import (
    HelmCheck,
    base_values,
    chart_version,
    diff_values,
    env_values,
    helm_check,
    helm_drafts,
    merge_values,
)
from autocoder.backends.deploy.kubeschema import validate_manifest
from autocoder.backends.deploy.model import SECRETS_DIR, Egress, SecretEnv, Target, targets
from autocoder.compiler import compile_source
from autocoder.ir.models import IR, Ingress, Tls

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/architecture.yaml"))
TEMPLATES = ROOT / "component_templates" / "helm" / "templates"
SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
DIGEST = "sha256:" + "ab" * 32


@dataclasses.dataclass
class Chart:
    ir: IR
    targets: list[Target]
    files: dict[str, bytes]  # chart-relative path -> content
    dir: Path

    def text(self, path: str) -> str:
        return self.files[path].decode("utf-8")

    def values(self, path: str) -> dict[str, Any]:
        docs = yamlout.load_all(self.text(path))
        return docs[0] if docs else {}

    def merged(self, t: Target) -> dict[str, Any]:
        """values.yaml with values-<env>.yaml over it, as helm coalesces them (a fresh copy)."""
        return copy.deepcopy(self._merged[t.env])

    @functools.cached_property
    def _merged(self) -> dict[str, dict[str, Any]]:
        base = self.values("values.yaml")
        return {
            t.env: merge_values(base, self.values(f"values-{t.env}.yaml")) for t in self.targets
        }

    def schema(self) -> dict[str, Any]:
        return json.loads(self.text("values.schema.json"))  # type: ignore[no-any-return]

    @functools.cached_property
    def validator(self) -> jsonschema.Draft7Validator:
        return jsonschema.Draft7Validator(self.schema())


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Chart]:
    """Every example's chart, written once per module: example name -> chart."""
    root = tmp_path_factory.mktemp("helm")
    out = {}
    for name in EXAMPLES:
        ir = compile_source(ROOT / "examples" / name).ir
        assert ir is not None, name
        found = targets(ir)
        prefix = f"helm/{found[0].app}/"
        files = {}
        for draft in helm_drafts(found, ir):
            assert draft.path.startswith(prefix), draft.path
            files[draft.path.removeprefix(prefix)] = draft.content
            path = root / name / draft.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(draft.content)
        out[name] = Chart(ir, found, files, root / name / "helm" / found[0].app)
    return out


def require_helm() -> str:
    """The helm on PATH; skip without one, unless AUTOCODER_REQUIRE_TOOLS=1 (then fail)."""
    helm = shutil.which("helm")
    require_tool("helm", helm is not None, "not on PATH: the chart was not linted or rendered")
    assert helm is not None
    return helm


@pytest.fixture(scope="module")
def checked(charts: dict[str, Chart]) -> dict[str, HelmCheck]:
    require_helm()
    return {name: helm_check(c.dir, [t.env for t in c.targets]) for name, c in charts.items()}


def run_helm(
    verb: str, chart: Chart, t: Target, values: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``helm <verb> <app> <chart> -f <values> --namespace <app>-<env> ...`` (``values``
    relative to the chart, or absolute)."""
    command = [require_helm(), verb, t.app, str(chart.dir), "-f", str(chart.dir / values)]
    return subprocess.run(
        [*command, "--namespace", t.namespace, *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def canonical(objects: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps(o, sort_keys=True) for o in objects)


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


# --- drafts and values --------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_chart_files(charts: dict[str, Chart], example: str) -> None:
    chart = charts[example]
    envs = [t.env for t in chart.targets]
    templates = {f"templates/{p.name}" for p in TEMPLATES.iterdir()}
    assert set(chart.files) == {
        "Chart.yaml",
        ".helmignore",
        "values.yaml",
        "values.schema.json",
        *(f"values-{env}.yaml" for env in envs),
        *templates,
    }
    assert "templates/namespace.yaml" not in templates  # helm installs into --namespace
    for path in templates:  # Go templates, copied verbatim
        assert chart.files[path] == (TEMPLATES / path.removeprefix("templates/")).read_bytes()
    meta = chart.values("Chart.yaml")
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == chart.targets[0].app == chart.dir.name
    assert meta["version"] == chart.ir.system.version and SEMVER.match(meta["version"])
    assert meta["appVersion"] == chart.ir.system.version
    assert meta["type"] == "application"
    assert meta["kubeVersion"] == ">=1.27.0-0"
    assert meta["description"]


def test_chart_version_is_semver() -> None:
    assert chart_version("1.4.0") == "1.4.0"
    assert chart_version("2.0.0-rc.1+build.5") == "2.0.0-rc.1+build.5"
    assert chart_version("1.4") == "1.4.0"
    assert chart_version("v2") == "2.0.0+v2"
    assert all(SEMVER.match(chart_version(v)) for v in ("7", "v2", "2024.01.3-beta", "x"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_drafts_are_deterministic(charts: dict[str, Chart], example: str) -> None:
    chart = charts[example]
    again = helm_drafts(targets(chart.ir), chart.ir)
    prefix = f"helm/{chart.targets[0].app}/"
    assert {d.path.removeprefix(prefix): d.content for d in again} == chart.files


def _redundant(overrides: Any, base: Any, path: str = "") -> list[str]:
    """Leaves of a values file that only repeat values.yaml."""
    if isinstance(overrides, dict) and isinstance(base, dict):
        return [
            found
            for key, value in overrides.items()
            if key in base
            for found in _redundant(value, base[key], f"{path}.{key}")
        ]
    return [path] if overrides == base else []


@pytest.mark.parametrize("example", EXAMPLES)
def test_env_values_hold_only_differences(charts: dict[str, Chart], example: str) -> None:
    chart = charts[example]
    base = chart.values("values.yaml")
    assert "environment" not in base  # an install names its environment
    for t in chart.targets:
        overrides = chart.values(f"values-{t.env}.yaml")
        assert overrides["environment"] == t.env
        assert _redundant(overrides, base) == [], t.env
        # Read back from YAML, values.yaml + values-<env>.yaml are the environment's values.
        assert chart.merged(t) == env_values(t), t.env


def test_values_diff_and_merge_follow_helm() -> None:
    base = {"a": {"x": 1, "y": 2}, "l": [1, 2], "k": "v"}
    values = {"a": {"x": 1, "y": 3}, "l": [1], "n": True}
    overrides = diff_values(values, base)
    assert overrides == {"a": {"y": 3}, "l": [1], "n": True, "k": None}
    assert merge_values(base, overrides) == values


# --- values.schema.json -------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_schema_accepts_every_environment(charts: dict[str, Chart], example: str) -> None:
    chart = charts[example]
    schema = chart.schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    for t in chart.targets:
        errors = [e.message for e in validator.iter_errors(chart.merged(t))]
        assert errors == [], t.env
    assert schema["properties"]["environment"]["enum"] == [t.env for t in chart.targets]
    # Defaults alone are not an install: the environment (and its secrets) must be chosen.
    assert not validator.is_valid(chart.values("values.yaml"))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(values: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = values
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return change


_DELETE = object()
BAD_VALUES = {
    "image tag latest": _set("image.tag", "latest"),
    "image digest not sha256": _set("image.digest", "sha256:abc"),
    "pull policy unknown": _set("image.pullPolicy", "Sometimes"),
    "no replicas": _set("replicaCount", 0),
    "port out of range": _set("port", 70000),
    "unknown environment": _set("environment", "qa"),
    "unknown log level": _set("logLevel", "trace"),
    "cpu not a quantity": _set("resources.limits.cpu", "lots"),
    "memory missing": _set("resources.requests.memory", _DELETE),
    "PORT as plain config": _set("config.PORT", "9000"),
    "credential as plain config": _set("config.DATABASE_URL", "postgresql://u:p@db/app"),
    "config value not a string": _set("config.FEATURE", 1),
    "probe path moved": _set("probes.readiness.path", "/"),
    "writable root filesystem": _set("securityContext.readOnlyRootFilesystem", False),
    "privilege escalation": _set("securityContext.allowPrivilegeEscalation", True),
    "capabilities kept": _set("securityContext.capabilities.drop", []),
    "root user": _set("podSecurityContext.runAsUser", 0),
    "no seccomp": _set("podSecurityContext.seccompProfile", _DELETE),
    "security context removed": _set("securityContext", _DELETE),
    "token mounted": _set("serviceAccount.automount", True),
    "unknown top-level value": _set("hostNetwork", True),
    "unknown nested value": _set("ingress.paths", ["/"]),
    "secret without key": _set("secrets", [{"env": "API_KEYS", "secret": "s"}]),
    "file for a variable the service reads only from env": lambda v: v["secrets"].append(
        {"env": "BROKER_URL", "secret": "s", "key": "url", "asFile": True}
    ),
    "egress without destination": _set("networkPolicy.egress", [{"port": 443}]),
    "ingress without host": lambda v: v["ingress"].update(enabled=True, host=""),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_rejects_bad_values(charts: dict[str, Chart], case: str) -> None:
    for chart in charts.values():
        for t in chart.targets:
            values = chart.merged(t)
            BAD_VALUES[case](values)
            assert not chart.validator.is_valid(values), (chart.targets[0].app, t.env)


@pytest.mark.parametrize("example", EXAMPLES)
def test_schema_holds_the_ir_policy(charts: dict[str, Chart], example: str) -> None:
    chart = charts[example]
    validator = jsonschema.Draft7Validator(chart.schema())
    ceiling = chart.ir.policy.resources.max_replicas
    for t in chart.targets:
        values = chart.merged(t)
        if ceiling is not None:
            too_many = {**values, "replicaCount": ceiling + 1}
            assert not validator.is_valid(too_many)
        if chart.ir.policy.security.auth == "api_key":
            without_keys = [s for s in values["secrets"] if s["env"] != "API_KEYS"]
            assert not validator.is_valid({**values, "secrets": without_keys})
        if t.sqlite:  # one SQLite file per pod: no second replica
            assert not validator.is_valid({**values, "replicaCount": 2})
        else:  # no data volume: the database URL must come from a secret
            without_db = [s for s in values["secrets"] if s["env"] != "DATABASE_URL"]
            assert not validator.is_valid({**values, "secrets": without_db})


# --- helm ---------------------------------------------------------------------------------------


def test_helm_check_without_helm_says_not_run(
    charts: dict[str, Chart], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    result = helm_check(charts[EXAMPLES[0]].dir, ["dev"])
    assert not result.ran and not result.ok
    assert "not run" in result.reason
    assert result.errors == [] and result.rendered == {}


@pytest.mark.parametrize("example", EXAMPLES)
def test_helm_lints_and_renders_every_environment(
    charts: dict[str, Chart], checked: dict[str, HelmCheck], example: str
) -> None:
    result = checked[example]
    assert result.ran and result.errors == [], result.errors
    assert set(result.rendered) == {t.env for t in charts[example].targets}


def test_helm_check_reports_failures(charts: dict[str, Chart], tmp_path: Path) -> None:
    require_helm()
    chart = charts["todo-api"]
    broken = tmp_path / chart.dir.name
    shutil.copytree(chart.dir, broken)
    envs = [t.env for t in chart.targets]
    with (broken / f"values-{envs[0]}.yaml").open("a", encoding="utf-8") as fh:
        fh.write("replicaCount: 0\n")
    result = helm_check(broken, envs)
    assert result.ran and not result.ok
    assert set(result.rendered) == set(envs[1:])
    assert any(e.startswith(f"helm lint (values-{envs[0]}.yaml)") for e in result.errors)
    assert any(
        e.startswith(f"helm template (values-{envs[0]}.yaml)") and "replicaCount" in e
        for e in result.errors
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_rendered_objects_are_valid(
    charts: dict[str, Chart], checked: dict[str, HelmCheck], example: str
) -> None:
    for t in charts[example].targets:
        for obj in checked[example].rendered[t.env]:
            assert validate_manifest(obj) == [], (t.env, obj["kind"], obj["metadata"]["name"])


@pytest.mark.parametrize("example", EXAMPLES)
def test_rendering_is_the_kustomize_package(
    charts: dict[str, Chart], checked: dict[str, HelmCheck], example: str
) -> None:
    """Same objects as kubernetes.objects(target), except the Namespace helm does not own."""
    for t in charts[example].targets:
        expected = [o for o in kubernetes.objects(t) if o["kind"] != "Namespace"]
        rendered = checked[example].rendered[t.env]
        assert canonical(rendered) == canonical(expected), t.env


@pytest.mark.parametrize("example", EXAMPLES)
def test_rendering_is_hardened(
    charts: dict[str, Chart], checked: dict[str, HelmCheck], example: str
) -> None:
    for t in charts[example].targets:
        objects = checked[example].rendered[t.env]
        kinds = Counter(o["kind"] for o in objects)
        assert "Namespace" not in kinds and "Secret" not in kinds
        for obj in objects:
            assert obj["metadata"]["namespace"] == t.namespace
            assert obj["metadata"]["labels"] == t.common_labels
        assert bool(kinds["HorizontalPodAutoscaler"]) == (t.autoscaling is not None)
        assert bool(kinds["PodDisruptionBudget"]) == t.highly_available
        assert bool(kinds["Ingress"]) == (t.ingress is not None)
        assert bool(kinds["ServiceMonitor"]) == t.service_monitor
        secrets = by_kind(objects, "ExternalSecret")
        assert sorted(o["metadata"]["name"] for o in secrets) == t.secret_names
        for secret in secrets:
            assert secret["spec"]["secretStoreRef"] == {
                "kind": "ClusterSecretStore",
                "name": "secret-store",
            }
        (account,) = by_kind(objects, "ServiceAccount")
        assert account["automountServiceAccountToken"] is False

        (deployment,) = by_kind(objects, "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["terminationGracePeriodSeconds"] == 40
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
        assert all("hostPath" not in v for v in pod["volumes"])
        assert ("affinity" in pod) == t.highly_available
        (container,) = pod["containers"]
        assert container["image"] == t.image and not container["image"].endswith(":latest")
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "capabilities": {"drop": ["ALL"]},
        }
        assert container["resources"] == {"requests": t.requests, "limits": t.limits}
        assert container["ports"] == [{"name": "http", "containerPort": t.port, "protocol": "TCP"}]
        for probe, path in (
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
            ("startupProbe", "/healthz"),
        ):
            assert container[probe]["httpGet"]["path"] == path
            assert container[probe]["httpGet"]["port"] == "http"
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        files = any(s.as_file for s in t.secrets)
        assert mounts == {"/tmp"} | ({"/app/data"} if t.sqlite else set()) | (
            {SECRETS_DIR} if files else set()
        )
        (config,) = by_kind(objects, "ConfigMap")
        assert config["data"] == t.config
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["checksum/config"] == kubernetes.config_checksum(t.config)
        env = {e["name"]: e.get("value") or e["valueFrom"] for e in container.get("env", [])}
        assert env == {
            (s.file_env if s.as_file else s.env): (
                s.file_path if s.as_file else {"secretKeyRef": {"name": s.secret, "key": s.key}}
            )
            for s in t.secrets
        }

        policies = {o["metadata"]["name"]: o["spec"] for o in by_kind(objects, "NetworkPolicy")}
        assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        ports = {p["port"] for rule in policies[t.app]["egress"] for p in rule["ports"]}
        assert 53 in ports
        assert ("postgresql" in t.engines) == (5432 in ports)
        assert (t.broker is not None) == (4222 in ports)


CHANGED_TARGETS: dict[str, Callable[[Target], Target]] = {
    "traefik ingress without tls": lambda t: dataclasses.replace(
        t, ingress=Ingress(host="app.example.org", path="/api", class_name="traefik")
    ),
    "nginx ingress with issuer": lambda t: dataclasses.replace(
        t,
        ingress=Ingress(
            host="app.example.org",
            tls=Tls(secret_name="app-tls", issuer="letsencrypt"),
            annotations={"a.example/x": "1"},
        ),
    ),
    "pinned image": lambda t: dataclasses.replace(
        t, image_digest=DIGEST, pull_policy="Always", image_repository="registry.example/app"
    ),
    "egress everywhere": lambda t: dataclasses.replace(
        t,
        egress=[
            Egress("webhook", 443, "hooks.example.com"),
            Egress("webhook", 8080, "hooks.partners"),
            Egress("poll", 80, "gateway"),
            Egress("database", 5432),
            Egress("otel", 4317, "collector.observability.svc.cluster.local"),
            Egress("poll", 9000, "10.1.2.3"),
        ],
    ),
    "more config": lambda t: dataclasses.replace(
        t, config={**t.config, "OTEL_SERVICE_NAME": "x", "FEATURE_FLAGS": "a,b"}
    ),
    "secret files from one Secret, beside variables": lambda t: dataclasses.replace(
        t,
        secrets=[
            SecretEnv("JWT_SECRET", "shared", "jwt"),
            SecretEnv("PAYMENT_TOKEN", "payments", "token"),
            SecretEnv("API_KEYS", "shared", "api-keys"),
            SecretEnv("DATABASE_URL", "db", "url"),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CHANGED_TARGETS))
def test_values_express_other_targets(charts: dict[str, Chart], case: str, tmp_path: Path) -> None:
    """Values written for a changed target render that target's kustomize objects."""
    chart = charts["todo-api"]
    dev = next(t for t in chart.targets if t.sqlite and not t.highly_available)
    changed = CHANGED_TARGETS[case](dev)
    values = diff_values(env_values(changed), base_values(chart.targets))
    path = tmp_path / "values-case.yaml"
    path.write_text(yamlout.dump(values), encoding="utf-8")
    result = run_helm("template", chart, changed, str(path))
    assert result.returncode == 0, result.stderr
    expected = [o for o in kubernetes.objects(changed) if o["kind"] != "Namespace"]
    assert canonical(yamlout.load_all(result.stdout)) == canonical(expected)


HELM_REJECTS = {
    "image.tag=latest": "/image/tag",
    "replicaCount=0": "/replicaCount",
    "securityContext.readOnlyRootFilesystem=false": "/securityContext/readOnlyRootFilesystem",
    "securityContext.allowPrivilegeEscalation=true": "/securityContext/allowPrivilegeEscalation",
    "securityContext.runAsUser=0": "/securityContext/runAsUser",
    "podSecurityContext.runAsNonRoot=false": "/podSecurityContext/runAsNonRoot",
    "serviceAccount.automount=true": "/serviceAccount/automount",
    "hostNetwork=true": "hostNetwork",
}


@pytest.mark.parametrize("example", EXAMPLES)
def test_helm_refuses_values_that_break_the_image(charts: dict[str, Chart], example: str) -> None:
    chart = charts[example]
    t = chart.targets[-1]
    values = f"values-{t.env}.yaml"
    control = run_helm("template", chart, t, values, "--set", f"replicaCount={t.replicas}")
    assert control.returncode == 0, control.stderr
    for setting, where in HELM_REJECTS.items():
        result = run_helm("template", chart, t, values, "--set", setting)
        assert result.returncode != 0, setting
        assert "schema" in result.stderr and where in result.stderr, (setting, result.stderr)


@pytest.mark.parametrize("example", EXAMPLES)
def test_install_notes_render(charts: dict[str, Chart], example: str) -> None:
    """helm install renders NOTES.txt; a broken one fails the install after the objects."""
    chart = charts[example]
    for t in chart.targets:
        result = run_helm("install", chart, t, f"values-{t.env}.yaml", "--dry-run=client")
        assert result.returncode == 0, result.stderr
        notes = result.stdout.split("NOTES:", 1)[1]
        assert f"kubectl label namespace {t.namespace} pod-security" in notes
        for name in t.secret_names:
            assert f"  {name}: " in notes
