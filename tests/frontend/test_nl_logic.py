"""LLM-written custom logic: method bodies become a module assembled around the generated
signatures, static checks refuse dangerous or sloppy code before anything runs, the generated
suite runs it in a copy of the service, and findings go back to the model in bounded rounds."""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from autocoder.backends.python_service import service_drafts
from autocoder.cli.service import ensure_service_python
from autocoder.compiler import compile_source
from autocoder.frontend.nl.logic import (
    WRITE_METHODS,
    llm_components,
    logic_prompts,
    write_logic,
)
from autocoder.ir.models import IR
from autocoder.llm.errors import LockMissError
from autocoder.llm.types import Completion, CompletionRequest, ToolCall, Usage

NO_PYTHON = Path("/nonexistent/bin/python")  # any test run would fail loudly

DESCRIPTION = (
    "`checkCard` answers the card number it was sent and `luhn_valid`: whether the number "
    "passes the Luhn checksum."
)
TYPES = """\
types:
  CardNumber:
    properties:
      card_number: {type: string, pattern: "^[0-9]{12,19}$", examples: ["4539578763621486"]}
    required: [card_number]
  CardCheck:
    properties:
      card_number: {type: string}
      luhn_valid: {type: boolean, default: false}
    required: [card_number, luhn_valid]
"""
API = f"""\
schema_version: 1
system: {{name: card-check, version: 0.1.0}}
{TYPES}
components:
  api:
    kind: api
    description: Card number checks over HTTP.
    logic:
      mode: custom
      owner: llm
      description: "{DESCRIPTION}"
    config:
      base_path: /v1
      routes:
        - method: POST
          path: /cards/check
          operation_id: checkCard
          request: CardNumber
          response: {{type: CardCheck, status: 200}}
"""
FLOW = f"""\
schema_version: 1
system: {{name: card-flow, version: 0.1.0}}
{TYPES}
components:
  intake:
    kind: api
    outputs: {{submitted: {{type: CardNumber}}}}
    config:
      base_path: /v1
      routes:
        - {{method: POST, path: /cards, operation_id: submitCard, request: CardNumber,
           emit: submitted, response: {{status: 202, description: Queued.}}}}
  luhn:
    kind: transformer
    inputs: {{in: {{type: CardNumber}}}}
    outputs: {{out: {{type: CardCheck}}}}
    logic: {{mode: custom, owner: llm, description: Flag card numbers passing the Luhn check.}}
  audit:
    kind: sink
    inputs: {{in: {{type: CardCheck}}}}
    config: {{log: {{level: info}}}}
bindings:
  - {{from: intake.submitted, to: [luhn.in]}}
  - {{from: luhn.out, to: [audit.in]}}
"""
LUHN = """\
total = 0
for i, ch in enumerate(reversed({arg}.card_number)):
    digit = int(ch) * (2 if i % 2 else 1)
    total += digit - 9 if digit > 9 else digit
"""
GOOD = {
    "methods": {
        "check_card": LUHN.format(arg="body")
        + "return CardCheck(card_number=body.card_number, luhn_valid=total % 10 == 0)\n"
    }
}
WRONG = {"methods": {"check_card": "return CardCheck(card_number=body.card_number, luhn_valid=[])"}}
EVAL = {
    "methods": {"check_card": "return subprocess.run(eval(body.card_number))"},
    "imports": ["import subprocess"],
}


class Scripted:
    """A Provider answering with the scripted `write_methods` inputs, recording requests."""

    name, model = "scripted", "scripted-1"

    def __init__(self, *answers: dict[str, Any] | str) -> None:
        self.answers = list(answers)
        self.requests: list[CompletionRequest] = []

    def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        answer = self.answers.pop(0)
        calls = () if isinstance(answer, str) else (ToolCall(WRITE_METHODS, copy.deepcopy(answer)),)
        text = answer if isinstance(answer, str) else ""
        return Completion(text, calls, "tool_use" if calls else "end_turn", self.model, Usage())


def generate(root: Path, name: str, architecture: str) -> tuple[IR, Path]:
    """Compile the blueprints in ``root`` and write the generated service to root/out/service."""
    (root / "architecture.yaml").write_text(architecture, encoding="utf-8")
    (root / "deployment.yaml").write_text(
        f"schema_version: 1\nsystem: {name}\nenvironments:\n  dev: {{replicas: 1}}\n",
        encoding="utf-8",
    )
    result = compile_source(root)
    assert result.ok and result.ir is not None, [str(d) for d in result.sink.diagnostics]
    for draft in service_drafts(result.ir):
        target = root / "out" / draft.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(draft.content)
    return result.ir, root / "out" / "service"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> tuple[IR, Path]:
    return generate(tmp_path_factory.mktemp("card-check"), "card-check", API)


@pytest.fixture(scope="module")
def service_python(api: tuple[IR, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated services' interpreter (AUTOCODER_SERVICE_VENV, see tests/conftest.py)."""
    cached = os.environ.get("AUTOCODER_SERVICE_VENV")
    venv_dir = Path(cached) if cached else tmp_path_factory.getbasetemp() / "service-venv"
    return ensure_service_python(api[1], venv_dir)


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_the_prompt_holds_the_description_the_base_class_and_the_models(
    api: tuple[IR, Path],
) -> None:
    ir, service = api
    provider = Scripted(EVAL)
    write_logic(ir, service, provider, python=NO_PYTHON, max_repairs=0)
    (request,) = provider.requests
    prompt = request.messages[0].content
    assert DESCRIPTION in prompt
    assert (service / "app/logic_base/api.py").read_text() in prompt
    assert (service / "app/models.py").read_text().rstrip() in prompt
    assert "async def check_card(" in prompt and "self.system.stores" in request.system
    assert request.tool_choice == WRITE_METHODS and request.purpose == "logic"
    assert [t.name for t in request.tools] == [WRITE_METHODS]
    assert request.prompt_version == logic_prompts().version


def test_requests_are_the_same_on_every_run_and_the_version_can_be_pinned(
    api: tuple[IR, Path],
) -> None:
    ir, service = api
    first = write_logic(ir, service, Scripted(EVAL), python=NO_PYTHON, max_repairs=0)
    pinned = Scripted(EVAL)
    second = write_logic(ir, service, pinned, python=NO_PYTHON, max_repairs=0, prompt_version="v9")
    assert first.attempts[0].prompt_sha256 == second.attempts[0].prompt_sha256
    assert pinned.requests[0].prompt_version == "v9"
    assert logic_prompts().version.startswith("logic-")


def test_eval_and_subprocess_are_refused_before_any_test_runs_and_go_back(
    api: tuple[IR, Path],
) -> None:
    ir, service = api
    provider = Scripted(EVAL, {"methods": {"check_card": "return open('/etc/passwd').read()"}})
    outcome = write_logic(ir, service, provider, python=NO_PYTHON, max_repairs=1)
    first, second = outcome.attempts
    assert first.round == 0 and second.round == 1
    assert first.methods == EVAL["methods"]
    assert any("forbidden-import `subprocess`" in f for f in first.findings)
    assert any("forbidden-name `eval`" in f for f in first.findings)
    assert all(f.startswith("app/logic/api.py:") for f in first.findings)
    assert any("forbidden-name `open`" in f for f in second.findings)
    repair = provider.requests[1]
    assert repair.purpose == "logic-repair" and repair.tool_choice == WRITE_METHODS
    echo, feedback = repair.messages[-2], repair.messages[-1]
    assert echo.role == "assistant" and "class ApiLogic(ApiLogicBase):" in echo.content
    assert "eval(body.card_number)" in echo.content
    assert feedback.role == "user" and "forbidden-name `eval`" in feedback.content
    assert outcome.failed == {"api": second.findings} and outcome.written == {}


@pytest.mark.parametrize(
    ("body", "imports", "codes"),
    [
        (
            "assert body.card_number\nreturn CardCheck(card_number='x', luhn_valid=True)",
            [],
            {"S101", "B101"},
        ),
        (
            "digest = hashlib.md5(body.card_number.encode()).hexdigest()\n"
            "return CardCheck(card_number=digest, luhn_valid=True)",
            ["import hashlib"],
            {"S324", "B324"},
        ),
        (
            "try:\n    int(body.card_number)\nexcept Exception:\n    pass\n"
            "return CardCheck(card_number=body.card_number, luhn_valid=False)",
            [],
            {"S110", "B110"},
        ),
    ],
    ids=["assert", "md5", "try-except-pass"],
)
def test_ruff_and_bandit_findings_are_reported(
    api: tuple[IR, Path], body: str, imports: list[str], codes: set[str]
) -> None:
    ir, service = api
    outcome = write_logic(
        ir,
        service,
        Scripted({"methods": {"check_card": body}, "imports": imports}),
        python=NO_PYTHON,
        max_repairs=0,
    )
    (findings,) = outcome.failed.values()
    assert {f.split(": ")[1].split(" ")[0] for f in findings} == codes
    assert all(f.startswith("app/logic/api.py:") for f in findings)


def test_imports_outside_the_allowlist_are_refused(api: tuple[IR, Path]) -> None:
    ir, service = api
    body = "return CardCheck(card_number=str(random.random()), luhn_valid=bool(yaml))"
    answer = {
        "methods": {"check_card": body},
        "imports": ["import random", "import yaml", "from ..system import System"],
    }
    outcome = write_logic(ir, service, Scripted(answer), python=NO_PYTHON, max_repairs=0)
    findings = " ".join(outcome.failed["api"])
    assert "forbidden-import `random`" in findings
    assert "import-not-allowed `yaml`" in findings
    assert "import-not-allowed `from ..system`" in findings


def test_repairs_are_bounded_and_the_last_findings_are_kept(api: tuple[IR, Path]) -> None:
    ir, service = api
    provider = Scripted(EVAL, EVAL, EVAL)
    outcome = write_logic(ir, service, provider, python=NO_PYTHON, max_repairs=2)
    assert [a.round for a in outcome.attempts] == [0, 1, 2]
    assert len(provider.requests) == 3 and not provider.answers
    assert outcome.failed["api"] == outcome.attempts[-1].findings != []
    assert len(provider.requests[2].messages) == 5  # prompt + two (answer, findings) pairs


def test_the_model_cannot_change_a_signature(api: tuple[IR, Path]) -> None:
    ir, service = api
    renamed = {"methods": {"check": GOOD["methods"]["check_card"]}}
    whole_def = {
        "methods": {
            "check_card": "async def check_card(self, body, extra=1):\n    return None",
        }
    }
    outcome = write_logic(
        ir, service, Scripted(renamed, whole_def, "I'd rather not."), python=NO_PYTHON
    )
    unknown, missing = outcome.attempts[0].findings
    assert unknown.startswith("app/logic_base/api.py:")
    assert "unknown-method ApiLogicBase has no method 'check'" in unknown
    assert "missing-method no body for 'check_card'" in missing
    assert "send only its body" in outcome.attempts[1].findings[0]
    assert "called no `write_methods` tool" in outcome.attempts[2].findings[0]


def test_only_llm_owned_custom_components_are_written(api: tuple[IR, Path]) -> None:
    ir, _ = api
    assert [c.name for c in llm_components(ir)] == ["api"]
    human = ir.model_copy(
        update={
            "components": [
                c.model_copy(update={"logic": c.logic.model_copy(update={"owner": "human"})})
                for c in ir.components
            ]
        }
    )
    assert llm_components(human) == []


def test_llm_errors_propagate(api: tuple[IR, Path]) -> None:
    class Offline:
        name, model = "replay", "none"

        def complete(self, request: CompletionRequest) -> Completion:
            raise LockMissError("no answer recorded", key="k")

    with pytest.raises(LockMissError):
        write_logic(api[0], api[1], Offline(), python=NO_PYTHON)


@pytest.mark.slow
def test_findings_go_back_until_an_answer_passes_the_generated_tests(
    api: tuple[IR, Path], service_python: Path
) -> None:
    ir, service = api
    before = tree_digest(service)
    provider = Scripted(EVAL, WRONG, GOOD)
    outcome = write_logic(ir, service, provider, python=service_python)
    refused, failed, passed = outcome.attempts
    assert any("forbidden-name `eval`" in f for f in refused.findings)
    (test_failure,) = failed.findings
    assert test_failure.startswith("app/logic/api.py:")
    assert "test-failed tests/test_api_api.py::test_check_card" in test_failure
    feedback = provider.requests[2].messages[-1].content
    assert "luhn_valid" in feedback and "Input should be a valid boolean" in feedback
    assert str(service) not in feedback and "autocoder-logic-" not in feedback
    assert passed.findings == [] and outcome.failed == {}
    source = outcome.written["api.py"]
    assert "class ApiLogic(ApiLogicBase):" in source and "total % 10 == 0" in source
    assert tree_digest(service) == before  # checked in a copy, never in place


@pytest.mark.slow
def test_a_dataflow_component_gets_its_outputs_and_models(
    tmp_path: Path, service_python: Path
) -> None:
    ir, service = generate(tmp_path, "card-flow", FLOW)
    body = (
        LUHN.format(arg="message")
        + "await out.out(CardCheck(card_number=message.card_number, luhn_valid=total % 10 == 0))"
    )
    provider = Scripted({"methods": {"on_in_": body}})
    outcome = write_logic(ir, service, provider, python=service_python)
    assert outcome.failed == {}, outcome.attempts
    source = outcome.written["luhn.py"]
    assert "from ..logic_base.luhn import LuhnLogicBase, LuhnOutputs" in source
    assert "async def on_in_(self, message: CardNumber, out: LuhnOutputs) -> None:" in source


@pytest.mark.parametrize(
    ("answer", "finding"),
    [
        (
            {
                "methods": {"check_card": "run_process(['id'])\nreturn None"},
                "imports": ["from anyio import run_process"],
            },
            "forbidden-import `run_process`",
        ),
        (
            {"methods": {"check_card": "__builtins__['exec']('1')\nreturn None"}},
            "`__builtins__`",
        ),
    ],
)
def test_indirect_ways_to_processes_and_exec_are_refused(
    api: tuple[IR, Path], answer: dict[str, Any], finding: str
) -> None:
    ir, service = api
    outcome = write_logic(ir, service, Scripted(answer), python=NO_PYTHON, max_repairs=0)
    (attempt,) = outcome.attempts
    assert any(finding in f for f in attempt.findings), attempt.findings
    assert outcome.written == {}
