"""What a build's LLM calls cost: a Provider wrapper that records every call, and the totals
(tokens, replayed calls, an estimated price) the CLI reports."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from autocoder.llm.lockfile import request_key
from autocoder.llm.types import Completion, CompletionRequest, Provider, Usage

# USD per million tokens (input, output) by model-name prefix; the longest matching prefix
# wins, so "claude-opus-4-5" overrides "claude-opus-4". From the public price list at
# https://platform.claude.com/docs/en/about-claude/pricing (read 2026-11). Haiku 5.5 is priced
# by prompt length, which one rate cannot express, so it is left unknown.
PRICES: dict[str, tuple[float, float]] = {
    "claude-opus-4": (15.0, 75.0),  # Opus 4 and 4.1
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-opus-4-7": (5.0, 25.0),
    "claude-opus-4-8": (5.0, 25.0),
    "claude-opus-5": (5.0, 25.0),
    "claude-opus-5-5": (4.0, 20.0),
    "claude-sonnet-4": (3.0, 15.0),  # Sonnet 4, 4.5 and 4.6
    "claude-sonnet-5": (2.0, 10.0),  # Sonnet 5 and 5.5
    "claude-haiku-4": (1.0, 5.0),  # Haiku 4.5
    "claude-fable-5": (10.0, 50.0),
    "claude-mythos-5": (10.0, 50.0),
}
# Prompt caching bills a 5-minute cache write at 1.25x and a cache read at 0.1x the input
# price (a few newer models read for less, so cached runs are estimated on the high side).
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1


@dataclass
class CallRecord:
    purpose: str
    model: str  # the model that answered
    replayed: bool
    usage: Usage
    seconds: float
    key: str  # the lock key of the request


def price(model: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for ``model``, or None when unknown."""
    matches = [p for p in PRICES if model == p or model.startswith(p + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(model: str, usage: Usage) -> float | None:
    """The estimated price of one call, or None when the model's price is unknown."""
    rates = price(model)
    if rates is None:
        return None
    per_in, per_out = rates[0] / 1e6, rates[1] / 1e6
    return (
        usage.input_tokens * per_in
        + usage.cache_write_tokens * per_in * CACHE_WRITE_FACTOR
        + usage.cache_read_tokens * per_in * CACHE_READ_FACTOR
        + usage.output_tokens * per_out
    )


class Accounting:
    """A Provider that passes calls to ``inner`` and records each successful one."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.calls: list[CallRecord] = []

    def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        completion = self.inner.complete(request)
        self.calls.append(
            CallRecord(
                purpose=request.purpose,
                model=completion.model,
                replayed=completion.replayed,
                usage=completion.usage,
                seconds=time.perf_counter() - started,
                key=request_key(self.name, self.model, request),
            )
        )
        return completion

    def totals(self) -> dict[str, Any]:
        """Counts and tokens over all calls (replayed ones report their recorded usage);
        ``cost_usd`` is what this run spent, so replayed calls cost nothing, and it is None
        when a live call's model has no known price."""
        cost: float | None = 0.0
        for call in self.calls:
            if call.replayed or cost is None:
                continue
            one = cost_usd(call.model, call.usage)
            cost = None if one is None else cost + one
        return {
            "calls": len(self.calls),
            "replayed": sum(call.replayed for call in self.calls),
            "input_tokens": sum(call.usage.input_tokens for call in self.calls),
            "output_tokens": sum(call.usage.output_tokens for call in self.calls),
            "cache_read_tokens": sum(call.usage.cache_read_tokens for call in self.calls),
            "cache_write_tokens": sum(call.usage.cache_write_tokens for call in self.calls),
            "seconds": sum(call.seconds for call in self.calls),
            "cost_usd": cost,
        }
