"""The cross-layer check: the IR, the service and the deployment package must agree.

Reads what was generated (the service's files, the Dockerfile, each environment's rendered
manifests, and the Helm rendering when there is one) and checks that the layers fit together:
probes hit routes the service serves, every port on the way from the Ingress to the server is
the same, every environment variable the service needs is provided (``<NAME>_FILE`` by a
mounted Secret file), every Secret a manifest references is declared, and embedded SQLite never
sits behind more than one replica.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from autocoder.backends.deploy.model import (
    AUTH_CREDENTIALS,
    COMMAND,
    DATA_DIR,
    SECRETS_DIR,
    SERVICE_ENV_VARS,
    Target,
)
from autocoder.ir.endpoints import OWN_PATHS

SERVICE_PREFIX = "service/"
DOCKERFILE = "deploy/Dockerfile"


@dataclass(frozen=True)
class Inconsistency:
    """One disagreement between layers, located in a generated file."""

    file: str
    message: str
    hint: str


def _find(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def _get(value: Any, *path: str | int) -> Any:
    for token in path:
        if isinstance(value, dict) and isinstance(token, str):
            value = value.get(token)
        elif (
            isinstance(value, list) and isinstance(token, int) and -len(value) <= token < len(value)
        ):
            value = value[token]
        else:
            return None
    return value


def _served_paths(files: dict[str, bytes], target: Target) -> set[str]:
    """Paths the generated service really serves: its own endpoints as main.py mounts them (at
    the runtime's default paths, found in its source, or at the paths main.py gives), plus the
    blueprint's routes."""
    runtime = files.get(f"{SERVICE_PREFIX}app/runtime/http.py", b"").decode("utf-8", "replace")
    main = files.get(f"{SERVICE_PREFIX}app/main.py", b"").decode("utf-8", "replace")
    own = target.endpoints
    fixed: set[str] = set()
    if "health_router(" in main:
        for name in ("liveness", "readiness", "metrics"):
            path = getattr(own, name)
            source = runtime if path == OWN_PATHS[name] else main
            if f'"{path}"' in source:
                fixed.add(path)
    mounted = (own.liveness, own.readiness, own.metrics)
    return fixed | {p for p in target.routes if p not in mounted}


def check_environment(
    target: Target,
    objects: list[dict[str, Any]],
    files: dict[str, bytes],
    *,
    where: str,
) -> list[Inconsistency]:
    """Check one environment's rendered manifests (``where`` names them in findings)."""
    found: list[Inconsistency] = []

    def report(message: str, hint: str) -> None:
        found.append(Inconsistency(where, f"environment {target.env!r}: {message}", hint))

    served = _served_paths(files, target)
    deployments = _find(objects, "Deployment")
    if len(deployments) != 1:
        report(f"expected one Deployment, found {len(deployments)}", "regenerate the package")
        return found
    deployment = deployments[0]
    pod = _get(deployment, "spec", "template", "spec") or {}
    containers = pod.get("containers") or []
    app = next((c for c in containers if c.get("name") == target.app), None)
    if app is None:
        report(f"the Deployment has no container named {target.app!r}", "regenerate the package")
        return found
    ports = {p.get("name"): p.get("containerPort") for p in app.get("ports") or []}
    env_names, env_refs, config_maps = _container_env(app)
    config = _config_data(objects, config_maps)
    env_names |= set(config)
    declared = _declared_secrets(objects)
    mounted = _mounted_files(app, pod, declared)

    # Ports: the server listens on PORT; the container, probes, Service and Ingress follow it.
    listen = config.get("PORT") or _literal_env(app, "PORT")
    if str(listen) != str(target.port):
        report(
            f"the server listens on PORT={listen!r} but the environment's port is {target.port}",
            "PORT comes from the ConfigMap; regenerate the package",
        )
    if ports.get("http") != target.port:
        report(
            f"containerPort 'http' is {ports.get('http')}, the server listens on {target.port}",
            "the container port must equal deployment.yaml's `port`",
        )
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = _get(app, probe, "httpGet")
        if not isinstance(get, dict):
            if probe != "startupProbe":
                report(f"the container has no HTTP {probe}", "probes must hit the health routes")
            continue
        if get.get("path") not in served:
            report(
                f"{probe} probes {get.get('path')!r}, which the service does not serve",
                f"the service serves {', '.join(sorted(served))}",
            )
        if get.get("port") not in ("http", target.port):
            report(f"{probe} probes port {get.get('port')!r}", "probe the named port `http`")
    for service in _find(objects, "Service"):
        for port in _get(service, "spec", "ports") or []:
            target_port = port.get("targetPort")
            if target_port not in ("http", target.port):
                report(
                    f"Service {_name(service)} sends traffic to port {target_port!r}, the "
                    f"server listens on {target.port}",
                    "target the container's named port `http`",
                )
        selector = _get(service, "spec", "selector") or {}
        labels = _get(deployment, "spec", "template", "metadata", "labels") or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            report(f"Service {_name(service)} does not select the Deployment's pods", "")
    service_ports = {
        (_name(s), p.get("port"))
        for s in _find(objects, "Service")
        for p in _get(s, "spec", "ports") or []
    }
    for ingress in _find(objects, "Ingress"):
        for rule in _get(ingress, "spec", "rules") or []:
            for path in _get(rule, "http", "paths") or []:
                backend = _get(path, "backend", "service") or {}
                route = (backend.get("name"), _get(backend, "port", "number"))
                if route not in service_ports:
                    report(
                        f"Ingress {_name(ingress)} routes to {route[0]}:{route[1]}, which no "
                        "Service exposes",
                        "the Ingress backend must name the Service and its port",
                    )

    # A secret given as a file: <NAME>_FILE is a literal path that a Secret volume mounted in
    # the container provides.
    secret_refs: set[tuple[str, str | None]] = {*env_refs, *_volume_secrets(pod)}
    for item in app.get("env") or []:
        name, path = str(item.get("name")), item.get("value")
        if not name.endswith("_FILE") or path is None:
            continue
        if path in mounted:
            secret_refs.add(mounted[path])
        else:
            report(
                f"the container reads {name}={path!r}, but no Secret volume mounted in the "
                "container provides that file",
                f"mount the Secret (a projected volume) read-only at {SECRETS_DIR}",
            )

    # Environment variables the service needs.
    needed = {"AUTOCODER_ENV", "HOST", "PORT"}
    if "postgresql" in target.engines:
        needed.add("DATABASE_URL")
    credential = AUTH_CREDENTIALS.get(target.auth)
    for name in sorted(needed):
        if name not in env_names and f"{name}_FILE" not in env_names:
            report(
                f"the service reads {name}, but the container is not given it",
                "declare it in deployment.yaml (secrets or env) for this environment",
            )
    if credential and not ({credential[0], f"{credential[0]}_FILE"} & env_names):
        report(
            f"auth scheme {target.auth!r} needs {credential[0]}, but the container is not given it",
            f"declare `secrets: {{{credential[0]}: {{secret: ..., key: ...}}}}` for this "
            "environment in deployment.yaml",
        )
    if config.get("AUTOCODER_ENV") not in (None, target.env):
        report(f"AUTOCODER_ENV is {config.get('AUTOCODER_ENV')!r}", "regenerate the package")
    unknown = sorted(
        n for n in env_names if n not in SERVICE_ENV_VARS and n not in _declared_env(target)
    )
    if unknown:
        report(
            f"the container is given {', '.join(unknown)}, which neither the service nor "
            "deployment.yaml defines",
            "remove the variable or declare it in deployment.yaml",
        )

    # Every Secret referenced (env secretKeyRef, secret and projected volumes) is declared by an
    # ExternalSecret, with that key.
    for secret, key in sorted(secret_refs, key=lambda ref: (ref[0], ref[1] or "")):
        if secret not in declared:
            report(
                f"the container reads Secret {secret!r}, which no ExternalSecret declares",
                "every Secret comes from an ExternalSecret of the same environment",
            )
        elif key is not None and key not in declared[secret]:
            report(
                f"the container reads key {key!r} of Secret {secret!r}, which its "
                "ExternalSecret does not provide",
                "",
            )

    # Embedded SQLite is one file on one pod's disk.
    sqlite_volume = any(m.get("mountPath") == DATA_DIR for m in app.get("volumeMounts") or [])
    replicas = _get(deployment, "spec", "replicas") or 1
    hpa_max = max(
        (_get(h, "spec", "maxReplicas") or 0 for h in _find(objects, "HorizontalPodAutoscaler")),
        default=0,
    )
    if sqlite_volume and not target.stateless and max(replicas, hpa_max) > 1:
        report(
            f"embedded SQLite behind {max(replicas, hpa_max)} replicas: each pod would keep its "
            "own database",
            "use engine: postgresql for this environment, or one replica",
        )
    if target.sqlite and not sqlite_volume:
        report(
            f"the service keeps SQLite files in {DATA_DIR}, but nothing writable is mounted there",
            "mount an emptyDir (or a volume) at the data directory",
        )
    return found


def check_container(files: dict[str, bytes]) -> list[Inconsistency]:
    """The Dockerfile starts what the service provides and listens where it says."""
    found: list[Inconsistency] = []
    text = files.get(DOCKERFILE, b"").decode("utf-8", "replace")
    if not text:
        return [Inconsistency(DOCKERFILE, "the deployment package has no Dockerfile", "")]
    cmd = re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    expected = "[" + ", ".join(f'"{part}"' for part in COMMAND) + "]"
    if not cmd or cmd[-1].replace(" ", "") != expected.replace(" ", ""):
        found.append(Inconsistency(DOCKERFILE, f"the image's CMD is not {expected}", "regenerate"))
    if f"{SERVICE_PREFIX}app/__main__.py" not in files:
        found.append(
            Inconsistency(
                DOCKERFILE,
                "the image runs `python -m app`, but the service has no app/__main__.py",
                "regenerate the service",
            )
        )
    exposed = re.findall(r"^EXPOSE\s+(\d+)", text, re.MULTILINE)
    port_env = re.findall(r"\bPORT=(\d+)", text)
    if exposed and port_env and exposed[-1] != port_env[-1]:
        found.append(
            Inconsistency(
                DOCKERFILE,
                f"the image EXPOSEs {exposed[-1]} but sets PORT={port_env[-1]}",
                "the exposed port must be the one the server listens on",
            )
        )
    return found


def compare_renderings(
    target: Target, kustomize: list[dict[str, Any]], helm: list[dict[str, Any]], *, where: str
) -> list[Inconsistency]:
    """The Helm chart and the kustomize package must deploy the same thing."""
    found: list[Inconsistency] = []

    def report(message: str) -> None:
        found.append(
            Inconsistency(
                where,
                f"environment {target.env!r}: Helm and kustomize disagree: {message}",
                "this is a bug in Autocoder's deployment back end",
            )
        )

    def kinds(objects: list[dict[str, Any]]) -> set[str]:
        return {str(o.get("kind")) for o in objects if o.get("kind") != "Namespace"}

    if kinds(kustomize) != kinds(helm):
        report(f"kinds {sorted(kinds(kustomize) ^ kinds(helm))} are in only one of them")
    k_dep, h_dep = _find(kustomize, "Deployment"), _find(helm, "Deployment")
    if len(k_dep) != 1 or len(h_dep) != 1:
        return found
    k_pod = _get(k_dep[0], "spec", "template", "spec") or {}
    h_pod = _get(h_dep[0], "spec", "template", "spec") or {}
    for key in ("securityContext", "automountServiceAccountToken", "volumes"):
        if k_pod.get(key) != h_pod.get(key):
            report(f"pod {key} differs")
    k_c = (k_pod.get("containers") or [{}])[0]
    h_c = (h_pod.get("containers") or [{}])[0]
    for key in (
        "image",
        "ports",
        "securityContext",
        "resources",
        "livenessProbe",
        "readinessProbe",
        "volumeMounts",
    ):
        if k_c.get(key) != h_c.get(key):
            report(f"container {key} differs: {k_c.get(key)!r} != {h_c.get(key)!r}")
    k_env = _env_view(k_c, kustomize)
    h_env = _env_view(h_c, helm)
    if k_env != h_env:
        diff = sorted(set(k_env.items()) ^ set(h_env.items()))
        report(f"container environment differs: {diff}")
    return found


def _env_view(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, str]:
    _, _, maps = _container_env(container)
    view = {k: f"config:{v}" for k, v in _config_data(objects, maps).items()}
    for item in container.get("env") or []:
        ref = _get(item, "valueFrom", "secretKeyRef")
        if ref:
            view[item["name"]] = f"secret:{ref.get('name')}/{ref.get('key')}"
        elif "value" in item:
            view[item["name"]] = f"value:{item['value']}"
    return view


def _container_env(container: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]], list[str]]:
    names: set[str] = set()
    secrets: set[tuple[str, str]] = set()
    for item in container.get("env") or []:
        names.add(str(item.get("name")))
        ref = _get(item, "valueFrom", "secretKeyRef")
        if isinstance(ref, dict):
            secrets.add((str(ref.get("name")), str(ref.get("key"))))
    maps = [
        str(_get(source, "configMapRef", "name"))
        for source in container.get("envFrom") or []
        if _get(source, "configMapRef", "name")
    ]
    return names, secrets, maps


def _declared_secrets(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Secret name -> keys, as the ExternalSecrets make them."""
    declared: dict[str, set[str]] = {}
    for external in _find(objects, "ExternalSecret"):
        target_name = _get(external, "spec", "target", "name") or _name(external)
        keys = {d.get("secretKey") for d in _get(external, "spec", "data") or []}
        declared.setdefault(str(target_name), set()).update(str(k) for k in keys if k)
    return declared


def _secret_sources(volume: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]] | None]]:
    """(Secret name, items or None for every key) of a secret or projected volume."""
    if isinstance(volume.get("secret"), dict):
        return [(str(volume["secret"].get("secretName")), volume["secret"].get("items"))]
    sources = _get(volume, "projected", "sources") or []
    return [
        (str(_get(s, "secret", "name")), _get(s, "secret", "items"))
        for s in sources
        if isinstance(s.get("secret"), dict)
    ]


def _volume_secrets(pod: dict[str, Any]) -> set[tuple[str, str | None]]:
    """(Secret, key) pairs the pod's volumes read; key None when a volume takes every key."""
    refs: set[tuple[str, str | None]] = set()
    for volume in pod.get("volumes") or []:
        for secret, items in _secret_sources(volume):
            if items is None:
                refs.add((secret, None))
            refs |= {(secret, str(item.get("key"))) for item in items or []}
    return refs


def _mounted_files(
    container: dict[str, Any], pod: dict[str, Any], declared: dict[str, set[str]]
) -> dict[str, tuple[str, str | None]]:
    """Path in the container -> (Secret, key) of every file a mounted Secret volume provides."""
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    files: dict[str, tuple[str, str | None]] = {}
    for mount in container.get("volumeMounts") or []:
        in_volume: dict[str, tuple[str, str | None]] = {}
        for secret, items in _secret_sources(volumes.get(mount.get("name")) or {}):
            if items is None:  # every key of the Secret, each a file of that name
                items = [{"key": k, "path": k} for k in sorted(declared.get(secret, ()))]
            for item in items:
                in_volume[str(item.get("path"))] = (secret, str(item.get("key")))
        root = str(mount.get("mountPath", "")).rstrip("/")
        if mount.get("subPath"):
            if mount["subPath"] in in_volume:
                files[root] = in_volume[mount["subPath"]]
            continue
        files.update({f"{root}/{path}": ref for path, ref in in_volume.items()})
    return files


def _config_data(objects: list[dict[str, Any]], names: list[str]) -> dict[str, str]:
    data: dict[str, str] = {}
    for config_map in _find(objects, "ConfigMap"):
        if _name(config_map) in names:
            data.update({str(k): str(v) for k, v in (config_map.get("data") or {}).items()})
    return data


def _literal_env(container: dict[str, Any], name: str) -> str | None:
    for item in container.get("env") or []:
        if item.get("name") == name and "value" in item:
            return str(item["value"])
    return None


def _declared_env(target: Target) -> set[str]:
    return set(target.config) | {s.env for s in target.secrets}


def _name(obj: dict[str, Any]) -> str:
    return str(_get(obj, "metadata", "name"))
