"""The LLM layer: providers (Anthropic, OpenAI-compatible), the lockfile that records and
replays their answers, and per-run accounting. The front end builds its provider with
``settings`` + ``make_provider`` and turns ``LLMError``s into diagnostics."""

from autocoder.llm.accounting import PRICES, Accounting, CallRecord
from autocoder.llm.anthropic_provider import AnthropicProvider
from autocoder.llm.config import DEFAULT_MODEL, LLMSettings, make_provider, settings
from autocoder.llm.errors import (
    AnswerError,
    LLMError,
    LockfileError,
    LockMissError,
    NoApiKeyError,
    ProviderError,
    UnreachableError,
)
from autocoder.llm.lockfile import (
    LOCK_FILE,
    LockedProvider,
    Lockfile,
    completion_from_data,
    completion_to_data,
    drift,
    request_key,
)
from autocoder.llm.openai_compat import OpenAICompatibleProvider
from autocoder.llm.types import (
    Completion,
    CompletionRequest,
    Message,
    Provider,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = [
    "DEFAULT_MODEL",
    "LOCK_FILE",
    "PRICES",
    "Accounting",
    "AnswerError",
    "AnthropicProvider",
    "CallRecord",
    "Completion",
    "CompletionRequest",
    "LLMError",
    "LLMSettings",
    "LockMissError",
    "LockedProvider",
    "Lockfile",
    "LockfileError",
    "Message",
    "NoApiKeyError",
    "OpenAICompatibleProvider",
    "Provider",
    "ProviderError",
    "ToolCall",
    "ToolSpec",
    "UnreachableError",
    "Usage",
    "completion_from_data",
    "completion_to_data",
    "drift",
    "make_provider",
    "request_key",
    "settings",
]
