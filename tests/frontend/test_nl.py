"""The natural-language session: tool answers become compiled blueprints, compiler
diagnostics go back to the model in bounded rounds, questions end the session or are answered."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from autocoder.frontend.nl.prompts import ASK_QUESTIONS, WRITE_BLUEPRINTS, blueprint_prompts
from autocoder.frontend.nl.session import write_blueprints
from autocoder.llm.types import Completion, CompletionRequest, ToolCall, Usage

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "todo-api"


def example() -> dict[str, Any]:
    yaml = YAML(typ="safe")
    return {
        "architecture": yaml.load((EXAMPLE / "architecture.yaml").read_text()),
        "deployment": yaml.load((EXAMPLE / "deployment.yaml").read_text()),
        "assumptions": ["API keys are issued out of band."],
    }


def broken() -> dict[str, Any]:
    answer = example()
    routes = answer["architecture"]["components"]["api"]["config"]["routes"]
    routes[0]["call"] = "todoz.create"  # an unknown component
    return answer


class Scripted:
    """A Provider answering with the scripted tool calls, recording every request."""

    name, model = "scripted", "scripted-1"

    def __init__(self, *answers: tuple[str, dict[str, Any]] | str) -> None:
        self.answers = list(answers)
        self.requests: list[CompletionRequest] = []

    def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        answer = self.answers.pop(0)
        calls = () if isinstance(answer, str) else (ToolCall(answer[0], copy.deepcopy(answer[1])),)
        text = answer if isinstance(answer, str) else ""
        return Completion(
            text, calls, "tool_use" if calls else "end_turn", self.model, Usage(10, 20)
        )


def test_a_valid_answer_compiles_and_records_its_assumptions() -> None:
    provider = Scripted((WRITE_BLUEPRINTS, example()))
    outcome = write_blueprints("A todo API with API-key auth", provider)
    assert outcome.ok and outcome.repairs == 0
    assert "accepted: false" in (outcome.architecture or "")
    assert outcome.assumptions == ["API keys are issued out of band."]
    (request,) = provider.requests
    assert request.tool_choice is None and request.prompt_version.startswith("blueprints-")
    assert [t.name for t in request.tools] == [WRITE_BLUEPRINTS, ASK_QUESTIONS]


def test_compiler_diagnostics_go_back_and_a_repaired_answer_is_taken() -> None:
    provider = Scripted((WRITE_BLUEPRINTS, broken()), (WRITE_BLUEPRINTS, example()))
    outcome = write_blueprints("A todo API", provider)
    assert outcome.ok and outcome.repairs == 1
    first, second = provider.requests
    assert second.tool_choice == WRITE_BLUEPRINTS and second.purpose == "repair"
    feedback = second.messages[-1].content
    assert "todoz" in feedback and "architecture.yaml:" in feedback
    assert "AC3001" in outcome.attempts[0].diagnostics[0]
    assert second.messages[0] == first.messages[0]


def test_repairs_are_bounded_and_the_remaining_diagnostics_are_kept() -> None:
    provider = Scripted(*[(WRITE_BLUEPRINTS, broken())] * 3)
    outcome = write_blueprints("A todo API", provider, max_repairs=2)
    assert not outcome.ok and outcome.repairs == 2 and len(provider.requests) == 3
    assert "after 2 repair round(s)" in outcome.problem
    assert outcome.result is not None and outcome.result.sink.has_errors


def test_an_answer_without_the_tool_is_a_repair_round() -> None:
    provider = Scripted("Sure! Here is a todo API.", (WRITE_BLUEPRINTS, example()))
    outcome = write_blueprints("A todo API", provider)
    assert outcome.ok and outcome.repairs == 1
    assert "called no `write_blueprints`" in provider.requests[1].messages[-1].content


def test_malformed_tool_input_is_a_repair_round() -> None:
    bad = {**example(), "architecture": "schema_version: 1"}
    provider = Scripted((WRITE_BLUEPRINTS, bad), (WRITE_BLUEPRINTS, example()))
    outcome = write_blueprints("A todo API", provider)
    assert outcome.ok and outcome.repairs == 1
    assert "must be the document as a mapping" in outcome.attempts[0].diagnostics[0]


def test_questions_end_the_session_unless_answered() -> None:
    asked = (ASK_QUESTIONS, {"questions": ["What does the system do?"]})
    outcome = write_blueprints("Build me something", Scripted(asked))
    assert not outcome.ok and outcome.questions == ["What does the system do?"]

    provider = Scripted(asked, (WRITE_BLUEPRINTS, example()))
    answered = write_blueprints(
        "Build me something", provider, answer=lambda qs: "1. A todo list for my team."
    )
    assert answered.ok
    assert provider.requests[1].messages[-1].content == "1. A todo list for my team."


def test_the_tool_schema_is_the_blueprint_schema_under_one_root() -> None:
    import jsonschema

    tool = blueprint_prompts().tools[0]
    jsonschema.Draft202012Validator.check_schema(tool.input_schema)
    validator = jsonschema.Draft202012Validator(tool.input_schema)
    answer = example()
    errors = [e.message for e in validator.iter_errors({**answer, "architecture": {"x": 1}})]
    assert any("'x'" in e for e in errors)  # unknown keys are refused, as by the loader


@pytest.mark.parametrize("name", ["architecture.yaml", "deployment.yaml"])
def test_the_prompt_shows_a_complete_example_pair(name: str) -> None:
    assert (EXAMPLE / name).read_text() in blueprint_prompts().system
