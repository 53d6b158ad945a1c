"""The one writer: puts a set of file drafts into an output directory, safely.

Back ends return ``FileDraft``s and never touch the disk. The writer refuses to replace a file
it did not write or that was edited since (per-file hashes in ``.autocoder/manifest.json``),
creates user-owned files once and never overwrites them, and stages everything before moving
it into place, so a failure never leaves a half-written output directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MANIFEST = ".autocoder/manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class FileDraft:
    """A file to write: a POSIX path relative to the output directory and its content."""

    path: str
    content: bytes
    user_owned: bool = False  # created once, never overwritten (generation-gap modules)
    executable: bool = False

    @classmethod
    def text(cls, path: str, text: str, **kw: bool) -> FileDraft:
        return cls(path, text.encode("utf-8"), **kw)


@dataclass(frozen=True)
class Conflict:
    path: str
    reason: str


class WriteConflictError(Exception):
    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__(f"{len(conflicts)} file(s) would be overwritten")
        self.conflicts = conflicts


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(out: Path) -> dict[str, str]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        files = data.get("files", {})
        return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def plan(out: Path, drafts: Iterable[FileDraft], *, force: bool = False) -> list[Conflict]:
    """The conflicts writing ``drafts`` into ``out`` would cause (empty: safe to write)."""
    if out.exists() and not out.is_dir():
        return [Conflict(".", f"{out} exists and is not a directory")]
    manifest = read_manifest(out)
    conflicts = []
    for draft in drafts:
        target = out / draft.path
        if target.is_dir():
            conflicts.append(Conflict(draft.path, "a directory is in the way"))
            continue
        if not target.exists() or draft.user_owned or force:
            continue
        current = sha256(target.read_bytes())
        if current == sha256(draft.content):
            continue
        if draft.path not in manifest:
            conflicts.append(Conflict(draft.path, "exists and was not written by Autocoder"))
        elif manifest[draft.path] != current:
            conflicts.append(Conflict(draft.path, "was edited since Autocoder wrote it"))
    return conflicts


def write_tree(out: Path, drafts: list[FileDraft], *, force: bool = False) -> list[str]:
    """Write ``drafts`` into ``out``; return the paths written. Raises WriteConflictError."""
    conflicts = plan(out, drafts, force=force)
    if conflicts:
        raise WriteConflictError(conflicts)
    old_manifest = read_manifest(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the output is an ordinary directory
    try:
        written: list[str] = []
        manifest: dict[str, str] = {}
        for draft in sorted(drafts, key=lambda d: d.path):
            if draft.user_owned and (out / draft.path).exists():
                continue
            dest = staging / draft.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(draft.content)
            if draft.executable:
                dest.chmod(0o755)
            written.append(draft.path)
            if not draft.user_owned:
                manifest[draft.path] = sha256(draft.content)
        for path, digest in old_manifest.items():  # keep entries of files still present
            if path not in manifest and any(d.path == path for d in drafts):
                manifest[path] = digest
        manifest_path = staging / MANIFEST
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(
            json.dumps({"version": MANIFEST_VERSION, "files": manifest}, indent=2, sort_keys=True)
            + "\n",
            encoding="utf-8",
        )
        if not out.exists():
            os.replace(staging, out)  # the whole tree appears at once
            return written
        for path in [*written, MANIFEST]:
            dest = out / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / path, dest)
        _remove_stale(out, old_manifest, manifest)
        return written
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _remove_stale(out: Path, old: dict[str, str], new: dict[str, str]) -> None:
    """Delete generated files that are no longer generated, if nobody edited them."""
    for path, digest in old.items():
        target = out / path
        if path not in new and target.is_file() and sha256(target.read_bytes()) == digest:
            target.unlink()
