"""Bindings as bounded in-memory streams: a full buffer blocks the sender, nothing is dropped.

A ``Channel`` is one binding. Each target input port gets its own bounded buffer; ``broadcast``
delivers every message to every target (the slowest target sets the pace), ``round_robin``
hands each message to the next target in turn. Dead letters (messages that failed for good)
go to a ``DeadLetter`` sink instead of vanishing.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

T = TypeVar("T")


class Fanout(StrEnum):
    BROADCAST = "broadcast"
    ROUND_ROBIN = "round_robin"


class Channel(Generic[T]):
    """One binding: ``send`` blocks while a target's buffer is full (real backpressure)."""

    def __init__(self, name: str, buffer: int, fanout: Fanout = Fanout.BROADCAST) -> None:
        if buffer < 1:
            raise ValueError("a channel buffer holds at least one message")
        self.name = name
        self.buffer = buffer
        self.fanout = fanout
        self.sent = 0
        self._senders: list[MemoryObjectSendStream[T]] = []
        self._turn: itertools.cycle[int] | None = None

    def subscribe(self) -> MemoryObjectReceiveStream[T]:
        """A receive stream for one target input port; call before the first ``send``."""
        if self._turn is not None:
            raise RuntimeError(f"channel {self.name}: subscribe before sending")
        send, receive = anyio.create_memory_object_stream[T](self.buffer)
        self._senders.append(send)
        return receive

    async def send(self, message: T) -> None:
        if not self._senders:
            raise RuntimeError(f"channel {self.name} has no subscribers")
        if self._turn is None:
            self._turn = itertools.cycle(range(len(self._senders)))
        if self.fanout is Fanout.ROUND_ROBIN:
            await _put(self._senders[next(self._turn)], message)
        else:
            for sender in self._senders:
                await _put(sender, message)
        self.sent += 1

    def backlog(self) -> int:
        """Messages waiting in the fullest target buffer."""
        return max((s.statistics().current_buffer_used for s in self._senders), default=0)

    async def aclose(self) -> None:
        """No more messages: receivers drain what is buffered, then their loops end."""
        for sender in self._senders:
            await sender.aclose()


@dataclass(frozen=True)
class DeadLetterEntry:
    component: str
    message: Any
    error: str


@dataclass
class DeadLetter:
    """Where poison messages go: forwarded to an error channel if one is bound, and kept
    (the newest ``keep``) for inspection either way."""

    channel: Channel[DeadLetterEntry] | None = None
    keep: int = 1000
    entries: deque[DeadLetterEntry] = field(default_factory=deque)
    total: int = 0

    async def put(self, component: str, message: Any, error: BaseException) -> None:
        entry = DeadLetterEntry(component, message, f"{type(error).__name__}: {error}")
        self.total += 1
        self.entries.append(entry)
        while len(self.entries) > self.keep:
            self.entries.popleft()
        if self.channel is not None:
            await self.channel.send(entry)


async def _put(sender: MemoryObjectSendStream[T], message: T) -> None:
    """Send without a scheduling round trip while there is room; wait only when full."""
    try:
        sender.send_nowait(message)
    except anyio.WouldBlock:
        await sender.send(message)


async def drain(receive: MemoryObjectReceiveStream[T]) -> AsyncIterator[T]:
    """Iterate a receive stream until its channel is closed and empty.

    Buffered messages are taken without yielding to the event loop (at most ``buffer`` in a
    row); the consumer waits, and so lets others run, only when its buffer is empty.
    """
    async with receive:
        while True:
            try:
                message = receive.receive_nowait()
            except anyio.WouldBlock:
                try:
                    message = await receive.receive()
                except anyio.EndOfStream:
                    return
            except anyio.EndOfStream:
                return
            yield message
