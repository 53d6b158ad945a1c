"""The declarative component kinds of a generated service: filter, router, transformer,
window aggregator, timer/cron/HTTP-poll sources, log and webhook sinks.

Every factory takes plain, already parsed values (durations in seconds) and an ``emit``
callable; ``emit(port, message)`` hands a message to the channel(s) bound to that output port
(the generated wiring owns the channels). Processors and sinks are handlers for
``Supervisor.add_worker``; sources are producers for ``Supervisor.add_source``. Clocks, sleeps
and HTTP clients are injectable, so everything is testable without waiting or a network.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx

from .capabilities import PermanentError, RetryPolicy, Sleep
from .expressions import Expression, route, transform
from .schedule import Cron
from .supervisor import sleep_unless_stopped

Message = dict[str, Any]
Emit = Callable[[str, Message], Awaitable[None]]
Handler = Callable[[Message], Awaitable[None]]
Call = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]

logger = logging.getLogger(__name__)


# --- processors ---------------------------------------------------------------------------


def filter_handler(condition: str, emit: Emit, *, rejected: bool) -> Handler:
    """Messages for which ``condition`` holds go to ``accepted``; the others go to
    ``rejected`` when that port exists, else they are dropped. An ``ExpressionError``
    propagates (the supervisor dead-letters the message)."""
    expression = Expression(condition)

    async def handle(message: Message) -> None:
        if expression.test(message):
            await emit("accepted", message)
        elif rejected:
            await emit("rejected", message)

    return handle


class NoRouteError(Exception):
    """No route matched the message and the router has no default port."""


def router_handler(routes: Sequence[tuple[str, str]], default: str | None, emit: Emit) -> Handler:
    """``(when, port)`` pairs tried in order; the first match wins, else ``default``; with no
    match and no default, ``NoRouteError`` (the message is dead-lettered)."""
    compiled = [(Expression(when), port) for when, port in routes]

    async def handle(message: Message) -> None:
        port = route(compiled, default, message)
        if port is None:
            raise NoRouteError(f"no route matched and there is no default ({len(compiled)} routes)")
        await emit(port, message)

    return handle


def transformer_handler(
    assignments: Mapping[str, str],
    emit: Emit,
    *,
    port: str,
    copy: bool = True,
    keep: Collection[str] | None = None,
) -> Handler:
    """Copy the input (``copy``), compute the ``assignments``, emit on ``port``. With ``keep``
    (the output type's fields) only those keys are emitted, so a copied input field cannot leak
    into a closed output type."""
    compiled = {field: Expression(text) for field, text in assignments.items()}
    kept = frozenset(keep) if keep is not None else None

    async def handle(message: Message) -> None:
        out = transform(compiled, message, copy=copy)
        if kept is not None:
            out = {field: value for field, value in out.items() if field in kept}
        await emit(port, out)

    return handle


# --- window aggregator ----------------------------------------------------------------------

AGGREGATE_FUNCTIONS = frozenset({"count", "sum", "avg", "min", "max", "first", "last"})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    """What min/max can compare: numbers with numbers, strings with strings."""
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _ordered(value: Any) -> tuple[int, Any]:
    """A sort key that orders values of mixed JSON types: null, booleans, numbers, strings,
    then anything else by its canonical JSON."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if _is_number(value):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, _canonical(value))


class _Window:
    """One (window, group) cell: the message count and one running state per aggregate."""

    __slots__ = ("counts", "group", "messages", "states")

    def __init__(self, group: list[Any], aggregates: int) -> None:
        self.group = group
        self.messages = 0
        self.states: list[Any] = [None] * aggregates
        self.counts = [0] * aggregates  # values taken (non-None ones for sum/avg/min/max)


class Aggregator:
    """Windowed group-by over processing time.

    Windows are aligned to the epoch: a window starts at a multiple of ``slide`` (``size`` for
    tumbling windows) and covers ``[start, start + size)``. ``aggregates`` maps each output
    field to ``(function, input field)``: ``count`` counts messages (its input field is
    ignored); ``sum``, ``avg``, ``min`` and ``max`` ignore None or missing values (with no
    values: sum 0, the others None); ``first`` and ``last`` take the value as it is. An output
    message has the ``group_by`` fields and the aggregate fields. Run ``flush`` every ``tick``
    seconds and ``flush(final=True)`` at shutdown.
    """

    def __init__(
        self,
        *,
        port: str,
        emit: Emit,
        size: float,
        slide: float | None = None,
        group_by: Sequence[str] = (),
        aggregates: Mapping[str, tuple[str, str | None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        if size <= 0:
            raise ValueError(f"window size must be positive, got {size:g}")
        if slide is not None and not 0 < slide <= size:
            raise ValueError(f"window slide must be in (0, size={size:g}], got {slide:g}")
        for out, (function, source) in aggregates.items():
            if function not in AGGREGATE_FUNCTIONS:
                known = ", ".join(sorted(AGGREGATE_FUNCTIONS))
                raise ValueError(f"aggregate {out}: unknown function {function!r} ({known})")
            if function != "count" and source is None:
                raise ValueError(f"aggregate {out}: {function} needs an input field")
            if out in group_by:
                raise ValueError(f"aggregate {out}: the name is also a group_by field")
        self.port = port
        self.emit = emit
        self.size = size
        self.slide = slide if slide is not None else size
        self.group_by = tuple(group_by)
        self.aggregates = [
            (out, function, source) for out, (function, source) in aggregates.items()
        ]
        self.clock = clock
        self.tick = min(1.0, self.slide / 4)
        self._windows: dict[tuple[int, str], _Window] = {}

    @property
    def open_windows(self) -> int:
        return len(self._windows)

    def _indices(self, t: float) -> list[int]:
        """The windows (by start index) that contain time ``t``."""
        index = math.floor(t / self.slide)
        found = []
        while index * self.slide + self.size > t:
            found.append(index)
            index -= 1
        return found

    def _values(self, message: Message) -> list[Any]:
        values = []
        for out, function, source in self.aggregates:
            value = message.get(source) if source is not None else None
            if function in ("sum", "avg") and value is not None and not _is_number(value):
                raise TypeError(
                    f"aggregate {out}: {function} of {source} needs numbers, got {value!r}"
                )
            if function in ("min", "max") and _kind(value) not in ("number", "string", "NoneType"):
                raise TypeError(f"aggregate {out}: cannot take the {function} of {value!r}")
            values.append(value)
        return values

    async def handle(self, message: Message) -> None:
        """Add the message to every window it belongs to (the time is ``clock()`` now)."""
        now = self.clock()
        group = [message.get(field) for field in self.group_by]
        group_key = _canonical(group)
        values = self._values(message)
        keys = [(index, group_key) for index in self._indices(now)]
        # Check min/max against the open windows first, so a bad message changes nothing.
        for i, (out, function, _) in enumerate(self.aggregates):
            if function not in ("min", "max") or values[i] is None:
                continue
            for key in keys:
                window = self._windows.get(key)
                current = window.states[i] if window is not None else None
                if current is not None and _kind(current) != _kind(values[i]):
                    raise TypeError(
                        f"aggregate {out}: cannot compare {values[i]!r} with {current!r}"
                    )
        for key in keys:
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(group, len(self.aggregates))
            window.messages += 1
            for i, (_, function, _) in enumerate(self.aggregates):
                _accumulate(window, i, function, values[i])

    def _output(self, window: _Window) -> Message:
        out: Message = dict(zip(self.group_by, window.group, strict=True))
        for i, (field, function, _) in enumerate(self.aggregates):
            state, taken = window.states[i], window.counts[i]
            if function == "count":
                out[field] = window.messages
            elif function == "sum":
                out[field] = state if taken else 0
            elif function == "avg":
                out[field] = state / taken if taken else None
            else:
                out[field] = state
        return out

    async def flush(self, *, final: bool = False) -> None:
        """Emit every window that has ended (``final``: every open window), in (end time,
        group) order, and forget them."""
        now = self.clock()
        due = [
            (index, _tuple_order(window.group), group_key)
            for (index, group_key), window in self._windows.items()
            if final or index * self.slide + self.size <= now
        ]
        due.sort()
        windows = [self._windows.pop((index, group_key)) for index, _, group_key in due]
        for window in windows:
            await self.emit(self.port, self._output(window))


def _tuple_order(group: list[Any]) -> tuple[tuple[int, Any], ...]:
    return tuple(_ordered(value) for value in group)


def _accumulate(window: _Window, i: int, function: str, value: Any) -> None:
    if function == "count":
        return
    if function == "first":
        if window.counts[i] == 0:
            window.states[i] = value
            window.counts[i] = 1
        return
    if function == "last":
        window.states[i] = value
        window.counts[i] += 1
        return
    if value is None:
        return
    current = window.states[i]
    if current is None:
        window.states[i] = value
    elif function in ("sum", "avg"):
        window.states[i] = current + value
    elif function == "min":
        window.states[i] = min(current, value)
    else:
        window.states[i] = max(current, value)
    window.counts[i] += 1


# --- sources ----------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a ``Z``: ``2024-05-01T12:00:00.000Z``."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


class _Ticker:
    """What timer and cron sources share: the payload and their counters."""

    def __init__(self, name: str, emit: Emit, port: str, payload: Mapping[str, str]) -> None:
        self.name = name
        self.emit = emit
        self.port = port
        self.payload = {field: Expression(text) for field, text in payload.items()}
        self.emitted = 0
        self.errors = 0

    async def _fire(self, tick: int, at: str) -> None:
        if not self.payload:
            message: Message = {"tick": tick, "at": at}
        else:
            try:
                message = {f: e.evaluate(now=at) for f, e in self.payload.items()}
            except Exception:
                self.errors += 1
                logger.exception("%s: payload of tick %d at %s failed", self.name, tick, at)
                return
        await self.emit(self.port, message)
        self.emitted += 1


class IntervalSource(_Ticker):
    """Emits every ``every`` seconds (the first tick one interval after the start), on a fixed
    grid, so ticks do not drift; ticks missed while the output was blocked are skipped."""

    def __init__(
        self,
        every: float,
        emit: Emit,
        *,
        port: str,
        payload: Mapping[str, str],
        clock: Callable[[], float],
        sleep: Sleep,
    ) -> None:
        if every <= 0:
            raise ValueError(f"interval must be positive, got {every:g}")
        super().__init__(f"interval {every:g}s", emit, port, payload)
        self.every = every
        self.clock = clock
        self.sleep = sleep

    async def __call__(self, stop: anyio.Event) -> None:
        due = self.clock() + self.every
        tick = 0
        while not await sleep_unless_stopped(max(0.0, due - self.clock()), stop, self.sleep):
            await self._fire(tick, _iso(datetime.fromtimestamp(due, UTC)))
            tick += 1
            due += self.every
            behind = self.clock() - due
            if behind > 0:  # skip the ticks missed while the output was blocked
                due += self.every * math.ceil(behind / self.every)


def interval_source(
    every: float,
    emit: Emit,
    *,
    port: str,
    payload: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Sleep = anyio.sleep,
) -> IntervalSource:
    """A timer: each tick emits ``{field: payload_expression(now=<tick time, ISO-8601 UTC>)}``,
    or ``{"tick": n, "at": <tick time>}`` without a payload. Stops as soon as stop is set."""
    return IntervalSource(every, emit, port=port, payload=payload or {}, clock=clock, sleep=sleep)


class CronSource(_Ticker):
    """Emits at the times of a cron schedule (UTC); firings missed while the output was
    blocked are skipped. Long waits are taken in steps of at most a minute, so a wall clock
    that jumps is noticed."""

    STEP = 60.0

    def __init__(
        self,
        cron: str,
        emit: Emit,
        *,
        port: str,
        payload: Mapping[str, str],
        now: Callable[[], datetime],
        sleep: Sleep,
    ) -> None:
        super().__init__(f"cron {cron!r}", emit, port, payload)
        self.cron = Cron(cron)
        self.now = now
        self.sleep = sleep

    async def __call__(self, stop: anyio.Event) -> None:
        due = self.cron.next_after(self.now())
        tick = 0
        while True:
            remaining = (due - self.now()).total_seconds()
            if remaining > 0:
                if await sleep_unless_stopped(min(remaining, self.STEP), stop, self.sleep):
                    return
                continue
            if stop.is_set():
                return
            await self._fire(tick, _iso(due))
            tick += 1
            due = self.cron.next_after(max(due, self.now()))


def cron_source(
    cron: str,
    emit: Emit,
    *,
    port: str,
    payload: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Sleep = anyio.sleep,
) -> CronSource:
    """A cron timer (5 fields, UTC); messages as for ``interval_source``."""
    return CronSource(cron, emit, port=port, payload=payload or {}, now=now, sleep=sleep)


class PollError(Exception):
    """A poll's response did not hold a list of objects where ``items`` points."""


def _items(body: Any, path: str | None) -> list[Message]:
    data = body
    if path is not None:
        walked: list[str] = []
        for key in path.split("."):
            if not isinstance(data, dict) or key not in data:
                where = ".".join(walked) or "the response body"
                raise PollError(f"{where} has no key {key!r} (items: {path!r})")
            walked.append(key)
            data = data[key]
    elif isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise PollError(f"{path or 'the response body'} is a {type(data).__name__}, not a list")
    for n, item in enumerate(data):
        if not isinstance(item, dict):
            raise PollError(f"item {n} of {path or 'the response body'} is not an object")
    return data


class HttpPollSource:
    """Polls an HTTP endpoint: once at the start, then every ``every`` seconds."""

    def __init__(
        self,
        url: str,
        every: float,
        emit: Emit,
        *,
        port: str,
        client: httpx.AsyncClient,
        method: str,
        items: str | None,
        call: Call | None,
        sleep: Sleep,
    ) -> None:
        if every <= 0:
            raise ValueError(f"poll interval must be positive, got {every:g}")
        self.url = url
        self.every = every
        self.emit = emit
        self.port = port
        self.client = client
        self.method = method.upper()
        self.items = items
        self.call = call
        self.sleep = sleep
        self.polls = 0
        self.errors = 0
        self.emitted = 0

    async def _request(self) -> Any:
        response = await self.client.request(self.method, self.url)
        response.raise_for_status()
        return response.json()

    async def poll(self) -> None:
        """One poll; a failure is logged and counted in ``errors``, never raised."""
        self.polls += 1
        try:
            body = await (self.call(self._request) if self.call else self._request())
            messages = _items(body, self.items)
        except Exception as exc:
            self.errors += 1
            logger.warning(
                "poll %s %s failed: %s: %s", self.method, self.url, type(exc).__name__, exc
            )
            return
        for message in messages:
            await self.emit(self.port, message)
            self.emitted += 1

    async def __call__(self, stop: anyio.Event) -> None:
        while not stop.is_set():
            await self.poll()
            if await sleep_unless_stopped(self.every, stop, self.sleep):
                return


def http_poll_source(
    url: str,
    every: float,
    emit: Emit,
    *,
    port: str,
    client: httpx.AsyncClient,
    method: str = "GET",
    items: str | None = None,
    call: Call | None = None,
    sleep: Sleep = anyio.sleep,
) -> HttpPollSource:
    """Each poll requests ``url``, fails on an error status, reads the JSON body, follows the
    dotted ``items`` path (e.g. ``data.readings``) to a list and emits each item (without
    ``items``: a list body item by item, an object body as one message). ``call`` wraps each
    request (the wiring applies timeout/retry/breaker there). A failed poll is logged and
    counted; polling goes on at the next interval."""
    return HttpPollSource(
        url,
        every,
        emit,
        port=port,
        client=client,
        method=method,
        items=items,
        call=call,
        sleep=sleep,
    )


# --- sinks ------------------------------------------------------------------------------------


def log_sink(component: str, level: str) -> Handler:
    """One structured log line per message on the ``app.<component>`` logger."""
    levels = logging.getLevelNamesMapping()
    number = levels.get(level.upper())
    if number is None or level.upper() == "NOTSET":
        raise ValueError(f"log level {level!r} is not one of debug, info, warning, error, critical")
    log = logging.getLogger(f"app.{component}")

    async def handle(message: Message) -> None:
        log.log(number, "message", extra={"fields": {"component": component, "message": message}})

    return handle


class WebhookError(Exception):
    """A webhook delivery failed for good: a permanent status, or the retries ran out."""


class WebhookRejected(WebhookError, PermanentError):
    """The receiver answered a status that retrying cannot change (a 4xx other than 408/429)."""


RETRYABLE_STATUSES = frozenset({408, 429})


def idempotency_key(message: Any) -> str:
    """The first 32 hex digits of the SHA-256 of the message's canonical JSON."""
    return hashlib.sha256(_canonical(message).encode()).hexdigest()[:32]


def _retry_after(response: httpx.Response, maximum: float) -> float | None:
    """A ``Retry-After`` given in seconds, capped by ``maximum``; None if absent or a date."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, maximum)


def webhook_sink(
    url: str,
    client: httpx.AsyncClient,
    *,
    timeout: float = 5.0,
    retries: int = 3,
    initial: float = 0.5,
    maximum: float = 30.0,
    multiplier: float = 2.0,
    jitter: float = 0.1,
    headers: Mapping[str, str] | None = None,
    sleep: Sleep = anyio.sleep,
) -> Handler:
    """POST each message as JSON. 2xx is delivered; 408, 429, 5xx, transport errors and
    timeouts are retried ``retries`` times with exponential backoff (a ``Retry-After`` in
    seconds is honoured, capped by ``maximum``); any other status fails at once
    (``WebhookRejected``, permanent). Failure raises ``WebhookError`` (the supervisor
    dead-letters the message). Every attempt carries the same
    ``Idempotency-Key`` header, so the receiver can deduplicate retries."""
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    attempts = retries + 1
    backoff = RetryPolicy(
        attempts=attempts, initial=initial, maximum=maximum, multiplier=multiplier, jitter=jitter
    )
    base_headers = dict(headers or {})

    async def deliver(message: Message) -> None:
        sent_headers = {**base_headers, "Idempotency-Key": idempotency_key(message)}
        for attempt in range(1, attempts + 1):
            wait: float | None = None
            try:
                response = await client.post(
                    url, json=message, headers=sent_headers, timeout=timeout
                )
            except httpx.TransportError as exc:  # connection failures and timeouts
                problem: str = f"{type(exc).__name__}: {exc}"
                cause: BaseException | None = exc
            else:
                status = response.status_code
                if response.is_success:
                    return
                if status not in RETRYABLE_STATUSES and status < 500:
                    raise WebhookRejected(
                        f"POST {url} answered {status}: {response.text[:200]!r} (not retried)"
                    )
                problem, cause = f"status {status}", None
                wait = _retry_after(response, maximum)
            if attempt == attempts:
                raise WebhookError(
                    f"POST {url} failed after {attempts} attempts; last: {problem}"
                ) from cause
            if wait is None:
                wait = backoff.delay(attempt)
            logger.warning(
                "POST %s attempt %d/%d failed (%s); retrying in %.3gs",
                url,
                attempt,
                attempts,
                problem,
                wait,
            )
            await sleep(wait)

    return deliver
