"""``compile --prompt``: blueprints from a request in words, through a model and a lockfile.

The task asks the model (or replays ``autocoder.lock``), compiles what it wrote, writes OUT like
``compile`` does, saves the lockfile, and reports the run: calls, tokens, cost and repair
rounds, also kept in ``OUT/autocoder.run.json``. Nothing is written to OUT unless the
blueprints compile; provider failures are diagnostics, never tracebacks.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import click

from autocoder.cli.exit_codes import ExitCode, exit_code_for
from autocoder.cli.output import emit_diagnostics, info
from autocoder.cli.tasks import assumption_mode, write_compiled
from autocoder.compiler import CompileResult, compile_source, compile_texts, display_path
from autocoder.diagnostics import DiagnosticSink, Span, codes
from autocoder.diagnostics.codes import Code
from autocoder.frontend.lower import ARCHITECTURE, DEPLOYMENT
from autocoder.output import FileDraft

RUN_RECORD = "autocoder.run.json"


@dataclass(frozen=True)
class LLMOptions:
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    offline: bool | None = None  # None: offline when CI=true
    lock: Path | None = None  # None: beside the prompt file, else ./autocoder.lock
    max_repairs: int = 2

    def settings(self) -> Any:
        """The resolved settings (flags over environment over autocoder.toml); ValueError on a
        bad value."""
        from autocoder.llm.config import settings

        return settings(
            provider=self.provider, model=self.model, base_url=self.base_url, offline=self.offline
        )


def _error_code(exc: Exception) -> Code:
    from autocoder.llm import errors

    return {
        errors.NoApiKeyError: codes.LLM_NO_KEY,
        errors.UnreachableError: codes.LLM_UNREACHABLE,
        errors.LockMissError: codes.LOCK_MISS,
        errors.LockfileError: codes.IO_ERROR,
        errors.AnswerError: codes.LLM_ANSWER_INVALID,
    }.get(type(exc), codes.LLM_PROVIDER_ERROR)


def lock_path(options: LLMOptions, directory: Path | None) -> Path:
    """``--lock``, else autocoder.lock in ``directory`` (beside the request file or the
    blueprints the answers belong to), else in the working directory."""
    from autocoder.llm.lockfile import LOCK_FILE

    if options.lock is not None:
        return options.lock
    return (directory if directory is not None else Path.cwd()) / LOCK_FILE


def _ask_on_terminal(fmt: str) -> object:
    """Ask the model's questions on a terminal; None (no answers) elsewhere."""
    if fmt != "text" or not sys.stdin.isatty():
        return None

    def ask(questions: list[str]) -> str | None:
        click.echo("The request leaves open:", err=True)
        answers = []
        for number, question in enumerate(questions, 1):
            reply = click.prompt(f"{number}. {question}", default="", show_default=False, err=True)
            answers.append(f"{number}. {question}\n   {reply.strip() or '(no answer)'}")
        return "My answers:\n" + "\n".join(answers)

    return ask


@dataclass
class _Asked:
    """A finished conversation: the provider (for the run report), its outcome, or the exit
    code of a failure already reported."""

    provider: Any = None
    outcome: Any = None
    model: str = ""
    lock: Path | None = None
    code: int | None = None


def _converse(
    request: str,
    prompt_file: Path | None,
    options: LLMOptions,
    fmt: str,
    current: Any = None,
) -> _Asked:
    from autocoder.frontend.nl.session import write_blueprints
    from autocoder.llm.config import make_provider
    from autocoder.llm.errors import LLMError

    sink = DiagnosticSink()
    where = Span(display_path(prompt_file)) if prompt_file else Span("<prompt>")

    def fail(asked: _Asked) -> _Asked:
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        if asked.provider is not None:
            _report_run(asked.provider, asked.outcome, fmt)
        asked.code = exit_code_for(sink.diagnostics)
        return asked

    if not request.strip():
        sink.report(codes.USAGE_ERROR, "the request is empty", span=where)
        return fail(_Asked())
    try:
        chosen = options.settings()
    except ValueError as exc:
        sink.report(codes.USAGE_ERROR, str(exc), span=where)
        return fail(_Asked())
    lock = lock_path(options, prompt_file.parent if prompt_file is not None else None)
    asked = _Asked(model=chosen.model, lock=lock)
    try:
        asked.provider = make_provider(chosen, lock)
        asked.outcome = write_blueprints(
            request,
            asked.provider,
            max_repairs=options.max_repairs,
            answer=_ask_on_terminal(fmt),  # type: ignore[arg-type]
            current=current,
        )
    except LLMError as exc:
        sink.report(_error_code(exc), str(exc), span=where, hint=exc.hint)
        return fail(asked)
    outcome = asked.outcome
    if outcome.questions:
        listed = "\n".join(f"  {i}. {q}" for i, q in enumerate(outcome.questions, 1))
        sink.report(
            codes.CLARIFICATION_NEEDED,
            f"the request is too vague to build; the model asks:\n{listed}",
            span=where,
            hint="answer these in the request and run again",
        )
        return fail(asked)
    if not outcome.ok:
        if outcome.result is not None:  # what the compiler still says about the last answer
            sink = outcome.result.sink
        sink.report(
            codes.LLM_ANSWER_INVALID,
            f"no usable blueprints: {outcome.problem}",
            span=where,
            hint="make the request more precise, raise --max-repairs, or try another model",
        )
        return fail(asked)
    return asked


def _compiled(asked: _Asked, accept_assumptions: bool, base: Path | None = None) -> CompileResult:
    outcome = asked.outcome
    architecture = outcome.accepted_architecture() if accept_assumptions else outcome.architecture
    return compile_texts(
        architecture or "",
        outcome.deployment,
        assumptions=assumption_mode(accept_assumptions),
        base=base,
    )


def _write(asked: _Asked, result: CompileResult, out: Path, *, force: bool, fmt: str) -> int:
    record = FileDraft.text(
        RUN_RECORD, _run_record(asked.provider, asked.outcome, asked.model, asked.lock, out)
    )
    code = write_compiled(result, out, force=force, fmt=fmt, extra=[record])
    _report_run(asked.provider, asked.outcome, fmt)
    return code


def compile_prompt_task(
    request: str,
    prompt_file: Path | None,
    out: Path,
    *,
    options: LLMOptions,
    accept_assumptions: bool,
    force: bool,
    fmt: str,
) -> int:
    asked = _converse(request, prompt_file, options, fmt)
    if asked.code is not None:
        return asked.code
    return _write(asked, _compiled(asked, accept_assumptions), out, force=force, fmt=fmt)


def revise_task(
    request: str,
    source: Path,
    out: Path,
    *,
    options: LLMOptions,
    allow_breaking: bool,
    accept_assumptions: bool,
    force: bool,
    fmt: str,
) -> int:
    """``compile --revise``: change the blueprints at SOURCE as asked, show the blueprint diff
    and the classified changes, and refuse breaking ones unless ``allow_breaking``."""
    from ruamel.yaml import YAML

    from autocoder.diff import breaking, compare
    from autocoder.frontend.nl.session import Current

    base = compile_source(source, assumptions="accept")
    if not base.ok or base.ir is None:
        emit_diagnostics(base.sink.diagnostics, base.sink.sources, fmt, ok=False)
        return exit_code_for(base.sink.diagnostics)
    recorded = YAML(typ="safe").load(base.architecture_text) or {}
    directory = source if source.is_dir() else source.parent
    current = Current(
        base.architecture_text,
        base.deployment_text,
        list(recorded.get("assumptions") or []),
        directory,
    )
    asked = _converse(request, None, options, fmt, current=current)
    if asked.code is not None:
        return asked.code
    head = _compiled(asked, accept_assumptions, directory)
    if head.ir is None or not head.ok:
        return write_compiled(head, out, force=force, fmt=fmt)  # reports what is wrong
    for name, before, after in (
        (ARCHITECTURE, base.architecture_text, head.architecture_text),
        (DEPLOYMENT, base.deployment_text, head.deployment_text),
    ):
        diff = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{name}",
            f"b/{name}",
        )
        info("".join(diff).rstrip("\n"), fmt)
    changes = compare(base.ir, head.ir)
    for change in changes:
        info(f"{change.rule.level}: [{change.rule.id}] {change.message}", fmt)
    refused = [] if allow_breaking else breaking(changes)
    for change in refused:
        head.sink.report(
            codes.BREAKING_REVISION,
            f"the revision would break clients or data: {change.message} [{change.rule.id}]",
            span=Span(ARCHITECTURE),
            hint="ask for a compatible change, or pass --allow-breaking",
        )
    if refused:
        emit_diagnostics(head.sink.diagnostics, head.sink.sources, fmt, ok=False)
        _report_run(asked.provider, asked.outcome, fmt)
        return exit_code_for(head.sink.diagnostics)
    return _write(asked, head, out, force=force, fmt=fmt)


def _recorded_totals(provider: object) -> dict[str, Any]:
    """The run's totals as the records keep them: without wall time, so that replaying the
    same lockfile writes the same bytes."""
    totals = dict(provider.totals())  # type: ignore[attr-defined]
    totals.pop("seconds", None)
    return totals


def _lock_name(lock: Path | None, out: Path) -> str | None:
    return os.path.relpath(lock, out) if lock is not None else None


def _run_record(provider: object, outcome: object, model: str, lock: Path | None, out: Path) -> str:
    data = {
        "model": model,
        "lockfile": _lock_name(lock, out),
        "totals": _recorded_totals(provider),
        "repair_rounds": getattr(outcome, "repairs", 0),
        "assumptions": getattr(outcome, "assumptions", []),
        "attempts": [asdict(a) for a in getattr(outcome, "attempts", [])],
        "calls": [
            {
                "purpose": c.purpose,
                "model": c.model,
                "replayed": c.replayed,
                "key": c.key,
                "usage": asdict(c.usage),
            }
            for c in provider.calls  # type: ignore[attr-defined]
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _report_run(provider: object, outcome: object, fmt: str) -> None:
    """One line: calls, tokens, cost and repair rounds (``outcome``: a session outcome, or the
    number of rounds)."""
    totals = provider.totals()  # type: ignore[attr-defined]
    repairs = outcome if isinstance(outcome, int) else getattr(outcome, "repairs", 0)
    cost = totals.get("cost_usd")
    price = f", ${cost:.4f}" if isinstance(cost, int | float) else ""
    info(
        f"model: {totals.get('calls', 0)} call(s) ({totals.get('replayed', 0)} replayed from the "
        f"lockfile), {totals.get('input_tokens', 0)} input + {totals.get('output_tokens', 0)} "
        f"output tokens{price}; {repairs} repair round(s)",
        fmt,
    )


def lock_status_task(
    prompt_file: Path, options: LLMOptions, fmt: str, *, prune: bool = False
) -> int:
    """``lock status``: replay the request of ``prompt_file`` from its lockfile, offline, and
    report what no longer matches: a request the lock cannot answer (the prompts, the model or
    the request changed since it was recorded) and entries nothing asks for any more."""
    from autocoder.frontend.nl.session import write_blueprints
    from autocoder.llm.errors import LLMError
    from autocoder.llm.lockfile import LockedProvider, Lockfile, drift

    sink = DiagnosticSink()
    lock_file = lock_path(options, prompt_file.parent)
    try:
        chosen = replace(options, offline=True).settings()
    except ValueError as exc:
        sink.report(codes.USAGE_ERROR, str(exc), span=Span(display_path(prompt_file)))
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    try:
        lock = Lockfile.load(lock_file)
        replay = LockedProvider(
            lock, None, mode="offline", provider=chosen.provider, model=chosen.model
        )
        write_blueprints(
            prompt_file.read_text(encoding="utf-8"), replay, max_repairs=options.max_repairs
        )
    except LLMError as exc:
        sink.report(
            _error_code(exc),
            f"{display_path(lock_file)} is stale: {exc}",
            span=Span(display_path(prompt_file)),
            hint="run the compile once online (--online) and commit the new lockfile",
        )
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.INPUT_ERRORS
    entries = lock.entries()
    # The logic answers are replayed by `build` only (they need the generated service).
    logic = {k for k, e in entries.items() if str(e.get("purpose", "")).startswith("logic")}
    unused = [k for k in drift(lock, replay.used) if k not in logic]
    info(
        f"{display_path(lock_file)}: {len(entries)} entr(ies), {len(replay.used)} used by the "
        f"current request, {len(unused)} no longer used"
        + (f"; {len(logic)} logic entr(ies) are checked by `build`" if logic else ""),
        fmt,
    )
    for key in unused:
        entry = entries[key]
        info(f"  unused: {key} ({entry.get('purpose')}, {entry.get('model')})", fmt)
        if prune:
            lock.remove(key)
    if prune and unused:
        lock.save()
        info(f"pruned {len(unused)} unused entr(ies) from {display_path(lock_file)}", fmt)
        return ExitCode.OK
    return ExitCode.INPUT_ERRORS if unused else ExitCode.OK


LOGIC_RECORD = ".autocoder/logic-run.json"


def _module_path(component: Any) -> str:
    """The user-owned module of a component's custom logic, relative to the service."""
    from autocoder.backends.python_service.views import snake

    return f"app/logic/{snake(component.name)}.py"


def logic_task(out: Path, lock: Path, options: LLMOptions, fmt: str) -> int:
    """The model writes the logic of the ``owner: llm`` components of the system generated in
    OUT, where their module is still the generated skeleton; what passes the checks (ruff,
    bandit, the generated tests) replaces the skeleton, every attempt is kept in
    ``OUT/.autocoder/logic-run.json``. Modules a person wrote or shipped are never touched."""
    from autocoder.backends.python_service import service_drafts
    from autocoder.cli.service import ensure_service_python, service_venv
    from autocoder.frontend.nl.logic import llm_components, write_logic
    from autocoder.ir.serialize import IR_FILENAME, read_ir
    from autocoder.llm.config import make_provider
    from autocoder.llm.errors import LLMError

    sink = DiagnosticSink()
    ir = read_ir(out / IR_FILENAME, sink)
    if ir is None:
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return exit_code_for(sink.diagnostics)
    if not llm_components(ir):
        return ExitCode.OK
    service = out / "service"
    skeletons = {
        d.path.removeprefix("service/"): d.content for d in service_drafts(ir) if d.user_owned
    }
    untouched = [
        path
        for path, content in skeletons.items()
        if (service / path).is_file() and (service / path).read_bytes() == content
    ]
    if not untouched:
        info("logic: every llm-owned module is already written; the model was not asked", fmt)
        return ExitCode.OK
    try:
        chosen = options.settings()
        provider = make_provider(chosen, lock)
        python = ensure_service_python(service, service_venv(out))
        outcome = write_logic(
            ir,
            service,
            provider,
            python=python,
            max_repairs=options.max_repairs,
            components=[c.name for c in llm_components(ir) if _module_path(c) in untouched],
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        sink.report(
            codes.IO_ERROR,
            f"the service's environment for the logic checks could not be made: {exc}",
            span=Span(display_path(service)),
            hint="check the network access to the package index, or set AUTOCODER_SERVICE_VENV",
        )
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    except ValueError as exc:
        sink.report(codes.USAGE_ERROR, str(exc))
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    except LLMError as exc:
        sink.report(_error_code(exc), str(exc), span=Span(display_path(lock)), hint=exc.hint)
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return exit_code_for(sink.diagnostics)
    for name, source in outcome.written.items():
        path = f"app/logic/{name}"
        if path in untouched:
            (service / path).write_text(source, encoding="utf-8")
            info(f"logic: written by the model and checked: service/{path}", fmt)
    record = {
        "model": chosen.model,
        "lockfile": _lock_name(lock, out),
        "totals": _recorded_totals(provider),
        "written": sorted(outcome.written),
        "failed": outcome.failed,
        "attempts": [asdict(a) for a in outcome.attempts],
    }
    (out / LOGIC_RECORD).parent.mkdir(parents=True, exist_ok=True)
    (out / LOGIC_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    for component, findings in sorted(outcome.failed.items()):
        shown = "\n".join(f"  {f}" for f in findings[:10])
        sink.report(
            codes.LOGIC_REJECTED,
            f"the logic the model wrote for {component!r} still fails its checks after "
            f"{options.max_repairs} repair round(s):\n{shown}",
            span=Span(ARCHITECTURE),
            hint=f"write it by hand in service/app/logic/, or see {LOGIC_RECORD}",
        )
    emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=not sink.has_errors)
    _report_run(provider, sum(a.round > 0 for a in outcome.attempts), fmt)
    return exit_code_for(sink.diagnostics)
