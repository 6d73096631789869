"""BackUp's federation protocol, sans-IO (STYLE.md, 1; issue 5).

Pydantic message models (`membership`, `witness`, `delivery`, `drafts`) registered by
(type, version) in `registry`; RFC 8785 canonical JSON (`encoding`); length-prefixed frames
(`framing`); Ed25519-signed envelopes (`envelope`); and one small state machine per
request/response exchange (`exchanges`). No sockets, no asyncio, no SQLite, no clock: the
transport, storage and time are the caller's, as in python-hyper/h11.
"""
