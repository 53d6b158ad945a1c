"""Graceful shutdown: stop (or SIGTERM) drains every in-flight message; failures become dead
letters; a channel fed by several producers closes only after the last one."""

from __future__ import annotations

import os
import signal
from typing import Any

import anyio
import pytest

from autocoder.runtime import Channel, Supervisor
from autocoder.runtime.supervisor import sleep_unless_stopped

pytestmark = pytest.mark.anyio


def counting_source(out: Channel[int], emitted: list[int], pace: float = 0.0):  # type: ignore[no-untyped-def]
    async def produce(stop: anyio.Event) -> None:
        n = 0
        while not stop.is_set():
            await out.send(n)
            emitted.append(n)
            n += 1
            await anyio.sleep(pace)

    return produce


def build(emitted: list[int], got: list[int], *, slow: bool = True) -> Supervisor:
    raw: Channel[int] = Channel("src.out->double.in", buffer=8)
    doubled: Channel[int] = Channel("double.out->sink.in", buffer=8)
    sup = Supervisor()
    double_in, sink_in = raw.subscribe(), doubled.subscribe()

    async def double(message: int) -> None:
        await doubled.send(message * 2)

    async def sink(message: int) -> None:
        if slow:
            await anyio.sleep(0.001)
        got.append(message)
        if len(got) == 200:
            sup.stop()

    sup.add_source("src", counting_source(raw, emitted), [raw])
    sup.add_worker("double", [double_in], double, [doubled])
    sup.add_worker("sink", [sink_in], sink)
    return sup


async def test_stop_drains_everything_in_flight() -> None:
    emitted: list[int] = []
    got: list[int] = []
    sup = build(emitted, got)
    with anyio.fail_after(10):
        await sup.run(handle_signals=False)
    # The source kept producing while the sink was slow; all of it still arrived, in order.
    assert len(emitted) > 200
    assert got == [n * 2 for n in emitted]
    assert sup.processed == {"double": len(emitted), "sink": len(emitted)}


async def test_sigterm_triggers_the_same_graceful_drain() -> None:
    emitted: list[int] = []
    got: list[int] = []
    sup = build(emitted, got)

    async def terminate_soon() -> None:
        while len(got) < 50:
            await anyio.sleep(0.001)
        os.kill(os.getpid(), signal.SIGTERM)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(terminate_soon)
            await sup.run()
    assert len(got) >= 50 and got == [n * 2 for n in emitted]


async def test_failures_become_dead_letters_not_losses() -> None:
    channel: Channel[int] = Channel("src.out->picky.in", buffer=4)
    receive = channel.subscribe()
    seen: list[int] = []

    async def produce(stop: anyio.Event) -> None:
        for n in range(20):
            await channel.send(n)

    async def picky(message: int) -> None:
        if message % 3 == 0:
            raise ValueError(f"cannot take {message}")
        seen.append(message)

    sup = Supervisor()
    sup.add_source("src", produce, [channel])
    sup.add_worker("picky", [receive], picky)
    await sup.run(handle_signals=False)
    dead = [e.message for e in sup.dead_letter.entries]
    assert sorted(seen + dead) == list(range(20))
    assert dead == [0, 3, 6, 9, 12, 15, 18]
    assert sup.dead_letter.entries[0].error == "ValueError: cannot take 0"


async def test_fan_in_closes_after_the_last_producer() -> None:
    merged: Channel[Any] = Channel("a,b->sink", buffer=2)
    receive = merged.subscribe()
    got: list[Any] = []

    def source(tag: str, count: int):  # type: ignore[no-untyped-def]
        async def produce(stop: anyio.Event) -> None:
            for n in range(count):
                await merged.send((tag, n))
                await anyio.sleep(0)

        return produce

    async def sink(message: Any) -> None:
        got.append(message)

    sup = Supervisor()
    sup.add_source("a", source("a", 5), [merged])
    sup.add_source("b", source("b", 50), [merged])
    sup.add_worker("sink", [receive], sink)
    await sup.run(handle_signals=False)
    assert sorted(got) == sorted([("a", n) for n in range(5)] + [("b", n) for n in range(50)])


def single_input_flow() -> tuple[Channel[Any], Any, Channel[Any], Any]:
    """A source channel feeding one worker and the worker's output channel feeding a sink."""
    inbox: Channel[Any] = Channel("src.out->w.in", buffer=4)
    outbox: Channel[Any] = Channel("w.out->sink.in", buffer=4)
    return inbox, inbox.subscribe(), outbox, outbox.subscribe()


async def test_periodic_task_runs_until_drained_then_close_hook_reaches_downstream() -> None:
    inbox, worker_in, outbox, sink_in = single_input_flow()
    log: list[str] = []
    got: list[Any] = []
    slept: list[float] = []
    ticked_twice = anyio.Event()

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        await anyio.sleep(0)

    async def produce(stop: anyio.Event) -> None:
        for n in range(3):
            await inbox.send(n)
        await ticked_twice.wait()  # the inputs stay open until the task has run twice

    async def handle(message: int) -> None:
        log.append(f"msg {message}")
        await outbox.send(message)

    async def on_tick() -> None:
        log.append("tick")
        if log.count("tick") == 2:
            ticked_twice.set()

    async def on_close() -> None:
        log.append("close")
        await outbox.send("final")

    async def sink(message: Any) -> None:
        got.append(message)

    sup = Supervisor(sleep=fake_sleep)
    sup.add_source("src", produce, [inbox])
    sup.add_worker(
        "w", [worker_in], handle, [outbox], every=5.0, on_tick=on_tick, on_close=on_close
    )
    sup.add_worker("sink", [sink_in], sink)
    with anyio.fail_after(5):
        await sup.run(handle_signals=False)
    assert got == [0, 1, 2, "final"]  # the closing hook ran before the output closed
    assert log.count("tick") >= 2 and log[-1] == "close"
    assert set(slept) == {5.0}


async def test_a_failing_periodic_task_is_logged_and_the_flow_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, worker_in, _, _ = single_input_flow()
    got: list[int] = []
    failed = anyio.Event()

    async def produce(stop: anyio.Event) -> None:
        await inbox.send(1)
        await failed.wait()
        await inbox.send(2)

    async def handle(message: int) -> None:
        got.append(message)

    async def on_tick() -> None:
        failed.set()
        raise RuntimeError("flush broke")

    async def no_wait(seconds: float) -> None:
        await anyio.sleep(0)

    sup = Supervisor(sleep=no_wait)
    sup.add_source("src", produce, [inbox])
    sup.add_worker("w", [worker_in], handle, every=1.0, on_tick=on_tick)
    with anyio.fail_after(5):
        await sup.run(handle_signals=False)
    assert got == [1, 2]
    assert sup.tick_errors["w"] >= 1
    assert "periodic task of w failed" in caplog.text and "flush broke" in caplog.text


async def test_a_failing_close_hook_still_closes_the_outputs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, worker_in, outbox, sink_in = single_input_flow()
    got: list[int] = []

    async def produce(stop: anyio.Event) -> None:
        await inbox.send(1)

    async def handle(message: int) -> None:
        await outbox.send(message)

    async def on_close() -> None:
        raise RuntimeError("final flush broke")

    async def sink(message: int) -> None:
        got.append(message)

    sup = Supervisor()
    sup.add_source("src", produce, [inbox])
    sup.add_worker("w", [worker_in], handle, [outbox], on_close=on_close)
    sup.add_worker("sink", [sink_in], sink)
    with anyio.fail_after(5):
        await sup.run(handle_signals=False)
    assert got == [1]
    assert "closing hook of w failed" in caplog.text


def test_every_and_on_tick_go_together() -> None:
    async def nothing(message: Any = None) -> None:
        return None

    sup = Supervisor()
    with pytest.raises(ValueError, match="'every' and 'on_tick' go together"):
        sup.add_worker("w", [], nothing, every=1.0)
    with pytest.raises(ValueError, match="'every' and 'on_tick' go together"):
        sup.add_worker("w", [], nothing, on_tick=nothing)
    with pytest.raises(ValueError, match="'every' must be positive"):
        sup.add_worker("w", [], nothing, every=0.0, on_tick=nothing)


async def test_sleep_unless_stopped_returns_as_soon_as_stop_is_set() -> None:
    stop = anyio.Event()
    result: list[bool] = []

    async def sleeper() -> None:
        result.append(await sleep_unless_stopped(3600.0, stop))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(sleeper)
            await anyio.sleep(0)
            stop.set()
    assert result == [True]
    assert await sleep_unless_stopped(3600.0, stop) is True  # already stopped: no wait at all
    assert await sleep_unless_stopped(0.0, anyio.Event()) is False
