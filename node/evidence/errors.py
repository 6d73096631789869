"""Errors of the evidence log, in the node's error tree.

``message`` is what a person may be shown (an existing, already translated sentence, so the
catalogues need no new entry); ``str(error)`` is the detail for logs and developers, with
public values only (sizes, indices, counts: never content, salts or leaf data).
"""

from __future__ import annotations

from node.errors import NodeError, NotFound


class EvidenceError(NodeError):
    """Base of every evidence-log error."""

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class BadLeafInput(EvidenceError):
    """A leaf or leaf hash the log store cannot take (not bytes, the wrong size, one leaf
    too many). The leaf format's own errors are `backup_evidence.leaves.BadLeaf`."""


class LeafExists(EvidenceError):
    """This leaf is already in the log: a leaf commits to one item once (leaf hashes are
    unique, so a leaf hash names one index). Nothing of the failed append was kept."""


class OutOfRange(EvidenceError):
    """A leaf index or tree size the log does not have (yet)."""

    message = NotFound.message


class LogCorrupted(EvidenceError):
    """The stored tree is not what its leaves hash to, or no longer extends a checkpoint the
    node signed. Never sign on top of it: a second, inconsistent checkpoint is exactly the
    fork that witnesses exist to catch."""


class NotInTransaction(EvidenceError):
    """A log write was called on a connection outside a transaction, where a crash between
    two statements could leave a leaf without its parent hashes."""
