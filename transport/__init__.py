"""The libp2p adapter shared by the node and the observatory (issue 5, "Transport").

* `host`: one libp2p host per process (TCP, Noise only, yamux) in a trio thread, used from
  asyncio: `request()` sends one varint length-prefixed frame and reads one back (on a
  stream kept for the next request); `set_handler()` answers a protocol with an asyncio
  coroutine.
* `bridge`: the asyncio/trio thread boundary, with batched wake-ups.
* `streams`: whole frames on libp2p streams (1.0.0's 4-byte frames re-framed here), and the
  pool of idle request streams.
* `negotiation`: which protocol versions are served, offered and refused.
* `identity`: the node's Ed25519 key as its libp2p identity; peer ids and multiaddrs.
* `outbox`: signed frames that must arrive, retried with backoff until answered.
* `store`: what the outbox and the replay guard keep, as two small interfaces, written
  through the process's one SQLite writer, off the event loop; `queue` is the outbox's
  SQLite table, `inbox` the receiver's replay guard (for `protocol.responder`), `schema`
  their versioned tables.
* `errors`: one error tree; every error has a short code safe to store and show.

It imports `crypto` and `protocol` only; `node` and `observatory` import it.
"""
