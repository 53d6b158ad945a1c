"""Tasks behind ``generate``, ``build`` and ``run``: IR -> service/, and serving it."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

from autocoder.backends.deploy import DEPLOY, deploy_drafts, targets
from autocoder.backends.python_service import LOCK_FILE, SERVICE, pins, service_drafts
from autocoder.backends.supply_chain import supply_chain_drafts
from autocoder.backends.supply_chain.signing import (
    Ed25519PrivateKey,
    SigningKeyError,
    key_id,
    load_private_key,
)
from autocoder.cli.exit_codes import ExitCode, exit_code_for
from autocoder.cli.nl import RUN_RECORD
from autocoder.cli.output import emit_diagnostics, info
from autocoder.cli.tasks import _conflicts_to_sink, compile_task
from autocoder.compiler import display_path, looks_like_contract
from autocoder.diagnostics import DiagnosticSink, Severity, Span, codes
from autocoder.frontend.lower import ARCHITECTURE, DEPLOYMENT
from autocoder.ir.models import IR
from autocoder.ir.serialize import IR_FILENAME, read_ir
from autocoder.output import FileDraft, WriteConflictError, write_tree
from autocoder.output.writer import plan, read_manifest

LOGIC_DIR = "logic"  # beside a blueprint: implementations of custom logic, copied once


CONTRACT_SERVICES = True  # the python service back end serves contract APIs


def _contract_files(ir: IR) -> list[str]:
    return sorted({c.contract.file for c in ir.components if c.contract is not None})


def _is_blueprint_dir(path: Path) -> bool:
    return (path.is_file() and path.name == ARCHITECTURE) or (path / ARCHITECTURE).is_file()


def _seed_logic(source: Path | None, drafts: list[FileDraft]) -> list[FileDraft]:
    """User-owned logic modules: taken from ``SOURCE/logic/<module>.py`` when the blueprint
    ships an implementation, else the generated skeleton. Either way written only once."""
    if source is None:
        return drafts
    root = (source.parent if source.is_file() else source) / LOGIC_DIR
    out = []
    for draft in drafts:
        shipped = root / Path(draft.path).name
        if draft.user_owned and shipped.is_file():
            out.append(FileDraft(draft.path, shipped.read_bytes(), user_owned=True))
        else:
            out.append(draft)
    return out


def generate_task(
    source: Path,
    out: Path,
    *,
    force: bool,
    fmt: str,
    sign_key: Path | None = None,
    accept_assumptions: bool = False,
) -> int:
    """``generate``: SOURCE is a compiled OUT (holding ir.v1.json), an IR file, or blueprints
    (compiled into OUT first)."""
    sink = DiagnosticSink()
    key = None
    if sign_key is not None:
        try:
            key = load_private_key(sign_key)
        except SigningKeyError as exc:
            sink.report(codes.SIGNING_KEY_INVALID, str(exc), span=Span(display_path(sign_key)))
            emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
            return ExitCode.USAGE
    blueprints: Path | None = None
    yaml_file = source.is_file() and source.suffix.lower() in (".yaml", ".yml")
    if _is_blueprint_dir(source) or yaml_file or looks_like_contract(source):
        code = compile_task(
            source, out, force=force, fmt=fmt, accept_assumptions=accept_assumptions
        )
        if code != ExitCode.OK:
            return code
        blueprints = None if looks_like_contract(source) else source
        ir_path = out / IR_FILENAME
    else:
        ir_path = source / IR_FILENAME if source.is_dir() else source
    if not ir_path.is_file():
        sink.report(
            codes.SOURCE_NOT_FOUND,
            f"{display_path(source)} holds neither blueprints nor {IR_FILENAME}",
            span=Span(display_path(source)),
            hint="pass a blueprint directory, or the output directory of `autocoder compile`",
        )
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    ir = read_ir(ir_path, sink, file=display_path(ir_path))
    if ir is None:
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return exit_code_for(sink.diagnostics)
    return _write_outputs(ir, ir_path, blueprints, out, sink, force=force, fmt=fmt, key=key)


def _relative(drafts: list[FileDraft], prefix: str) -> list[FileDraft]:
    return [
        FileDraft(
            d.path.removeprefix(prefix), d.content, user_owned=d.user_owned, executable=d.executable
        )
        for d in drafts
    ]


def _gate(ir: IR, files: dict[str, bytes], sink: DiagnosticSink, fmt: str) -> bool:
    """Run the output gate; report its findings; True when the package may be written."""
    from autocoder.backends.deploy.gate import check_package

    all_targets = targets(ir)
    for target in all_targets:
        for secret in target.implied_secrets:
            sink.report(
                codes.IMPLIED_SECRET,
                f"environment {target.env!r} declares no secret for {secret.env}; the "
                f"deployment package reads it from Secret {secret.secret!r}, key "
                f"{secret.key!r}",
                span=Span("deployment.yaml"),
                hint=f"declare `secrets: {{{secret.env}: {{secret: ..., key: ...}}}}` under "
                f"environments.{target.env}",
            )
    report = check_package(all_targets, files)
    for finding in report.findings:
        sink.report(
            finding.code,
            finding.message,
            span=Span(finding.file),
            hint=finding.hint or None,
            severity=Severity.WARNING if finding.warning else None,
        )
    for line in report.checked:
        info(f"  gate: {line}", fmt)
    for line in report.skipped:
        info(f"  gate: skipped {line}", fmt)
    return not report.failed


def _write_outputs(
    ir: IR,
    ir_path: Path,
    blueprints: Path | None,
    out: Path,
    sink: DiagnosticSink,
    *,
    force: bool,
    fmt: str,
    key: Ed25519PrivateKey | None,
) -> int:
    """Generate service/ and deploy/, gate them, add the supply-chain records, then write the
    three trees (nothing is written when the gate or a conflict check fails)."""
    contracts = [c for c in ir.components if c.contract is not None]
    if contracts and not CONTRACT_SERVICES:
        sink.report(
            codes.GENERATION_NOT_IMPLEMENTED,
            f"component {contracts[0].name!r} serves the OpenAPI contract "
            f"{contracts[0].contract.file if contracts[0].contract else ''}: generating its "
            "service is not implemented in this version",
            span=Span(display_path(ir_path)),
            hint="`autocoder compile` wrote the blueprints and the IR; generation of contract "
            "APIs follows",
        )
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return exit_code_for(sink.diagnostics)
    service_tree = _relative(_seed_logic(blueprints, service_drafts(ir)), SERVICE + "/")
    deploy_tree = _relative(deploy_drafts(ir), DEPLOY + "/")
    generated = {f"{SERVICE}/{d.path}": d.content for d in service_tree if not d.user_owned}
    generated.update({f"{DEPLOY}/{d.path}": d.content for d in deploy_tree})
    if not _gate(ir, generated, sink, fmt):
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        info("the generated deployment package fails its own gate; nothing was written", fmt)
        return exit_code_for(sink.diagnostics)
    root_tree = [
        FileDraft(name, (out / name).read_bytes())
        for name in (ARCHITECTURE, DEPLOYMENT, IR_FILENAME, RUN_RECORD, *_contract_files(ir))
        if (out / name).is_file() and name in read_manifest(out)
    ]
    if IR_FILENAME not in {d.path for d in root_tree}:
        root_tree.append(FileDraft(IR_FILENAME, ir_path.read_bytes()))
    generated.update({d.path: d.content for d in root_tree})
    owned = [f"{SERVICE}/{d.path}" for d in service_tree if d.user_owned]
    root_tree += supply_chain_drafts(
        ir, files=generated, user_owned=owned, pins=pins(), sign_key=key
    )
    trees = [(out / SERVICE, service_tree), (out / DEPLOY, deploy_tree), (out, root_tree)]
    conflicts = [(target, c) for target, drafts in trees for c in plan(target, drafts, force=force)]
    if conflicts:
        for target, drafts in trees:
            found = plan(target, drafts, force=force)
            if found:
                _conflicts_to_sink(sink, target, WriteConflictError(found))
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    written: list[str] = []
    try:
        for target, drafts in trees:
            written += [str(target / p) for p in write_tree(target, drafts, force=force)]
    except OSError as exc:
        sink.report(
            codes.IO_ERROR,
            f"cannot write {out}: {exc.strerror or exc}",
            span=Span(display_path(out)),
        )
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    pending = [out / p for p in owned if str(out / p) in written]
    emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=True, output=str(out))
    total = sum(len(drafts) for _, drafts in trees)
    info(
        f"generated {ir.system.name} {ir.system.version}: {len(written)} of {total} files "
        f"written -> {display_path(out / SERVICE)}, {display_path(out / DEPLOY)}",
        fmt,
    )
    info(
        "supply chain: build.lock, sbom.cdx.json, provenance.intoto.jsonl "
        + (f"(signed, key {key_id(key)})" if key else "(unsigned: pass --sign-key to sign)"),
        fmt,
    )
    for path in pending:
        info(f"  created {display_path(path)} (yours: custom logic goes here)", fmt)
    return ExitCode.OK


def build_task(
    source: Path,
    out: Path,
    *,
    force: bool,
    fmt: str,
    sign_key: Path | None = None,
    accept_assumptions: bool = False,
) -> int:
    """``build``: compile + generate (the command then validates)."""
    code = generate_task(
        source,
        out,
        force=force,
        fmt=fmt,
        sign_key=sign_key,
        accept_assumptions=accept_assumptions,
    )
    if code == ExitCode.OK:
        info(f"next: autocoder run {display_path(out)}", fmt)
    return code


# --- run ------------------------------------------------------------------------------------


def _requirements(service: Path) -> list[str]:
    """pip arguments: the locked runtime dependencies (as the container image installs them)
    when the service has a lock, else its declared ranges; plus its test dependencies."""
    project = tomllib.loads((service / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    tests = project.get("optional-dependencies", {}).get("test", [])
    lock = service / LOCK_FILE
    if lock.is_file():
        locked = [line.strip() for line in lock.read_text(encoding="utf-8").splitlines()]
        return [*(line for line in locked if line and not line.startswith("#")), *tests]
    return [*project["dependencies"], *tests]


def service_venv(out: Path) -> Path:
    """Where the generated service's interpreter lives: AUTOCODER_SERVICE_VENV (one environment
    shared by every service of a run), else OUT/.venv."""
    return Path(os.environ.get("AUTOCODER_SERVICE_VENV") or out / ".venv")


def ensure_service_python(service: Path, venv_dir: Path) -> Path:
    """A virtual environment with the service's dependencies (created or refreshed when the
    dependency list changed); returns its interpreter. Safe to call from several processes at
    once: they take turns on a lock file beside the environment."""
    requirements = _requirements(service)
    stamp = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    python = venv_dir / "bin" / "python"
    stamp_file = venv_dir / ".autocoder-requirements"
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(venv_dir.parent / f".{venv_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and stamp_file.is_file() and stamp_file.read_text() == stamp:
            return python
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        result = subprocess.run(  # noqa: S603 - the venv's own pip installing the requirements
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *requirements,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:  # the caller reports pip's own words
            raise subprocess.CalledProcessError(
                result.returncode, result.args, output=result.stdout, stderr=result.stderr
            )
        stamp_file.write_text(stamp)
        return python


def run_task(out: Path, *, port: int | None, environment: str | None, python: str | None) -> int:
    sink = DiagnosticSink()
    service = out / SERVICE if (out / SERVICE).is_dir() else out
    if not (service / "app" / "main.py").is_file():
        sink.report(
            codes.SOURCE_NOT_FOUND,
            f"{display_path(out)} holds no generated service",
            span=Span(display_path(out)),
            hint=f"run `autocoder build SOURCE -o {display_path(out)}` first",
        )
        emit_diagnostics(sink.diagnostics, sink.sources, "text", ok=False)
        return ExitCode.USAGE
    chosen = python or os.environ.get("AUTOCODER_SERVICE_PYTHON")
    if chosen:
        interpreter = Path(chosen)
    else:
        info(f"preparing {display_path(out / '.venv')} (first run only)...", "text")
        interpreter = ensure_service_python(service, out / ".venv")
    env = dict(os.environ)
    if environment:
        env["AUTOCODER_ENV"] = environment
    if not env.get("API_KEYS") and not env.get("API_KEYS_FILE"):
        key = secrets.token_urlsafe(24)
        env["API_KEYS"] = key
        info(f"API key for this run (set API_KEYS to choose your own): {key}", "text")
    if not env.get("JWT_SECRET") and not env.get("JWT_SECRET_FILE"):
        env["JWT_SECRET"] = secrets.token_urlsafe(32)
    chosen_port = port or int(env.get("PORT") or 8000)
    env["HOST"] = "127.0.0.1"
    env["PORT"] = str(chosen_port)
    command = [str(interpreter), "-m", "app"]  # the container image's command too
    info(f"serving on http://127.0.0.1:{chosen_port} (docs at /docs); Ctrl-C stops", "text")
    process = subprocess.Popen(command, cwd=service, env=env)  # noqa: S603
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        return process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
        sys.stdout.flush()
