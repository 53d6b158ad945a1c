"""Any server speaking the OpenAI chat-completions protocol (vLLM, Ollama, llama.cpp, LiteLLM,
OpenAI itself), over plain httpx.

Retries 429/500/502/503/504, connection errors and timeouts with exponential backoff, honouring
``Retry-After`` up to a cap. Finish reasons are mapped onto the Anthropic names the rest of the
package uses ("stop" -> "end_turn", "tool_calls" -> "tool_use", "length" -> "max_tokens").
"""

from __future__ import annotations

import email.utils
import json
import os
import time
from typing import Any

import httpx

from autocoder.llm.errors import AnswerError, ProviderError, UnreachableError, redact
from autocoder.llm.types import Completion, CompletionRequest, ToolCall, Usage, check_answer

API_KEY_ENV = "OPENAI_API_KEY"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BASE_DELAY = 0.5  # seconds before the first retry, doubled each time (tests set it to 0)
MAX_DELAY = 8.0  # cap on one wait, also on a server's Retry-After
_FINISH_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
}


class OpenAICompatibleProvider:
    """A Provider answering through ``POST {base_url}/chat/completions``."""

    name = "openai-compatible"

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        # local servers need no key, so a missing one is not an error here
        self._key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout))

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def complete(self, request: CompletionRequest) -> Completion:
        response = self._post(self._body(request))
        try:
            data = response.json()
        except ValueError:
            raise ProviderError(
                f"{self.base_url} answered {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from None
        return check_answer(request, self._completion(data))

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}]
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.input_schema,
                    },
                }
                for t in request.tools
            ]
        if request.tool_choice is not None:
            body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
        return body

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        url = f"{self.base_url}/chat/completions"
        attempt = 0
        while True:
            try:
                response = self._client.post(url, json=body)
            except httpx.TimeoutException as exc:
                if attempt < self.max_retries:
                    attempt = _wait(attempt, None)
                    continue
                raise UnreachableError(
                    f"{url} did not answer within {self.timeout:g}s "
                    f"(tried {self.max_retries + 1} times)",
                    hint="Raise the LLM timeout, or check that the model server is running.",
                ) from exc
            except httpx.TransportError as exc:
                if attempt < self.max_retries:
                    attempt = _wait(attempt, None)
                    continue
                raise UnreachableError(
                    f"cannot reach {url} (tried {self.max_retries + 1} times): "
                    f"{type(exc).__name__}",
                    hint="Check that the model server is running and the base URL is right.",
                ) from exc
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                attempt = _wait(attempt, response)
                continue
            if response.is_success:
                return response
            raise self._status_error(response)

    def _status_error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        message = f"{self.base_url} answered {status}: {redact(_error_detail(response), self._key)}"
        if status in (401, 403):
            return ProviderError(
                message,
                status=status,
                hint=f"Check {API_KEY_ENV}: the server rejected the key, or needs one.",
            )
        if status in RETRY_STATUSES:
            return ProviderError(
                message + f" (after {self.max_retries} retries)",
                status=status,
                hint="The server is busy or failing: wait a little and build again.",
            )
        return ProviderError(message, status=status)

    def _completion(self, data: Any) -> Completion:
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            choice = message = None
        if not isinstance(choice, dict) or not isinstance(message, dict):
            raise ProviderError(f"{self.base_url} answered without choices[0].message", status=200)
        calls = tuple(_tool_call(raw) for raw in message.get("tool_calls") or ())
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        finish = str(choice.get("finish_reason") or "")
        return Completion(
            text=message.get("content") or "",
            tool_calls=calls,
            stop_reason=_FINISH_REASONS.get(finish, finish),
            model=str(data.get("model") or self.model),
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
            ),
        )


def _tool_call(raw: Any) -> ToolCall:
    try:
        name = str(raw["function"]["name"])
        arguments = raw["function"].get("arguments") or "{}"
    except (KeyError, TypeError):
        raise AnswerError("a tool call in the answer has no function name") from None
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            raise AnswerError(f"the arguments of the call to tool '{name}' are not JSON") from None
    if not isinstance(arguments, dict):
        raise AnswerError(
            f"the arguments of the call to tool '{name}' are not a JSON object "
            f"({type(arguments).__name__})"
        )
    return ToolCall(name=name, input=arguments)


def _wait(attempt: int, response: httpx.Response | None) -> int:
    """Sleep before retry number ``attempt + 1``; returns the new attempt count."""
    delay = min(BASE_DELAY * 2**attempt, MAX_DELAY)
    if response is not None:
        asked = _retry_after(response.headers)
        if asked is not None:
            delay = min(asked, MAX_DELAY)
    time.sleep(max(delay, 0.0))
    return attempt + 1


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, or ``Retry-After`` as seconds or
    as an HTTP date."""
    try:
        return float(headers["retry-after-ms"]) / 1000
    except (KeyError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _error_detail(response: httpx.Response) -> str:
    """The server's error message (OpenAI shape ``{"error": {"message"}}``), else the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return response.text[:300]
