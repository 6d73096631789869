"""The thread boundary between asyncio (node, observatory) and trio (py-libp2p).

`transport.host` runs py-libp2p's trio in a thread of its own. What crosses the boundary is
bytes, strings, callables and futures, never a libp2p object:

* asyncio → trio: the host starts a trio task per request; the task settles an asyncio
  future with `set_result` / `set_error`, and `CancelHandle` carries a cancellation the
  other way.
* trio → asyncio: `run_on_loop` runs a request handler's coroutine as a task on the asyncio
  loop and waits on a `trio.Event` that the task's completion sets.

Every crossing goes through a `Crossing`, which batches: a callback posted while an earlier
one still waits to run joins it, so a burst of requests or answers wakes the other thread
once (one `call_soon_threadsafe` or `run_sync_soon`, i.e. one write to a wake-up socket and
one hand-over of the GIL) instead of once per message. Measured on two cores, the wake-ups
were the largest cost of the host after libp2p itself (BENCHMARKS.md, federation).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from transport.errors import HandlerFailed

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class Crossing:
    """Callbacks to run on the other side of the thread boundary, in order, batched.

    `post` is the other side's "call this soon, from any thread" (`loop.call_soon_threadsafe`
    or `TrioToken.run_sync_soon`); it raises once that side has stopped (`RuntimeError`,
    `trio.RunFinishedError`), and so does `call` then. The callbacks must not raise.
    """

    def __init__(self, post: Callable[[Callable[[], None]], object]) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._pending: list[Callable[[], None]] = []

    def call(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._pending.append(callback)
            if len(self._pending) > 1:
                return  # a batch is already on its way: this one rides along
            try:
                self._post(self._run_batch)
            except BaseException:
                self._pending.clear()
                raise

    def _run_batch(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        for callback in batch:
            callback()


def set_result(crossing: Crossing, future: asyncio.Future[_T], result: _T) -> None:
    """Complete an asyncio future from the trio thread; the first settlement wins."""

    def settle() -> None:
        if not future.done():
            future.set_result(result)

    _settle_later(crossing, settle)


def set_error(crossing: Crossing, future: asyncio.Future[Any], error: BaseException) -> None:
    """Fail an asyncio future from the trio thread; the first settlement wins."""

    def settle() -> None:
        if not future.done():
            future.set_exception(error)

    _settle_later(crossing, settle)


def _settle_later(crossing: Crossing, settle: Callable[[], None]) -> None:
    try:
        crossing.call(settle)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass


class CancelHandle:
    """Lets the asyncio side cancel a trio task it started (set from the trio thread)."""

    __slots__ = ("cancelled", "scope")

    def __init__(self) -> None:
        self.scope: trio.CancelScope | None = None
        self.cancelled = False

    def cancel(self) -> None:  # runs in the trio thread
        self.cancelled = True
        if self.scope is not None:
            self.scope.cancel()


async def run_on_loop(loop: asyncio.AbstractEventLoop, to_loop: Crossing, to_trio: Crossing,
                      handler: Callable[[bytes, str], Awaitable[bytes]], frame: bytes,
                      remote: str) -> bytes:
    """Run `handler(frame, remote)` as a task on the asyncio loop and wait for it (trio
    side). Cancelling the trio side cancels the task."""
    done = trio.Event()
    started: list[asyncio.Task[bytes]] = []

    def finished(_: object) -> None:  # on the asyncio thread
        try:
            to_trio.call(done.set)
        except trio.RunFinishedError:
            pass

    def start() -> None:  # on the asyncio thread
        task = loop.create_task(_call(handler, frame, remote))
        started.append(task)
        task.add_done_callback(finished)

    try:
        to_loop.call(start)
    except RuntimeError:  # the loop is closed
        raise HandlerFailed("the asyncio loop is closed") from None
    try:
        await done.wait()
    except trio.Cancelled:
        with trio.CancelScope(shield=True):
            _cancel_on_loop(to_loop, started)
        raise
    task = started[0]
    if task.cancelled():
        raise HandlerFailed("the handler was cancelled")
    error = task.exception()
    if error is not None:
        log.warning("handler raised %s", type(error).__name__)
        raise HandlerFailed(type(error).__name__)
    result = task.result()
    if not isinstance(result, bytes):
        raise HandlerFailed("handler returned no bytes")
    return result


def _cancel_on_loop(to_loop: Crossing, started: list[asyncio.Task[bytes]]) -> None:
    def cancel() -> None:  # `start` ran before this (same crossing, in order)
        for task in started:
            task.cancel()

    try:
        to_loop.call(cancel)
    except RuntimeError:
        pass


async def _call(handler: Callable[[bytes, str], Awaitable[bytes]], frame: bytes, remote: str
                ) -> bytes:
    return await handler(frame, remote)  # inside the task: even a synchronous raise is caught
