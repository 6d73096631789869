"""BackUp's federation protocol, sans-IO (as python-hyper/h11 is).

Pydantic message models (`membership`, `witness`, `delivery`, `statistics`, `experts`,
`engagements`, `matching`) registered by (type, version) in `registry`; RFC 8785 canonical
JSON (`encoding`);
length-prefixed frames (`framing`); Ed25519-signed envelopes (`envelope`); one small state
machine per request/response exchange (`exchanges`: the one client path); the one server
side, shared by node and observatory (`responder`), and the one set of reason codes it
refuses with (`reasons`). No sockets, no asyncio, no SQLite, no clock: the transport,
storage and time are the caller's.
"""
