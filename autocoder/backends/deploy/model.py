"""What the deployment back end knows about one environment, derived from the IR only.

Every generator of the deployment package (container, Kubernetes, Helm) and the cross-layer
check read a ``Target`` per environment; none of them reads the IR's environments directly, so
they cannot disagree about a port, a secret or a probe path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from autocoder.ir.endpoints import ServiceEndpoints, service_endpoints
from autocoder.ir.models import IR, Autoscaling, Broker, Environment, Ingress
from autocoder.kinds import STORAGE_KINDS, registry

# The container image: user, directories and the command of the generated Dockerfile.
CONTAINER_UID = 10001
CONTAINER_GID = 10001
APP_DIR = "/app"
DATA_DIR = "/app/data"  # embedded SQLite files live here (an emptyDir or a volume)
TMP_DIR = "/tmp"  # noqa: S108 - the container's scratch mount point, an emptyDir
COMMAND = ["python", "-m", "app"]

# Defaults an environment gets when deployment.yaml sets no resources.
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMITS = {"cpu": "500m", "memory": "256Mi"}

BROKER_PORTS = {"nats": 4222, "redis": 6379}
DATABASE_PORTS = {"postgresql": 5432}
DNS_PORT = 53

# Environment variables the generated service reads (app/settings.py, runtime/http.py,
# runtime/logs.py). The cross-layer check compares this list with what each layer provides.
SERVICE_ENV_VARS = (
    "AUTOCODER_ENV",
    "HOST",
    "PORT",
    "LOG_LEVEL",
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "DATABASE_POOL_SIZE",
    "MIGRATE_ON_START",
    "API_KEYS",
    "API_KEYS_FILE",
    "JWT_SECRET",
    "JWT_SECRET_FILE",
    "JWT_PUBLIC_KEY_FILE",
    "JWT_AUDIENCE",
    "JWT_ISSUER",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "AUTOCODER_TRACING",
)

# The credential each auth scheme needs: (environment variable, conventional secret key).
AUTH_CREDENTIALS = {"api_key": ("API_KEYS", "api-keys"), "bearer": ("JWT_SECRET", "jwt-secret")}

# Secrets the service also reads from a file (``<NAME>_FILE``): mounted as files, never put in
# the environment, where crash dumps, ``/proc/<pid>/environ`` and child processes would see them.
FILE_SECRETS = frozenset({"DATABASE_URL", "API_KEYS", "JWT_SECRET"})
SECRETS_DIR = "/run/secrets"

_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


def dns_label(text: str, *, limit: int = 63) -> str:
    """A valid DNS-1123 label from any name: ``Order_Pipeline`` -> ``order-pipeline``."""
    label = _DNS_LABEL.sub("-", text.lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)[:limit].strip("-")
    return label or "app"


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable whose value comes from a secret, by reference only."""

    env: str  # variable name in the container, e.g. DATABASE_URL
    secret: str  # name of the Kubernetes Secret (made by an ExternalSecret)
    key: str  # key inside that Secret (and property of the remote secret)

    @property
    def as_file(self) -> bool:
        """Mounted as a file under SECRETS_DIR; the container gets ``<env>_FILE`` instead."""
        return self.env in FILE_SECRETS

    @property
    def file_env(self) -> str:
        return f"{self.env}_FILE"

    @property
    def file_path(self) -> str:
        """``DATABASE_URL`` -> ``/run/secrets/database-url``."""
        return f"{SECRETS_DIR}/{self.env.lower().replace('_', '-')}"


@dataclass(frozen=True)
class Egress:
    """A destination the service connects to, for NetworkPolicy allows."""

    purpose: str  # "database", "broker", "webhook", "poll", "otel"
    port: int
    host: str | None = None  # known for URLs in config; None for secret URLs


@dataclass
class Target:
    """One environment of the system, ready to be deployed."""

    env: str  # environment name, e.g. "prod"
    app: str  # DNS-1123 name of the system: Deployment, Service, ... names
    namespace: str  # <app>-<env>
    version: str
    description: str
    image_repository: str
    image_tag: str
    image_digest: str | None
    pull_policy: str
    port: int
    replicas: int
    autoscaling: Autoscaling | None
    requests: dict[str, str]
    limits: dict[str, str]
    ingress: Ingress | None
    config: dict[str, str]  # plain environment variables (a ConfigMap)
    secrets: list[SecretEnv]  # from Secrets: files (as_file) or env vars (secretKeyRef)
    sqlite: bool  # some store is embedded SQLite: needs a writable DATA_DIR
    engines: list[str]  # database engines in use ("sqlite", "postgresql")
    broker: Broker | None
    egress: list[Egress]
    service_monitor: bool
    auth: str  # "none", "api_key", "bearer"
    routes: list[str] = field(default_factory=list)  # every path the service serves
    # the service's own health, readiness and metrics paths (autocoder/ir/endpoints.py)
    endpoints: ServiceEndpoints = field(default_factory=ServiceEndpoints)
    stateless: bool = False  # no store: its SQLite file holds only the migration table
    implied_secrets: list[SecretEnv] = field(default_factory=list)  # not in deployment.yaml

    @property
    def image(self) -> str:
        """``repo:tag``, or ``repo:tag@sha256:...`` when a digest is pinned."""
        ref = f"{self.image_repository}:{self.image_tag}"
        return f"{ref}@{self.image_digest}" if self.image_digest else ref

    @property
    def max_replicas(self) -> int:
        return max(self.replicas, self.autoscaling.max_replicas if self.autoscaling else 0)

    @property
    def highly_available(self) -> bool:
        """More than one replica at some point: PDB and anti-affinity are due."""
        return self.max_replicas > 1 or (
            self.autoscaling is not None and self.autoscaling.min_replicas > 1
        )

    @property
    def labels(self) -> dict[str, str]:
        """Selector labels (stable across versions; never put the version in a selector)."""
        return {"app.kubernetes.io/name": self.app, "app.kubernetes.io/instance": self.app}

    @property
    def common_labels(self) -> dict[str, str]:
        return {
            **self.labels,
            "app.kubernetes.io/version": self.version,
            "app.kubernetes.io/part-of": self.app,
            "app.kubernetes.io/managed-by": "autocoder",
            "autocoder.dev/environment": self.env,
        }

    @property
    def secret_names(self) -> list[str]:
        return sorted({s.secret for s in self.secrets})


def _url_egress(purpose: str, url: str) -> Egress | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return None
    if port is None or not parts.hostname:
        return None
    return Egress(purpose, port, parts.hostname)


def effective_configs(env: Environment, ir: IR) -> dict[str, dict[str, Any]]:
    """Every component's config in ``env``, its overrides applied (by the kind's own rule)."""
    kinds = registry()
    overrides = {o.component: o.config for o in env.overrides if o.config}
    out = {}
    for c in ir.components:
        config = dict(c.config)
        if c.name in overrides:
            config = kinds[c.kind].apply_override(config, dict(overrides[c.name]))
        out[c.name] = config
    return out


def _egress(env: Environment, ir: IR) -> list[Egress]:
    found: list[Egress] = []
    for engine in sorted({d.engine for d in env.databases}):
        if engine in DATABASE_PORTS:
            found.append(Egress("database", DATABASE_PORTS[engine]))
    if env.broker is not None:
        found.append(Egress("broker", BROKER_PORTS[env.broker.kind]))
    for _, config in sorted(effective_configs(env, ir).items()):
        webhook = config.get("webhook")
        if isinstance(webhook, dict) and isinstance(webhook.get("url"), str):
            found.append(_url_egress("webhook", webhook["url"]) or Egress("webhook", 443))
        poll = config.get("http_poll")
        if isinstance(poll, dict) and isinstance(poll.get("url"), str):
            found.append(_url_egress("poll", poll["url"]) or Egress("poll", 443))
    otel = env.env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if otel:
        found.append(_url_egress("otel", otel) or Egress("otel", 4317))
    unique: dict[tuple[str, int, str | None], Egress] = {}
    for e in found:
        unique.setdefault((e.purpose, e.port, e.host), e)
    return list(unique.values())


def _routes(ir: IR, endpoints: ServiceEndpoints) -> list[str]:
    paths = {endpoints.liveness, endpoints.readiness, endpoints.metrics}
    for c in ir.components:
        for route in c.routes:
            paths.add(route.path)
    return sorted(paths)


def _engine(env: Environment, store: str) -> str:
    database = env.database(store)
    return database.engine if database is not None else "sqlite"


def target(env: Environment, ir: IR) -> Target:
    app = dns_label(ir.system.name)
    endpoints = service_endpoints(ir)
    secrets: list[SecretEnv] = []
    urls = {(d.url.secret, d.url.key) for d in env.databases if d.url is not None}
    for secret, key in sorted(urls)[:1]:  # the service has one DATABASE_URL for every store
        secrets.append(SecretEnv("DATABASE_URL", secret, key))
    if env.broker is not None:
        secrets.append(SecretEnv("BROKER_URL", env.broker.url.secret, env.broker.url.key))
    for declared in env.secrets:
        secrets.append(SecretEnv(declared.env, declared.ref.secret, declared.ref.key))
    implied: list[SecretEnv] = []
    credential = AUTH_CREDENTIALS.get(ir.policy.security.auth)
    if credential and not any(e.env in (credential[0], f"{credential[0]}_FILE") for e in secrets):
        conventional = SecretEnv(credential[0], dns_label(f"{app}-{env.name}-auth"), credential[1])
        secrets.append(conventional)
        implied.append(conventional)
    stores = [c.name for c in ir.components if c.kind in STORAGE_KINDS]
    engines = sorted({_engine(env, store) for store in stores})
    # With no PostgreSQL database the service keeps its data in an SQLite file (even with no
    # store: the migration table lives there), so that file needs a writable directory.
    sqlite = "postgresql" not in engines or "sqlite" in engines
    config = {
        "AUTOCODER_ENV": env.name,
        "HOST": "0.0.0.0",  # noqa: S104 - inside the container the server listens on its interfaces
        "PORT": str(env.port),
        "LOG_LEVEL": env.log_level,
        "MIGRATE_ON_START": "true",
    }
    pool = [d.pool_size for d in env.databases if d.pool_size]
    if pool:
        config["DATABASE_POOL_SIZE"] = str(pool[0])
    config.update(env.env)
    return Target(
        env=env.name,
        app=app,
        namespace=dns_label(f"{app}-{env.name}"),
        version=ir.system.version,
        description=env.description,
        image_repository=env.image.repository,
        image_tag=env.image.tag,
        image_digest=env.image.digest,
        pull_policy=env.image.pull_policy,
        port=env.port,
        replicas=env.replicas,
        autoscaling=env.autoscaling,
        requests={**DEFAULT_REQUESTS, **env.resources.requests.model_dump(exclude_none=True)},
        limits={**DEFAULT_LIMITS, **env.resources.limits.model_dump(exclude_none=True)},
        ingress=env.ingress,
        config=dict(sorted(config.items())),
        secrets=secrets,
        sqlite=sqlite,
        engines=engines,
        broker=env.broker,
        egress=_egress(env, ir),
        service_monitor=env.service_monitor,
        auth=ir.policy.security.auth,
        routes=_routes(ir, endpoints),
        endpoints=endpoints,
        implied_secrets=implied,
        stateless=not stores,
    )


def targets(ir: IR) -> list[Target]:
    """One target per environment, in the IR's order (sorted by name)."""
    return [target(env, ir) for env in ir.environments]
