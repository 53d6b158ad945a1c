"""Accounting: every call recorded, totals over live and replayed calls, estimated cost."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from autocoder.llm import (
    Accounting,
    Completion,
    CompletionRequest,
    LockedProvider,
    Lockfile,
    Message,
    Usage,
    request_key,
)
from autocoder.llm.accounting import cost_usd, price

REQUEST = CompletionRequest(system="s", messages=(Message("user", "hi"),), purpose="blueprints")


def answer(model: str, usage: Usage) -> Completion:
    return Completion(text="ok", tool_calls=(), stop_reason="end_turn", model=model, usage=usage)


class Answers:
    name = "anthropic"
    model = "claude-sonnet-5-5"

    def __init__(self, *completions: Completion) -> None:
        self.completions = list(completions)

    def complete(self, request: CompletionRequest) -> Completion:
        return self.completions.pop(0)


def test_totals_over_live_and_replayed_calls(tmp_path: Path) -> None:
    live = answer("claude-sonnet-4-5-20250929", Usage(1_000_000, 100_000, 2_000_000, 400_000))
    inner = Answers(live)
    lock = Lockfile(tmp_path / "autocoder.lock")
    accounting = Accounting(
        LockedProvider(lock, inner, mode="record", provider="anthropic", model=inner.model)
    )

    accounting.complete(REQUEST)
    accounting.complete(replace(REQUEST, purpose="repair"))  # same key: replayed
    totals = accounting.totals()

    assert [call.replayed for call in accounting.calls] == [False, True]
    assert [call.purpose for call in accounting.calls] == ["blueprints", "repair"]
    assert accounting.calls[0].key == request_key("anthropic", inner.model, REQUEST)
    assert all(call.seconds >= 0 for call in accounting.calls)
    assert totals["calls"] == 2
    assert totals["replayed"] == 1
    assert totals["input_tokens"] == 2_000_000
    assert totals["output_tokens"] == 200_000
    assert totals["cache_read_tokens"] == 4_000_000
    assert totals["cache_write_tokens"] == 800_000
    # Sonnet 4.x: $3 in, $15 out per MTok; cache writes 1.25x and reads 0.1x the input price;
    # the replayed call cost nothing this run
    assert totals["cost_usd"] == pytest.approx(3.0 + 1.5 + 2 * 0.3 + 0.4 * 3.75)


def test_cost_is_none_when_a_live_model_has_no_price() -> None:
    accounting = Accounting(
        Answers(answer("claude-sonnet-5-5", Usage(1000, 10)), answer("qwen-coder", Usage(5, 5)))
    )

    accounting.complete(REQUEST)
    assert accounting.totals()["cost_usd"] == pytest.approx(0.002 + 0.0001)
    accounting.complete(REQUEST)
    assert accounting.totals()["cost_usd"] is None


def test_no_calls_cost_nothing() -> None:
    totals = Accounting(Answers()).totals()

    assert totals["calls"] == 0
    assert totals["cost_usd"] == 0.0


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-sonnet-4-20250514", (3.0, 15.0)),
        ("claude-sonnet-4-5", (3.0, 15.0)),
        ("claude-opus-4-1", (15.0, 75.0)),
        ("claude-opus-4-20250514", (15.0, 75.0)),
        ("claude-opus-4-5-20251101", (5.0, 25.0)),
        ("claude-haiku-4-5", (1.0, 5.0)),
        ("claude-sonnet-5-5", (2.0, 10.0)),
        ("claude-sonnet-40", None),
        ("gpt-oss-20b", None),
    ],
)
def test_price_by_longest_model_prefix(model: str, expected: tuple[float, float] | None) -> None:
    assert price(model) == expected


def test_cost_of_one_call() -> None:
    assert cost_usd("claude-haiku-4-5", Usage(2_000_000, 1_000_000)) == pytest.approx(7.0)
    assert cost_usd("mystery", Usage(1, 1)) is None


def test_accounting_is_a_provider_named_like_its_inner() -> None:
    accounting = Accounting(Answers())

    assert (accounting.name, accounting.model) == ("anthropic", "claude-sonnet-5-5")
