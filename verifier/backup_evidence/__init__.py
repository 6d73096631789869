"""What a court needs to check BackUp evidence, and nothing else (the ``backup-evidence``
distribution, installed on its own without a compiler; the node depends on it, so there
is one copy of each part):

* `leaves`: the evidence log's leaf format, computed by the node, recomputed by a verifier;
* `disclosures`: per-field salted disclosures and the version-2 leaf commitment over them
  (what lets a bundle withhold a field and still prove it);
* `bundle_format`: the court bundle's layout;
* `timestamps`: reading and checking RFC 3161 timestamp tokens over checkpoints;
* `verify`: ``backup-evidence verify``, the offline check of a bundle.

The Merkle math and the C2SP note and checkpoint code are `crypto`'s, in the same
distribution. Nothing here imports the node, a web framework, libp2p or a database.
"""
