"""Where the generated service serves its own endpoints: health, readiness, metrics and docs.

Every generated service answers ``/healthz``, ``/readyz``, ``/metrics``, ``/docs``, ``/redoc``
and ``/openapi.json`` itself. A hand-written blueprint may not route those paths (AC3022). An
imported contract is the source of truth and cannot be renamed, so when it defines one of them
the service's own endpoint moves aside, under the first free prefix of ``MOVED_PREFIXES``
(``/metrics`` -> ``/_service/metrics``), and the contract's operation keeps the path. The
service, its tests, the Dockerfile, the Kubernetes probes, the ServiceMonitor, the Helm chart
and the validation tiers all read the paths from here, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from autocoder.ir.models import IR, Route

# name -> the path it has when nothing claims it
OWN_PATHS = {
    "liveness": "/healthz",
    "readiness": "/readyz",
    "metrics": "/metrics",
    "docs": "/docs",
    "redoc": "/redoc",
    "openapi": "/openapi.json",
}
LABELS = {
    "liveness": "liveness probe",
    "readiness": "readiness probe",
    "metrics": "Prometheus metrics",
    "docs": "docs page",
    "redoc": "ReDoc page",
    "openapi": "OpenAPI document",
}
RESERVED_PATHS = tuple(OWN_PATHS.values())
MOVED_PREFIXES = ("/_service", "/_autocoder", "/_autocoder_service")


def claims(path: str, own: str) -> bool:
    """Whether a route at ``path`` takes the service's endpoint ``own`` (or a path below it)."""
    return path == own or path.startswith(own + "/")


@dataclass(frozen=True)
class ServiceEndpoints:
    """The paths of the service's own endpoints; ``moved`` names those a contract claimed."""

    liveness: str = OWN_PATHS["liveness"]
    readiness: str = OWN_PATHS["readiness"]
    metrics: str = OWN_PATHS["metrics"]
    docs: str = OWN_PATHS["docs"]
    redoc: str = OWN_PATHS["redoc"]
    openapi: str = OWN_PATHS["openapi"]
    moved: tuple[str, ...] = ()

    def paths(self) -> tuple[str, ...]:
        return (self.liveness, self.readiness, self.metrics, self.docs, self.redoc, self.openapi)


def endpoints_for(paths: Iterable[str]) -> ServiceEndpoints:
    """The service's endpoints given the contract paths ``paths`` it must leave alone."""
    taken = list(paths)
    chosen: dict[str, str] = {}
    moved: list[str] = []
    for name, own in OWN_PATHS.items():
        if not any(claims(p, own) for p in taken):
            chosen[name] = own
            continue
        free = [
            prefix + own
            for prefix in MOVED_PREFIXES
            if not any(claims(p, prefix + own) for p in taken)
        ]
        if free:
            chosen[name] = free[0]
            moved.append(name)
        else:  # every prefix claimed too: check_routes reports the collision (AC3022)
            chosen[name] = own
    return ServiceEndpoints(**chosen, moved=tuple(moved))


def contract_routes(ir: IR) -> list[Route]:
    return [r for c in ir.components for r in c.routes if r.contract is not None]


def service_endpoints(ir: IR) -> ServiceEndpoints:
    """The endpoints of the service generated from ``ir``."""
    return endpoints_for(r.path for r in contract_routes(ir))
