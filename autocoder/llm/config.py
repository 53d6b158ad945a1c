"""Which LLM a build talks to, and the provider stack built from that choice.

Precedence: command-line flag > environment (``AUTOCODER_LLM_PROVIDER``, ``AUTOCODER_MODEL``,
``AUTOCODER_LLM_BASE_URL``) > the ``[llm]`` table of ``autocoder.toml`` > defaults. A build is
offline when asked to, or by default on CI (``CI=true``), so CI only ever replays the lockfile.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autocoder.llm.accounting import Accounting
from autocoder.llm.anthropic_provider import AnthropicProvider
from autocoder.llm.lockfile import LockedProvider, Lockfile
from autocoder.llm.openai_compat import OpenAICompatibleProvider
from autocoder.llm.types import Completion, CompletionRequest, Provider
from autocoder.resources import in_ci

CONFIG_FILE = "autocoder.toml"
PROVIDERS = ("anthropic", "openai-compatible")
DEFAULT_PROVIDER = "anthropic"
DEFAULT_MODEL = "claude-sonnet-5-5"  # the newest Sonnet in the SDK's ModelParam list
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 3


@dataclass(frozen=True)
class LLMSettings:
    provider: str
    model: str
    base_url: str | None
    offline: bool
    timeout: float
    max_retries: int


def settings(
    *,
    provider: str | None,
    model: str | None,
    base_url: str | None,
    offline: bool | None,
    config_file: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> LLMSettings:
    """Resolve the LLM settings; ValueError (with what to write instead) on a bad value."""
    table = _config_table(config_file if config_file is not None else Path.cwd() / CONFIG_FILE)

    def pick(flag: str | None, env: str, key: str) -> str | None:
        if flag:
            return flag
        if environ.get(env):
            return environ[env]
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"[llm] {key} in {CONFIG_FILE} must be a string")
        return value or None

    chosen = pick(provider, "AUTOCODER_LLM_PROVIDER", "provider") or DEFAULT_PROVIDER
    if chosen not in PROVIDERS:
        raise ValueError(f"unknown LLM provider {chosen!r}: use one of {', '.join(PROVIDERS)}")
    url = pick(base_url, "AUTOCODER_LLM_BASE_URL", "base_url")
    if offline is None:
        offline = in_ci(environ) or _flag(table, "offline")
    name = pick(model, "AUTOCODER_MODEL", "model")
    if name is None:
        if chosen != "anthropic":
            raise ValueError(
                f"the {chosen} provider needs a model name: pass --model, set AUTOCODER_MODEL, "
                f"or write model = ... under [llm] in {CONFIG_FILE}"
            )
        name = DEFAULT_MODEL
    if chosen == "openai-compatible" and url is None and not offline:
        raise ValueError(
            "the openai-compatible provider needs a base URL (like http://127.0.0.1:11434/v1): "
            f"set AUTOCODER_LLM_BASE_URL or write base_url = ... under [llm] in {CONFIG_FILE}"
        )
    return LLMSettings(
        provider=chosen,
        model=name,
        base_url=url,
        offline=offline,
        timeout=_number(table, "timeout", DEFAULT_TIMEOUT),
        max_retries=int(_number(table, "max_retries", DEFAULT_MAX_RETRIES, integer=True)),
    )


def _config_table(path: Path) -> dict[str, Any]:
    """The ``[llm]`` table of the config file, empty when the file or the table is missing."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None
    table = data.get("llm", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [llm] must be a table")
    return table


def _flag(table: dict[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"[llm] {key} in {CONFIG_FILE} must be true or false")
    return value


def _number(table: dict[str, Any], key: str, default: float, *, integer: bool = False) -> float:
    value = table.get(key, default)
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        what = "a whole number" if integer else "a number"
        raise ValueError(f"[llm] {key} in {CONFIG_FILE} must be {what} >= 0")
    return float(value)


class _LazyProvider:
    """Creates the real provider on the first call, so that a build served entirely from the
    lockfile never needs an API key (a missing key surfaces on the first lock miss)."""

    def __init__(self, name: str, model: str, factory: Callable[[], Provider]) -> None:
        self.name = name
        self.model = model
        self._factory = factory
        self._provider: Provider | None = None

    def complete(self, request: CompletionRequest) -> Completion:
        if self._provider is None:
            self._provider = self._factory()
        return self._provider.complete(request)


def _real_provider(s: LLMSettings) -> Provider:
    if s.provider == "openai-compatible":
        if s.base_url is None:
            raise ValueError("the openai-compatible provider needs a base URL")
        return OpenAICompatibleProvider(
            s.model, base_url=s.base_url, timeout=s.timeout, max_retries=s.max_retries
        )
    return AnthropicProvider(
        s.model, base_url=s.base_url, timeout=s.timeout, max_retries=s.max_retries
    )


def make_provider(s: LLMSettings, lock_path: Path) -> Accounting:
    """Accounting over the lockfile over the real provider (created only on a lock miss)."""
    lock = Lockfile.load(lock_path)
    if s.offline:
        locked = LockedProvider(lock, None, mode="offline", provider=s.provider, model=s.model)
    else:
        inner = _LazyProvider(s.provider, s.model, lambda: _real_provider(s))
        locked = LockedProvider(lock, inner, mode="record", provider=s.provider, model=s.model)
    return Accounting(locked)
