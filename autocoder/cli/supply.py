"""Tasks behind ``keygen`` and ``verify``: signing keys, and checking OUT against its records."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from autocoder.backends.supply_chain import (
    LOCK_FILENAME,
    LOCK_VERSION,
    PROVENANCE_FILENAME,
    SBOM_FILENAME,
)
from autocoder.backends.supply_chain.lock import sha256_hex
from autocoder.backends.supply_chain.provenance import Envelope, ProvenanceError, read_envelope
from autocoder.backends.supply_chain.provenance import subjects as statement_subjects
from autocoder.backends.supply_chain.signing import (
    Ed25519PublicKey,
    SigningKeyError,
    generate_keypair,
    key_id,
    load_public_key,
)
from autocoder.cli.exit_codes import ExitCode
from autocoder.cli.output import emit_diagnostics, info
from autocoder.compiler import display_path
from autocoder.diagnostics import DiagnosticSink, Span, codes

DEFAULT_KEY_PREFIX = "autocoder-signing"

# --- keygen ---------------------------------------------------------------------------------


def keygen_task(prefix: Path, *, fmt: str) -> int:
    """Write ``PREFIX.key`` (0600) and ``PREFIX.pub``; never overwrite either."""
    sink = DiagnosticSink()
    private_path = Path(f"{prefix}.key")
    public_path = Path(f"{prefix}.pub")
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            sink.report(
                codes.OUTPUT_CONFLICT,
                f"{display_path(path)} already exists; keygen never overwrites a key",
                span=Span(display_path(path)),
                hint="choose another prefix with -o, or move the existing key away",
            )
    if sink.has_errors:
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    private_pem, public_pem = generate_keypair()
    try:
        _write_new(private_path, private_pem, 0o600)
        try:
            _write_new(public_path, public_pem, 0o644)
        except OSError:
            private_path.unlink(missing_ok=True)
            raise
    except FileExistsError as exc:
        where = Path(exc.filename or private_path)
        sink.report(
            codes.OUTPUT_CONFLICT,
            f"{display_path(where)} already exists; keygen never overwrites a key",
            span=Span(display_path(where)),
        )
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    except OSError as exc:
        where = Path(exc.filename or private_path)
        sink.report(
            codes.IO_ERROR,
            f"cannot write {display_path(where)}: {exc.strerror or exc}",
            span=Span(display_path(where)),
        )
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    ident = key_id(load_public_key(public_path))
    emit_diagnostics(
        sink.diagnostics,
        sink.sources,
        fmt,
        ok=True,
        key_id=ident,
        private_key=str(private_path),
        public_key=str(public_path),
    )
    info(f"wrote {display_path(private_path)} (private, mode 0600: keep it secret)", fmt)
    info(f"wrote {display_path(public_path)} (public: give it to whoever verifies)", fmt)
    info(f"key id: {ident}", fmt)
    return ExitCode.OK


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(fd, mode)  # the umask must not loosen or tighten it
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


# --- verify ---------------------------------------------------------------------------------


@dataclass
class _Records:
    files: dict[str, str]  # build.lock: path -> sha256
    subjects: dict[str, str]  # provenance statement: path -> sha256
    envelope: Envelope


def verify_task(out: Path, *, key_path: Path | None, fmt: str) -> int:
    """``verify``: hash every recorded file, compare lock and provenance, check the signature."""
    sink = DiagnosticSink()
    key: Ed25519PublicKey | None = None
    if key_path is not None:
        try:
            key = load_public_key(key_path)
        except SigningKeyError as exc:
            sink.report(
                codes.SIGNING_KEY_INVALID,
                str(exc),
                span=Span(display_path(key_path)),
                hint="pass the .pub file written by `autocoder keygen`",
            )
    records = _read_records(out, sink)
    if records is None or sink.has_errors:
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    checked = _check_files(out, records, sink)
    _check_agreement(out, records, sink)
    signature = _check_signature(out, records.envelope, key, sink)
    ok = not sink.has_errors
    emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=ok, files=checked, signature=signature)
    if ok:
        info(f"verified {checked} files; signature: {signature['summary']}", fmt)
        return ExitCode.OK
    problems = len(sink.diagnostics)
    info(
        f"verification failed: {problems} problem{'s' * (problems != 1)} in {checked} files; "
        f"signature: {signature['summary']}",
        fmt,
    )
    return ExitCode.INPUT_ERRORS  # AC8002/AC8003; usage problems returned early


def _missing(sink: DiagnosticSink, path: Path, message: str) -> None:
    sink.report(
        codes.VERIFY_RECORD_MISSING,
        message,
        span=Span(display_path(path)),
        hint="verify the OUT directory written by `autocoder generate`",
    )


def _read_records(out: Path, sink: DiagnosticSink) -> _Records | None:
    if not out.is_dir():
        _missing(sink, out, f"{display_path(out)} is not a directory")
        return None
    lock_path = out / LOCK_FILENAME
    prov_path = out / PROVENANCE_FILENAME
    files = _read_lock(lock_path, sink)
    envelope: Envelope | None = None
    subjects: dict[str, str] | None = None
    try:
        envelope = read_envelope(prov_path.read_text(encoding="utf-8"))
        subjects = statement_subjects(envelope.statement())
    except OSError as exc:
        _missing(sink, prov_path, f"cannot read {display_path(prov_path)}: {exc.strerror or exc}")
    except (ProvenanceError, UnicodeDecodeError) as exc:
        _missing(sink, prov_path, f"{display_path(prov_path)} is not valid provenance: {exc}")
    if files is None or envelope is None or subjects is None:
        return None
    return _Records(files, subjects, envelope)


def _read_lock(path: Path, sink: DiagnosticSink) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _missing(sink, path, f"cannot read {display_path(path)}: {exc.strerror or exc}")
        return None
    except ValueError as exc:
        _missing(sink, path, f"{display_path(path)} is not JSON: {exc}")
        return None
    version = data.get("lock_version") if isinstance(data, dict) else None
    if version != LOCK_VERSION:
        _missing(
            sink,
            path,
            f"{display_path(path)} has lock_version {version!r}; this Autocoder reads "
            f"version {LOCK_VERSION}",
        )
        return None
    files = data.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        _missing(sink, path, f"{display_path(path)} has no valid `files` table")
        return None
    return files


def _inside(path: str) -> bool:
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in path


def _check_files(out: Path, records: _Records, sink: DiagnosticSink) -> int:
    """Hash every file named by the lock or the provenance; returns how many were checked."""
    paths = sorted(set(records.files) | set(records.subjects))
    for path in paths:
        target = out / path
        where = Span(display_path(target))
        if not _inside(path):
            sink.report(
                codes.VERIFY_TAMPERED,
                f"the records name {path!r}, which is outside the output directory",
                span=Span(display_path(out / LOCK_FILENAME)),
            )
            continue
        try:
            actual = sha256_hex(target.read_bytes())
        except FileNotFoundError:
            sink.report(codes.VERIFY_TAMPERED, f"{path} is missing", span=where)
            continue
        except OSError as exc:
            sink.report(
                codes.VERIFY_TAMPERED, f"{path} cannot be read: {exc.strerror or exc}", span=where
            )
            continue
        # a lock/provenance disagreement is reported by _check_agreement
        recorded = records.files.get(path) or records.subjects[path]
        if actual != recorded:
            sink.report(
                codes.VERIFY_TAMPERED,
                f"{path} changed since it was generated (sha256 {actual[:12]}..., recorded "
                f"{recorded[:12]}...)",
                span=where,
                hint="regenerate with `autocoder generate`, or find out who changed it",
            )
    return len(paths)


def _check_agreement(out: Path, records: _Records, sink: DiagnosticSink) -> None:
    """The provenance subjects are the lock's files plus the lock and the SBOM themselves."""
    where = Span(display_path(out / PROVENANCE_FILENAME))
    for path in (LOCK_FILENAME, SBOM_FILENAME):
        if path not in records.subjects:
            sink.report(codes.VERIFY_TAMPERED, f"the provenance does not cover {path}", span=where)
    for path, digest in sorted(records.files.items()):
        if path not in records.subjects:
            sink.report(
                codes.VERIFY_TAMPERED,
                f"{LOCK_FILENAME} lists {path} but the provenance does not",
                span=where,
            )
        elif records.subjects[path] != digest:
            sink.report(
                codes.VERIFY_TAMPERED,
                f"{LOCK_FILENAME} and the provenance record different hashes for {path}",
                span=where,
            )
    extra = set(records.subjects) - set(records.files) - {LOCK_FILENAME, SBOM_FILENAME}
    for path in sorted(extra):
        sink.report(
            codes.VERIFY_TAMPERED,
            f"the provenance lists {path} but {LOCK_FILENAME} does not",
            span=where,
        )


def _check_signature(
    out: Path, envelope: Envelope, key: Ed25519PublicKey | None, sink: DiagnosticSink
) -> dict[str, Any]:
    signers = sorted({s.keyid for s in envelope.signatures if s.keyid})
    result: dict[str, Any] = {"checked": key is not None, "ok": None, "signers": signers}
    if key is None:
        by = f"; signed by key {', '.join(signers)}" if signers else ""
        if envelope.signatures and not signers:
            by = "; signed by a key without id"
        elif not envelope.signatures:
            by = "; the provenance is unsigned"
        result["summary"] = f"not checked (no --key given{by})"
        return result
    ident = key_id(key)
    result["key_id"] = ident
    where = Span(display_path(out / PROVENANCE_FILENAME))
    if not envelope.signatures:
        sink.report(
            codes.VERIFY_SIGNATURE,
            "the provenance is not signed",
            span=where,
            hint="generate with `--sign-key PRIVATE` to sign it",
        )
        result.update(ok=False, summary="missing (the provenance is unsigned)")
    elif envelope.signed_by(key):
        result.update(ok=True, summary=f"ok (key {ident})")
    else:
        by = f" (signed by key {', '.join(signers)})" if signers else ""
        sink.report(
            codes.VERIFY_SIGNATURE,
            f"no signature on the provenance verifies with key {ident}{by}",
            span=where,
            hint="the provenance was changed after signing, or signed with another key",
        )
        result.update(ok=False, summary=f"invalid for key {ident}")
    return result
