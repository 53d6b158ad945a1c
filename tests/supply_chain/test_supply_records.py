"""build.lock, sbom.cdx.json and provenance.intoto.jsonl: shape and determinism."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autocoder import __version__
from autocoder.backends.supply_chain import (
    LOCK_FILENAME,
    PROVENANCE_FILENAME,
    SBOM_FILENAME,
    templates_digest,
)
from autocoder.backends.supply_chain.sbom import purl
from autocoder.backends.supply_chain.signing import Ed25519PrivateKey
from autocoder.ir.models import IR
from autocoder.output import FileDraft

Drafts = Callable[..., list[FileDraft]]  # the `drafts` fixture


def by_path(drafts: list[FileDraft]) -> dict[str, bytes]:
    return {d.path: d.content for d in drafts}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def statement_of(line: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    envelope = json.loads(line)
    return envelope, json.loads(base64.b64decode(envelope["payload"]))


def test_records_are_written_at_the_root(drafts: Drafts) -> None:
    assert [d.path for d in drafts()] == [LOCK_FILENAME, SBOM_FILENAME, PROVENANCE_FILENAME]


def test_same_input_gives_identical_bytes(drafts: Drafts) -> None:
    key = Ed25519PrivateKey.generate()
    assert by_path(drafts()) == by_path(drafts())
    assert by_path(drafts(key)) == by_path(drafts(key))


def test_any_changed_file_changes_every_record(drafts: Drafts, files: dict[str, bytes]) -> None:
    before = by_path(drafts())
    after = by_path(drafts(files={**files, "deploy/Dockerfile": b"FROM python:3.12-slim\n"}))
    assert all(before[path] != after[path] for path in before)


def test_lock_records_inputs_and_outputs(
    drafts: Drafts, ir: IR, files: dict[str, bytes], user_owned: str
) -> None:
    raw = by_path(drafts())[LOCK_FILENAME]
    lock = json.loads(raw)
    assert raw == (json.dumps(lock, indent=2, sort_keys=True) + "\n").encode()
    assert lock["lock_version"] == 1
    assert lock["autocoder_version"] == __version__
    assert lock["ir"] == {
        "ir_version": ir.ir_version,
        "content_hash": ir.content_hash,
        "file": "ir.v1.json",
        "sha256": sha(files["ir.v1.json"]),
    }
    assert lock["system"] == {"name": "todo-api", "version": ir.system.version}
    assert lock["blueprints"] == {
        "architecture.yaml": sha(files["architecture.yaml"]),
        "deployment.yaml": sha(files["deployment.yaml"]),
    }
    assert lock["templates"] == templates_digest()
    assert len(lock["templates"]) == 64
    assert lock["pins"] == {
        "FastAPI": "0.115.6",
        "SQLAlchemy": "2.0.36",
        "typing_extensions": "4.12.2",
    }
    assert lock["completions"] == []
    # user-owned files are listed, never hashed: their owner edits them
    assert lock["user_owned"] == [user_owned]
    assert lock["files"] == {p: sha(c) for p, c in files.items() if p != user_owned}
    assert "timestamp" not in raw.decode() and "T00:" not in raw.decode()


def test_completions_are_kept(drafts: Drafts) -> None:
    completion = {"prompt_sha256": "ab" * 32, "model": "m", "text": "x"}
    lock = json.loads(by_path(drafts(completions=[completion]))[LOCK_FILENAME])
    assert lock["completions"] == [completion]


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("FastAPI", "0.115.6", "pkg:pypi/fastapi@0.115.6"),
        ("typing_extensions", "4.12.2", "pkg:pypi/typing-extensions@4.12.2"),
        ("zope.interface", "7.0", "pkg:pypi/zope-interface@7.0"),
        ("torch", "2.4.0+cpu", "pkg:pypi/torch@2.4.0%2Bcpu"),
    ],
)
def test_purl(name: str, version: str, expected: str) -> None:
    assert purl(name, version) == expected


def test_sbom_shape(drafts: Drafts, ir: IR) -> None:
    records = by_path(drafts())
    sbom = json.loads(records[SBOM_FILENAME])
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["specVersion"] == "1.6"
    assert sbom["version"] == 1
    serial = sbom["serialNumber"]
    assert serial.startswith("urn:uuid:") and uuid.UUID(serial[9:]).version == 5
    assert "timestamp" not in sbom["metadata"]
    service = sbom["metadata"]["component"]
    assert service["type"] == "application"
    assert (service["name"], service["version"]) == ("todo-api", ir.system.version)
    tools = sbom["metadata"]["tools"]["components"]
    assert [(t["name"], t["version"]) for t in tools] == [("autocoder", __version__)]
    purls = [
        "pkg:pypi/fastapi@0.115.6",
        "pkg:pypi/sqlalchemy@2.0.36",
        "pkg:pypi/typing-extensions@4.12.2",
    ]
    assert [c["purl"] for c in sbom["components"]] == purls
    assert all(c["type"] == "library" and c["bom-ref"] == c["purl"] for c in sbom["components"])
    assert sbom["dependencies"] == [{"ref": service["bom-ref"], "dependsOn": purls}]


def test_sbom_serial_follows_the_lock(drafts: Drafts, pins: dict[str, str]) -> None:
    one = json.loads(by_path(drafts())[SBOM_FILENAME])
    other = json.loads(by_path(drafts(pins={**pins, "FastAPI": "0.115.7"}))[SBOM_FILENAME])
    assert one["serialNumber"] != other["serialNumber"]


def test_sbom_validates_against_cyclonedx_1_6(drafts: Drafts) -> None:
    """Against the official CycloneDX 1.6 JSON schema, as shipped by cyclonedx-python-lib."""
    resources = pytest.importorskip(
        "cyclonedx.schema._res", reason="cyclonedx-python-lib (the CycloneDX schemas) is missing"
    )
    from jsonschema import Draft7Validator, FormatChecker
    from referencing import Registry, Resource

    folder = Path(resources.__file__).parent
    registry: Registry = Registry()
    for name in ("spdx", "jsf-0.82", "cryptography-defs"):
        schema = json.loads((folder / f"{name}.SNAPSHOT.schema.json").read_text())
        resource = Resource.from_contents(schema)
        registry = registry.with_resources(
            [
                (schema["$id"], resource),
                (f"http://cyclonedx.org/schema/{name}.SNAPSHOT.schema.json", resource),
            ]
        )
    schema = json.loads((folder / "bom-1.6.SNAPSHOT.schema.json").read_text())
    validator = Draft7Validator(schema, registry=registry, format_checker=FormatChecker())
    sbom = json.loads(by_path(drafts())[SBOM_FILENAME])
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(sbom)]
    assert errors == []
    broken = {**sbom, "components": [{"type": "library"}]}  # no name: must be refused
    assert list(validator.iter_errors(broken))


def test_statement_shape(drafts: Drafts, ir: IR, files: dict[str, bytes], user_owned: str) -> None:
    records = by_path(drafts())
    line = records[PROVENANCE_FILENAME]
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    envelope, statement = statement_of(line)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert envelope["signatures"] == []
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    expected = {p: sha(c) for p, c in files.items() if p != user_owned}
    expected[LOCK_FILENAME] = sha(records[LOCK_FILENAME])
    expected[SBOM_FILENAME] = sha(records[SBOM_FILENAME])
    assert subjects == expected
    assert [s["name"] for s in statement["subject"]] == sorted(expected)
    build = statement["predicate"]["buildDefinition"]
    assert build["buildType"] == "https://autocoder.dev/buildtypes/generate/v1"
    assert build["externalParameters"] == {
        "system": {"name": "todo-api", "version": ir.system.version},
        "sources": ["architecture.yaml", "deployment.yaml"],
    }
    assert build["internalParameters"] == {"ir_version": ir.ir_version}
    deps = {d["uri"]: d.get("digest") for d in build["resolvedDependencies"]}
    assert deps["architecture.yaml"] == {"sha256": sha(files["architecture.yaml"])}
    assert deps["deployment.yaml"] == {"sha256": sha(files["deployment.yaml"])}
    assert deps[f"https://autocoder.dev/templates/autocoder@{__version__}"] == {
        "sha256": templates_digest()
    }
    assert f"pkg:pypi/autocoder@{__version__}" in deps
    builder = statement["predicate"]["runDetails"]["builder"]
    assert builder == {"id": f"https://autocoder.dev/builder/autocoder@{__version__}"}
    assert "metadata" not in statement["predicate"]["runDetails"]


def test_signed_envelope_carries_key_id(drafts: Drafts) -> None:
    key = Ed25519PrivateKey.generate()
    unsigned, _ = statement_of(by_path(drafts())[PROVENANCE_FILENAME])
    signed, _ = statement_of(by_path(drafts(key))[PROVENANCE_FILENAME])
    assert signed["payload"] == unsigned["payload"]
    [signature] = signed["signatures"]
    raw = key.public_key().public_bytes_raw()
    assert signature["keyid"] == hashlib.sha256(raw).hexdigest()
    assert len(base64.b64decode(signature["sig"])) == 64
