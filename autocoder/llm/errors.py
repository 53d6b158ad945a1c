"""Every way an LLM call can fail, as exceptions the front end turns into diagnostics.

Each error carries a one-sentence ``hint`` that says what to do. Messages are built by us,
never by echoing a request, so they cannot leak an API key; ``redact`` scrubs provider text.
"""

from __future__ import annotations


class LLMError(Exception):
    """Base of all LLM failures; ``hint`` is one actionable sentence."""

    hint: str = "See the message above."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class NoApiKeyError(LLMError):
    """No API key in the environment or configuration for this provider."""

    hint = "Set the provider's API key in the environment, or build offline from autocoder.lock."


class UnreachableError(LLMError):
    """Connection refused, DNS failure, or timeout, after the retries."""

    hint = "Check the network and the provider's base URL, or raise the timeout."


class ProviderError(LLMError):
    """The provider answered with an error (401, 400, 5xx after retries, a malformed body)."""

    hint = "Check the model name and the request; the provider's message says what it rejected."

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class LockMissError(LLMError):
    """Offline, and the lockfile has no answer for this request."""

    hint = "Run once online to record the answer, or commit an up-to-date autocoder.lock."

    def __init__(self, message: str, *, key: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


class AnswerError(LLMError):
    """The answer cannot be used: no tool call when one was required, tool input that is not a
    JSON object, or an answer truncated by max_tokens."""

    hint = "Retry the request; if it keeps happening, adjust the prompt or max_tokens."


class LockfileError(LLMError):
    """autocoder.lock cannot be read: not JSON, or not the layout this version writes."""

    hint = "Restore autocoder.lock from version control, or delete it and record again online."


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked (provider messages may echo it)."""
    if not secret:
        return text
    return text.replace(secret, "[redacted]")
