"""One conversation with a model that ends in blueprints that compile, or says why not.

The model answers with a tool call: ``write_blueprints`` (both documents and the assumptions
made) or ``ask_clarifying_questions``. Written blueprints are dumped to YAML and compiled like
any others; the compiler's diagnostics go back to the model for at most ``max_repairs`` rounds.
Questions end the session unless ``answer`` (a terminal) answers them. Every request is a
pure function of the prompt files, the request and the earlier answers, so a lockfile replays
a session exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autocoder.compiler import CompileResult, compile_texts, dump_yaml
from autocoder.diagnostics import render_text
from autocoder.llm.types import Completion, CompletionRequest, Message, Provider

from .prompts import ASK_QUESTIONS, WRITE_BLUEPRINTS, PromptSet, blueprint_prompts

MAX_TOKENS = 16_000
MAX_QUESTION_ROUNDS = 3  # answered rounds of questions before the session gives up
HEADER = "# Written by `autocoder compile --prompt`; review it, then edit it like any blueprint.\n"
Answerer = Callable[[list[str]], str | None]


@dataclass
class Attempt:
    """One answer of the model and what the compiler said about it."""

    purpose: str  # "blueprints", "repair", "answers"
    tool: str | None
    diagnostics: list[str] = field(default_factory=list)  # "file:line:col: code: message"


@dataclass
class Outcome:
    architecture: str | None = None  # YAML text, when the blueprints compile
    deployment: str | None = None
    assumptions: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)  # the model needs answers first
    repairs: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    result: CompileResult | None = None  # the last compilation
    problem: str = ""  # why there are no blueprints (with ``result`` holding diagnostics)
    answer: dict[str, Any] = field(default_factory=dict)  # the accepted write_blueprints input
    kept: list[dict[str, Any]] = field(default_factory=list)  # assumptions of a revised system

    @property
    def ok(self) -> bool:
        return self.architecture is not None

    def accepted_architecture(self) -> str:
        """The architecture with every recorded assumption accepted."""
        return blueprint_texts(self.answer, self.assumptions, self.kept, accept=True)[0]


def blueprint_texts(
    answer: dict[str, Any],
    assumptions: list[str],
    kept: list[dict[str, Any]] | None = None,
    *,
    accept: bool = False,
) -> tuple[str, str]:
    """The YAML files of a ``write_blueprints`` answer; the assumptions are recorded in the
    architecture (unaccepted unless ``accept``), after those ``kept`` from the blueprints
    being revised."""
    architecture = dict(answer["architecture"])
    architecture.pop("assumptions", None)
    recorded = [dict(item) for item in kept or []]
    known = {str(item.get("text")) for item in recorded}
    recorded += [{"text": a, "accepted": False} for a in assumptions if a not in known]
    for item in recorded if accept else ():
        item["accepted"] = True
    if recorded:
        architecture["assumptions"] = recorded
    return dump_yaml(architecture, HEADER), dump_yaml(dict(answer["deployment"]), HEADER)


@dataclass(frozen=True)
class Current:
    """The blueprints a revision starts from: their text and their recorded assumptions."""

    architecture: str
    deployment: str
    assumptions: list[dict[str, Any]]
    base: Path | None = None  # where their contracts are read from


def _revision_request(request: str, current: Current) -> str:
    return (
        "These are the current blueprints.\n\narchitecture.yaml:\n```yaml\n"
        f"{current.architecture}```\n\ndeployment.yaml:\n```yaml\n{current.deployment}```\n\n"
        f"Change them as little as possible to do this, and keep everything else as it is:\n"
        f"{request.strip()}\n\nCall `{WRITE_BLUEPRINTS}` with both complete files; list only "
        "the new assumptions."
    )


def _shape_problem(call_input: dict[str, Any]) -> str | None:
    for key in ("architecture", "deployment"):
        value = call_input.get(key)
        if not isinstance(value, dict):
            return f"`{key}` must be the document as a mapping, not {type(value).__name__}"
    assumptions = call_input.get("assumptions", [])
    if not isinstance(assumptions, list) or not all(isinstance(a, str) for a in assumptions):
        return "`assumptions` must be a list of sentences"
    return None


def _echo(architecture: str, deployment: str) -> str:
    return (
        "I wrote these blueprints.\n\narchitecture.yaml:\n```yaml\n"
        f"{architecture}```\n\ndeployment.yaml:\n```yaml\n{deployment}```"
    )


def _fix_request(report: str) -> str:
    return (
        f"The compiler reported:\n\n{report}\nFix every diagnostic and call "
        f"`{WRITE_BLUEPRINTS}` again with both complete files and the assumptions."
    )


def write_blueprints(
    request: str,
    provider: Provider,
    *,
    max_repairs: int = 2,
    answer: Answerer | None = None,
    prompts: PromptSet | None = None,
    current: Current | None = None,
) -> Outcome:
    """Ask ``provider`` for the blueprints of ``request`` (a change to ``current``, when
    given). LLM errors (no key, unreachable, lock miss) propagate as
    ``autocoder.llm.errors.LLMError``; everything the model got wrong ends in the outcome."""
    prompts = prompts or blueprint_prompts()
    outcome = Outcome()
    if current is None:
        messages = [Message("user", request.strip())]
        purpose, forced = "blueprints", None
    else:
        messages = [Message("user", _revision_request(request, current))]
        purpose, forced = "revise", WRITE_BLUEPRINTS
    while True:
        completion = provider.complete(
            CompletionRequest(
                system=prompts.system,
                messages=tuple(messages),
                tools=prompts.tools,
                tool_choice=forced,
                max_tokens=MAX_TOKENS,
                prompt_version=prompts.version,
                purpose=purpose,
            )
        )
        call = _tool_call(completion)
        attempt = Attempt(purpose, call[0] if call else None)
        outcome.attempts.append(attempt)
        if call and call[0] == ASK_QUESTIONS and forced is None:
            questions = [str(q) for q in call[1].get("questions") or []] or ["(no question given)"]
            answered = sum(a.purpose == "answers" for a in outcome.attempts)
            replies = answer(questions) if answer and answered < MAX_QUESTION_ROUNDS else None
            if not replies:
                outcome.questions = questions
                outcome.problem = "the model needs answers before it can write blueprints"
                return outcome
            asked = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
            messages += [
                Message("assistant", f"Before I write the blueprints:\n{asked}"),
                Message("user", replies),
            ]
            purpose = "answers"
            continue
        if call and call[0] == WRITE_BLUEPRINTS and (shape := _shape_problem(call[1])) is None:
            assumptions = [a.strip() for a in call[1].get("assumptions", []) if a.strip()]
            kept = current.assumptions if current is not None else None
            architecture, deployment = blueprint_texts(call[1], assumptions, kept)
            result = compile_texts(
                architecture, deployment, base=current.base if current is not None else None
            )
            outcome.result = result
            errors = [d for d in result.sink.diagnostics if d.is_error]
            attempt.diagnostics = [
                f"{d.span or 'blueprints'}: {d.code.id}: {d.message}" for d in errors
            ]
            if result.ok:
                outcome.architecture, outcome.deployment = architecture, deployment
                outcome.assumptions, outcome.answer, outcome.kept = assumptions, call[1], kept or []
                return outcome
            report = render_text(errors, result.sink.sources)
            reply = [Message("assistant", _echo(architecture, deployment))]
            problem = f"the blueprints do not compile ({len(errors)} error(s))"
        else:
            what = (
                f"`{WRITE_BLUEPRINTS}` was called with input the tool does not accept: {shape}"
                if call and call[0] == WRITE_BLUEPRINTS
                else f"the answer called no `{WRITE_BLUEPRINTS}` tool"
            )
            attempt.diagnostics = [what]
            report = what + "\n"
            reply = [Message("assistant", completion.text or "(no text)")]
            problem = what
        if outcome.repairs >= max_repairs:
            outcome.problem = (
                f"{problem} after {outcome.repairs} repair round(s) (--max-repairs {max_repairs})"
            )
            return outcome
        outcome.repairs += 1
        messages += [*reply, Message("user", _fix_request(report))]
        purpose, forced = "repair", WRITE_BLUEPRINTS


def _tool_call(completion: Completion) -> tuple[str, dict[str, Any]] | None:
    for call in completion.tool_calls:
        if call.name in (WRITE_BLUEPRINTS, ASK_QUESTIONS) and isinstance(call.input, dict):
            return call.name, call.input
    return None
