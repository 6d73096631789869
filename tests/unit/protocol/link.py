"""An in-memory stand-in for one libp2p stream between two sans-IO peers."""

from __future__ import annotations

from typing import Any

from protocol.exchanges import NEED_DATA

NOW = 1_800_000_000  # the fixtures' clock (conftest.NOW)


class Link:
    """Bytes written at one end are read at the other, in chunks of `chunk` bytes (1 = the
    worst a real transport can do)."""

    def __init__(self, chunk: int = 1 << 20) -> None:
        self.chunk = chunk

    def carry(self, data: bytes, to: Any, *, now: int = NOW) -> Any:
        """Deliver `data` to the machine `to` chunk by chunk; return the first event."""
        for start in range(0, len(data), self.chunk):
            to.receive_data(data[start : start + self.chunk])
            event = to.next_event(now=now)
            if event is not NEED_DATA:
                assert start + self.chunk >= len(data), "event before the frame was complete"
                return event
        return NEED_DATA
