"""OpenAICompatibleProvider over httpx, against the local fake server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fake_server import (
    Answer,
    FakeLLM,
    free_port,
    openai_error,
    openai_text_answer,
    openai_tool_answer,
)

from autocoder.llm import (
    AnswerError,
    CompletionRequest,
    Message,
    OpenAICompatibleProvider,
    ProviderError,
    ToolCall,
    ToolSpec,
    UnreachableError,
    Usage,
    openai_compat,
)

KEY = "sk-local-SECRET-0123456789"
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}}
REQUEST = CompletionRequest(
    system="You turn descriptions into blueprints.",
    messages=(Message("user", "A todo API"), Message("assistant", "Which store?")),
    tools=(ToolSpec("emit_blueprint", "Emit the blueprint.", SCHEMA),),
    tool_choice="emit_blueprint",
    max_tokens=500,
    temperature=0.2,
)


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_compat, "BASE_DELAY", 0.0)


def provider(
    fake: FakeLLM, *, timeout: float = 5.0, max_retries: int = 3
) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        "qwen-coder",
        base_url=fake.openai_base_url,
        api_key=KEY,
        timeout=timeout,
        max_retries=max_retries,
    )


def test_tool_call_parsed_and_request_shaped(fake: FakeLLM) -> None:
    usage = {"prompt_tokens": 80, "completion_tokens": 12, "total_tokens": 92}
    fake.script(openai_tool_answer("emit_blueprint", {"name": "todo"}, usage=usage))

    completion = provider(fake).complete(REQUEST)

    assert completion.tool_calls == (ToolCall("emit_blueprint", {"name": "todo"}),)
    assert completion.stop_reason == "tool_use"
    assert completion.model == "local-model"
    assert completion.usage == Usage(input_tokens=80, output_tokens=12)
    [sent] = fake.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {
        "model": "qwen-coder",
        "messages": [
            {"role": "system", "content": "You turn descriptions into blueprints."},
            {"role": "user", "content": "A todo API"},
            {"role": "assistant", "content": "Which store?"},
        ],
        "max_tokens": 500,
        "temperature": 0.2,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "emit_blueprint",
                    "description": "Emit the blueprint.",
                    "parameters": SCHEMA,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "emit_blueprint"}},
    }


def test_text_answer_without_usage_or_key(fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake.script(openai_text_answer("hello"))
    local = OpenAICompatibleProvider("llama", base_url=fake.openai_base_url + "/")

    completion = local.complete(CompletionRequest(system="s", messages=(Message("user", "hi"),)))

    assert completion.text == "hello"
    assert completion.stop_reason == "end_turn"
    assert completion.usage == Usage()
    assert "authorization" not in fake.requests[0].headers
    assert fake.requests[0].path == "/v1/chat/completions"


def test_arguments_not_json_is_answer_error(fake: FakeLLM) -> None:
    fake.script(openai_tool_answer("emit_blueprint", '{"name": "todo"'))

    with pytest.raises(AnswerError, match="not JSON"):
        provider(fake).complete(REQUEST)


def test_arguments_not_an_object_is_answer_error(fake: FakeLLM) -> None:
    fake.script(openai_tool_answer("emit_blueprint", "[1, 2]"))

    with pytest.raises(AnswerError, match="not a JSON object"):
        provider(fake).complete(REQUEST)


def test_unavailable_then_success(fake: FakeLLM) -> None:
    fake.script(
        openai_error(503, "loading model", retry_after="0"),
        openai_tool_answer("emit_blueprint", {"name": "todo"}),
    )

    completion = provider(fake).complete(REQUEST)

    assert completion.tool_calls[0].input == {"name": "todo"}
    assert len(fake.requests) == 2


def test_retry_after_is_honoured_and_capped(fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    fake.script(
        openai_error(429, "slow down", retry_after="2"),
        openai_error(429, "slow down", retry_after="3600"),
        openai_text_answer("ok"),
    )

    assert provider(fake).complete(CompletionRequest(system="s", messages=())).text == "ok"
    assert waits == [2.0, openai_compat.MAX_DELAY]


def test_exponential_backoff_without_retry_after(
    fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(openai_compat, "BASE_DELAY", 0.5)
    monkeypatch.setattr(time, "sleep", waits.append)
    fake.script(*[openai_error(502, "bad gateway")] * 4)

    with pytest.raises(ProviderError) as caught:
        provider(fake).complete(CompletionRequest(system="s", messages=()))

    assert caught.value.status == 502
    assert waits == [0.5, 1.0, 2.0]
    assert len(fake.requests) == 4


def test_client_error_is_not_retried_and_hides_the_key(fake: FakeLLM) -> None:
    fake.script(openai_error(401, f"bad key {KEY}"))

    with pytest.raises(ProviderError) as caught:
        provider(fake).complete(REQUEST)

    assert caught.value.status == 401
    assert KEY not in str(caught.value)
    assert "OPENAI_API_KEY" in caught.value.hint
    assert len(fake.requests) == 1


def test_timeout_is_unreachable(fake: FakeLLM) -> None:
    fake.script(Answer(body=openai_text_answer("late").body, delay=3.0))

    with pytest.raises(UnreachableError, match=r"did not answer within 0\.2s"):
        provider(fake, timeout=0.2, max_retries=0).complete(REQUEST)


def test_connection_refused_is_unreachable_after_retries() -> None:
    dead = OpenAICompatibleProvider(
        "m", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=2
    )

    with pytest.raises(UnreachableError, match="tried 3 times"):
        dead.complete(REQUEST)


def test_body_that_is_not_an_answer_is_provider_error(fake: FakeLLM) -> None:
    fake.script(Answer(200, {"object": "list", "data": []}))

    with pytest.raises(ProviderError, match=r"choices\[0\]"):
        provider(fake).complete(REQUEST)
