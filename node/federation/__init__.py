"""The node's side of the federation (issue 5): enrollment with the observatory, the signed
membership list, witnessed checkpoints of the node's evidence log, and witnessing peers' logs.

* `config`: the ``[federation]`` section of ``node.toml`` (absent: the node runs standalone).
* `store`: the node's federation tables (migration 6): hashes, sizes, keys and signed notes
  only, never report data (ARCHITECTURE.md, invariant 3).
* `directory`: whose keys are believed: the observatory's (configured) and members' (from
  the latest verified membership list).
* `enrollment`, `our_log`, `peer_logs`: what to send and what an answer means, as functions
  over the database; no sockets.
* `handler`: frames arriving on ``/backup/federation/1.0.0``: verify, dispatch, answer.
* `service`: `FederationService`, the libp2p host, the persistent outbox and the periodic
  work, started by the serving process (`node.web.app.create_app(..., owns_context=True)`).
* `info`: what an admin gives peers and courts (node id, peer id, vkeys).

Only this package imports `transport`; importing `config` or `store` never loads libp2p.
"""
