"""Re-record the lockfiles of the natural-language examples from their answer files.

Each case holds ``request.md`` (the request in words), ``answers/*.yaml`` (the model's answers,
in order: ``{tool, input}``, written by hand in the shape of the model's tool calls) and
``autocoder.lock``. This script plays the answers through the same session
``autocoder build --prompt-file`` runs — the blueprints, then the logic of ``owner: llm``
components, checked against the generated service — in record mode, so the lock keys are
exactly the ones that command computes. Run it after the prompts (prompts/), the tool schemas
(schemas/), the generated service or the default model change, and commit the lockfiles. The
logic step needs the generated services' environment (AUTOCODER_SERVICE_VENV, else one is made
under the system's temporary directory).

Token counts in these lockfiles are estimates (characters / 4), not a provider's counts.

    python examples/nl/record.py            # every case
    python examples/nl/record.py todo-auth  # one
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from autocoder.frontend.nl.session import write_blueprints
from autocoder.llm.config import DEFAULT_MODEL, DEFAULT_PROVIDER
from autocoder.llm.lockfile import LOCK_FILE, LockedProvider, Lockfile
from autocoder.llm.types import Completion, CompletionRequest, ToolCall, Usage

HERE = Path(__file__).resolve().parent


def estimate(text: str) -> int:
    return max(1, len(text) // 4)


class Answers:
    """A provider answering with the case's answer files, in order."""

    name, model = DEFAULT_PROVIDER, DEFAULT_MODEL

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self.answers = answers

    def complete(self, request: CompletionRequest) -> Completion:
        if not self.answers:
            raise SystemExit("the session asked for more answers than answers/ holds")
        answer = self.answers.pop(0)
        prompt = request.system + "".join(m.content for m in request.messages)
        output = json.dumps(answer["input"])
        return Completion(
            text=answer.get("text", ""),
            tool_calls=(ToolCall(answer["tool"], answer["input"]),),
            stop_reason="tool_use",
            model=self.model,
            usage=Usage(input_tokens=estimate(prompt), output_tokens=estimate(output)),
        )


def record(case: Path) -> None:
    yaml = YAML(typ="safe")
    answers = [
        yaml.load(p.read_text(encoding="utf-8")) for p in sorted(case.glob("answers/*.yaml"))
    ]
    (case / LOCK_FILE).unlink(missing_ok=True)
    lock = Lockfile.load(case / LOCK_FILE)
    inner = Answers(answers)
    provider = LockedProvider(
        lock, inner, mode="record", provider=DEFAULT_PROVIDER, model=DEFAULT_MODEL
    )
    request = (case / "request.md").read_text(encoding="utf-8")
    count = len(answers)
    outcome = write_blueprints(request, provider)
    if outcome.ok and inner.answers:
        _record_logic(outcome, provider)
    if inner.answers:
        raise SystemExit(f"{case.name}: {len(inner.answers)} answer(s) were not asked for")
    lock.save()
    state = "compiles" if outcome.ok else f"does not compile: {outcome.problem}"
    print(f"{case.name}: {count} answer(s), {outcome.repairs} repair round(s), {state}")


def _record_logic(outcome: Any, provider: LockedProvider) -> None:
    """The logic step of ``build``: generate the service, let the answers write the logic."""
    import tempfile

    from autocoder.backends.python_service import service_drafts
    from autocoder.cli.service import ensure_service_python, service_venv
    from autocoder.compiler import compile_texts
    from autocoder.diagnostics import DiagnosticSink
    from autocoder.frontend.nl.logic import write_logic
    from autocoder.ir.serialize import dump_ir, ir_from_data

    compiled = compile_texts(outcome.architecture, outcome.deployment, assumptions="accept")
    # `build` generates from the IR file as written (canonical JSON: sorted keys), so the
    # service the logic is checked against must come from the same form.
    ir = ir_from_data(json.loads(dump_ir(compiled.ir)), DiagnosticSink(), file="ir.v1.json")
    if ir is None:
        raise SystemExit("the compiled blueprints do not round-trip through ir.v1.json")
    venv = service_venv(Path(tempfile.gettempdir()) / "autocoder-record")
    with tempfile.TemporaryDirectory(prefix="record-") as tmp:
        root = Path(tmp)
        for draft in service_drafts(ir):
            (root / draft.path).parent.mkdir(parents=True, exist_ok=True)
            (root / draft.path).write_bytes(draft.content)
        python = ensure_service_python(root / "service", venv)
        logic = write_logic(ir, root / "service", provider, python=python)
    print(f"  logic: written {sorted(logic.written)}, failed {sorted(logic.failed)}")


def main(names: list[str]) -> int:
    cases = [HERE / n for n in names] or sorted(p.parent for p in HERE.glob("*/request.md"))
    for case in cases:
        record(case)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
