"""What a tier gets: the output directory, its parts, the IR, and the service's interpreter."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from autocoder.ir.models import IR


@dataclass
class ValidateContext:
    out: Path  # the output directory (blueprints, ir.v1.json, service/, deploy/)
    ir: IR
    python: Path | None = None  # the service's interpreter (its own venv), made on demand
    env: dict[str, str] = field(default_factory=dict)  # extra environment for subprocesses

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

    def service_python(self) -> Path:
        """The service's own interpreter: a virtual environment with its locked dependencies
        and test tools (``AUTOCODER_SERVICE_VENV``, else ``OUT/.venv``), made once, shared by
        the tiers (thread-safe)."""
        with _PYTHON_LOCK:
            if self.python is None:
                from autocoder.cli.service import ensure_service_python

                venv_dir = os.environ.get("AUTOCODER_SERVICE_VENV") or str(self.out / ".venv")
                self.python = ensure_service_python(self.service, Path(venv_dir))
            return self.python


_PYTHON_LOCK = threading.Lock()
