"""The node's evidence log (issue 4): salted commitments to every evidence item in an
append-only RFC 9162 Merkle tree kept in the node's SQLite database, and signed C2SP
checkpoints over it.

* `log_store`: the tree in SQLite, functions over a connection, for use inside a caller's
  write transaction; proofs with O(log n) reads;
* `items`: committing a case's items to the log, and the encrypted record of each;
* `checkpoints`: signing, storing and reading checkpoints;
* `timestamping`: RFC 3161 timestamps of checkpoints from a timestamping authority.

The leaf format, the bundle format and the offline verifier are the `backup_evidence`
distribution's (the same code a court installs on its own). Court-bundle export is
`node.bundles`.
"""
