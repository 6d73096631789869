"""What the running federation service tells the staff page about itself (in memory).

Everything else the page shows (membership, the outbox, witnesses, alarms) is read from the
database, so the page is right even when the staff office is served by another app object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover - typing only
    from protocol.statistics import StatisticsRelease

State = Literal["off", "starting", "running", "failed", "stopped"]


@dataclass
class FederationStatus:
    state: State = "off"
    peer_id: str | None = None
    listen_addrs: tuple[str, ...] = ()
    error: str | None = None  # a short code (`transport.errors`), never payload
    # set while the service runs: queue an approved statistics release for the observatory
    send_statistics: Callable[[StatisticsRelease], Awaitable[None]] | None = None
    # set while the service runs: look at once for expert-network messages to send (issue 16)
    wake: Callable[[], None] | None = None
