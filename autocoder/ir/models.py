"""IR v1: the pydantic models every back end reads.

The IR is fully resolved: defaults are applied, API routes carry their full path and parsed
parameters, environments are merged along ``extends``. Every node has a stable ``id`` and an
``origin`` (``file#/json/pointer``) pointing back at the blueprint element it came from.
References between nodes are kept by name; the semantic passes check they resolve.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

IR_MAJOR = 1
IR_MINOR = 1
IR_VERSION = f"{IR_MAJOR}.{IR_MINOR}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class PortClass(StrEnum):
    DATA = "data"
    CONTROL = "control"
    ERROR = "error"


class SystemInfo(_Model):
    name: str
    version: str
    description: str = ""


class TypeDef(_Model):
    """A named data type; ``schema_`` is the blueprint's JSON Schema subset, as written."""

    id: str
    name: str
    origin: str
    description: str = ""
    schema_: dict[str, Any] = Field(alias="schema")


class Port(_Model):
    id: str
    name: str
    component: str
    direction: Direction
    type: str
    port_class: PortClass = Field(default=PortClass.DATA, alias="class")
    required: bool = True
    description: str = ""
    origin: str


class Backoff(_Model):
    initial_ms: int = 100
    max_ms: int = 10_000
    multiplier: float = 2.0
    jitter: float = 0.1


class Retry(_Model):
    attempts: int
    backoff: Backoff = Backoff()


class CircuitBreaker(_Model):
    failure_threshold: int
    reset_after_ms: int


class RateLimit(_Model):
    rate: int
    per_ms: int = 1000
    burst: int


class Capabilities(_Model):
    """Applied in order: validate, timeout, retry, circuit_breaker, rate_limit, metrics."""

    validate_: bool = Field(default=True, alias="validate")
    timeout_ms: int | None = None
    retry: Retry | None = None
    circuit_breaker: CircuitBreaker | None = None
    rate_limit: RateLimit | None = None
    metrics: bool = True


class Logic(_Model):
    mode: Literal["declarative", "custom"] = "declarative"
    owner: Literal["human", "llm"] | None = None
    description: str = ""


class CallRef(_Model):
    component: str
    operation: str


class QueryParam(_Model):
    name: str
    type: Literal["string", "integer", "number", "boolean"]
    required: bool = False
    description: str = ""
    default: Any = None
    enum: list[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None


class Response(_Model):
    type: str | None = None
    status: int
    many: bool = False
    description: str = ""


class Route(_Model):
    id: str
    origin: str
    operation_id: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
    path: str  # base_path + route path
    path_params: list[str]
    summary: str = ""
    description: str = ""
    tags: list[str] = []
    deprecated: bool = False
    request: str | None = None
    response: Response
    query: list[QueryParam] = []
    call: CallRef | None = None
    emit: str | None = None
    auth: bool
    contract: str | None = None  # a contract API's operation: its JSON pointer in the document


class ContractDocument(_Model):
    """The OpenAPI document an api component serves (its contract), as plain JSON data."""

    file: str  # the path architecture.yaml names, relative to it
    version: Literal["3.0", "3.1"]
    document: dict[str, Any]  # (canonical IR JSON sorts its keys)
    # The same document as compact JSON in its own key order, which the service serves (paths
    # appear in docs in the author's order); "" in IR files written before it existed.
    text: str = ""

    def as_written(self) -> dict[str, Any]:
        """The document with the key order of the input."""
        return cast(dict[str, Any], json.loads(self.text)) if self.text else self.document


class Component(_Model):
    id: str
    name: str
    kind: str
    origin: str
    description: str = ""
    inputs: list[Port] = []
    outputs: list[Port] = []
    config: dict[str, Any] = {}
    routes: list[Route] = []  # api components: routes are lifted out of config
    contract: ContractDocument | None = None  # a contract api: the document it serves
    capabilities: Capabilities = Capabilities()
    logic: Logic = Logic()

    def port(self, name: str) -> Port | None:
        for port in (*self.inputs, *self.outputs):
            if port.name == name:
                return port
        return None


class Endpoint(_Model):
    component: str
    port: str

    def __str__(self) -> str:
        return f"{self.component}.{self.port}"


class Qos(_Model):
    buffer: int = 64
    delivery: Literal["at_most_once", "at_least_once", "exactly_once"] = "at_least_once"
    fanout: Literal["broadcast", "round_robin"] = "broadcast"
    feedback: bool = False


class Binding(_Model):
    id: str
    origin: str
    source: Endpoint
    targets: list[Endpoint]
    qos: Qos = Qos()
    description: str = ""


class Call(_Model):
    """A request/reply interaction: an API route or a store sink calling a store operation."""

    id: str
    origin: str
    caller: str
    target: CallRef


class Security(_Model):
    auth: Literal["none", "api_key", "bearer"] = "none"
    api_key_header: str = "X-API-Key"
    allowed_origins: list[str] = []


class Slo(_Model):
    origin: str
    route: str
    p95_ms: float | None = None
    throughput_rps: float | None = None


class ResourceCeilings(_Model):
    max_replicas: int | None = None
    max_cpu: str | None = None
    max_memory: str | None = None


class SuppressionRecord(_Model):
    origin: str
    code: str
    reason: str
    expires: str | None = None
    target: str | None = None
    owner: str | None = None


class Policy(_Model):
    security: Security = Security()
    slos: list[Slo] = []
    resources: ResourceCeilings = ResourceCeilings()
    forbidden_dependencies: list[str] = []
    suppressions: list[SuppressionRecord] = []


class SecretRef(_Model):
    secret: str
    key: str


class Image(_Model):
    repository: str
    tag: str
    digest: str | None = None
    pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"


class ResourceAmounts(_Model):
    cpu: str | None = None
    memory: str | None = None


class Resources(_Model):
    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()


class Autoscaling(_Model):
    min_replicas: int
    max_replicas: int
    target_cpu_percent: int = 70


class Tls(_Model):
    secret_name: str
    issuer: str | None = None


class Ingress(_Model):
    host: str
    path: str = "/"
    class_name: str | None = None
    tls: Tls | None = None
    annotations: dict[str, str] = {}


class Database(_Model):
    store: str
    engine: Literal["sqlite", "postgresql"]
    url: SecretRef | None = None
    path: str | None = None
    pool_size: int | None = None


class Broker(_Model):
    kind: Literal["nats", "redis"]
    url: SecretRef


class EnvSecret(_Model):
    env: str
    ref: SecretRef


class Override(_Model):
    component: str
    config: dict[str, Any] = {}
    capabilities: dict[str, Any] = {}


class Environment(_Model):
    id: str
    name: str
    origin: str
    description: str = ""
    extends: list[str] = []  # the resolved chain, nearest first
    image: Image
    replicas: int = 1
    port: int = 8000
    resources: Resources = Resources()
    autoscaling: Autoscaling | None = None
    ingress: Ingress | None = None
    databases: list[Database] = []  # one per store; stores not listed by the user use sqlite
    broker: Broker | None = None
    secrets: list[EnvSecret] = []
    env: dict[str, str] = {}
    overrides: list[Override] = []
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    service_monitor: bool = False

    def database(self, store: str) -> Database | None:
        return next((d for d in self.databases if d.store == store), None)


class SourceFile(_Model):
    role: Literal["architecture", "deployment", "contract"]
    name: str
    generated: bool = False  # deployment.yaml made from defaults because none was given


class IR(_Model):
    """The whole compiled system. Lists are sorted by id, except routes (declaration order)."""

    ir_version: str = IR_VERSION
    autocoder_version: str
    content_hash: str = ""
    system: SystemInfo
    sources: list[SourceFile]
    types: list[TypeDef] = []
    components: list[Component] = []
    bindings: list[Binding] = []
    calls: list[Call] = []
    policy: Policy = Policy()
    environments: list[Environment] = []

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)

    def type(self, name: str) -> TypeDef | None:
        return next((t for t in self.types if t.name == name), None)
