"""Messages/s through a 3-stage in-process pipeline with a slow consumer, and proof of no loss.

source -> transform -> filter -> slow sink, each hop a runtime ``Channel`` (bounded, blocking).
Side by side, in the same run, the same pipeline over unbounded ``asyncio.Queue``s: the common
hand-written alternative. Both must deliver every message; the difference is how much piles up
in memory in front of the slow consumer (the runtime's backlog is capped by its buffer).

    python benchmarks/runtime_pipeline.py --messages 200000 --buffer 64
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from autocoder.runtime import Channel, drain

SLOW_EVERY = 100  # the sink yields to the event loop with a real sleep every N messages


async def runtime_pipeline(n: int, buffer: int) -> tuple[list[int], int]:
    hops = [Channel[Any](f"hop{i}", buffer) for i in range(3)]
    receivers = [hop.subscribe() for hop in hops]
    received: list[int] = []
    peak = 0

    async def stage(i: int, fn: Callable[[int], int | None]) -> None:
        async for message in drain(receivers[i]):
            out = fn(message)
            if out is not None:
                await hops[i + 1].send(out)
        await hops[i + 1].aclose()

    async def sink() -> None:
        nonlocal peak
        async for message in drain(receivers[2]):
            received.append(message)
            if len(received) % SLOW_EVERY == 0:  # sample the backlog, then be slow
                peak = max(peak, *(h.backlog() for h in hops))
                await anyio.sleep(0.0001)

    async with anyio.create_task_group() as tg:
        tg.start_soon(stage, 0, lambda m: m * 2)
        tg.start_soon(stage, 1, lambda m: m if m % 2 == 0 else None)
        tg.start_soon(sink)
        for i in range(n):
            await hops[0].send(i)
        await hops[0].aclose()
    return received, peak


async def queue_pipeline(n: int) -> tuple[list[int], int]:
    queues: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in range(3)]
    done = object()
    received: list[int] = []
    peak = 0

    async def stage(i: int, fn: Callable[[int], int | None]) -> None:
        while (message := await queues[i].get()) is not done:
            out = fn(message)
            if out is not None:
                queues[i + 1].put_nowait(out)
        queues[i + 1].put_nowait(done)

    async def sink() -> None:
        nonlocal peak
        while (message := await queues[2].get()) is not done:
            received.append(message)
            if len(received) % SLOW_EVERY == 0:  # sample the backlog, then be slow
                peak = max(peak, *(q.qsize() for q in queues))
                await asyncio.sleep(0.0001)

    tasks = [
        asyncio.create_task(stage(0, lambda m: m * 2)),
        asyncio.create_task(stage(1, lambda m: m if m % 2 == 0 else None)),
        asyncio.create_task(sink()),
    ]
    for i in range(n):
        queues[0].put_nowait(i)
        if i % 1000 == 0:
            await asyncio.sleep(0)
    queues[0].put_nowait(done)
    await asyncio.gather(*tasks)
    return received, peak


def measure(name: str, run: Callable[[], Awaitable[tuple[list[int], int]]], n: int) -> str:
    started = time.perf_counter()
    received, peak = asyncio.run(run())
    seconds = time.perf_counter() - started
    lost = n - len(received)
    in_order = received == [i * 2 for i in range(n)]
    return (
        f"| {name} | {n:,} | {n / seconds:,.0f} | {lost} | {'yes' if in_order else 'NO'} "
        f"| {peak:,} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--buffer", type=int, default=64)
    args = parser.parse_args()
    n = args.messages
    print("| pipeline | messages | messages/s | lost | in order | peak backlog |")
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    print(
        measure(
            f"runtime Channel (buffer {args.buffer})", lambda: runtime_pipeline(n, args.buffer), n
        )
    )
    print(measure("unbounded asyncio.Queue", lambda: queue_pipeline(n), n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
