"""The provider-neutral shapes of one LLM call: the request, the answer, and the Provider
protocol every back end (Anthropic, OpenAI-compatible, lockfile replay) implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from autocoder.llm.errors import AnswerError


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call; its input is described by a JSON Schema."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """One conversation turn; tool results are sent back as plain text too."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class CompletionRequest:
    """Everything that decides an answer (the lock key) plus ``purpose``, which only reports."""

    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str | None = None  # a tool the model must call; None lets it choose
    max_tokens: int = 8192
    temperature: float = 0.0
    prompt_version: str = ""  # hash of the prompt files used (part of the lock key)
    purpose: str = ""  # "blueprints", "repair", "logic", ... (report only, not in the key)


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    text: str  # all text blocks joined with "\n"
    tool_calls: tuple[ToolCall, ...]
    stop_reason: str  # "end_turn", "tool_use", "max_tokens", ...
    model: str  # the model that answered, as the provider names it
    usage: Usage
    replayed: bool = False  # served from the lockfile


class Provider(Protocol):
    name: str  # "anthropic", "openai-compatible", "replay"
    model: str

    def complete(self, request: CompletionRequest) -> Completion: ...


def check_answer(request: CompletionRequest, completion: Completion) -> Completion:
    """Refuse an answer the caller cannot use: cut off by ``max_tokens``, or without the tool
    call the request demanded. Providers call this before an answer can be recorded."""
    if completion.stop_reason == "max_tokens":
        raise AnswerError(
            f"the answer of {completion.model} was cut off at max_tokens={request.max_tokens}",
            hint="Raise max_tokens for this request or ask for a smaller piece at a time.",
        )
    if request.tool_choice is not None and not any(
        call.name == request.tool_choice for call in completion.tool_calls
    ):
        raise AnswerError(
            f"{completion.model} did not call the required tool '{request.tool_choice}'",
            hint="Retry the request; if it keeps happening, check the tool's schema and prompt.",
        )
    return completion
