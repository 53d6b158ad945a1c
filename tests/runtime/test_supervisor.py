"""Graceful shutdown: stop (or SIGTERM) drains every in-flight message; failures become dead
letters; a channel fed by several producers closes only after the last one."""

from __future__ import annotations

import os
import signal
from typing import Any

import anyio
import pytest

from autocoder.runtime import Channel, Supervisor

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
