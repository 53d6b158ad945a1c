"""The supply-chain back end: generated files -> ``build.lock``, ``sbom.cdx.json`` and
``provenance.intoto.jsonl`` at the root of OUT (``autocoder verify`` checks them)."""

from __future__ import annotations

from typing import Any

from autocoder.backends.supply_chain.lock import (
    LOCK_FILENAME,
    LOCK_VERSION,
    build_lock,
    dumps,
    templates_digest,
)
from autocoder.backends.supply_chain.provenance import (
    PROVENANCE_FILENAME,
    build_statement,
    envelope_line,
)
from autocoder.backends.supply_chain.sbom import SBOM_FILENAME, build_sbom
from autocoder.backends.supply_chain.signing import Ed25519PrivateKey
from autocoder.ir.models import IR
from autocoder.output import FileDraft

__all__ = [
    "LOCK_FILENAME",
    "LOCK_VERSION",
    "PROVENANCE_FILENAME",
    "RECORD_FILES",
    "SBOM_FILENAME",
    "supply_chain_drafts",
    "templates_digest",
]

RECORD_FILES = (LOCK_FILENAME, SBOM_FILENAME, PROVENANCE_FILENAME)


def supply_chain_drafts(
    ir: IR,
    *,
    files: dict[str, bytes],
    user_owned: list[str],
    pins: dict[str, str],
    completions: list[dict[str, Any]] | None = None,
    sign_key: Ed25519PrivateKey | None = None,
) -> list[FileDraft]:
    """The lock, SBOM and provenance for one generation (paths at the root of OUT).

    ``files`` maps OUT-relative POSIX paths to the content of every generated file;
    ``user_owned`` lists the paths their owner edits (recorded, not hashed); ``pins`` are the
    service's resolved dependency versions; ``completions`` the frozen LLM completions used.
    """
    lock = build_lock(
        ir, files=files, user_owned=user_owned, pins=pins, completions=completions or []
    )
    lock_bytes = dumps(lock)
    sbom_bytes = dumps(build_sbom(ir, pins=pins, lock=lock_bytes))
    statement = build_statement(lock, lock_bytes=lock_bytes, sbom=sbom_bytes)
    return [
        FileDraft(LOCK_FILENAME, lock_bytes),
        FileDraft(SBOM_FILENAME, sbom_bytes),
        FileDraft(PROVENANCE_FILENAME, envelope_line(statement, sign_key)),
    ]
