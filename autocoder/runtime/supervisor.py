"""Runs a dataflow in one anyio task group and shuts it down without losing in-flight work.

Sources produce until asked to stop; then they close their output channels. A channel with
several producers closes when the last one is done, every worker drains its input before it
closes its own outputs, so a shutdown (SIGTERM/SIGINT, or ``stop()``) flows downstream like a
wave and ends when the last sink has handled the last buffered message.

A worker may also run a periodic task (``every`` seconds while its inputs are open, e.g. a
window aggregator's flush) and a closing hook (after its inputs drained, before its outputs
close, so what it emits there still reaches downstream).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from .streams import Channel, DeadLetter, drain

Handler = Callable[[Any], Awaitable[None]]
Producer = Callable[[anyio.Event], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]

logger = logging.getLogger(__name__)


async def sleep_unless_stopped(
    seconds: float, stop: anyio.Event, sleep: Sleep = anyio.sleep
) -> bool:
    """Sleep ``seconds`` or until ``stop`` is set, whichever comes first; True if stopped."""
    if stop.is_set():
        return True
    async with anyio.create_task_group() as tg:

        async def sleeper() -> None:
            await sleep(seconds)
            tg.cancel_scope.cancel()

        tg.start_soon(sleeper)
        await stop.wait()
        tg.cancel_scope.cancel()
    return stop.is_set()


@dataclass
class _Worker:
    name: str
    inputs: list[MemoryObjectReceiveStream[Any]]
    handler: Handler
    outputs: list[Channel[Any]]
    every: float | None = None
    on_tick: Hook | None = None
    on_close: Hook | None = None


@dataclass
class Supervisor:
    """Wires sources and workers; ``run`` returns once everything has drained."""

    dead_letter: DeadLetter = field(default_factory=DeadLetter)
    processed: dict[str, int] = field(default_factory=dict)
    tick_errors: dict[str, int] = field(default_factory=dict)
    sleep: Sleep = anyio.sleep  # used between periodic ticks; injectable for tests
    _sources: list[tuple[str, Producer, list[Channel[Any]]]] = field(default_factory=list)
    _workers: list[_Worker] = field(default_factory=list)
    _producers: dict[int, int] = field(default_factory=dict)  # id(channel) -> open producers
    _stop: anyio.Event | None = None

    def _produces(self, outputs: Sequence[Channel[Any]]) -> None:
        for channel in outputs:
            self._producers[id(channel)] = self._producers.get(id(channel), 0) + 1

    def add_source(self, name: str, produce: Producer, outputs: Sequence[Channel[Any]]) -> None:
        """``produce(stop)`` emits onto ``outputs`` until ``stop`` is set, then returns."""
        self._produces(outputs)
        self._sources.append((name, produce, list(outputs)))

    def add_worker(
        self,
        name: str,
        inputs: Sequence[MemoryObjectReceiveStream[Any]],
        handler: Handler,
        outputs: Sequence[Channel[Any]] = (),
        *,
        every: float | None = None,
        on_tick: Hook | None = None,
        on_close: Hook | None = None,
    ) -> None:
        """``handler(message)`` processes one message (and sends onto ``outputs`` itself).
        A handler that raises sends the message to the dead letter, never drops it silently.

        ``on_tick()`` runs every ``every`` seconds until all inputs are drained (a failing tick
        is logged and counted in ``tick_errors``); ``on_close()`` runs once after that, before
        the outputs are closed."""
        if (every is None) != (on_tick is None):
            raise ValueError(f"worker {name}: 'every' and 'on_tick' go together")
        if every is not None and every <= 0:
            raise ValueError(f"worker {name}: 'every' must be positive, got {every:g}")
        self._produces(outputs)
        self._workers.append(
            _Worker(name, list(inputs), handler, list(outputs), every, on_tick, on_close)
        )

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def _finished(self, outputs: Sequence[Channel[Any]]) -> None:
        for channel in outputs:
            self._producers[id(channel)] -= 1
            if self._producers[id(channel)] == 0:
                await channel.aclose()

    async def _run_source(self, name: str, produce: Producer, outputs: list[Channel[Any]]) -> None:
        if self._stop is None:
            raise RuntimeError("a source runs only inside Supervisor.run()")
        try:
            await produce(self._stop)
        finally:
            await self._finished(outputs)

    async def _run_input(self, worker: _Worker, receive: MemoryObjectReceiveStream[Any]) -> None:
        async for message in drain(receive):
            try:
                await worker.handler(message)
            except Exception as exc:
                await self.dead_letter.put(worker.name, message, exc)
            self.processed[worker.name] = self.processed.get(worker.name, 0) + 1

    async def _tick(self, worker: _Worker, drained: anyio.Event) -> None:
        if worker.every is None or worker.on_tick is None:
            raise RuntimeError(f"worker {worker.name} has no periodic task")
        # Only the wait is interrupted when the inputs drain; a running tick always completes.
        while not await sleep_unless_stopped(worker.every, drained, self.sleep):
            try:
                await worker.on_tick()
            except Exception:
                self.tick_errors[worker.name] = self.tick_errors.get(worker.name, 0) + 1
                logger.exception("periodic task of %s failed", worker.name)

    async def _run_worker(self, worker: _Worker) -> None:
        try:
            async with anyio.create_task_group() as tg:
                drained = anyio.Event()
                if worker.on_tick is not None:
                    tg.start_soon(self._tick, worker, drained)
                async with anyio.create_task_group() as inputs:
                    for receive in worker.inputs:
                        inputs.start_soon(self._run_input, worker, receive)
                drained.set()
            if worker.on_close is not None:
                try:
                    await worker.on_close()
                except Exception:
                    logger.exception("closing hook of %s failed", worker.name)
        finally:
            await self._finished(worker.outputs)

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                self.stop()
                scope.cancel()
                return

    async def run(self, *, handle_signals: bool = True) -> None:
        self._stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            watcher = anyio.CancelScope()
            if handle_signals:

                async def watch() -> None:
                    with watcher:
                        await self._watch_signals(watcher)

                tg.start_soon(watch)
            async with anyio.create_task_group() as flow:
                for name, produce, outputs in self._sources:
                    flow.start_soon(self._run_source, name, produce, outputs)
                for worker in self._workers:
                    flow.start_soon(self._run_worker, worker)
            watcher.cancel()  # the flow has drained; stop listening for signals
