"""The prompts of the natural-language front end, as versioned data.

The system prompt lives in ``prompts/blueprints/system.md`` and shows one complete example
pair (``examples/todo-api``); the tools' input schemas are the blueprint language's own JSON
Schemas. ``version`` hashes all of it: it is part of every lock key, so a changed prompt never
replays an answer given to another one.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from autocoder.llm.types import ToolSpec
from autocoder.resources import data_dir, load_json_schema

WRITE_BLUEPRINTS = "write_blueprints"
ASK_QUESTIONS = "ask_clarifying_questions"
EXAMPLE = "todo-api"


@dataclass(frozen=True)
class PromptSet:
    system: str
    tools: tuple[ToolSpec, ...]
    version: str  # "blueprints-<sha256 prefix>"


@cache
def blueprint_prompts() -> PromptSet:
    instructions = (data_dir("prompts") / "blueprints" / "system.md").read_text(encoding="utf-8")
    example = data_dir("examples") / EXAMPLE
    pair = "".join(
        f"\n{name}:\n```yaml\n{(example / name).read_text(encoding='utf-8')}```\n"
        for name in ("architecture.yaml", "deployment.yaml")
    )
    system = instructions + pair
    tools = (_write_tool(), _questions_tool())
    digest = hashlib.sha256(
        json.dumps(
            {"system": system, "tools": [t.__dict__ for t in tools]},
            sort_keys=True,
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    return PromptSet(system, tools, f"blueprints-{digest[:16]}")


def _namespaced(schema: dict[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``schema`` without its ``$defs``, its references pointing at ``#/$defs/<prefix>.<name>``,
    and those definitions renamed the same way (so two schemas can share one root)."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                    out[key] = f"#/$defs/{prefix}.{value.removeprefix('#/$defs/')}"
                else:
                    out[key] = rewrite(value)
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    body = rewrite(copy.deepcopy(schema))
    defs = body.pop("$defs", {})
    for key in ("$schema", "$id"):
        body.pop(key, None)
    return body, {f"{prefix}.{name}": value for name, value in defs.items()}


def _write_tool() -> ToolSpec:
    architecture, arch_defs = _namespaced(load_json_schema("architecture.schema.json"), "arch")
    deployment, dep_defs = _namespaced(load_json_schema("deployment.schema.json"), "dep")
    architecture["properties"].pop("assumptions", None)  # given beside, as plain sentences
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["architecture", "deployment", "assumptions"],
        "properties": {
            "architecture": architecture,
            "deployment": deployment,
            "assumptions": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "description": "Every decision the request did not settle, one sentence each.",
            },
        },
        "$defs": {**arch_defs, **dep_defs},
    }
    return ToolSpec(
        WRITE_BLUEPRINTS,
        "Write the system's architecture.yaml and deployment.yaml (as data) and the "
        "assumptions made.",
        schema,
    )


def _questions_tool() -> ToolSpec:
    return ToolSpec(
        ASK_QUESTIONS,
        "Ask the person what is needed before any blueprint can be written; only when the "
        "request is too vague to build.",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["questions"],
            "properties": {
                "questions": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 5,
                    "items": {"type": "string", "minLength": 1},
                }
            },
        },
    )
