"""Bindings: bounded buffers, backpressure instead of loss, fan-out, dead letters."""

from __future__ import annotations

import anyio
import pytest

from autocoder.runtime import Channel, DeadLetter, Fanout, drain

pytestmark = pytest.mark.anyio


async def test_a_full_buffer_blocks_the_sender() -> None:
    channel: Channel[int] = Channel("a.out->b.in", buffer=2)
    receive = channel.subscribe()
    await channel.send(1)
    await channel.send(2)
    with anyio.move_on_after(0.05) as scope:
        await channel.send(3)  # no room: must wait, not drop
    assert scope.cancelled_caught and channel.sent == 2 and channel.backlog() == 2
    assert await receive.receive() == 1
    await channel.send(3)  # room again
    assert [await receive.receive(), await receive.receive()] == [2, 3]


async def test_slow_consumer_loses_nothing() -> None:
    channel: Channel[int] = Channel("fast->slow", buffer=4)
    receive = channel.subscribe()
    got: list[int] = []

    async def consume() -> None:
        async for message in drain(receive):
            if message % 50 == 0:
                await anyio.sleep(0.001)
            got.append(message)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        for i in range(1000):
            await channel.send(i)
        await channel.aclose()
    assert got == list(range(1000))


async def test_broadcast_and_round_robin() -> None:
    broadcast: Channel[str] = Channel("b", buffer=8)
    one, two = broadcast.subscribe(), broadcast.subscribe()
    for m in "abc":
        await broadcast.send(m)
    assert [one.receive_nowait() for _ in range(3)] == list("abc")
    assert [two.receive_nowait() for _ in range(3)] == list("abc")

    rr: Channel[int] = Channel("rr", buffer=8, fanout=Fanout.ROUND_ROBIN)
    first, second = rr.subscribe(), rr.subscribe()
    for i in range(4):
        await rr.send(i)
    assert [first.receive_nowait(), first.receive_nowait()] == [0, 2]
    assert [second.receive_nowait(), second.receive_nowait()] == [1, 3]


async def test_channel_misuse_is_an_error() -> None:
    with pytest.raises(ValueError):
        Channel("x", buffer=0)
    lonely: Channel[int] = Channel("lonely", buffer=1)
    with pytest.raises(RuntimeError, match="no subscribers"):
        await lonely.send(1)
    late: Channel[int] = Channel("late", buffer=1)
    late.subscribe()
    await late.send(1)
    with pytest.raises(RuntimeError, match="subscribe before"):
        late.subscribe()


async def test_dead_letters_are_kept_and_forwarded() -> None:
    errors: Channel = Channel("errors", buffer=10)
    receive = errors.subscribe()
    dead = DeadLetter(channel=errors, keep=2)
    for i in range(3):
        await dead.put("validate", {"n": i}, ValueError(f"bad {i}"))
    assert dead.total == 3 and [e.message for e in dead.entries] == [{"n": 1}, {"n": 2}]
    first = receive.receive_nowait()
    assert (first.component, first.error) == ("validate", "ValueError: bad 0")
