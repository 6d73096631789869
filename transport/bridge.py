"""The thread boundary between asyncio (node, observatory) and trio (py-libp2p).

`transport.host` runs py-libp2p's trio in a thread of its own. What crosses the boundary is
bytes, strings and futures, never a libp2p object:

* asyncio → trio: the host starts a trio task with `TrioToken.run_sync_soon`; the task
  settles an asyncio future with `set_result` / `set_error` (`loop.call_soon_threadsafe`),
  and `CancelHandle` carries a cancellation the other way.
* trio → asyncio: `run_on_loop` runs a request handler's coroutine on the asyncio loop
  (`asyncio.run_coroutine_threadsafe`) and waits on a `trio.Event` that the loop sets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from transport.errors import HandlerFailed

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def _settle_later(loop: asyncio.AbstractEventLoop, settle: Callable[[], None]) -> None:
    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass


def set_result(loop: asyncio.AbstractEventLoop, future: asyncio.Future[_T], result: _T) -> None:
    """Complete an asyncio future from the trio thread; the first settlement wins."""

    def settle() -> None:
        if not future.done():
            future.set_result(result)

    _settle_later(loop, settle)


def set_error(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], error: BaseException
) -> None:
    """Fail an asyncio future from the trio thread; the first settlement wins."""

    def settle() -> None:
        if not future.done():
            future.set_exception(error)

    _settle_later(loop, settle)


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


async def run_on_loop(loop: asyncio.AbstractEventLoop, token: trio.lowlevel.TrioToken,
                      handler: Callable[[bytes, str], Awaitable[bytes]], frame: bytes,
                      remote: str) -> bytes:
    """Run `handler(frame, remote)` on the asyncio loop and wait for it (trio side)."""
    done = trio.Event()

    def wake(_: object) -> None:  # runs on the asyncio thread
        try:
            token.run_sync_soon(done.set)
        except trio.RunFinishedError:
            pass

    awaitable = handler(frame, remote)
    coroutine = _as_coroutine(awaitable)
    try:
        future: concurrent.futures.Future[bytes] = asyncio.run_coroutine_threadsafe(
            coroutine, loop
        )
    except RuntimeError:  # the loop is closed
        coroutine.close()
        _close_awaitable(awaitable)
        raise HandlerFailed("the asyncio loop is closed") from None
    future.add_done_callback(wake)
    try:
        await done.wait()
    except trio.Cancelled:
        future.cancel()
        raise
    try:
        result = future.result()
    except Exception as exc:  # noqa: BLE001 - the handler's own failure
        log.warning("handler raised %s", type(exc).__name__)
        raise HandlerFailed(type(exc).__name__) from None
    if not isinstance(result, bytes):
        raise HandlerFailed("handler returned no bytes")
    return result


async def _as_coroutine(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def _close_awaitable(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()
