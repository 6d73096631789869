"""Protocol versions on the wire: which ids we serve, offer, and refuse (trio side).

multistream-select (the libp2p spec of the same name) agrees on one protocol id per stream:
the dialler proposes ids one at a time, the listener echoes the first one it has a handler
for and answers "na" to the others. So serving two versions of a protocol is two handlers,
and offering them is a list in our order of preference: a new node proposes
``/backup/federation/2.0.0`` first and falls back to ``1.0.0`` on an old observatory.

An id of one of our families that we do not serve (``/backup/federation/0.9.0`` or
``3.0.0``) would get a bare "na", which tells the peer nothing. py-libp2p 0.8's
`Multiselect.negotiate` accepts an id when ``id in handlers`` and then calls
``handlers[id]``; `FamilyHandlers` is that table with one addition: an id of a served family
that has no handler of its own is accepted, and its stream is answered by `refuse_version`,
which writes one frame naming the versions we serve (`protocol.versions.refusal_frame`) and
closes. `ls` and identify still list only the ids we really serve.

A dialler that offered several ids and got a refusal for the first tries the ones the
refusal names (`Libp2pHost` does), so falling back still works across a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio
from libp2p.abc import INetStream
from libp2p.custom_types import StreamHandlerFn, TProtocol
from libp2p.network.stream.exceptions import StreamEOF

from protocol.framing import MAX_FRAME_BYTES
from protocol.versions import Framing, ProtocolFamily, ProtocolVersion, refusal_frame

log = logging.getLogger(__name__)

# After the refusal, the peer's request (if it wrote one) is read and dropped, so that a
# peer blocked writing a large request sees the refusal; bounded in time and size.
_DRAIN_SECONDS = 5.0
_DRAIN_BYTES = MAX_FRAME_BYTES + 16


def offered(protocol_id: str, families: tuple[ProtocolFamily, ...]) -> list[ProtocolVersion]:
    """The versions to propose for a request on `protocol_id`, most preferred first."""
    for family in families:
        if family.current == protocol_id:
            return list(family.versions)
    return [ProtocolVersion(protocol_id, Framing.VARINT)]  # outside our families: varint


class FamilyHandlers(dict[TProtocol | None, StreamHandlerFn | None]):
    """multistream-select's handler table, which also accepts (to refuse) the ids of a
    family we serve that are not served themselves."""

    def __init__(
        self,
        table: dict[TProtocol | None, StreamHandlerFn | None],
        refusal_for: Callable[[str], StreamHandlerFn | None],
    ) -> None:
        super().__init__(table)
        self._refusal_for = refusal_for

    def __contains__(self, protocol: object) -> bool:
        if dict.__contains__(self, protocol):
            return True
        return isinstance(protocol, str) and self._refusal_for(protocol) is not None

    def __missing__(self, protocol: TProtocol | None) -> StreamHandlerFn | None:
        handler = self._refusal_for(protocol) if isinstance(protocol, str) else None
        if handler is None:
            raise KeyError(protocol)
        return handler


async def refuse_version(family: ProtocolFamily, stream: INetStream) -> None:
    """Answer a stream of an unserved version of `family` with the refusal, then close."""
    asked = str(stream.get_protocol() or "")
    remote = stream.muxed_conn.peer_id.to_base58()
    log.info("refused protocol %s from %s (we serve %s)", asked, remote,
             ", ".join(family.served))
    finished = False  # the peer read the refusal and closed its side: close gracefully
    try:
        await stream.write(refusal_frame(family, asked))
        close_write = getattr(stream, "close_write", None)
        if close_write is not None:
            await close_write()
        drained = 0
        with trio.move_on_after(_DRAIN_SECONDS):
            while drained < _DRAIN_BYTES:
                try:
                    chunk = await stream.read(65536)
                except StreamEOF:
                    chunk = b""
                if not chunk:
                    finished = True
                    break
                drained += len(chunk)
    except Exception as exc:  # noqa: BLE001 - the peer went away: nothing to keep
        log.debug("refusal stream ended: %s", type(exc).__name__)
    with trio.CancelScope(shield=True):
        try:
            await (stream.close() if finished else stream.reset())
        except Exception as exc:  # noqa: BLE001 - best effort
            log.debug("refusal stream close failed: %s", type(exc).__name__)
