"""The component kind registry: what each kind accepts (ports, config, operations, overrides).

Built-in kinds are declared here as data. Packages add kinds through the ``autocoder.kinds``
entry-point group; an entry point resolves to a ``KindSpec`` whose ``config_schema`` is a JSON
Schema dict. Kind-specific semantic checks live in ``autocoder.passes.check_kind_configs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any


@dataclass(frozen=True)
class PortRule:
    """How many data ports of one direction a kind accepts (error-class ports are always free)."""

    min: int = 0
    max: int | None = None
    required_names: tuple[str, ...] = ()
    allowed_names: tuple[str, ...] | None = None

    def describe(self, direction: str) -> str:
        if self.max == 0:
            return f"no {direction} ports"
        if self.max == self.min:
            return f"exactly {self.min} {direction} data port{'s' * (self.min != 1)}"
        if self.max is None:
            return f"at least {self.min} {direction} data port{'s' * (self.min != 1)}"
        return f"{self.min} to {self.max} {direction} data ports"


@dataclass(frozen=True)
class KindSpec:
    """A component kind."""

    name: str
    summary: str
    inputs: PortRule
    outputs: PortRule
    config_def: str | None = None  # a $defs entry of architecture.schema.json (built-ins)
    config_schema: dict[str, Any] | None = None  # plugins bring their own schema
    overridable: tuple[str, ...] = ()
    exclusive: tuple[str, ...] = ()  # config keys of which exactly one is set (source, sink)
    defaults: dict[str, Any] = field(default_factory=dict)
    call_target: bool = False

    def apply_override(self, config: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
        """An environment's effective config: top-level keys replaced; setting one of the
        ``exclusive`` keys (a sink's ``log`` instead of ``webhook``) drops the others."""
        merged = dict(config)
        if any(key in self.exclusive for key in override):
            for key in self.exclusive:
                merged.pop(key, None)
        merged.update(override)
        return merged


ALL_STORE_OPERATIONS = ("create", "get", "list", "update", "delete")
DOCUMENT_OPERATIONS = ("create", "get", "list", "replace", "patch", "delete")
STORAGE_KINDS = ("store", "documents")  # kinds that keep data in a database

BUILTIN_KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "api",
        "An HTTP API (FastAPI): routes, request/response types, calls to stores.",
        inputs=PortRule(max=0),
        outputs=PortRule(),
        config_def="config_api",
        overridable=("request_timeout", "max_body_bytes"),
        defaults={"base_path": ""},
    ),
    KindSpec(
        "store",
        "One table of an entity type with create/get/list/update/delete operations.",
        inputs=PortRule(max=1),
        outputs=PortRule(max=0),
        config_def="config_store",
        overridable=("page_size", "max_page_size"),
        defaults={
            "key": "id",
            "key_strategy": "uuid",
            "operations": list(ALL_STORE_OPERATIONS),
            "indexes": [],
            "unique": [],
            "filters": [],
            "page_size": 50,
            "max_page_size": 500,
        },
        call_target=True,
    ),
    KindSpec(
        "documents",
        "JSON documents kept whole, keyed by one field (the resources of an API contract): "
        "create/get/list/replace/patch/delete.",
        inputs=PortRule(max=0),
        outputs=PortRule(max=0),
        config_def="config_documents",
        defaults={
            "key_type": "string",
            "key_strategy": "uuid",
            "filters": [],
            "operations": list(DOCUMENT_OPERATIONS),
        },
        call_target=True,
    ),
    KindSpec(
        "transformer",
        "Maps each input message to one output message with expressions.",
        inputs=PortRule(1, 1),
        outputs=PortRule(1, 1),
        config_def="config_transformer",
        defaults={"set": {}, "copy": True},
    ),
    KindSpec(
        "filter",
        "Passes messages matching a condition to `accepted`, others to `rejected`.",
        inputs=PortRule(1, 1),
        outputs=PortRule(
            1, 2, required_names=("accepted",), allowed_names=("accepted", "rejected")
        ),
        config_def="config_filter",
    ),
    KindSpec(
        "router",
        "Sends each message to the first output whose condition matches.",
        inputs=PortRule(1, 1),
        outputs=PortRule(1),
        config_def="config_router",
    ),
    KindSpec(
        "aggregator",
        "Groups messages in time windows and emits aggregates per group.",
        inputs=PortRule(1, 1),
        outputs=PortRule(1, 1),
        config_def="config_aggregator",
        defaults={"group_by": []},
    ),
    KindSpec(
        "source",
        "Emits messages on a timer, a cron schedule or by polling an HTTP endpoint.",
        inputs=PortRule(max=0),
        outputs=PortRule(1, 1),
        config_def="config_source",
        overridable=("interval", "cron", "http_poll"),
        exclusive=("interval", "cron", "http_poll"),
    ),
    KindSpec(
        "sink",
        "Consumes messages: structured log, webhook POST with retries, or store write.",
        inputs=PortRule(1),
        outputs=PortRule(max=0),
        config_def="config_sink",
        overridable=("log", "webhook"),
        exclusive=("log", "webhook", "store"),
    ),
)


@cache
def registry() -> dict[str, KindSpec]:
    """All kinds by name: the built-ins, then plugins (a plugin cannot replace a built-in)."""
    kinds = {k.name: k for k in BUILTIN_KINDS}
    for ep in entry_points(group="autocoder.kinds"):
        spec = ep.load()
        if isinstance(spec, KindSpec) and spec.name not in kinds:
            kinds[spec.name] = spec
    return kinds
