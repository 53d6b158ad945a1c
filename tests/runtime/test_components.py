"""Component kinds: filter, router, transformer, window aggregator, timer/cron/HTTP-poll
sources, log and webhook sinks; and one pipeline run by the supervisor."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest

from autocoder.runtime import Channel, ExpressionError, Supervisor
from autocoder.runtime.components import (
    Aggregator,
    NoRouteError,
    PermanentError,
    WebhookError,
    WebhookRejected,
    cron_source,
    filter_handler,
    http_poll_source,
    idempotency_key,
    interval_source,
    log_sink,
    router_handler,
    transformer_handler,
    webhook_sink,
)

pytestmark = pytest.mark.anyio


class Collect:
    """An ``emit`` that records (port, message)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, port: str, message: dict[str, Any]) -> None:
        self.got.append((port, message))

    def on(self, port: str) -> list[dict[str, Any]]:
        return [m for p, m in self.got if p == port]


class FakeTime:
    """A clock and a sleep that only move when the code under test sleeps."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# --- filter, router, transformer ------------------------------------------------------------


async def test_filter_accepts_rejects_or_drops() -> None:
    out = Collect()
    both = filter_handler("msg.total > 10.0", out, rejected=True)
    await both({"total": 12.5})
    await both({"total": 3.0})
    assert out.got == [("accepted", {"total": 12.5}), ("rejected", {"total": 3.0})]
    dropped = Collect()
    accept_only = filter_handler("msg.total > 10.0", dropped, rejected=False)
    await accept_only({"total": 3.0})
    assert dropped.got == []


async def test_filter_errors_propagate_for_the_dead_letter() -> None:
    handle = filter_handler("msg.total > 10.0", Collect(), rejected=True)
    with pytest.raises(ExpressionError, match="no such member"):
        await handle({"amount": 1})


async def test_router_takes_the_first_match_then_the_default() -> None:
    out = Collect()
    routes = [("msg.total > 100.0", "big"), ("msg.priority == 'express'", "fast")]
    handle = router_handler(routes, "rest", out)
    await handle({"total": 500.0, "priority": "express"})
    await handle({"total": 5.0, "priority": "express"})
    await handle({"total": 5.0, "priority": "standard"})
    assert [port for port, _ in out.got] == ["big", "fast", "rest"]


async def test_router_without_match_or_default_raises() -> None:
    out = Collect()
    handle = router_handler([("msg.total > 100.0", "big")], None, out)
    with pytest.raises(NoRouteError, match="no route matched"):
        await handle({"total": 5.0})
    assert out.got == []


async def test_transformer_keep_stops_input_fields_leaking() -> None:
    order = {"id": "o1", "total": 12.5, "secret": "card-4242"}
    out = Collect()
    assignments = {"total": "msg.total * 2.0", "tag": "'x'"}
    await transformer_handler(assignments, out, port="out")(order)
    assert out.got[-1] == ("out", {**order, "total": 25.0, "tag": "x"})
    await transformer_handler(assignments, out, port="out", keep=["id", "total", "tag"])(order)
    assert out.got[-1] == ("out", {"id": "o1", "total": 25.0, "tag": "x"})
    await transformer_handler(assignments, out, port="priced", copy=False)(order)
    assert out.got[-1] == ("priced", {"total": 25.0, "tag": "x"})


# --- aggregator ------------------------------------------------------------------------------

ALL = {
    "n": ("count", None),
    "total": ("sum", "v"),
    "mean": ("avg", "v"),
    "lo": ("min", "v"),
    "hi": ("max", "v"),
    "first": ("first", "v"),
    "last": ("last", "v"),
}


async def test_tumbling_windows_by_group_with_every_function() -> None:
    t, out = FakeTime(), Collect()
    agg = Aggregator(port="out", emit=out, size=10, group_by=["k"], aggregates=ALL, clock=t.clock)
    for now, k, v in [(3, "b", 5), (3, "a", 1), (5, "c", None), (7, "a", None), (9.5, "a", 3)]:
        t.now = now
        await agg.handle({"k": k, "v": v, "other": "ignored"})
    t.now = 12
    await agg.handle({"k": "a", "v": 10})  # the next window
    t.now = 9.99
    await agg.flush()
    assert out.got == []
    t.now = 10
    await agg.flush()
    assert out.on("out") == [
        {"k": "a", "n": 3, "total": 4, "mean": 2.0, "lo": 1, "hi": 3, "first": 1, "last": 3},
        {"k": "b", "n": 1, "total": 5, "mean": 5.0, "lo": 5, "hi": 5, "first": 5, "last": 5},
        # only None values: count still counts, sum is 0, the others have nothing
        {"k": "c", "n": 1, "total": 0, "mean": None, "lo": None, "hi": None}
        | {"first": None, "last": None},
    ]
    assert agg.open_windows == 1
    await agg.flush()
    assert len(out.got) == 3  # emitted windows are forgotten
    await agg.flush(final=True)
    assert out.got[-1] == (
        "out",
        {"k": "a", "n": 1, "total": 10, "mean": 10.0, "lo": 10}
        | {
            "hi": 10,
            "first": 10,
            "last": 10,
        },
    )
    assert agg.open_windows == 0


async def test_sliding_windows_hold_each_message_size_over_slide_times() -> None:
    t, out = FakeTime(), Collect()
    agg = Aggregator(
        port="out",
        emit=out,
        size=10,
        slide=5,
        aggregates={"n": ("count", None), "total": ("sum", "v")},
        clock=t.clock,
    )
    assert agg.tick == 1.0
    t.now = 7  # in [0, 10) and [5, 15)
    await agg.handle({"v": 1})
    t.now = 12  # in [5, 15) and [10, 20)
    await agg.handle({"v": 2})
    assert agg.open_windows == 3
    t.now = 10
    await agg.flush()
    assert out.on("out") == [{"n": 1, "total": 1}]
    t.now = 15
    await agg.flush()
    assert out.on("out")[1:] == [{"n": 2, "total": 3}]
    await agg.flush(final=True)
    assert out.on("out")[2:] == [{"n": 1, "total": 2}]


async def test_windows_come_out_by_end_time_then_group_order() -> None:
    t, out = FakeTime(), Collect()
    agg = Aggregator(
        port="out",
        emit=out,
        size=1,
        group_by=["k"],
        aggregates={"n": ("count", None)},
        clock=t.clock,
    )
    for now, k in [(1.5, 10), (0.5, "x"), (0.5, 9), (0.5, None), (0.5, 10), (1.2, 9)]:
        t.now = now
        await agg.handle({"k": k})
    await agg.flush(final=True)
    assert [m["k"] for m in out.on("out")] == [None, 9, 10, "x", 9, 10]


async def test_missing_group_fields_group_as_null() -> None:
    t, out = FakeTime(), Collect()
    agg = Aggregator(
        port="out",
        emit=out,
        size=1,
        group_by=["k"],
        aggregates={"n": ("count", None)},
        clock=t.clock,
    )
    await agg.handle({})
    await agg.handle({"k": None})
    await agg.flush(final=True)
    assert out.on("out") == [{"k": None, "n": 2}]


async def test_bad_values_are_rejected_without_changing_any_window() -> None:
    t, out = FakeTime(), Collect()
    agg = Aggregator(
        port="out",
        emit=out,
        size=10,
        slide=5,
        aggregates={"n": ("count", None), "total": ("sum", "v"), "hi": ("max", "s")},
        clock=t.clock,
    )
    t.now = 7
    await agg.handle({"v": 1, "s": "b"})
    with pytest.raises(TypeError, match="sum of v needs numbers"):
        await agg.handle({"v": "2", "s": "c"})
    with pytest.raises(TypeError, match="cannot compare 3 with 'b'"):
        await agg.handle({"v": 2, "s": 3})
    with pytest.raises(TypeError, match="cannot take the max"):
        await agg.handle({"v": 2, "s": [1]})
    await agg.flush(final=True)
    assert out.on("out") == [{"n": 1, "total": 1, "hi": "b"}] * 2


def test_aggregator_settings_are_checked() -> None:
    async def emit(port: str, message: dict[str, Any]) -> None:
        return None

    with pytest.raises(ValueError, match="unknown function 'median'"):
        Aggregator(port="o", emit=emit, size=1, aggregates={"m": ("median", "v")})
    with pytest.raises(ValueError, match="sum needs an input field"):
        Aggregator(port="o", emit=emit, size=1, aggregates={"m": ("sum", None)})
    with pytest.raises(ValueError, match="slide must be in"):
        Aggregator(port="o", emit=emit, size=1, slide=2, aggregates={})
    with pytest.raises(ValueError, match="size must be positive"):
        Aggregator(port="o", emit=emit, size=0, aggregates={})
    with pytest.raises(ValueError, match="also a group_by field"):
        Aggregator(port="o", emit=emit, size=1, group_by=["k"], aggregates={"k": ("count", None)})
    assert Aggregator(port="o", emit=emit, size=60, aggregates={}).tick == 1.0
    assert Aggregator(port="o", emit=emit, size=2, slide=0.4, aggregates={}).tick == 0.1


# --- sources ---------------------------------------------------------------------------------


def stop_after(count: int, out: Collect, stop: anyio.Event) -> Any:
    async def emit(port: str, message: dict[str, Any]) -> None:
        await out(port, message)
        if len(out.got) == count:
            stop.set()

    return emit


async def test_interval_source_ticks_on_a_grid_with_a_payload() -> None:
    t, out, stop = FakeTime(), Collect(), anyio.Event()
    produce = interval_source(
        2.0,
        stop_after(3, out, stop),
        port="out",
        payload={"at": "now", "kind": "'heartbeat'", "year": "timestamp(now).getFullYear()"},
        clock=t.clock,
        sleep=t.sleep,
    )
    with anyio.fail_after(5):
        await produce(stop)
    assert out.on("out") == [
        {"at": "1970-01-01T00:00:02.000Z", "kind": "heartbeat", "year": 1970},
        {"at": "1970-01-01T00:00:04.000Z", "kind": "heartbeat", "year": 1970},
        {"at": "1970-01-01T00:00:06.000Z", "kind": "heartbeat", "year": 1970},
    ]
    assert t.slept == [2.0, 2.0, 2.0]


async def test_interval_source_default_payload_and_skipped_ticks() -> None:
    t, out, stop = FakeTime(1_700_000_000.0), Collect(), anyio.Event()

    async def slow_emit(port: str, message: dict[str, Any]) -> None:
        await out(port, message)
        if message["tick"] == 0:
            t.now += 2.5  # the output blocked for 2.5 intervals
        if len(out.got) == 3:
            stop.set()

    produce = interval_source(1.0, slow_emit, port="tick", clock=t.clock, sleep=t.sleep)
    with anyio.fail_after(5):
        await produce(stop)
    assert out.on("tick") == [
        {"tick": 0, "at": "2023-11-14T22:13:21.000Z"},
        {"tick": 1, "at": "2023-11-14T22:13:24.000Z"},  # 22 and 23 were missed: skipped
        {"tick": 2, "at": "2023-11-14T22:13:25.000Z"},
    ]


async def test_interval_source_payload_errors_are_counted_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    t, out, stop = FakeTime(), Collect(), anyio.Event()

    async def sleep(seconds: float) -> None:
        await t.sleep(seconds)
        if len(t.slept) == 3:
            stop.set()

    produce = interval_source(
        1.0, out, port="out", payload={"n": "int(now)"}, clock=t.clock, sleep=sleep
    )
    with anyio.fail_after(5):
        await produce(stop)
    assert out.got == [] and produce.errors == 2 and produce.emitted == 0
    assert "payload of tick 0" in caplog.text


async def test_interval_source_stops_without_waiting_for_the_interval() -> None:
    out, stop = Collect(), anyio.Event()
    produce = interval_source(3600.0, out, port="out")
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(produce, stop)
            await anyio.sleep(0)
            stop.set()
    assert out.got == []


class FakeWall:
    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.moment

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=seconds)


async def test_cron_source_fires_at_schedule_times() -> None:
    wall, out, stop = FakeWall(datetime(2024, 1, 1, 0, 7, 30, tzinfo=UTC)), Collect(), anyio.Event()
    produce = cron_source(
        "*/15 * * * *",
        stop_after(2, out, stop),
        port="out",
        payload={"at": "now"},
        now=wall.now,
        sleep=wall.sleep,
    )
    with anyio.fail_after(5):
        await produce(stop)
    assert out.on("out") == [{"at": "2024-01-01T00:15:00.000Z"}, {"at": "2024-01-01T00:30:00.000Z"}]
    assert max(wall.slept) <= 60.0 and sum(wall.slept) == 22.5 * 60


async def test_cron_source_default_payload_and_bad_expression() -> None:
    wall, out, stop = FakeWall(datetime(2024, 2, 28, 23, 59, tzinfo=UTC)), Collect(), anyio.Event()
    produce = cron_source(
        "0 0 29 2 *", stop_after(1, out, stop), port="p", now=wall.now, sleep=wall.sleep
    )
    with anyio.fail_after(5):
        await produce(stop)
    assert out.got == [("p", {"tick": 0, "at": "2024-02-29T00:00:00.000Z"})]
    with pytest.raises(ValueError, match="minute field '61'"):
        cron_source("61 * * * *", out, port="p")


def mock_client(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_http_poll_emits_items_and_survives_bad_polls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = [
        httpx.Response(200, json={"data": {"readings": [{"id": 1}, {"id": 2}]}}),
        httpx.Response(503, text="down"),
        httpx.Response(200, json={"data": {}}),
        httpx.Response(200, json={"data": {"readings": {"id": 3}}}),
        httpx.Response(200, json={"data": {"readings": [{"id": 4}, 5]}}),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"data": {"readings": [{"id": 6}]}}),
    ]
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answers[len(requests) - 1]

    out, stop, slept = Collect(), anyio.Event(), []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == len(answers):
            stop.set()

    async with mock_client(handler) as client:
        produce = http_poll_source(
            "https://api.test/readings",
            30.0,
            out,
            port="out",
            client=client,
            items="data.readings",
            sleep=sleep,
        )
        with anyio.fail_after(5):
            await produce(stop)
    assert out.on("out") == [{"id": 1}, {"id": 2}, {"id": 6}]
    assert (produce.polls, produce.errors, produce.emitted) == (7, 5, 3)
    assert slept == [30.0] * 7 and all(r.method == "GET" for r in requests)
    assert "503 Service Unavailable" in caplog.text
    assert "data has no key 'readings'" in caplog.text
    assert "data.readings is a dict, not a list" in caplog.text
    assert "item 1 of data.readings is not an object" in caplog.text


async def test_http_poll_whole_body_method_and_call_wrapper() -> None:
    bodies: list[Any] = [[{"a": 1}, {"a": 2}], {"a": 3}]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(200, json=bodies[len(seen) - 1])

    wrapped: list[int] = []

    async def call(request: Any) -> Any:
        wrapped.append(1)
        return await request()

    out, stop = Collect(), anyio.Event()

    async def sleep(seconds: float) -> None:
        if len(seen) == 2:
            stop.set()

    async with mock_client(handler) as client:
        produce = http_poll_source(
            "https://api.test/x",
            1.0,
            out,
            port="o",
            client=client,
            method="post",
            call=call,
            sleep=sleep,
        )
        with anyio.fail_after(5):
            await produce(stop)
    assert out.on("o") == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert seen == ["POST", "POST"] and len(wrapped) == 2


# --- sinks -----------------------------------------------------------------------------------


async def test_log_sink_writes_one_structured_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="app.alerts")
    await log_sink("alerts", "warning")({"id": 7})
    [record] = [r for r in caplog.records if r.name == "app.alerts"]
    assert record.levelno == logging.WARNING
    assert record.fields == {"component": "alerts", "message": {"id": 7}}  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="log level 'loud'"):
        log_sink("alerts", "loud")


class Receiver:
    """A mock webhook receiver answering from a script of responses (or exceptions)."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


MESSAGE = {"order": "o1", "total": 12.5}


async def deliver(receiver: Receiver, t: FakeTime, **settings: Any) -> None:
    async with mock_client(receiver) as client:
        sink = webhook_sink("https://hooks.test/in", client, jitter=0.0, sleep=t.sleep, **settings)
        await sink(MESSAGE)


async def test_webhook_retries_a_5xx_then_delivers_with_one_idempotency_key() -> None:
    t, receiver = FakeTime(), Receiver(httpx.Response(503), httpx.Response(200))
    await deliver(receiver, t, initial=0.5, headers={"Authorization": "Bearer x"})
    assert len(receiver.requests) == 2 and t.slept == [0.5]
    keys = {r.headers["Idempotency-Key"] for r in receiver.requests}
    assert keys == {idempotency_key(MESSAGE)}
    first = receiver.requests[0]
    assert first.method == "POST" and json.loads(first.content) == MESSAGE
    assert first.headers["Authorization"] == "Bearer x"
    assert first.headers["Content-Type"] == "application/json"


async def test_webhook_fails_at_once_on_a_client_error() -> None:
    t, receiver = FakeTime(), Receiver(httpx.Response(400, text="bad field"))
    with pytest.raises(WebhookRejected, match="answered 400: 'bad field' \\(not retried\\)"):
        await deliver(receiver, t)
    assert len(receiver.requests) == 1 and t.slept == []
    assert issubclass(WebhookRejected, PermanentError)  # a retry capability does not repeat it


async def test_webhook_honours_retry_after_capped_by_the_maximum() -> None:
    t = FakeTime()
    receiver = Receiver(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(408, headers={"Retry-After": "900"}),
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        httpx.Response(204),
    )
    await deliver(receiver, t, initial=1.0, multiplier=2.0, maximum=60.0)
    assert t.slept == [7.0, 60.0, 4.0]  # a date is not used: the backoff for attempt 3


async def test_webhook_retries_timeouts_then_gives_up() -> None:
    t = FakeTime()
    receiver = Receiver(httpx.ReadTimeout("timed out"))
    with pytest.raises(WebhookError, match="failed after 3 attempts; last: ReadTimeout") as caught:
        await deliver(receiver, t, retries=2, initial=0.5, multiplier=3.0)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(receiver.requests) == 3 and t.slept == [0.5, 1.5]


async def test_webhook_gives_up_after_the_last_5xx() -> None:
    t, receiver = FakeTime(), Receiver(httpx.Response(500))
    with pytest.raises(WebhookError, match="failed after 4 attempts; last: status 500") as caught:
        await deliver(receiver, t)
    assert not isinstance(caught.value, PermanentError)  # the receiver may recover
    assert len(receiver.requests) == 4


def test_idempotency_key_is_canonical() -> None:
    key = idempotency_key({"a": 1, "b": [1, 2]})
    assert key == idempotency_key({"b": [1, 2], "a": 1})
    assert key != idempotency_key({"a": 1, "b": [2, 1]})
    assert len(key) == 32 and int(key, 16) >= 0


# --- a pipeline ------------------------------------------------------------------------------


def to(channel: Channel[Any]) -> Any:
    async def emit(port: str, message: dict[str, Any]) -> None:
        await channel.send(message)

    return emit


async def test_timer_filter_aggregator_sink_with_the_final_flush_on_stop() -> None:
    t = FakeTime()
    ticks: Channel[Any] = Channel("timer.out->evens.in", buffer=2)
    evens: Channel[Any] = Channel("evens.accepted->stats.in", buffer=2)
    stats: Channel[Any] = Channel("stats.out->sink.in", buffer=2)
    evens_in, stats_in, sink_in = ticks.subscribe(), evens.subscribe(), stats.subscribe()
    sup = Supervisor()
    got: list[dict[str, Any]] = []

    async def timer_emit(port: str, message: dict[str, Any]) -> None:
        await ticks.send(message)
        if message["tick"] == 9:
            sup.stop()

    async def sink(message: dict[str, Any]) -> None:
        got.append(message)

    agg = Aggregator(
        port="out",
        emit=to(stats),
        size=3600,
        aggregates={"n": ("count", None), "total": ("sum", "tick"), "last": ("last", "at")},
        clock=t.clock,
    )

    async def final_flush() -> None:
        await agg.flush(final=True)

    timer = interval_source(1.0, timer_emit, port="out", clock=t.clock, sleep=t.sleep)
    sup.add_source("timer", timer, [ticks])
    sup.add_worker(
        "evens", [evens_in], filter_handler("msg.tick % 2 == 0", to(evens), rejected=False), [evens]
    )
    sup.add_worker(
        "stats",
        [stats_in],
        agg.handle,
        [stats],
        every=agg.tick,
        on_tick=agg.flush,
        on_close=final_flush,
    )
    sup.add_worker("sink", [sink_in], sink)
    with anyio.fail_after(5):
        await sup.run(handle_signals=False)
    # the hour-long window was still open at the stop: only the final flush can have sent it
    assert got == [{"n": 5, "total": 0 + 2 + 4 + 6 + 8, "last": "1970-01-01T00:00:09.000Z"}]
    assert sup.processed == {"evens": 10, "stats": 5, "sink": 1}
