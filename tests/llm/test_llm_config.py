"""LLM settings (flag > environment > autocoder.toml > defaults) and the provider stack."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeLLM, openai_text_answer

from autocoder.llm import (
    DEFAULT_MODEL,
    Accounting,
    Completion,
    CompletionRequest,
    LLMSettings,
    LockedProvider,
    Lockfile,
    LockMissError,
    Message,
    NoApiKeyError,
    Usage,
    completion_to_data,
    make_provider,
    request_key,
    settings,
)

NO_FLAGS: dict[str, typing.Any] = {
    "provider": None,
    "model": None,
    "base_url": None,
    "offline": None,
}
REQUEST = CompletionRequest(system="s", messages=(Message("user", "hi"),))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "autocoder.toml"
    path.write_text(
        "[llm]\n"
        'provider = "openai-compatible"\n'
        'model = "file-model"\n'
        'base_url = "http://file.invalid/v1"\n'
        "timeout = 30\n"
        "max_retries = 1\n",
        encoding="utf-8",
    )
    return path


ENV = {
    "AUTOCODER_LLM_PROVIDER": "anthropic",
    "AUTOCODER_MODEL": "env-model",
    "AUTOCODER_LLM_BASE_URL": "http://env.invalid",
}


def test_defaults(tmp_path: Path) -> None:
    s = settings(**NO_FLAGS, config_file=tmp_path / "none.toml", environ={})

    assert s == LLMSettings(
        provider="anthropic",
        model=DEFAULT_MODEL,
        base_url=None,
        offline=False,
        timeout=120.0,
        max_retries=3,
    )


def test_default_model_is_one_the_sdk_knows() -> None:
    from anthropic.types import ModelParam

    known = {value for arg in typing.get_args(ModelParam) for value in typing.get_args(arg)}
    assert DEFAULT_MODEL in known
    assert DEFAULT_MODEL.startswith("claude-sonnet-")


def test_file_over_defaults(config: Path) -> None:
    s = settings(**NO_FLAGS, config_file=config, environ={})

    assert (s.provider, s.model, s.base_url) == (
        "openai-compatible",
        "file-model",
        "http://file.invalid/v1",
    )
    assert (s.timeout, s.max_retries) == (30.0, 1)


def test_environment_over_file(config: Path) -> None:
    s = settings(**NO_FLAGS, config_file=config, environ=ENV)

    assert (s.provider, s.model, s.base_url) == ("anthropic", "env-model", "http://env.invalid")


def test_flags_over_environment(config: Path) -> None:
    s = settings(
        provider="openai-compatible",
        model="flag-model",
        base_url="http://flag.invalid/v1",
        offline=None,
        config_file=config,
        environ=ENV,
    )

    assert (s.provider, s.model, s.base_url) == (
        "openai-compatible",
        "flag-model",
        "http://flag.invalid/v1",
    )


def test_config_file_in_the_working_directory(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(config.parent)

    assert settings(**NO_FLAGS, environ={}).model == "file-model"


@pytest.mark.parametrize(
    ("ci", "flag", "offline"),
    [
        ("true", None, True),
        ("1", None, True),
        ("TRUE", None, True),
        ("false", None, False),
        ("", None, False),
        ("true", False, False),
        ("", True, True),
    ],
)
def test_offline_on_ci_unless_told(
    tmp_path: Path, ci: str, flag: bool | None, offline: bool
) -> None:
    s = settings(
        provider=None,
        model=None,
        base_url=None,
        offline=flag,
        config_file=tmp_path / "none.toml",
        environ={"CI": ci},
    )

    assert s.offline is offline


def test_offline_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "autocoder.toml"
    path.write_text("[llm]\noffline = true\n", encoding="utf-8")

    assert settings(**NO_FLAGS, config_file=path, environ={}).offline is True


@pytest.mark.parametrize("layer", ["flag", "env", "file"])
def test_unknown_provider_lists_the_allowed_ones(tmp_path: Path, layer: str) -> None:
    path = tmp_path / "autocoder.toml"
    path.write_text('[llm]\nprovider = "gemini"\n' if layer == "file" else "", encoding="utf-8")
    flags = dict(NO_FLAGS, provider="gemini" if layer == "flag" else None)
    environ = {"AUTOCODER_LLM_PROVIDER": "gemini"} if layer == "env" else {}

    with pytest.raises(ValueError, match=r"'gemini'.*anthropic, openai-compatible"):
        settings(**flags, config_file=path, environ=environ)


def test_openai_compatible_needs_a_model_and_a_base_url(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    env = {"AUTOCODER_LLM_PROVIDER": "openai-compatible"}

    with pytest.raises(ValueError, match="needs a model name"):
        settings(**NO_FLAGS, config_file=none, environ=env)
    with pytest.raises(ValueError, match="needs a base URL"):
        settings(**dict(NO_FLAGS, model="llama"), config_file=none, environ=env)
    # offline replay never talks to the server, so it needs no URL
    assert settings(**dict(NO_FLAGS, model="llama", offline=True), config_file=none, environ=env)


@pytest.mark.parametrize(
    "text",
    ["[llm\n", "llm = 3\n", "[llm]\ntimeout = 'slow'\n", "[llm]\nmax_retries = 1.5\n"],
    ids=["toml", "not-table", "timeout", "retries"],
)
def test_bad_config_file_is_value_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "autocoder.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValueError):
        settings(**NO_FLAGS, config_file=path, environ={})


# --- make_provider ---------------------------------------------------------------------------

ANSWER = Completion(
    text="recorded", tool_calls=(), stop_reason="end_turn", model="m", usage=Usage(1, 1)
)


def anthropic_settings(offline: bool) -> LLMSettings:
    return LLMSettings("anthropic", DEFAULT_MODEL, None, offline, timeout=5.0, max_retries=0)


def lock_with_answer(path: Path) -> Path:
    lock = Lockfile(path)
    entry = {"completion": completion_to_data(ANSWER)}
    lock.put(request_key("anthropic", DEFAULT_MODEL, REQUEST), entry)
    lock.save()
    return path


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.mark.usefixtures("no_key")
@pytest.mark.parametrize("offline", [True, False])
def test_replay_needs_no_key(tmp_path: Path, offline: bool) -> None:
    provider = make_provider(anthropic_settings(offline), lock_with_answer(tmp_path / "a.lock"))

    completion = provider.complete(REQUEST)

    assert isinstance(provider, Accounting)
    assert completion.text == "recorded"
    assert completion.replayed
    assert provider.totals()["replayed"] == 1


@pytest.mark.usefixtures("no_key")
def test_offline_miss_is_lock_miss(tmp_path: Path) -> None:
    provider = make_provider(anthropic_settings(True), tmp_path / "a.lock")

    with pytest.raises(LockMissError):
        provider.complete(REQUEST)


@pytest.mark.usefixtures("no_key")
def test_online_miss_without_key_is_no_api_key(tmp_path: Path) -> None:
    provider = make_provider(anthropic_settings(False), tmp_path / "a.lock")

    with pytest.raises(NoApiKeyError):
        provider.complete(REQUEST)


def test_online_miss_asks_the_provider_and_records(tmp_path: Path, fake: FakeLLM) -> None:
    fake.script(openai_text_answer("live"))
    s = LLMSettings("openai-compatible", "llama", fake.openai_base_url, False, 5.0, 0)
    lock_path = tmp_path / "autocoder.lock"
    provider = make_provider(s, lock_path)

    assert provider.complete(REQUEST).text == "live"
    assert provider.complete(REQUEST).replayed
    assert len(fake.requests) == 1
    assert isinstance(provider.inner, LockedProvider)
    assert list(Lockfile.load(lock_path).entries()) == [
        request_key("openai-compatible", "llama", REQUEST)
    ]
