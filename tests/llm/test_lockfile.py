"""autocoder.lock: recording answers online, replaying them offline, keys, layout, drift."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytest
from fake_server import FakeLLM, anthropic_text_answer, anthropic_tool_answer, anthropic_usage

from autocoder.llm import (
    AnswerError,
    AnthropicProvider,
    Completion,
    CompletionRequest,
    LockedProvider,
    Lockfile,
    LockfileError,
    LockMissError,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    completion_from_data,
    completion_to_data,
    drift,
    request_key,
)

KEY = "sk-ant-api03-SECRET-lock-test-0123456789"
MODEL = "claude-sonnet-5-5"
REQUEST = CompletionRequest(
    system="You turn descriptions into blueprints.",
    messages=(Message("user", "A todo API"),),
    tools=(ToolSpec("emit_blueprint", "Emit it.", {"type": "object"}),),
    tool_choice="emit_blueprint",
    prompt_version="sha256:prompts-v1",
    purpose="blueprints",
)
COMPLETION = Completion(
    text="Here it is.",
    tool_calls=(ToolCall("emit_blueprint", {"name": "todo", "nested": {"ü": [1, 2.5, None]}}),),
    stop_reason="tool_use",
    model="claude-sonnet-5-5",
    usage=Usage(100, 20, cache_read_tokens=5, cache_write_tokens=7),
)


class ScriptedProvider:
    """An in-process Provider answering from a list and counting its calls."""

    name = "anthropic"
    model = MODEL

    def __init__(self, *answers: Completion | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def complete(self, request: CompletionRequest) -> Completion:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "autocoder.lock"


def locked(
    path: Path, inner: Any, mode: Literal["record", "offline"] = "record", model: str = MODEL
) -> LockedProvider:
    return LockedProvider(Lockfile.load(path), inner, mode=mode, provider="anthropic", model=model)


def test_record_then_offline_replay_without_http(fake: FakeLLM, lock_path: Path) -> None:
    usage = anthropic_usage(input_tokens=300, output_tokens=40, cache_write=1200)
    fake.script(anthropic_tool_answer("emit_blueprint", {"name": "todo"}, usage=usage))
    online = AnthropicProvider(MODEL, api_key=KEY, base_url=fake.anthropic_base_url)

    recorded = locked(lock_path, online).complete(REQUEST)
    replayed = locked(lock_path, None, mode="offline").complete(REQUEST)

    assert len(fake.requests) == 1
    assert recorded.replayed is False
    assert replayed.replayed is True
    assert replayed == replace(recorded, replayed=True)
    assert replayed.usage == Usage(300, 40, cache_write_tokens=1200)


def test_record_mode_serves_a_hit_from_the_lock(lock_path: Path) -> None:
    inner = ScriptedProvider(COMPLETION)
    first = locked(lock_path, inner).complete(REQUEST)

    again = locked(lock_path, inner).complete(REQUEST)

    assert inner.calls == 1
    assert again == replace(first, replayed=True)


def test_lock_file_holds_no_key_or_headers(fake: FakeLLM, lock_path: Path) -> None:
    fake.script(anthropic_text_answer("hi"))
    online = AnthropicProvider(MODEL, api_key=KEY, base_url=fake.anthropic_base_url)

    locked(lock_path, online).complete(CompletionRequest(system="s", messages=()))

    text = lock_path.read_text(encoding="utf-8")
    assert KEY not in text
    assert "authorization" not in text.lower()
    assert "x-api-key" not in text.lower()


def test_entry_records_what_the_request_was(lock_path: Path) -> None:
    locked(lock_path, ScriptedProvider(COMPLETION)).complete(REQUEST)

    [(key, entry)] = Lockfile.load(lock_path).entries().items()

    assert key == request_key("anthropic", MODEL, REQUEST)
    assert key.startswith("sha256:")
    assert entry["provider"] == "anthropic"
    assert entry["model"] == MODEL
    assert entry["purpose"] == "blueprints"
    assert entry["prompt_version"] == "sha256:prompts-v1"
    assert set(entry["request"]) == {"system_sha256", "messages_sha256", "tools_sha256"}
    assert entry["completion"] == completion_to_data(COMPLETION)


@pytest.mark.parametrize(
    "changed",
    [
        replace(REQUEST, system="You turn descriptions into services."),
        replace(REQUEST, prompt_version="sha256:prompts-v2"),
        replace(REQUEST, messages=(Message("user", "A todo API with tags"),)),
        replace(REQUEST, tools=(ToolSpec("emit_blueprint", "Emit it!", {"type": "object"}),)),
        replace(REQUEST, tool_choice=None),
        replace(REQUEST, max_tokens=4096),
        replace(REQUEST, temperature=0.5),
    ],
    ids=["system", "prompt_version", "messages", "tools", "tool_choice", "max_tokens", "temp"],
)
def test_a_changed_request_misses(lock_path: Path, changed: CompletionRequest) -> None:
    locked(lock_path, ScriptedProvider(COMPLETION)).complete(REQUEST)

    with pytest.raises(LockMissError) as caught:
        locked(lock_path, None, mode="offline").complete(changed)

    assert caught.value.key == request_key("anthropic", MODEL, changed)
    assert "autocoder.lock" in caught.value.hint


def test_another_model_misses(lock_path: Path) -> None:
    locked(lock_path, ScriptedProvider(COMPLETION)).complete(REQUEST)

    with pytest.raises(LockMissError, match="blueprints"):
        locked(lock_path, None, mode="offline", model="claude-opus-5-5").complete(REQUEST)


def test_purpose_does_not_change_the_key(lock_path: Path) -> None:
    locked(lock_path, ScriptedProvider(COMPLETION)).complete(REQUEST)

    relabelled = replace(REQUEST, purpose="repair")

    assert request_key("anthropic", MODEL, relabelled) == request_key("anthropic", MODEL, REQUEST)
    assert locked(lock_path, None, mode="offline").complete(relabelled).replayed


def test_offline_miss_on_an_empty_lock(lock_path: Path) -> None:
    with pytest.raises(LockMissError) as caught:
        locked(lock_path, None, mode="offline").complete(REQUEST)

    assert "offline" in str(caught.value)
    assert not lock_path.exists()


def test_unusable_answer_is_not_recorded(lock_path: Path) -> None:
    inner = ScriptedProvider(AnswerError("no tool call"), COMPLETION)
    provider = locked(lock_path, inner)

    with pytest.raises(AnswerError):
        provider.complete(REQUEST)
    assert not lock_path.exists()
    assert provider.complete(REQUEST) == COMPLETION
    assert inner.calls == 2


def test_file_is_canonical_and_byte_stable(lock_path: Path) -> None:
    provider = locked(lock_path, ScriptedProvider(COMPLETION, replace(COMPLETION, text="2nd")))
    provider.complete(REQUEST)
    provider.complete(replace(REQUEST, system="Another prompt."))
    written = lock_path.read_bytes()

    Lockfile.load(lock_path).save()

    assert lock_path.read_bytes() == written
    data = json.loads(written)
    assert written.decode() == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert data["version"] == 1
    assert len(data["entries"]) == 2
    assert [p.name for p in lock_path.parent.iterdir()] == ["autocoder.lock"]  # no temp left


def test_completion_data_round_trip() -> None:
    data = json.loads(json.dumps(completion_to_data(COMPLETION)))

    assert completion_from_data(data) == COMPLETION


def test_drift_lists_keys_no_request_asked_for(lock_path: Path) -> None:
    old = replace(REQUEST, prompt_version="sha256:prompts-v0")
    locked(lock_path, ScriptedProvider(COMPLETION, COMPLETION)).complete(old)
    run = locked(lock_path, ScriptedProvider(COMPLETION))
    run.complete(REQUEST)

    stale = drift(run.lock, run.used)

    assert stale == [request_key("anthropic", MODEL, old)]
    assert drift(run.lock, run.used | set(stale)) == []


def test_missing_file_is_an_empty_lock(lock_path: Path) -> None:
    lock = Lockfile.load(lock_path)

    assert lock.entries() == {}
    assert lock.get("sha256:nothing") is None


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"entries": {}}',
        '{"version": 1, "entries": []}',
        '{"version": 1, "entries": {"k": 3}}',
        '{"version": 99, "entries": {}}',
    ],
    ids=["not-json", "not-object", "no-version", "entries-list", "entry-number", "newer"],
)
def test_corrupt_file_is_lockfile_error(lock_path: Path, text: str) -> None:
    lock_path.write_text(text, encoding="utf-8")

    with pytest.raises(LockfileError) as caught:
        Lockfile.load(lock_path)

    assert str(lock_path) in str(caught.value)
    assert caught.value.hint


def test_malformed_recorded_completion_is_lockfile_error(lock_path: Path) -> None:
    key = request_key("anthropic", MODEL, REQUEST)
    broken = {"completion": {"text": "x", "tool_calls": [{"name": "t", "input": []}]}}
    lock_path.write_text(json.dumps({"version": 1, "entries": {key: broken}}), encoding="utf-8")

    with pytest.raises(LockfileError):
        locked(lock_path, None, mode="offline").complete(REQUEST)


def test_record_mode_needs_a_provider(lock_path: Path) -> None:
    with pytest.raises(ValueError, match="record mode"):
        locked(lock_path, None, mode="record")
