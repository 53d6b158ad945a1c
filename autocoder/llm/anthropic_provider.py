"""The Anthropic Messages API through the official SDK.

The system prompt and the tool list are marked cacheable (``cache_control``), since every
call of one run repeats them. The SDK retries 408/409/429/5xx and 529 "overloaded" with
backoff itself (honouring ``retry-after``); this module maps what is left into LLM errors.

``CompletionRequest.temperature`` is not sent: SDK 1.0 removed the sampling parameters and
the API version SDK 2.x speaks (2026-10-21) rejects them with a 400. Reproducible builds come
from the lockfile, not from sampling settings; the temperature stays part of the lock key.

The SDK is imported on first use (it takes seconds), so replaying a lockfile never loads it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from autocoder.llm.errors import (
    AnswerError,
    NoApiKeyError,
    ProviderError,
    UnreachableError,
    redact,
)
from autocoder.llm.types import (
    Completion,
    CompletionRequest,
    Message,
    ToolCall,
    Usage,
    check_answer,
)

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam, TextBlockParam, ToolChoiceToolParam, ToolParam

API_KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
_KEY_HINT = (
    "Check ANTHROPIC_API_KEY: the API rejected it (mistyped, revoked, or without access to "
    "this model)."
)


class AnthropicProvider:
    """A Provider answering through ``client.messages.create``."""

    name = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if not key:
            raise NoApiKeyError(
                f"no Anthropic API key: {API_KEY_ENV} is not set",
                hint=f"Set {API_KEY_ENV}, or build offline from a committed autocoder.lock.",
            )
        import anthropic

        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self._key = key
        self._client = anthropic.Anthropic(
            api_key=key,
            base_url=base_url or os.environ.get(BASE_URL_ENV) or None,
            timeout=timeout,
            max_retries=max_retries,
        )
        self.base_url = str(self._client.base_url)

    def __repr__(self) -> str:
        return f"AnthropicProvider(model={self.model!r}, base_url={self.base_url!r})"

    def complete(self, request: CompletionRequest) -> Completion:
        import anthropic

        try:
            message = self._client.messages.create(**self._params(request))
        except anthropic.APITimeoutError as exc:
            raise UnreachableError(
                f"the Anthropic API at {self.base_url} did not answer within {self.timeout:g}s "
                f"(tried {self.max_retries + 1} times)",
                hint="Raise the LLM timeout, or check the network and ANTHROPIC_BASE_URL.",
            ) from exc
        except anthropic.APIConnectionError as exc:
            raise UnreachableError(
                f"cannot reach the Anthropic API at {self.base_url} "
                f"(tried {self.max_retries + 1} times)",
                hint="Check the network connection and ANTHROPIC_BASE_URL.",
            ) from exc
        except anthropic.APIStatusError as exc:
            # `from None`: the SDK's exception carries the request, and the body may echo input
            raise self._status_error(exc) from None
        except anthropic.APIError as exc:
            raise ProviderError(
                f"the Anthropic API gave an unusable answer: {redact(exc.message, self._key)}"
            ) from None
        return check_answer(request, self._completion(message))

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        system: list[TextBlockParam] = [
            {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
        ]
        messages = [_message_param(m) for m in request.messages]
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "system": system,
            "messages": messages,
        }
        if request.tools:
            tools: list[ToolParam] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
            # one breakpoint after the last tool caches the whole tool list with the system
            tools[-1]["cache_control"] = {"type": "ephemeral"}
            params["tools"] = tools
        if request.tool_choice is not None:
            choice: ToolChoiceToolParam = {"type": "tool", "name": request.tool_choice}
            params["tool_choice"] = choice
        return params

    def _completion(self, message: anthropic.types.Message) -> Completion:
        from anthropic.types import TextBlock, ToolUseBlock

        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in message.content:
            if isinstance(block, TextBlock):
                texts.append(block.text)
            elif isinstance(block, ToolUseBlock):
                tool_input: object = block.input
                if not isinstance(tool_input, dict):
                    raise AnswerError(
                        f"{message.model} called tool '{block.name}' with an input that is not "
                        f"a JSON object ({type(tool_input).__name__})"
                    )
                calls.append(ToolCall(name=block.name, input=dict(tool_input)))
        usage = message.usage
        return Completion(
            text="\n".join(texts),
            tool_calls=tuple(calls),
            stop_reason=str(message.stop_reason or ""),
            model=str(message.model),
            usage=Usage(
                input_tokens=usage.input_tokens or 0,
                output_tokens=usage.output_tokens or 0,
                cache_read_tokens=usage.cache_read_input_tokens or 0,
                cache_write_tokens=usage.cache_creation_input_tokens or 0,
            ),
        )

    def _status_error(self, exc: anthropic.APIStatusError) -> ProviderError:
        import anthropic

        status = exc.status_code
        detail = redact(_error_detail(exc), self._key)
        message = f"the Anthropic API answered {status}: {detail}"
        if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
            return ProviderError(message, status=status, hint=_KEY_HINT)
        if status == 429 or status >= 500:
            return ProviderError(
                message + f" (after {self.max_retries} retries)",
                status=status,
                hint="The API is rate limiting or overloaded: wait a little and build again.",
            )
        return ProviderError(message, status=status)


def _message_param(message: Message) -> MessageParam:
    if message.role == "user":
        return {"role": "user", "content": message.content}
    return {"role": "assistant", "content": message.content}


def _error_detail(exc: anthropic.APIStatusError) -> str:
    """``error.type: error.message`` from the API's error body, else the SDK's message."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            kind = error.get("type")
            return f"{kind}: {error['message']}" if isinstance(kind, str) else error["message"]
    return exc.message
