"""Encrypted, signed backups of a node and their restore (issue 21).

* `keys`: the backup key pair. The node seals each archive's data key to the backup
  public key, unattended; the backup secret key exists only sealed to the recovery key, so
  nothing in an archive opens without the recovery material.
* `archive`: the archive format (an encrypted tar stream with a signed trailer).
* `make`: writing an archive from a live node (SQLite's online backup, never a file copy),
  and keeping N generations.
* `restore`: checking, decrypting and restoring an archive into a new data directory, then
  checking the custody chain and the evidence log, and replaying the deletions made after
  the backup.
* `restore_state`: what a restored node remembers (when, and the backup's date), for the
  honest answer to receipts lost with the reports made after the backup.
"""
