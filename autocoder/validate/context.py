"""What a tier gets: the output directory, its parts, the IR, and the service's interpreter."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autocoder.frontend.loader import PointerIndex, load_yaml_file
from autocoder.ir.models import IR
from autocoder.validate.findings import Location

if TYPE_CHECKING:
    from autocoder.backends.deploy.helm import HelmCheck


@dataclass
class ValidateContext:
    out: Path  # the output directory (blueprints, ir.v1.json, service/, deploy/)
    ir: IR
    python: Path | None = None  # the service's interpreter (its own venv), made on demand
    env: dict[str, str] = field(default_factory=dict)  # extra environment for subprocesses
    _indexes: dict[str, PointerIndex | None] = field(default_factory=dict, repr=False)
    _helm: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def service(self) -> Path:
        return self.out / "service"

    @property
    def deploy(self) -> Path:
        return self.out / "deploy"

    def relative(self, path: Path) -> str:
        """A path as findings show it: relative to OUT, POSIX."""
        try:
            return path.resolve().relative_to(self.out.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def files(self, *roots: str, suffixes: Iterable[str] = ()) -> list[Path]:
        """Files under OUT/<root> (sorted), skipping caches and virtual environments."""
        wanted = tuple(suffixes)
        found: list[Path] = []
        for root in roots:
            base = self.out / root
            if base.is_file():
                found.append(base)
                continue
            for path in base.rglob("*"):
                parts = set(path.relative_to(self.out).parts)
                if parts & {".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache"}:
                    continue
                if path.is_file() and (not wanted or path.name.endswith(wanted)):
                    found.append(path)
        return sorted(found)

    def digest(self, *roots: str, extra: str = "") -> str:
        """Content hash of the files under ``roots`` (the cache key of a tier)."""
        h = hashlib.sha256(extra.encode())
        for path in self.files(*roots):
            h.update(self.relative(path).encode() + b"\0" + path.read_bytes() + b"\0")
        return h.hexdigest()

    @cached_property
    def subprocess_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    @cached_property
    def origins(self) -> dict[str, str]:
        """IR node id -> origin (``file#/pointer``): components, routes (by ``METHOD path``
        and by operation id), types, bindings and environments."""
        found: dict[str, str] = {}
        for component in self.ir.components:
            found[f"component:{component.name}"] = component.origin
            for route in component.routes:
                found[f"route:{route.method} {route.path}"] = route.origin
                found[f"route:{route.operation_id}"] = route.origin
        for typedef in self.ir.types:
            found[f"type:{typedef.name}"] = typedef.origin
        for binding in self.ir.bindings:
            found[binding.id] = binding.origin
        for env in self.ir.environments:
            found[f"environment:{env.name}"] = env.origin
        return found

    def locate(self, origin: str | None, node: str | None = None) -> Location:
        """The blueprint line of ``origin`` (``file#/json/pointer``), keeping ``node``; just
        the node when the origin's file cannot be read."""
        file, _, pointer = (origin or "").partition("#")
        index = self._pointer_index(file) if file else None
        if index is None:
            return Location(node=node)
        span = index.span_for(pointer, key=True)
        return Location(file, span.line, span.col, node=node)

    def locate_node(self, location: Location) -> Location:
        """``location`` with the blueprint line of its IR node added, when it has none."""
        if location.file is not None or location.node not in self.origins:
            return location
        return self.locate(self.origins[location.node], location.node)

    def _pointer_index(self, file: str) -> PointerIndex | None:
        with _INDEX_LOCK:
            if file not in self._indexes:
                from autocoder.diagnostics import DiagnosticSink

                path = self.out / file
                loaded = load_yaml_file(path, file, DiagnosticSink()) if path.is_file() else None
                self._indexes[file] = loaded.index if loaded else None
            return self._indexes[file]

    @property
    def chart(self) -> Path | None:
        """The Helm chart of the package (OUT/deploy/helm/<app>), if there is one."""
        charts = sorted((self.deploy / "helm").glob("*/Chart.yaml"))
        return charts[0].parent if charts else None

    def helm(self, envs: list[str]) -> HelmCheck | None:
        """``helm lint --strict`` and ``helm template`` of the chart for ``envs``, run once and
        shared by the tiers; None when there is no chart. ``HelmCheck.ran`` is false when
        helm is not on PATH."""
        chart = self.chart
        if chart is None:
            return None
        from autocoder.backends.deploy.helm import helm_check

        key = ",".join(envs)
        with _HELM_LOCK:
            if key not in self._helm:
                self._helm[key] = helm_check(chart, envs)
            found: HelmCheck = self._helm[key]
            return found

    def service_python(self) -> Path:
        """The service's own interpreter: a virtual environment with its locked dependencies
        and test tools (``AUTOCODER_SERVICE_VENV``, else ``OUT/.venv``), made once, shared by
        the tiers (thread-safe)."""
        with _PYTHON_LOCK:
            if self.python is None:
                from autocoder.cli.service import ensure_service_python, service_venv

                self.python = ensure_service_python(self.service, service_venv(self.out))
            return self.python


_PYTHON_LOCK = threading.Lock()
_INDEX_LOCK = threading.Lock()
_HELM_LOCK = threading.Lock()
