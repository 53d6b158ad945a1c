"""``provenance.intoto.jsonl``: SLSA v1 provenance in an in-toto Statement v1, wrapped in a
DSSE envelope (one JSON line), optionally signed with Ed25519.

The build type ``https://autocoder.dev/buildtypes/generate/v1`` describes one run of
``autocoder generate``:

- ``externalParameters``: ``system`` ({name, version}) and ``sources`` (the blueprint files
  the IR was compiled from, OUT-relative).
- ``internalParameters``: ``ir_version`` (the IR schema version used).
- ``resolvedDependencies``: each blueprint (``uri`` = its OUT-relative path), the templates
  digest (``uri`` ``https://autocoder.dev/templates/autocoder@<version>``: component
  templates, runtime modules and policy packs, see ``lock.templates_digest``) and Autocoder
  itself (``pkg:pypi/autocoder@<version>``).
- ``subject``: every generated file, ``build.lock`` and ``sbom.cdx.json``; user-owned files
  are not subjects (their owner edits them).

Nothing run-specific (invocation id, start and end times) is recorded, so the same build gives
the same bytes; Ed25519 signatures are deterministic too.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import autocoder
from autocoder.backends.supply_chain.lock import LOCK_FILENAME, sha256_hex
from autocoder.backends.supply_chain.sbom import SBOM_FILENAME
from autocoder.backends.supply_chain.signing import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    key_id,
    pae,
    sign,
    verify_signature,
)

PROVENANCE_FILENAME = "provenance.intoto.jsonl"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://autocoder.dev/buildtypes/generate/v1"
BUILDER_ID = "https://autocoder.dev/builder/autocoder@{version}"
TEMPLATES_URI = "https://autocoder.dev/templates/autocoder@{version}"


_URLSAFE = str.maketrans("-_", "+/")


class ProvenanceError(ValueError):
    """The provenance file is not a DSSE envelope holding an in-toto statement."""


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: list[Signature]

    def statement(self) -> dict[str, Any]:
        """The decoded in-toto statement (raises ProvenanceError when it is not one)."""
        try:
            data = json.loads(self.payload)
        except ValueError as exc:
            raise ProvenanceError(f"the payload is not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE:
            raise ProvenanceError(f"the payload is not an in-toto statement ({STATEMENT_TYPE})")
        return data

    def signed_by(self, key: Ed25519PublicKey) -> bool:
        """Whether any signature verifies with ``key`` (key ids are hints, not trusted)."""
        message = pae(self.payload_type, self.payload)
        return any(verify_signature(message, s.sig, key) for s in self.signatures)


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def build_statement(lock: dict[str, Any], *, lock_bytes: bytes, sbom: bytes) -> dict[str, Any]:
    """The in-toto statement for a build described by ``lock`` (and the rendered lock + SBOM,
    which are subjects too)."""
    version = autocoder.__version__
    digests = {**lock["files"], LOCK_FILENAME: sha256_hex(lock_bytes)}
    digests[SBOM_FILENAME] = sha256_hex(sbom)
    blueprints: dict[str, str] = lock["blueprints"]
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": path, "digest": {"sha256": digest}} for path, digest in sorted(digests.items())
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "system": dict(lock["system"]),
                    "sources": sorted(blueprints),
                },
                "internalParameters": {"ir_version": lock["ir"]["ir_version"]},
                "resolvedDependencies": [
                    *(
                        {"uri": name, "digest": {"sha256": digest}}
                        for name, digest in sorted(blueprints.items())
                    ),
                    {
                        "uri": TEMPLATES_URI.format(version=version),
                        "digest": {"sha256": lock["templates"]},
                    },
                    {"uri": f"pkg:pypi/autocoder@{version}"},
                ],
            },
            "runDetails": {"builder": {"id": BUILDER_ID.format(version=version)}},
        },
    }


def envelope_line(statement: dict[str, Any], key: Ed25519PrivateKey | None) -> bytes:
    """The DSSE envelope as one JSON line; signed when ``key`` is given."""
    payload = _canonical(statement)
    signatures = []
    if key is not None:
        sig = sign(pae(PAYLOAD_TYPE, payload), key)
        signatures.append({"keyid": key_id(key), "sig": base64.b64encode(sig).decode("ascii")})
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": signatures,
    }
    return _canonical(envelope) + b"\n"


def _b64(value: object, what: str) -> bytes:
    """Decode standard or URL-safe base64 (DSSE verifiers must accept both)."""
    if not isinstance(value, str):
        raise ProvenanceError(f"{what} is not a base64 string")
    text = value.translate(_URLSAFE).rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProvenanceError(f"{what} is not valid base64: {exc}") from exc


def read_envelope(text: str) -> Envelope:
    """Parse the first envelope of a provenance file."""
    line = next((line for line in text.splitlines() if line.strip()), None)
    if line is None:
        raise ProvenanceError("the file holds no envelope")
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ProvenanceError(f"the envelope is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("payloadType"), str):
        raise ProvenanceError("the envelope has no payloadType")
    if data["payloadType"] != PAYLOAD_TYPE:
        raise ProvenanceError(f"payloadType is {data['payloadType']!r}, not {PAYLOAD_TYPE!r}")
    raw_signatures = data.get("signatures", [])
    if not isinstance(raw_signatures, list):
        raise ProvenanceError("signatures is not a list")
    signatures = []
    for n, raw in enumerate(raw_signatures):
        if not isinstance(raw, dict):
            raise ProvenanceError(f"signature {n} is not an object")
        keyid = raw.get("keyid", "")
        signatures.append(
            Signature(str(keyid) if keyid else "", _b64(raw.get("sig"), f"signature {n}"))
        )
    return Envelope(data["payloadType"], _b64(data.get("payload"), "payload"), signatures)


def subjects(statement: dict[str, Any]) -> dict[str, str]:
    """The statement's subjects as ``name -> sha256``."""
    raw = statement.get("subject")
    if not isinstance(raw, list):
        raise ProvenanceError("the statement has no subject list")
    out: dict[str, str] = {}
    for item in raw:
        digest = item.get("digest") if isinstance(item, dict) else None
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(digest, dict)
            and isinstance(digest.get("sha256"), str)
        ):
            raise ProvenanceError("a subject lacks a name or a sha256 digest")
        out[item["name"]] = digest["sha256"]
    return out
