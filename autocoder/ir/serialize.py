"""Canonical JSON for the IR, its content hash, and the version-checked IR reader.

Canonical form: keys sorted, two-space indent, UTF-8, a final newline, no timestamps. The
``content_hash`` is the sha256 of the compact canonical form without ``content_hash``,
``autocoder_version`` and node ``origin``s, so it identifies what the system *is*, whichever
release wrote it and however the blueprint was laid out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from autocoder.diagnostics import DiagnosticSink, Span, codes
from autocoder.ir.models import IR, IR_MAJOR, IR_MINOR, IR_VERSION

IR_FILENAME = f"ir.v{IR_MAJOR}.json"
_UNHASHED = ("content_hash", "autocoder_version")

# dict -> dict functions that lift an older IR one step (key: the version they read).
UPGRADES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def to_data(ir: IR) -> dict[str, Any]:
    return ir.model_dump(mode="json", by_alias=True, exclude_none=False)


def _without_origins(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_origins(v) for k, v in value.items() if k != "origin"}
    if isinstance(value, list):
        return [_without_origins(v) for v in value]
    return value


def content_hash(data: dict[str, Any]) -> str:
    """sha256 of the compact canonical form (sorted keys, no whitespace) of the content.

    Left out: ``content_hash``, ``autocoder_version`` and every ``origin`` (where in the
    blueprint a node was written is provenance, not meaning: moving a binding keeps the hash).
    """
    body = _without_origins({k: v for k, v in data.items() if k not in _UNHASHED})
    compact = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return "sha256:" + hashlib.sha256(compact.encode("utf-8")).hexdigest()


def seal(ir: IR) -> IR:
    """Return ``ir`` with its content hash filled in."""
    return ir.model_copy(update={"content_hash": content_hash(to_data(ir))})


def dump_ir(ir: IR) -> str:
    """The canonical text of an IR (sealed here unless it already is)."""
    return canonical_json(to_data(ir if ir.content_hash else seal(ir)))


def _parse_version(raw: object) -> tuple[int, int] | None:
    if not isinstance(raw, str):
        return None
    major, _, minor = raw.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        return None
    return int(major), int(minor)


def read_ir(path: Path, sink: DiagnosticSink, *, file: str | None = None) -> IR | None:
    """Load an IR file, refusing unknown future versions and edited content."""
    name = file or str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        sink.report(
            codes.IO_ERROR, f"cannot read the IR file: {exc.strerror or exc}", span=Span(name)
        )
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line, col = (exc.lineno, exc.colno) if isinstance(exc, json.JSONDecodeError) else (1, 1)
        sink.report(codes.IR_INVALID, f"not a JSON file: {exc}", span=Span(name, line, col))
        return None
    if not isinstance(data, dict):
        sink.report(codes.IR_INVALID, "an IR file holds a JSON object", span=Span(name))
        return None
    return ir_from_data(data, sink, file=name)


def ir_from_data(data: dict[str, Any], sink: DiagnosticSink, *, file: str) -> IR | None:
    version = _parse_version(data.get("ir_version"))
    if version is None:
        sink.report(
            codes.IR_VERSION_UNSUPPORTED,
            f"ir_version {data.get('ir_version')!r} is not a MAJOR.MINOR version",
            span=Span(file),
        )
        return None
    while version[0] < IR_MAJOR and f"{version[0]}.{version[1]}" in UPGRADES:
        data = UPGRADES[f"{version[0]}.{version[1]}"](data)
        version = _parse_version(data.get("ir_version")) or (IR_MAJOR, 0)
    if version[0] != IR_MAJOR or version[1] > IR_MINOR:
        newer = version > (IR_MAJOR, IR_MINOR)
        sink.report(
            codes.IR_VERSION_UNSUPPORTED,
            f"IR version {version[0]}.{version[1]} is "
            f"{'newer than' if newer else 'not readable by'} this Autocoder (reads {IR_VERSION})",
            span=Span(file),
            hint="install a newer Autocoder" if newer else "recompile the blueprints",
        )
        return None
    try:
        ir = IR.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"])
        sink.report(
            codes.IR_INVALID,
            f"the IR does not match IR {IR_VERSION}: {first['msg']} at /{where}",
            span=Span(file),
            hint="recompile the blueprints with `autocoder compile`",
        )
        return None
    if ir.content_hash != content_hash(data):
        sink.report(
            codes.IR_HASH_MISMATCH,
            "content_hash does not match the IR's content (was the file edited?)",
            span=Span(file),
            hint="recompile the blueprints with `autocoder compile`",
        )
        return None
    return ir
