"""``build.lock``: every input and output of one generation, by hash.

The lock holds no timestamps and no machine-specific paths, so generating the same system
with the same Autocoder gives the same bytes. Digests are lowercase sha256 hex.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import autocoder
from autocoder.ir.models import IR
from autocoder.ir.serialize import IR_FILENAME
from autocoder.resources import data_dir

LOCK_FILENAME = "build.lock"
LOCK_VERSION = 1
_SKIPPED_DIRS = {"__pycache__"}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dumps(data: Any) -> bytes:
    """The JSON form of every supply-chain record: sorted keys, 2-space indent, final newline."""
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _tree(root: Path, prefix: str, pattern: str) -> list[tuple[str, str]]:
    return [
        (f"{prefix}/{path.relative_to(root).as_posix()}", sha256_hex(path.read_bytes()))
        for path in root.rglob(pattern)
        if path.is_file()
        and path.suffix != ".pyc"
        and not _SKIPPED_DIRS.intersection(path.relative_to(root).parts)
    ]


@cache
def templates_digest() -> str:
    """sha256 over what shapes the output besides the IR: component templates, the runtime
    modules copied into services, and the policy packs. Each file contributes the line
    ``<sha256>  <folder>/<relative path>`` (sorted by path), as ``sha256sum`` prints it."""
    runtime = Path(autocoder.__file__).resolve().parent / "runtime"
    entries = [
        *_tree(data_dir("component_templates"), "component_templates", "*"),
        *[
            (f"runtime/{p.name}", sha256_hex(p.read_bytes()))
            for p in runtime.glob("*.py")
            if p.is_file()
        ],
        *_tree(data_dir("policies"), "policies", "*"),
    ]
    listing = "".join(f"{digest}  {path}\n" for path, digest in sorted(entries))
    return sha256_hex(listing.encode("utf-8"))


def blueprint_digests(ir: IR, files: dict[str, bytes]) -> dict[str, str]:
    """sha256 of each blueprint source the IR was compiled from (as copied into OUT)."""
    return {s.name: sha256_hex(files[s.name]) for s in ir.sources if s.name in files}


def build_lock(
    ir: IR,
    *,
    files: dict[str, bytes],
    user_owned: list[str],
    pins: dict[str, str],
    completions: list[dict[str, Any]],
) -> dict[str, Any]:
    """The lock document. ``files`` maps OUT-relative paths to content; user-owned paths are
    listed but not hashed (their owner edits them)."""
    owned = set(user_owned)
    ir_file = files.get(IR_FILENAME)
    return {
        "lock_version": LOCK_VERSION,
        "autocoder_version": autocoder.__version__,
        "ir": {
            "ir_version": ir.ir_version,
            "content_hash": ir.content_hash,
            "file": IR_FILENAME,
            "sha256": sha256_hex(ir_file) if ir_file is not None else None,
        },
        "system": {"name": ir.system.name, "version": ir.system.version},
        "blueprints": blueprint_digests(ir, files),
        "templates": templates_digest(),
        "pins": dict(sorted(pins.items())),
        "completions": list(completions),
        "files": {path: sha256_hex(files[path]) for path in sorted(files) if path not in owned},
        "user_owned": sorted(owned),
    }
