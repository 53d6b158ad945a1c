"""A scripted stand-in for LLM APIs on 127.0.0.1, for tests that drive the real clients.

``FakeLLM`` serves ``POST /v1/messages`` (Anthropic) and ``POST /v1/chat/completions``
(OpenAI-compatible) from one queue of scripted answers, in order, and records every request
(path, headers, JSON body). An answer can be an error status with headers (429 with
``retry-after-ms``, 529 overloaded) or be delayed (for timeouts). When the queue runs dry the
server answers 400 with a message saying so, which the clients do not retry.

    with FakeLLM() as fake:
        fake.script(anthropic_tool_answer("emit", {"x": 1}))
        provider = AnthropicProvider("m", api_key="k", base_url=fake.anthropic_base_url)

Other test directories can reuse it (put ``tests/llm`` on ``sys.path``) and the ``fake_llm``
fixture below.
"""

from __future__ import annotations

import collections
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DEFAULT_MODEL = "claude-sonnet-5-5"  # the model an answer says it came from


@dataclass
class Answer:
    """One scripted HTTP answer: status, JSON body, extra headers, and a delay before it."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # the parsed JSON body, or the raw text when it is not JSON


class FakeLLM:
    """A threaded HTTP server answering from a queue; a context manager."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._answers: collections.deque[Answer] = collections.deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # a short poll interval keeps shutdown (each test's teardown) fast
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def anthropic_base_url(self) -> str:
        return self.url  # the SDK appends /v1/messages

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    def script(self, *answers: Answer) -> FakeLLM:
        """Queue answers, served in order to whichever endpoint asks next."""
        with self._lock:
            self._answers.extend(answers)
        return self

    @property
    def pending(self) -> int:
        """Scripted answers not served yet."""
        with self._lock:
            return len(self._answers)

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self, request: RecordedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
            if self._answers:
                return self._answers.popleft()
        message = f"FakeLLM: no scripted answer left for {request.method} {request.path}"
        return Answer(400, _anthropic_error_body("invalid_request_error", message))


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode("utf-8")
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw
            recorded = RecordedRequest(
                method="POST",
                path=self.path.split("?", 1)[0],
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            answer = fake._next(recorded)
            if answer.delay and fake._closing.wait(answer.delay):
                return
            payload = json.dumps(answer.body if answer.body is not None else {}).encode()
            try:
                self.send_response(answer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def free_port() -> int:
    """A port nothing listens on (for "connection refused")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- Anthropic Messages API answers ---------------------------------------------------------


def anthropic_usage(
    input_tokens: int = 10,
    output_tokens: int = 5,
    cache_read: int | None = None,
    cache_write: int | None = None,
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }


def anthropic_message(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "end_turn",
    model: str = DEFAULT_MODEL,
    usage: dict[str, Any] | None = None,
) -> Answer:
    return Answer(
        200,
        {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage if usage is not None else anthropic_usage(),
        },
    )


def anthropic_tool_answer(
    name: str,
    input: Any,
    *,
    usage: dict[str, Any] | None = None,
    model: str = DEFAULT_MODEL,
    text: str | None = None,
    stop_reason: str = "tool_use",
) -> Answer:
    """A ``tool_use`` answer (optionally after a text block); ``input`` is sent as given."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content.append({"type": "tool_use", "id": "toolu_fake", "name": name, "input": input})
    return anthropic_message(content, stop_reason=stop_reason, model=model, usage=usage)


def anthropic_text_answer(
    text: str,
    *,
    usage: dict[str, Any] | None = None,
    model: str = DEFAULT_MODEL,
    stop_reason: str = "end_turn",
) -> Answer:
    return anthropic_message(
        [{"type": "text", "text": text}], stop_reason=stop_reason, model=model, usage=usage
    )


def _anthropic_error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def anthropic_error(
    status: int, kind: str, message: str, *, retry_after_ms: int | None = None
) -> Answer:
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
    return Answer(status, _anthropic_error_body(kind, message), headers)


def rate_limited(retry_after_ms: int = 10) -> Answer:
    return anthropic_error(429, "rate_limit_error", "Rate limited", retry_after_ms=retry_after_ms)


def overloaded(retry_after_ms: int = 10) -> Answer:
    return anthropic_error(529, "overloaded_error", "Overloaded", retry_after_ms=retry_after_ms)


def server_error(status: int = 500, retry_after_ms: int = 10) -> Answer:
    return anthropic_error(
        status, "api_error", "Internal server error", retry_after_ms=retry_after_ms
    )


# --- OpenAI chat-completions answers ---------------------------------------------------------


def openai_answer(
    message: dict[str, Any],
    *,
    finish_reason: str = "stop",
    model: str = "local-model",
    usage: dict[str, Any] | None = None,
) -> Answer:
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage
    return Answer(200, body)


def openai_tool_answer(
    name: str,
    arguments: Any,
    *,
    model: str = "local-model",
    usage: dict[str, Any] | None = None,
) -> Answer:
    """A tool call; ``arguments`` that are not a string are JSON-encoded as the API does."""
    encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call = {"id": "call_fake", "type": "function", "function": {"name": name, "arguments": encoded}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return openai_answer(message, finish_reason="tool_calls", model=model, usage=usage)


def openai_text_answer(
    text: str, *, model: str = "local-model", usage: dict[str, Any] | None = None
) -> Answer:
    return openai_answer({"role": "assistant", "content": text}, model=model, usage=usage)


def openai_error(status: int, message: str, *, retry_after: str | None = None) -> Answer:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return Answer(status, {"error": {"message": message, "type": "server_error"}}, headers)
