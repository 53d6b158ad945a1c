"""``autocoder keygen`` and ``autocoder verify`` through the real CLI: outputs and exit codes."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from autocoder.backends.supply_chain.signing import Ed25519PrivateKey, key_id, load_private_key
from autocoder.cli.main import cli

OutFactory = Callable[..., Path]  # the `make_out` fixture


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def codes_of(result: Result) -> list[str]:
    """Diagnostic codes of a ``--format json`` run."""
    return [d["code"] for d in json.loads(result.stdout)["diagnostics"]]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    """A key pair made by `autocoder keygen`: (private key, public key path)."""
    result = invoke("keygen", "-o", str(tmp_path / "trusted"))
    assert result.exit_code == 0, result.output
    return load_private_key(tmp_path / "trusted.key"), tmp_path / "trusted.pub"


# --- keygen ---------------------------------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    result = invoke("keygen", "-o", str(tmp_path / "release"))
    assert result.exit_code == 0, result.output
    private, public = tmp_path / "release.key", tmp_path / "release.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    ident = key_id(load_private_key(private))
    assert f"key id: {ident}" in result.stdout


def test_keygen_default_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("keygen").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "autocoder-signing.key",
        "autocoder-signing.pub",
    ]


@pytest.mark.parametrize("existing", ["release.key", "release.pub"])
def test_keygen_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("precious\n")
    result = invoke("keygen", "-o", str(tmp_path / "release"), "--format", "json")
    assert result.exit_code == 2
    assert codes_of(result) == ["AC0002"]
    assert (tmp_path / existing).read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]


# --- verify: hashes -------------------------------------------------------------------------


def test_verify_untouched_output(make_out: OutFactory) -> None:
    out = make_out()
    result = invoke("verify", str(out))
    assert result.exit_code == 0, result.output
    # 6 generated files (the user-owned one is not hashed) + build.lock + sbom.cdx.json
    assert result.stdout.strip() == (
        "verified 8 files; signature: not checked (no --key given; the provenance is unsigned)"
    )


def test_verify_ignores_edits_to_user_owned_files(make_out: OutFactory, user_owned: str) -> None:
    out = make_out()
    (out / user_owned).write_text("def notify(todo):\n    return None\n")
    assert invoke("verify", str(out)).exit_code == 0


def test_tampered_file_is_reported(make_out: OutFactory) -> None:
    out = make_out()
    (out / "deploy" / "Dockerfile").write_text("FROM python:3.11-slim\nUSER root\n")
    result = invoke("verify", str(out))
    assert result.exit_code == 1
    assert "AC8002" in result.stderr and "deploy/Dockerfile changed" in result.stderr
    assert result.stdout.startswith("verification failed: 1 problem in 8 files")
    data = json.loads(invoke("verify", str(out), "--format", "json").stdout)
    [diagnostic] = data["diagnostics"]
    assert diagnostic["code"] == "AC8002"
    assert diagnostic["span"]["file"].endswith("deploy/Dockerfile")
    assert data["ok"] is False and data["files"] == 8


def test_deleted_file_is_reported(make_out: OutFactory) -> None:
    out = make_out()
    (out / "service" / "app" / "main.py").unlink()
    result = invoke("verify", str(out), "--format", "json")
    assert result.exit_code == 1
    [diagnostic] = json.loads(result.stdout)["diagnostics"]
    assert diagnostic["code"] == "AC8002"
    assert diagnostic["message"] == "service/app/main.py is missing"
    assert diagnostic["span"]["file"].endswith("service/app/main.py")


def test_edited_lock_is_reported(make_out: OutFactory) -> None:
    out = make_out()
    lock = json.loads((out / "build.lock").read_text())
    lock["files"]["deploy/Dockerfile"] = "0" * 64
    (out / "build.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    result = invoke("verify", str(out), "--format", "json")
    assert result.exit_code == 1
    messages = [d["message"] for d in json.loads(result.stdout)["diagnostics"]]
    assert any(m.startswith("build.lock changed since it was generated") for m in messages)
    assert any(m.startswith("deploy/Dockerfile changed") for m in messages)
    assert any("record different hashes for deploy/Dockerfile" in m for m in messages)


@pytest.mark.parametrize("missing", ["build.lock", "provenance.intoto.jsonl"])
def test_missing_records_are_a_usage_error(make_out: OutFactory, missing: str) -> None:
    out = make_out()
    (out / missing).unlink()
    result = invoke("verify", str(out), "--format", "json")
    assert result.exit_code == 2
    assert codes_of(result) == ["AC8001"]


def test_verify_of_no_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("verify", str(tmp_path / "nowhere"), "--format", "json")
    assert result.exit_code == 2
    assert codes_of(result) == ["AC8001"]


def test_unreadable_lock_is_a_usage_error(make_out: OutFactory) -> None:
    out = make_out()
    (out / "build.lock").write_text("{not json")
    result = invoke("verify", str(out))
    assert result.exit_code == 2
    assert "AC8001" in result.stderr


def test_records_cannot_point_outside_out(make_out: OutFactory) -> None:
    out = make_out()
    lock = json.loads((out / "build.lock").read_text())
    lock["files"]["../outside"] = "0" * 64
    (out / "build.lock").write_text(json.dumps(lock))
    result = invoke("verify", str(out), "--format", "json")
    assert result.exit_code == 1
    messages = [d["message"] for d in json.loads(result.stdout)["diagnostics"]]
    assert "the records name '../outside', which is outside the output directory" in messages


# --- verify: signatures ---------------------------------------------------------------------


def test_signed_output_verifies_with_its_key(
    make_out: OutFactory, keys: tuple[Ed25519PrivateKey, Path]
) -> None:
    private, public = keys
    out = make_out(private)
    result = invoke("verify", str(out), "--key", str(public))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"verified 8 files; signature: ok (key {key_id(private)})"
    unchecked = invoke("verify", str(out))
    assert unchecked.exit_code == 0
    assert f"not checked (no --key given; signed by key {key_id(private)})" in unchecked.stdout


def test_wrong_key_is_reported(
    make_out: OutFactory, keys: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    out = make_out(Ed25519PrivateKey.generate())
    result = invoke("verify", str(out), "--key", str(keys[1]), "--format", "json")
    assert result.exit_code == 1
    assert codes_of(result) == ["AC8003"]
    assert json.loads(result.stdout)["signature"]["ok"] is False


def test_modified_payload_is_reported(
    make_out: OutFactory, keys: tuple[Ed25519PrivateKey, Path]
) -> None:
    private, public = keys
    out = make_out(private)
    # Cover an edited Dockerfile: rewrite its hash in the lock and in the signed statement.
    dockerfile = out / "deploy" / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nUSER root\n")
    digest = hashlib.sha256(dockerfile.read_bytes()).hexdigest()
    lock_path = out / "build.lock"
    lock = json.loads(lock_path.read_text())
    lock["files"]["deploy/Dockerfile"] = digest
    lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    envelope_path = out / "provenance.intoto.jsonl"
    envelope = json.loads(envelope_path.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    for subject in statement["subject"]:
        if subject["name"] == "deploy/Dockerfile":
            subject["digest"]["sha256"] = digest
        if subject["name"] == "build.lock":
            subject["digest"]["sha256"] = hashlib.sha256(lock_path.read_bytes()).hexdigest()
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    envelope_path.write_text(json.dumps(envelope) + "\n")
    assert invoke("verify", str(out)).exit_code == 0  # hashes alone are consistent again
    result = invoke("verify", str(out), "--key", str(public), "--format", "json")
    assert result.exit_code == 1
    assert codes_of(result) == ["AC8003"]


def test_unsigned_output_fails_with_key(
    make_out: OutFactory, keys: tuple[Ed25519PrivateKey, Path]
) -> None:
    out = make_out()
    result = invoke("verify", str(out), "--key", str(keys[1]))
    assert result.exit_code == 1
    assert "AC8003" in result.stderr and "not signed" in result.stderr
    assert "signature: missing" in result.stdout


@pytest.mark.parametrize("content", [b"garbage\n", None])
def test_bad_key_file_is_a_usage_error(
    make_out: OutFactory, tmp_path: Path, content: bytes | None
) -> None:
    out = make_out()
    key = tmp_path / "bad.pub"
    if content is not None:
        key.write_bytes(content)
    result = invoke("verify", str(out), "--key", str(key), "--format", "json")
    assert result.exit_code == 2
    assert codes_of(result) == ["AC8004"]


def test_private_key_given_as_public_is_a_usage_error(
    make_out: OutFactory, keys: tuple[Ed25519PrivateKey, Path]
) -> None:
    out = make_out(keys[0])
    result = invoke("verify", str(out), "--key", str(keys[1].with_suffix(".key")))
    assert result.exit_code == 2
    assert "AC8004" in result.stderr
