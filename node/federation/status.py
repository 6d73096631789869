"""What the running federation service tells the staff page about itself (in memory).

Everything else the page shows (membership, the outbox, witnesses, alarms) is read from the
database, so the page is right even when the staff office is served by another app object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["off", "starting", "running", "failed", "stopped"]


@dataclass
class FederationStatus:
    state: State = "off"
    peer_id: str | None = None
    listen_addrs: tuple[str, ...] = ()
    error: str | None = None  # a short code (`transport.errors`), never payload
