"""Capabilities applied around every processing step, always in one order (outermost first):

validate -> timeout -> retry -> circuit_breaker -> rate_limit -> metrics

so an invalid message is never retried, the timeout bounds all attempts together, each retry
attempt asks the breaker, a call the breaker refuses costs no rate-limit token, and metrics see
every real call. Clocks and sleeps are injectable, so the behaviour is testable without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

T = TypeVar("T")
Step = Callable[[Any], Awaitable[T]]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class StepTimeoutError(Exception):
    """A step (with all its retries) took longer than its timeout."""


class CircuitOpenError(Exception):
    """The circuit breaker is open: the dependency failed too often; not called."""


class PermanentError(Exception):
    """A failure retrying cannot fix (a duplicate key, a rejected request): the retry
    capability gives up at once and the circuit breaker does not count it, since the
    dependency answered."""


class InvalidMessageError(PermanentError):
    """The message does not match its port type; retrying cannot help."""


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter; ``attempts`` counts the first try."""

    attempts: int
    initial: float = 0.1
    maximum: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)
    sleep: Sleep = anyio.sleep
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def delay(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based)."""
        base = min(self.maximum, self.initial * self.multiplier ** (attempt - 1))
        return base * (1 + self.jitter * (2 * self.rng.random() - 1))

    async def run(self, step: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return await step()
            except (PermanentError, CircuitOpenError):
                raise
            except self.retry_on:
                if attempt == self.attempts:
                    raise
                await self.sleep(self.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


class CircuitBreaker:
    """closed -> (failure_threshold consecutive failures) -> open -> (reset_after) -> half-open:
    one trial call; success closes the circuit, failure opens it again."""

    def __init__(self, failure_threshold: int, reset_after: float, clock: Clock = time.monotonic):
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_after else "open"

    async def call(self, step: Callable[[], Awaitable[T]]) -> T:
        state = self.state
        if state == "open" or (state == "half_open" and self._trial_running):
            raise CircuitOpenError(
                f"circuit open for {self.reset_after:g}s after {self.failure_threshold} failures"
            )
        self._trial_running = state == "half_open"
        try:
            result = await step()
        except PermanentError:
            self.failures = 0  # the dependency answered
            self.opened_at = None
            raise
        except Exception:
            self.failures += 1
            if state == "half_open" or self.failures >= self.failure_threshold:
                self.opened_at = self.clock()
            raise
        finally:
            self._trial_running = False
        self.failures = 0
        self.opened_at = None
        return result


class RateLimiter:
    """A token bucket: ``rate`` tokens per ``per`` seconds, up to ``burst``. ``acquire`` waits
    for a token (it slows the caller down; it never drops work)."""

    def __init__(
        self,
        rate: int,
        per: float = 1.0,
        burst: int | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self.rate = rate
        self.per = per
        self.capacity = float(burst if burst is not None else rate)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate / self.per)
        self.updated = now

    async def acquire(self) -> None:
        self._refill()
        while self.tokens < 1:
            await self.sleep((1 - self.tokens) * self.per / self.rate)
            self._refill()
        self.tokens -= 1


Observe = Callable[[str, float], None]


def apply_capabilities(
    step: Step[T],
    *,
    validate: Callable[[Any], None] | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    breaker: CircuitBreaker | None = None,
    limiter: RateLimiter | None = None,
    observe: Observe | None = None,
    clock: Clock = time.perf_counter,
) -> Step[T]:
    """Wrap ``step`` with the capabilities in the fixed order (see the module docstring)."""

    async def measured(message: Any) -> T:
        if limiter is not None:
            await limiter.acquire()
        started = clock()
        try:
            result = await step(message)
        except Exception:
            if observe is not None:
                observe("error", clock() - started)
            raise
        if observe is not None:
            observe("ok", clock() - started)
        return result

    async def guarded(message: Any) -> T:
        if breaker is None:
            return await measured(message)
        return await breaker.call(lambda: measured(message))

    async def retried(message: Any) -> T:
        if retry is None:
            return await guarded(message)
        return await retry.run(lambda: guarded(message))

    async def wrapped(message: Any) -> T:
        if validate is not None:
            try:
                validate(message)
            except Exception as exc:
                raise InvalidMessageError(str(exc)) from exc
        if timeout is None:
            return await retried(message)
        try:
            with anyio.fail_after(timeout):
                return await retried(message)
        except TimeoutError as exc:
            raise StepTimeoutError(f"step took longer than {timeout:g}s") from exc

    return wrapped
