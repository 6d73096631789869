"""The node's side of the federation (issue 5): enrollment with the observatory, the signed
membership list, witnessed checkpoints of the node's evidence log, and witnessing peers' logs.

* `config`: the ``[federation]`` section of ``node.toml`` (absent: the node runs standalone).
* `store`: the node's federation tables (migration 6): hashes, sizes, keys and signed notes
  only, never report data (raw data never leaves its node, and is never copied here).
* `directory`: whose keys are believed: the observatory's (configured) and members' (from
  the latest verified membership list).
* `enrollment`, `members`, `our_log`, `peer_logs`, `statistics_delivery`: what to send and
  what an answer means, as functions over the database; no sockets.
* `answers`: an answer believed through the request's resumed `ClientExchange`, then stored
  by what it answers.
* `handler`: this node's decisions on requests arriving over libp2p, behind the shared
  `protocol.responder.Responder`.
* `service`: `FederationService`, the libp2p host, the persistent outbox and the periodic
  work, started by the serving process (`startup.start_federation`), writing through the
  node's one database writer in worker threads.
* `info`: what an admin gives peers and courts (node id, peer id, vkeys).

Only this package imports `transport`; importing `config` or `store` never loads libp2p.
"""
