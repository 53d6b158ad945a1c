"""Capabilities: retry with backoff, circuit breaker, rate limit, timeout, and their order."""

from __future__ import annotations

import random

import anyio
import pytest

from autocoder.runtime import (
    CircuitBreaker,
    CircuitOpenError,
    InvalidMessageError,
    PermanentError,
    RateLimiter,
    RetryPolicy,
    StepTimeoutError,
    apply_capabilities,
)

pytestmark = pytest.mark.anyio


class FakeTime:
    """A clock and a sleep that only move when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def flaky(failures: int) -> tuple[list[int], object]:
    calls: list[int] = []

    async def step(message: int) -> int:
        calls.append(message)
        if len(calls) <= failures:
            raise ConnectionError(f"attempt {len(calls)} failed")
        return message * 10

    return calls, step


async def test_retry_backs_off_exponentially_then_succeeds() -> None:
    t = FakeTime()
    calls, step = flaky(failures=3)
    policy = RetryPolicy(attempts=5, initial=0.1, maximum=0.3, jitter=0.0, sleep=t.sleep)
    wrapped = apply_capabilities(step, retry=policy)  # type: ignore[arg-type]
    assert await wrapped(4) == 40
    assert len(calls) == 4 and t.slept == pytest.approx([0.1, 0.2, 0.3])


async def test_retry_gives_up_after_the_last_attempt() -> None:
    t = FakeTime()
    calls, step = flaky(failures=10)
    wrapped = apply_capabilities(step, retry=RetryPolicy(attempts=3, sleep=t.sleep))  # type: ignore[arg-type]
    with pytest.raises(ConnectionError, match="attempt 3"):
        await wrapped(1)
    assert len(calls) == 3


async def test_jitter_stays_within_its_fraction() -> None:
    policy = RetryPolicy(attempts=3, initial=1.0, jitter=0.2, rng=random.Random(7))
    delays = [policy.delay(1) for _ in range(200)]
    assert min(delays) >= 0.8 and max(delays) <= 1.2 and len(set(delays)) > 100


async def test_invalid_messages_are_never_retried_or_called() -> None:
    calls, step = flaky(failures=0)

    def validate(message: int) -> None:
        if message < 0:
            raise ValueError("must be >= 0")

    wrapped = apply_capabilities(step, validate=validate, retry=RetryPolicy(attempts=5))  # type: ignore[arg-type]
    with pytest.raises(InvalidMessageError, match="must be >= 0"):
        await wrapped(-1)
    assert calls == []


async def test_circuit_breaker_opens_then_half_opens_then_closes() -> None:
    t = FakeTime()
    breaker = CircuitBreaker(failure_threshold=2, reset_after=30, clock=t.clock)
    calls, step = flaky(failures=3)
    wrapped = apply_capabilities(step, breaker=breaker)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await wrapped(1)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        await wrapped(1)
    assert len(calls) == 2  # refused without calling
    t.now += 30
    assert breaker.state == "half_open"
    with pytest.raises(ConnectionError):  # the trial fails: open again
        await wrapped(1)
    assert breaker.state == "open"
    t.now += 30
    assert await wrapped(2) == 20 and breaker.state == "closed"


async def test_retry_does_not_hammer_an_open_circuit() -> None:
    t = FakeTime()
    calls, step = flaky(failures=100)
    breaker = CircuitBreaker(failure_threshold=2, reset_after=60, clock=t.clock)
    wrapped = apply_capabilities(
        step,  # type: ignore[arg-type]
        retry=RetryPolicy(attempts=10, sleep=t.sleep),
        breaker=breaker,
    )
    with pytest.raises(CircuitOpenError):
        await wrapped(1)
    assert len(calls) == 2


async def test_permanent_errors_are_not_retried_and_do_not_open_the_circuit() -> None:
    t = FakeTime()
    calls: list[int] = []

    async def step(message: int) -> int:
        calls.append(message)
        raise PermanentError("duplicate key")

    breaker = CircuitBreaker(failure_threshold=2, reset_after=60, clock=t.clock)
    wrapped = apply_capabilities(
        step, retry=RetryPolicy(attempts=5, sleep=t.sleep), breaker=breaker
    )
    for n in range(4):
        with pytest.raises(PermanentError):
            await wrapped(n)
    assert calls == [0, 1, 2, 3]  # one call each, never refused by the breaker
    assert t.slept == [] and breaker.state == "closed"


async def test_rate_limiter_waits_instead_of_dropping() -> None:
    t = FakeTime()
    limiter = RateLimiter(rate=2, per=1.0, burst=2, clock=t.clock, sleep=t.sleep)
    calls, step = flaky(failures=0)
    wrapped = apply_capabilities(step, limiter=limiter)  # type: ignore[arg-type]
    for i in range(6):
        await wrapped(i)
    assert calls == list(range(6))
    assert t.now == pytest.approx(2.0)  # 2 from the burst, then 2 per second


async def test_timeout_bounds_all_attempts() -> None:
    async def slow(message: int) -> int:
        await anyio.sleep(1)
        return message

    wrapped = apply_capabilities(slow, timeout=0.05, retry=RetryPolicy(attempts=3, initial=0.01))
    with pytest.raises(StepTimeoutError):
        await wrapped(1)


async def test_metrics_see_every_real_call() -> None:
    seen: list[str] = []
    t = FakeTime()
    _, step = flaky(failures=2)
    wrapped = apply_capabilities(
        step,  # type: ignore[arg-type]
        retry=RetryPolicy(attempts=3, sleep=t.sleep),
        observe=lambda outcome, seconds: seen.append(outcome),
    )
    assert await wrapped(1) == 10
    assert seen == ["error", "error", "ok"]


def test_the_runtime_imports_nothing_else_from_autocoder() -> None:
    from pathlib import Path

    import autocoder.runtime

    for path in Path(autocoder.runtime.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "from autocoder" not in text and "import autocoder" not in text, path
