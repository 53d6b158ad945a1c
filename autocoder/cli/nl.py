"""``compile --prompt``: blueprints from a request in words, through a model and a lockfile.

The task asks the model (or replays ``autocoder.lock``), compiles what it wrote, writes OUT like
``compile`` does, saves the lockfile, and reports the run: calls, tokens, cost and repair
rounds, also kept in ``OUT/autocoder.run.json``. Nothing is written to OUT unless the
blueprints compile; provider failures are diagnostics, never tracebacks.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from autocoder.cli.exit_codes import ExitCode, exit_code_for
from autocoder.cli.output import emit_diagnostics, info
from autocoder.cli.tasks import assumption_mode, write_compiled
from autocoder.compiler import compile_texts, display_path
from autocoder.diagnostics import DiagnosticSink, Span, codes
from autocoder.diagnostics.codes import Code
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


def _error_code(exc: Exception) -> Code:
    from autocoder.llm import errors

    return {
        errors.NoApiKeyError: codes.LLM_NO_KEY,
        errors.UnreachableError: codes.LLM_UNREACHABLE,
        errors.LockMissError: codes.LOCK_MISS,
        errors.LockfileError: codes.IO_ERROR,
        errors.AnswerError: codes.LLM_ANSWER_INVALID,
    }.get(type(exc), codes.LLM_PROVIDER_ERROR)


def lock_path(options: LLMOptions, prompt_file: Path | None) -> Path:
    from autocoder.llm.lockfile import LOCK_FILE

    if options.lock is not None:
        return options.lock
    return (prompt_file.parent if prompt_file is not None else Path.cwd()) / LOCK_FILE


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
    from autocoder.frontend.nl.session import write_blueprints
    from autocoder.llm.config import make_provider, settings
    from autocoder.llm.errors import LLMError

    sink = DiagnosticSink()
    where = Span(display_path(prompt_file)) if prompt_file else Span("<prompt>")
    if not request.strip():
        sink.report(codes.USAGE_ERROR, "the request is empty", span=where)
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    try:
        chosen = settings(
            provider=options.provider,
            model=options.model,
            base_url=options.base_url,
            offline=options.offline,
        )
    except ValueError as exc:
        sink.report(codes.USAGE_ERROR, str(exc), span=where)
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    lock = lock_path(options, prompt_file)
    try:
        provider = make_provider(chosen, lock)
    except LLMError as exc:
        sink.report(_error_code(exc), str(exc), span=Span(display_path(lock)), hint=exc.hint)
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return exit_code_for(sink.diagnostics)
    try:
        outcome = write_blueprints(
            request,
            provider,
            max_repairs=options.max_repairs,
            answer=_ask_on_terminal(fmt),  # type: ignore[arg-type]
        )
    except LLMError as exc:
        sink.report(_error_code(exc), str(exc), span=where, hint=exc.hint)
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        _report_run(provider, None, fmt)
        return exit_code_for(sink.diagnostics)
    if outcome.questions:
        listed = "\n".join(f"  {i}. {q}" for i, q in enumerate(outcome.questions, 1))
        sink.report(
            codes.CLARIFICATION_NEEDED,
            f"the request is too vague to build; the model asks:\n{listed}",
            span=where,
            hint="answer these in the request and run again",
        )
    elif not outcome.ok:
        if outcome.result is not None:  # what the compiler still says about the last answer
            sink = outcome.result.sink
        sink.report(
            codes.LLM_ANSWER_INVALID,
            f"no usable blueprints: {outcome.problem}",
            span=where,
            hint="make the request more precise, raise --max-repairs, or try another model",
        )
    if sink.has_errors:
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        _report_run(provider, outcome, fmt)
        return exit_code_for(sink.diagnostics)
    architecture = outcome.architecture or ""
    if accept_assumptions:
        architecture = architecture.replace("  accepted: false\n", "  accepted: true\n")
    result = compile_texts(
        architecture, outcome.deployment, assumptions=assumption_mode(accept_assumptions)
    )
    record = FileDraft.text(RUN_RECORD, _run_record(provider, outcome, chosen.model, lock))
    code = write_compiled(result, out, force=force, fmt=fmt, extra=[record])
    _report_run(provider, outcome, fmt)
    return code


def _run_record(provider: object, outcome: object, model: str, lock: Path) -> str:
    totals = provider.totals()  # type: ignore[attr-defined]
    data = {
        "model": model,
        "lockfile": display_path(lock),
        "totals": totals,
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
    totals = provider.totals()  # type: ignore[attr-defined]
    cost = totals.get("cost_usd")
    price = f", ${cost:.4f}" if isinstance(cost, int | float) else ""
    info(
        f"model: {totals.get('calls', 0)} call(s) ({totals.get('replayed', 0)} replayed from the "
        f"lockfile), {totals.get('input_tokens', 0)} input + {totals.get('output_tokens', 0)} "
        f"output tokens{price}; {getattr(outcome, 'repairs', 0)} repair round(s)",
        fmt,
    )
