"""The cross-layer check: clean on every generated environment, and each disagreement between
layers it exists for is caught on a deliberately broken copy."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autocoder.backends.deploy import consistency, deploy_drafts, kubernetes
from autocoder.backends.deploy.model import Target, targets
from autocoder.backends.python_service import service_drafts
from autocoder.compiler import compile_source
from autocoder.ir.models import IR

ROOT = Path(__file__).resolve().parents[3]
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def ir() -> IR:
    result = compile_source(ROOT / "examples" / "todo-api")
    assert result.ir is not None
    return result.ir


@pytest.fixture(scope="module")
def files(ir: IR) -> dict[str, bytes]:
    return {d.path: d.content for d in [*service_drafts(ir), *deploy_drafts(ir)]}


def prod(ir: IR) -> Target:
    return next(t for t in targets(ir) if t.env == "prod")


def dev(ir: IR) -> Target:
    return next(t for t in targets(ir) if t.env == "dev")


def container(objects: list[Obj]) -> Obj:
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_every_generated_environment_is_consistent(ir: IR, files: dict[str, bytes]) -> None:
    for target in targets(ir):
        objects = kubernetes.objects(target)
        assert consistency.check_environment(target, objects, files, where="x") == []
    assert consistency.check_container(files) == []


def _probe_path(objects: list[Obj]) -> None:
    container(objects)["readinessProbe"]["httpGet"]["path"] = "/ready"


def _container_port(objects: list[Obj]) -> None:
    container(objects)["ports"][0]["containerPort"] = 9999


def _service_target_port(objects: list[Obj]) -> None:
    service = next(o for o in objects if o["kind"] == "Service")
    service["spec"]["ports"][0]["targetPort"] = 8000


def _ingress_backend(objects: list[Obj]) -> None:
    ingress = next(o for o in objects if o["kind"] == "Ingress")
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"] = 81


def _missing_database_url(objects: list[Obj]) -> None:
    c = container(objects)
    c["env"] = [e for e in c["env"] if e["name"] not in ("DATABASE_URL", "DATABASE_URL_FILE")]


def _missing_api_keys(objects: list[Obj]) -> None:
    c = container(objects)
    c["env"] = [e for e in c["env"] if e["name"] not in ("API_KEYS", "API_KEYS_FILE")]


def _undeclared_secret(objects: list[Obj]) -> None:
    objects[:] = [
        o
        for o in objects
        if not (o["kind"] == "ExternalSecret" and o["spec"]["target"]["name"] == "todo-api-keys")
    ]


def _unknown_env(objects: list[Obj]) -> None:
    container(objects)["env"].append({"name": "FEATURE_FLAGS", "value": "x"})


def _port_config(objects: list[Obj]) -> None:
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    config["data"]["PORT"] = "8000"


def _file_env_elsewhere(objects: list[Obj]) -> None:
    (item,) = [e for e in container(objects)["env"] if e["name"] == "API_KEYS_FILE"]
    item["value"] = "/run/secrets/api-key"


def _secrets_not_mounted(objects: list[Obj]) -> None:
    c = container(objects)
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["mountPath"] != "/run/secrets"]


def _file_from_a_missing_key(objects: list[Obj]) -> None:
    volume = next(v for v in pod(objects)["volumes"] if "projected" in v)
    source = next(s["secret"] for s in volume["projected"]["sources"])
    source["items"][0]["key"] = "password"


def pod(objects: list[Obj]) -> Obj:
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]  # type: ignore[no-any-return]


BREAKS: dict[str, tuple[Callable[[list[Obj]], None], str]] = {
    "probe on a route the service does not serve": (_probe_path, "does not serve"),
    "container port other than the server's": (_container_port, "containerPort"),
    "Service sending to another port": (_service_target_port, "sends traffic to port"),
    "Ingress to a port no Service exposes": (_ingress_backend, "which no Service exposes"),
    "DATABASE_URL not given": (_missing_database_url, "reads DATABASE_URL"),
    "API_KEYS not given under api_key auth": (_missing_api_keys, "needs API_KEYS"),
    "Secret without an ExternalSecret": (_undeclared_secret, "no ExternalSecret declares"),
    "a variable nobody defines": (_unknown_env, "FEATURE_FLAGS"),
    "PORT other than the environment's port": (_port_config, "listens on PORT"),
    "a secret file at a path nothing mounts": (_file_env_elsewhere, "provides that file"),
    "the secret files volume not mounted": (_secrets_not_mounted, "provides that file"),
    "a secret file from a key no ExternalSecret makes": (
        _file_from_a_missing_key,
        "key 'password' of Secret",
    ),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_each_disagreement_is_caught(ir: IR, files: dict[str, bytes], name: str) -> None:
    breaker, expected = BREAKS[name]
    target = prod(ir)
    objects = copy.deepcopy(kubernetes.objects(target))
    breaker(objects)
    found = consistency.check_environment(target, objects, files, where="overlays/prod")
    assert any(expected in f.message for f in found), [f.message for f in found]
    assert all(f.file == "overlays/prod" for f in found)


def test_sqlite_behind_several_replicas_is_caught(ir: IR, files: dict[str, bytes]) -> None:
    target = dev(ir)
    objects = copy.deepcopy(kubernetes.objects(target))
    next(o for o in objects if o["kind"] == "Deployment")["spec"]["replicas"] = 2
    found = consistency.check_environment(target, objects, files, where="overlays/dev")
    assert any("embedded SQLite behind 2 replicas" in f.message for f in found)


def test_sqlite_without_a_writable_data_directory_is_caught(
    ir: IR, files: dict[str, bytes]
) -> None:
    target = dev(ir)
    objects = copy.deepcopy(kubernetes.objects(target))
    c = container(objects)
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["mountPath"] != "/app/data"]
    found = consistency.check_environment(target, objects, files, where="overlays/dev")
    assert any("nothing writable is mounted" in f.message for f in found)


def test_a_health_route_the_runtime_no_longer_serves_is_caught(
    ir: IR, files: dict[str, bytes]
) -> None:
    broken = dict(files)
    runtime = "service/app/runtime/http.py"
    broken[runtime] = files[runtime].replace(b'"/readyz"', b'"/ready"')
    target = prod(ir)
    found = consistency.check_environment(target, kubernetes.objects(target), broken, where="x")
    assert any("'/readyz'" in f.message and "does not serve" in f.message for f in found)


def test_the_image_must_start_what_the_service_provides(files: dict[str, bytes]) -> None:
    broken = dict(files)
    del broken["service/app/__main__.py"]
    assert any("no app/__main__.py" in f.message for f in consistency.check_container(broken))
    wrong = dict(files)
    wrong["deploy/Dockerfile"] = files["deploy/Dockerfile"].replace(
        b'CMD ["python", "-m", "app"]', b'CMD ["uvicorn", "app.main:app"]'
    )
    assert any("CMD" in f.message for f in consistency.check_container(wrong))
    exposed = dict(files)
    exposed["deploy/Dockerfile"] = files["deploy/Dockerfile"].replace(b"EXPOSE 8000", b"EXPOSE 80")
    assert any("EXPOSEs 80" in f.message for f in consistency.check_container(exposed))


def test_helm_and_kustomize_must_agree(ir: IR) -> None:
    target = prod(ir)
    kustomize = kubernetes.objects(target)
    assert consistency.compare_renderings(target, kustomize, kustomize, where="x") == []
    helm = copy.deepcopy(kustomize)
    container(helm)["securityContext"]["readOnlyRootFilesystem"] = False
    helm = [o for o in helm if o["kind"] != "PodDisruptionBudget"]
    found = consistency.compare_renderings(target, kustomize, helm, where="x")
    messages = " ".join(f.message for f in found)
    assert "securityContext differs" in messages
    assert "PodDisruptionBudget" in messages
