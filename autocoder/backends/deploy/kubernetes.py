"""Kubernetes manifests of one environment: the objects ``kubectl kustomize overlays/<env>``
renders, built from a ``Target`` only.

The service never calls the Kubernetes API, so there is no Role or RoleBinding and its
ServiceAccount token is not mounted. Secrets are only referenced: an ExternalSecret per Secret
name makes the Secret in the cluster from the secret store. Secrets the service can read from a
file are mounted read-only under SECRETS_DIR (``<NAME>_FILE`` holds the path); the others are
``secretKeyRef`` environment variables.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
from typing import Any

from autocoder.backends.deploy.model import (
    CONTAINER_GID,
    CONTAINER_UID,
    DATA_DIR,
    DNS_PORT,
    SECRETS_DIR,
    TMP_DIR,
    Egress,
    Target,
)

Obj = dict[str, Any]

PORT_NAME = "http"
SERVICE_PORT = 80
TERMINATION_GRACE_SECONDS = 40  # the server drains for 30 s after SIGTERM
REVISION_HISTORY_LIMIT = 5
SECRET_STORE = {"kind": "ClusterSecretStore", "name": "secret-store"}
SECRET_REFRESH = "1h"  # noqa: S105 - how often an ExternalSecret re-reads the store, not a password
SCRAPE_INTERVAL = "30s"
MONITORING_NAMESPACE = "monitoring"
DEFAULT_DENY = "default-deny"
ANYWHERE = "0.0.0.0/0"
# Cloud metadata endpoints hand out node credentials; no workload of ours needs them.
METADATA_CIDR = "169.254.169.254/32"
INGRESS_NAMESPACES = {"nginx": "ingress-nginx", "traefik": "traefik"}
CONFIG_CHECKSUM = "checksum/config"
SECRETS_VOLUME = "secrets"
# The hardening every pod and container gets (the Helm chart pins the same values).
POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": CONTAINER_UID,
    "runAsGroup": CONTAINER_GID,
    "fsGroup": CONTAINER_GID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "privileged": False,
    "runAsNonRoot": True,
    "runAsUser": CONTAINER_UID,
    "capabilities": {"drop": ["ALL"]},
}
SECRET_FILE_MODE = 0o440  # readable through the pod's fsGroup, writable by nobody


def config_map_name(target: Target) -> str:
    return f"{target.app}-config"


def config_checksum(data: dict[str, str]) -> str:
    """sha256 of the ConfigMap data; in the pod template, so a config change rolls the pods."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _meta(target: Target, name: str, **extra: Any) -> Obj:
    return {
        "name": name,
        "namespace": target.namespace,
        "labels": dict(target.common_labels),
        **extra,
    }


def namespace(target: Target) -> Obj:
    restricted = {
        f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": target.namespace, "labels": {**target.common_labels, **restricted}},
    }


def service_account(target: Target) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(target, target.app),
        "automountServiceAccountToken": False,
    }


def config_map(target: Target) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(target, config_map_name(target)),
        "data": dict(target.config),
    }


def external_secrets(target: Target) -> list[Obj]:
    keys: dict[str, set[str]] = {}
    for secret in target.secrets:
        keys.setdefault(secret.secret, set()).add(secret.key)
    return [
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": _meta(target, name),
            "spec": {
                "refreshInterval": SECRET_REFRESH,
                "secretStoreRef": dict(SECRET_STORE),
                "target": {"name": name, "creationPolicy": "Owner"},
                "data": [
                    {"secretKey": key, "remoteRef": {"key": name, "property": key}}
                    for key in sorted(keys[name])
                ],
            },
        }
        for name in target.secret_names
    ]


def _probe(path: str, *, period: int, failures: int) -> Obj:
    return {
        "httpGet": {"path": path, "port": PORT_NAME, "scheme": "HTTP"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _env(target: Target) -> list[Obj]:
    """One variable per secret, in the target's order: a file path or a secretKeyRef."""
    return [
        {"name": s.file_env, "value": s.file_path}
        if s.as_file
        else {"name": s.env, "valueFrom": {"secretKeyRef": {"name": s.secret, "key": s.key}}}
        for s in target.secrets
    ]


def secret_files_volume(target: Target) -> Obj | None:
    """The projected volume mounted at SECRETS_DIR: one source per Secret, by name, each file
    named after the variable it replaces."""
    files: dict[str, dict[str, str]] = {}  # secret -> file name -> key
    for s in target.secrets:
        if s.as_file:
            files.setdefault(s.secret, {})[s.file_path.rsplit("/", 1)[-1]] = s.key
    if not files:
        return None
    sources = [
        {
            "secret": {
                "name": name,
                "items": [{"key": key, "path": path} for path, key in sorted(files[name].items())],
            }
        }
        for name in sorted(files)
    ]
    return {
        "name": SECRETS_VOLUME,
        "projected": {"defaultMode": SECRET_FILE_MODE, "sources": sources},
    }


def _container(target: Target) -> Obj:
    mounts: list[Obj] = [{"name": "tmp", "mountPath": TMP_DIR}]
    if target.sqlite:
        mounts.append({"name": "data", "mountPath": DATA_DIR})
    if secret_files_volume(target) is not None:
        mounts.append({"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True})
    container: Obj = {
        "name": target.app,
        "image": target.image,
        "imagePullPolicy": target.pull_policy,
        "ports": [{"name": PORT_NAME, "containerPort": target.port, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": config_map_name(target)}}],
    }
    if target.secrets:
        container["env"] = _env(target)
    container.update(
        {
            "resources": {"requests": dict(target.requests), "limits": dict(target.limits)},
            "securityContext": copy.deepcopy(CONTAINER_SECURITY_CONTEXT),
            # Startup allows a minute for migrations before liveness takes over.
            "startupProbe": _probe(target.endpoints.liveness, period=2, failures=30),
            "livenessProbe": _probe(target.endpoints.liveness, period=10, failures=3),
            "readinessProbe": _probe(target.endpoints.readiness, period=5, failures=3),
            "volumeMounts": mounts,
        }
    )
    return container


def _spread(target: Target) -> Obj:
    selector = {"matchLabels": dict(target.labels)}
    return {
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": selector,
                        },
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": selector,
            }
        ],
    }


def _strategy(target: Target) -> Obj:
    # Embedded SQLite lives on one pod: never run an old and a new pod side by side.
    if target.sqlite:
        return {"type": "Recreate"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def deployment(target: Target) -> Obj:
    volumes: list[Obj] = [{"name": "tmp", "emptyDir": {}}]
    if target.sqlite:
        volumes.append({"name": "data", "emptyDir": {}})
    files = secret_files_volume(target)
    if files is not None:
        volumes.append(files)
    pod: Obj = {
        "serviceAccountName": target.app,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": copy.deepcopy(POD_SECURITY_CONTEXT),
        "containers": [_container(target)],
        "volumes": volumes,
    }
    if target.highly_available:
        pod.update(_spread(target))
    replicas = target.autoscaling.min_replicas if target.autoscaling else target.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(target, target.app),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": REVISION_HISTORY_LIMIT,
            "selector": {"matchLabels": dict(target.labels)},
            "strategy": _strategy(target),
            "template": {
                "metadata": {
                    "labels": dict(target.common_labels),
                    "annotations": {CONFIG_CHECKSUM: config_checksum(target.config)},
                },
                "spec": pod,
            },
        },
    }


def service(target: Target) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(target, target.app),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(target.labels),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": SERVICE_PORT,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def autoscaler(target: Target) -> Obj | None:
    if target.autoscaling is None:
        return None
    scaling = target.autoscaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(target, target.app),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target.app},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_percent,
                        },
                    },
                }
            ],
        },
    }


def disruption_budget(target: Target) -> Obj | None:
    if not target.highly_available:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(target, target.app),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": dict(target.labels)},
            # A crash-looping pod must not block node drains.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def ingress_namespace(class_name: str | None) -> str:
    """The namespace the ingress controller of a class runs in (NetworkPolicy source)."""
    name = class_name or "nginx"
    return INGRESS_NAMESPACES.get(name, name)


def in_cluster(host: str) -> bool:
    """``db``, ``db.data``, ``db.data.svc`` and ``db.data.svc.cluster.local`` are Services."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return False
    return "." not in host or host.endswith((".svc", ".svc.cluster.local", ".cluster.local"))


def ambiguous(host: str) -> bool:
    """``name.namespace`` and ``example.com`` look alike: either a Service or a public host."""
    return host.count(".") == 1 and not in_cluster(host)


def _namespace_peer(name: str) -> Obj:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def egress_peers(egress: Egress) -> list[Obj]:
    """Where an egress may go. With no known host (a URL kept in a secret), or a two-label host
    that may be ``service.namespace`` or a public domain, both are allowed."""
    any_namespace: Obj = {"namespaceSelector": {}}
    outside: Obj = {"ipBlock": {"cidr": ANYWHERE, "except": [METADATA_CIDR]}}
    if egress.host is None or ambiguous(egress.host):
        return [any_namespace, outside]
    return [any_namespace] if in_cluster(egress.host) else [outside]


def _egress_rules(target: Target) -> list[Obj]:
    dns = {
        "to": [
            {
                **_namespace_peer("kube-system"),
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [
            {"protocol": "UDP", "port": DNS_PORT},
            {"protocol": "TCP", "port": DNS_PORT},
        ],
    }
    rules = [dns]
    seen: set[str] = set()
    for egress in sorted(target.egress, key=lambda e: (e.port, e.host is None, e.host or "")):
        rule = {"to": egress_peers(egress), "ports": [{"protocol": "TCP", "port": egress.port}]}
        key = json.dumps(rule, sort_keys=True)
        if key not in seen:
            seen.add(key)
            rules.append(rule)
    return rules


def network_policies(target: Target) -> list[Obj]:
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(target, DEFAULT_DENY),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    http = [{"protocol": "TCP", "port": PORT_NAME}]
    allowed = []
    if target.ingress is not None:
        source = ingress_namespace(target.ingress.class_name)
        allowed.append({"from": [_namespace_peer(source)], "ports": http})
    if target.service_monitor:
        allowed.append({"from": [_namespace_peer(MONITORING_NAMESPACE)], "ports": http})
    spec: Obj = {
        "podSelector": {"matchLabels": dict(target.labels)},
        "policyTypes": ["Ingress", "Egress"],
    }
    if allowed:
        spec["ingress"] = allowed
    spec["egress"] = _egress_rules(target)
    allow = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(target, target.app),
        "spec": spec,
    }
    return [deny, allow]


def ingress(target: Target) -> Obj | None:
    if target.ingress is None:
        return None
    wanted = target.ingress
    annotations = dict(wanted.annotations)
    if wanted.tls is not None and wanted.tls.issuer:
        annotations["cert-manager.io/cluster-issuer"] = wanted.tls.issuer
    metadata = _meta(target, target.app)
    if annotations:
        metadata["annotations"] = dict(sorted(annotations.items()))
    spec: Obj = {}
    if wanted.class_name:
        spec["ingressClassName"] = wanted.class_name
    if wanted.tls is not None:
        spec["tls"] = [{"hosts": [wanted.host], "secretName": wanted.tls.secret_name}]
    backend = {"service": {"name": target.app, "port": {"number": SERVICE_PORT}}}
    spec["rules"] = [
        {
            "host": wanted.host,
            "http": {"paths": [{"path": wanted.path, "pathType": "Prefix", "backend": backend}]},
        }
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }


def service_monitor(target: Target) -> Obj | None:
    if not target.service_monitor:
        return None
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta(target, target.app),
        "spec": {
            "selector": {"matchLabels": dict(target.labels)},
            "endpoints": [
                {"port": PORT_NAME, "path": target.endpoints.metrics, "interval": SCRAPE_INTERVAL}
            ],
        },
    }


def objects(target: Target) -> list[Obj]:
    """Every object of one environment, in a fixed order. No Role or RoleBinding: the service
    never calls the Kubernetes API."""
    found: list[Obj | None] = [
        namespace(target),
        service_account(target),
        config_map(target),
        *external_secrets(target),
        service(target),
        deployment(target),
        autoscaler(target),
        disruption_budget(target),
        *network_policies(target),
        ingress(target),
        service_monitor(target),
    ]
    return [o for o in found if o is not None]
