"""AnthropicProvider through the real anthropic SDK, against the local fake server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_server import (
    Answer,
    FakeLLM,
    anthropic_error,
    anthropic_message,
    anthropic_text_answer,
    anthropic_tool_answer,
    anthropic_usage,
    free_port,
    overloaded,
    rate_limited,
    server_error,
)

from autocoder.llm import (
    AnswerError,
    AnthropicProvider,
    CompletionRequest,
    Message,
    NoApiKeyError,
    ProviderError,
    ToolCall,
    ToolSpec,
    UnreachableError,
    Usage,
)

KEY = "sk-ant-api03-SECRET-test-key-0123456789"
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
TOOLS = (
    ToolSpec("emit_blueprint", "Emit the blueprint.", SCHEMA),
    ToolSpec("ask_user", "Ask a question.", {"type": "object"}),
)
REQUEST = CompletionRequest(
    system="You turn descriptions into blueprints.",
    messages=(Message("user", "A todo API"),),
    tools=TOOLS,
    tool_choice="emit_blueprint",
    max_tokens=1000,
    purpose="blueprints",
)
TEXT_REQUEST = CompletionRequest(system="Be brief.", messages=(Message("user", "Hello"),))


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def provider(fake: FakeLLM, **options: float) -> AnthropicProvider:
    timeout = float(options.get("timeout", 5.0))
    retries = int(options.get("max_retries", 3))
    return AnthropicProvider(
        "claude-sonnet-5-5",
        api_key=KEY,
        base_url=fake.anthropic_base_url,
        timeout=timeout,
        max_retries=retries,
    )


def test_tool_answer_becomes_completion(fake: FakeLLM) -> None:
    usage = anthropic_usage(input_tokens=120, output_tokens=30, cache_read=900, cache_write=40)
    fake.script(anthropic_tool_answer("emit_blueprint", {"name": "todo"}, usage=usage, text="ok"))

    completion = provider(fake).complete(REQUEST)

    assert completion.tool_calls == (ToolCall("emit_blueprint", {"name": "todo"}),)
    assert completion.text == "ok"
    assert completion.stop_reason == "tool_use"
    assert completion.model == "claude-sonnet-5-5"
    assert completion.usage == Usage(120, 30, cache_read_tokens=900, cache_write_tokens=40)
    assert completion.replayed is False


def test_request_carries_cacheable_system_tools_and_tool_choice(fake: FakeLLM) -> None:
    fake.script(anthropic_tool_answer("emit_blueprint", {"name": "todo"}))

    provider(fake).complete(REQUEST)

    [sent] = fake.requests
    assert sent.path == "/v1/messages"
    body = sent.body
    assert body["model"] == "claude-sonnet-5-5"
    assert body["max_tokens"] == 1000
    assert body["system"] == [
        {
            "type": "text",
            "text": "You turn descriptions into blueprints.",
            "cache_control": {"type": "ephemeral"},
        }
    ]
    assert body["messages"] == [{"role": "user", "content": "A todo API"}]
    assert [t["name"] for t in body["tools"]] == ["emit_blueprint", "ask_user"]
    assert body["tools"][0] == {
        "name": "emit_blueprint",
        "description": "Emit the blueprint.",
        "input_schema": SCHEMA,
    }
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["tool_choice"] == {"type": "tool", "name": "emit_blueprint"}
    # the API version SDK 2.x speaks rejects sampling parameters
    assert "temperature" not in body


def test_text_blocks_joined_and_missing_cache_usage_is_zero(fake: FakeLLM) -> None:
    content = [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]
    fake.script(anthropic_message(content, usage={"input_tokens": 7, "output_tokens": 3}))

    completion = provider(fake).complete(TEXT_REQUEST)

    assert completion.text == "first\nsecond"
    assert completion.tool_calls == ()
    assert completion.usage == Usage(input_tokens=7, output_tokens=3)
    assert "tools" not in fake.requests[0].body
    assert "tool_choice" not in fake.requests[0].body


@pytest.mark.parametrize("failure", [rate_limited(), overloaded(), server_error(500)])
def test_retryable_failure_then_success(fake: FakeLLM, failure: Answer) -> None:
    fake.script(failure, anthropic_text_answer("fine"))

    completion = provider(fake).complete(TEXT_REQUEST)

    assert completion.text == "fine"
    assert len(fake.requests) == 2
    assert fake.pending == 0


def test_overloaded_after_all_retries_is_provider_error(fake: FakeLLM) -> None:
    fake.script(overloaded(), overloaded())

    with pytest.raises(ProviderError) as caught:
        provider(fake, max_retries=1).complete(TEXT_REQUEST)

    assert caught.value.status == 529
    assert "overloaded_error" in str(caught.value)
    assert len(fake.requests) == 2


def test_bad_request_is_not_retried(fake: FakeLLM) -> None:
    fake.script(anthropic_error(400, "invalid_request_error", "max_tokens: too large"))

    with pytest.raises(ProviderError) as caught:
        provider(fake).complete(TEXT_REQUEST)

    assert caught.value.status == 400
    assert "max_tokens: too large" in str(caught.value)
    assert len(fake.requests) == 1


def test_timeout_is_unreachable(fake: FakeLLM) -> None:
    fake.script(Answer(body=anthropic_text_answer("late").body, delay=3.0))

    with pytest.raises(UnreachableError) as caught:
        provider(fake, timeout=0.3, max_retries=0).complete(TEXT_REQUEST)

    assert "did not answer within 0.3s" in str(caught.value)
    assert caught.value.hint


def test_connection_refused_is_unreachable() -> None:
    dead = AnthropicProvider(
        "claude-sonnet-5-5", api_key=KEY, base_url=f"http://127.0.0.1:{free_port()}", max_retries=0
    )

    with pytest.raises(UnreachableError) as caught:
        dead.complete(TEXT_REQUEST)

    assert "cannot reach the Anthropic API" in str(caught.value)


def test_rejected_key_is_provider_error_without_the_key(fake: FakeLLM) -> None:
    # a server that echoes the key back must not get it into our message either
    fake.script(anthropic_error(401, "authentication_error", f"invalid x-api-key {KEY}"))

    with pytest.raises(ProviderError) as caught:
        provider(fake).complete(TEXT_REQUEST)

    error = caught.value
    assert error.status == 401
    assert "ANTHROPIC_API_KEY" in error.hint
    assert KEY not in str(error)
    assert KEY not in error.hint
    assert KEY not in repr(error.args)
    assert KEY not in repr(provider(fake))
    assert len(fake.requests) == 1  # a rejected key is not retried


def test_no_key_is_raised_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    with pytest.raises(NoApiKeyError) as caught:
        AnthropicProvider("claude-sonnet-5-5")

    assert "ANTHROPIC_API_KEY" in caught.value.hint


def test_key_and_base_url_from_the_environment(
    fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_base_url)
    fake.script(anthropic_text_answer("hi"))

    assert AnthropicProvider("claude-sonnet-5-5").complete(TEXT_REQUEST).text == "hi"
    sent = fake.requests[0].headers
    assert KEY in sent.get("x-api-key", "") + sent.get("authorization", "")


def test_required_tool_not_called_is_answer_error(fake: FakeLLM) -> None:
    fake.script(anthropic_text_answer("I would rather chat."))

    with pytest.raises(AnswerError, match="did not call the required tool 'emit_blueprint'"):
        provider(fake).complete(REQUEST)


def test_truncated_answer_is_answer_error(fake: FakeLLM) -> None:
    fake.script(anthropic_tool_answer("emit_blueprint", {"name": "to"}, stop_reason="max_tokens"))

    with pytest.raises(AnswerError, match="max_tokens=1000"):
        provider(fake).complete(REQUEST)


def test_tool_input_not_an_object_is_answer_error(fake: FakeLLM) -> None:
    fake.script(anthropic_tool_answer("emit_blueprint", ["not", "an", "object"]))

    with pytest.raises(AnswerError, match="not a JSON object"):
        provider(fake).complete(REQUEST)
