"""The evidence log in the node's SQLite database: an append-only RFC 9162 Merkle tree.

The math is `crypto.merkle`'s; this module only keeps its `SubtreeHashes` on disk. Two tables
(migration 3, node/storage/migrations.py), holding hashes only, never leaf data:

* ``merkle_leaves(idx, leaf_hash)``: level 0, one row per leaf, ``idx`` the rowid, and a
  UNIQUE index on ``leaf_hash`` for "which index is this leaf?";
* ``merkle_nodes(level, idx, hash)``, WITHOUT ROWID, primary key ``(level, idx)``: for
  every level >= 1, the hash of each *complete aligned* subtree, i.e. of the leaves
  ``[idx·2^level, (idx+1)·2^level)``, written in the same transaction as the leaf that
  completes it and never changed after (triggers refuse UPDATE and DELETE).

Costs, for a log of n leaves (each "read" one B-tree lookup by primary key):

* size: one read (``max(idx)`` is the rightmost key of the rowid tree);
* append of k leaves: the size and the ``popcount(n)`` subtrees of the tree's right edge
  (its "frontier"), then k leaf rows and about k node rows (a tree of n leaves has
  n - popcount(n) complete subtrees above its leaves), all in one transaction;
* root, inclusion proof, consistency proof: one read per `subtree_hash` call that
  `crypto.merkle` makes, at most about 2·log2(n) (its module docstring says why).

Crash safety: every write function runs *inside the caller's transaction* and refuses to
run outside one, so a leaf, the subtrees it completes and whatever the caller wrote with it
(a report, an attachment row) commit together or not at all. With the node's WAL and
``synchronous=FULL`` (node/storage/database.py) a committed append survives ``kill -9`` and
power loss, and an interrupted one leaves no trace (tests/integration/test_evidence_log_crash.py).
Within the caller's transaction an append runs under a SAVEPOINT, so a refused append (a
leaf already in the log) leaves nothing half-written even if the caller goes on and commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from crypto import merkle
from crypto.merkle import HASH_SIZE, leaf_hash, node_hash
from node.evidence.errors import BadLeaf, LeafExists, LogCorrupted, NotInTransaction, OutOfRange

_SIZE = "SELECT max(idx) FROM merkle_leaves"
_LEAF = "SELECT leaf_hash FROM merkle_leaves WHERE idx = ?"
_NODE = "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?"
_INDEX = "SELECT idx FROM merkle_leaves WHERE leaf_hash = ?"
_INSERT_LEAF = "INSERT INTO merkle_leaves (idx, leaf_hash) VALUES (?, ?)"
_INSERT_NODE = "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)"
_SAVEPOINT = "evidence_log_append"
_MAX_SIZE = 2**63 - 1  # SQLite integers; far beyond any node (and below RFC 9162's 2**64)


# -- reading ---------------------------------------------------------------------------------


def log_size(conn: sqlite3.Connection) -> int:
    """Number of leaves committed (or written in this connection's open transaction)."""
    last = conn.execute(_SIZE).fetchone()[0]
    return 0 if last is None else int(last) + 1


class LogView:
    """The log as `crypto.merkle.SubtreeHashes`, over one connection, as of one size.

    The size is read once, when the view is made: every subtree of a tree of that size is
    complete, hence never changes, so a view stays exact while other connections append.
    Each `subtree_hash` call is one primary-key read.
    """

    __slots__ = ("_conn", "_size")

    def __init__(self, conn: sqlite3.Connection, size: int | None = None) -> None:
        self._conn = conn
        self._size = log_size(conn) if size is None else size

    @property
    def size(self) -> int:
        return self._size

    def subtree_hash(self, start: int, end: int) -> bytes:
        width = end - start
        if not (0 <= start and end <= self._size and width > 0 and width & (width - 1) == 0
                and start % width == 0):
            raise OutOfRange(f"[{start}, {end}) is not a complete subtree of {self._size}")
        if width == 1:
            row = self._conn.execute(_LEAF, (start,)).fetchone()
        else:
            level = width.bit_length() - 1
            row = self._conn.execute(_NODE, (level, start >> level)).fetchone()
        if row is None:
            raise LogCorrupted(f"subtree [{start}, {end}) of a log of {self._size} is missing")
        return bytes(row[0])


def leaf_index(conn: sqlite3.Connection, hashed_leaf: bytes) -> int | None:
    """The index of the leaf with this leaf hash, or None if the log does not hold it."""
    _check_leaf_hash(hashed_leaf)
    row = conn.execute(_INDEX, (hashed_leaf,)).fetchone()
    return None if row is None else int(row[0])


def leaf_hash_at(conn: sqlite3.Connection, index: int) -> bytes:
    """The leaf hash stored at ``index``."""
    _check_int(index, "leaf index")
    row = conn.execute(_LEAF, (index,)).fetchone()
    if row is None:
        raise OutOfRange(f"leaf {index} is not in the log")
    return bytes(row[0])


def root_at(conn: sqlite3.Connection, size: int | None = None) -> bytes:
    """MTH of the first ``size`` leaves (default: all); ``SHA-256()`` for the empty tree."""
    view = LogView(conn)
    if size is None:
        size = view.size
    _check_int(size, "tree size")
    if size > view.size:
        raise OutOfRange(f"tree size {size} is beyond the log's {view.size} leaves")
    return merkle.root_hash(view, size)


@dataclass(frozen=True)
class InclusionProof:
    """Leaf ``leaf_index`` of the tree of ``tree_size`` leaves has hash ``leaf_hash``:
    ``path`` is RFC 9162's PATH, siblings from the leaf upwards."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]

    def verify(self, root: bytes) -> None:
        """Raise `crypto.errors.ProofError` unless the path leads to ``root``."""
        merkle.verify_inclusion(leaf_hash=self.leaf_hash, index=self.leaf_index,
                                size=self.tree_size, path=self.path, root=root)

    def as_json(self) -> dict[str, Any]:
        """The fields of a bundle's ``proof.json`` (issue 4), hashes in lowercase hex."""
        return {"leaf_index": self.leaf_index, "tree_size": self.tree_size,
                "leaf_hash": self.leaf_hash.hex(),
                "inclusion_path": [h.hex() for h in self.path]}


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of ``size2`` leaves extends the one of ``size1``: RFC 9162's PROOF."""

    size1: int
    size2: int
    path: tuple[bytes, ...]

    def verify(self, root1: bytes, root2: bytes) -> None:
        """Raise `crypto.errors.ProofError` unless the path links ``root1`` to ``root2``."""
        merkle.verify_consistency(size1=self.size1, size2=self.size2, root1=root1,
                                  root2=root2, path=self.path)

    def as_json(self) -> dict[str, Any]:
        return {"size1": self.size1, "size2": self.size2,
                "consistency_path": [h.hex() for h in self.path]}


def inclusion_proof(conn: sqlite3.Connection, index: int,
                    size: int | None = None) -> InclusionProof:
    """The proof that leaf ``index`` is in the tree of ``size`` leaves (default: all of
    them; any older size gives the proof against that older root, e.g. a checkpoint's)."""
    view = LogView(conn)
    size = _tree_size(view, size)
    _check_int(index, "leaf index")
    if index >= size:
        raise OutOfRange(f"leaf {index} is not in the tree of {size} leaves")
    path = merkle.inclusion_proof(view, index, size)
    return InclusionProof(index, size, view.subtree_hash(index, index + 1), tuple(path))


def inclusion_proof_for(conn: sqlite3.Connection, hashed_leaf: bytes,
                        size: int | None = None) -> InclusionProof:
    """`inclusion_proof` of the leaf with this leaf hash."""
    index = leaf_index(conn, hashed_leaf)
    if index is None:
        raise OutOfRange("no leaf with this hash is in the log")
    return inclusion_proof(conn, index, size)


def consistency_proof(conn: sqlite3.Connection, size1: int,
                      size2: int | None = None) -> ConsistencyProof:
    """The proof that the tree of ``size2`` leaves (default: all) extends the one of
    ``size1``, for ``1 <= size1 <= size2`` (RFC 9162 §2.1.4: nothing to prove from 0)."""
    view = LogView(conn)
    size2 = _tree_size(view, size2)
    _check_int(size1, "first tree size")
    if not 1 <= size1 <= size2:
        raise OutOfRange(f"no consistency proof from {size1} to {size2} leaves")
    return ConsistencyProof(size1, size2, tuple(merkle.consistency_proof(view, size1, size2)))


# -- appending -------------------------------------------------------------------------------


def append_leaves(conn: sqlite3.Connection, leaves: Iterable[bytes]) -> range:
    """Append leaves (their data: e.g. `EvidenceLeaf.encode()`), hashed here with
    ``SHA-256(0x00 || leaf)``, inside the caller's transaction; return their indices."""
    return append_leaf_hashes(conn, (leaf_hash(_check_leaf(leaf)) for leaf in leaves))


def append_leaf_hashes(conn: sqlite3.Connection, hashed_leaves: Iterable[bytes]) -> range:
    """Append already hashed leaves inside the caller's transaction; return their indices.

    All or none: a leaf hash already in the log (or twice in ``hashed_leaves``) raises
    `LeafExists` and nothing of this call stays in the transaction.
    """
    if not conn.in_transaction:
        raise NotInTransaction("append to the evidence log inside a write transaction")
    start = log_size(conn)
    stack = _frontier(LogView(conn, start))
    leaf_rows: list[tuple[int, bytes]] = []
    node_rows: list[tuple[int, int, bytes]] = []
    n = start
    for hashed in hashed_leaves:
        _check_leaf_hash(hashed)
        leaf_rows.append((n, hashed))
        # Leaf n completes one subtree per trailing 1 bit of n: its left halves are the
        # frontier's smallest subtrees, on top of the stack (as in `MemoryTree.append_hash`).
        current, i, level = hashed, n, 0
        while i & 1:
            current = node_hash(stack.pop(), current)
            i, level = i >> 1, level + 1
            node_rows.append((level, i, current))
        stack.append(current)
        n += 1
    if n > _MAX_SIZE:
        raise BadLeaf(f"a log holds at most {_MAX_SIZE} leaves")
    if n == start:
        return range(start, start)
    # Insert in key order: the leaf-hash index then takes its random keys in one sweep
    # (about 30% faster in batches of 1,000), and each level's nodes land at its right edge.
    leaf_rows.sort(key=itemgetter(1))
    node_rows.sort()
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        conn.executemany(_INSERT_LEAF, leaf_rows)
        conn.executemany(_INSERT_NODE, node_rows)
    except sqlite3.IntegrityError as e:
        _undo(conn)
        if "leaf_hash" in str(e):
            raise LeafExists("a leaf is already in the evidence log") from None
        raise LogCorrupted(f"appending at {start} collides with stored rows") from None
    except BaseException:
        _undo(conn)
        raise
    conn.execute(f"RELEASE {_SAVEPOINT}")
    return range(start, n)


def _undo(conn: sqlite3.Connection) -> None:
    conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
    conn.execute(f"RELEASE {_SAVEPOINT}")


def _frontier(view: LogView) -> list[bytes]:
    """The complete subtrees along the right edge of the tree, largest first: one per set
    bit of its size (bit l: the subtree of 2^l leaves ending where the previous one starts)."""
    size, stack = view.size, []
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            start = ((size >> level) - 1) << level
            stack.append(view.subtree_hash(start, start + (1 << level)))
    return stack


# -- auditing --------------------------------------------------------------------------------


def check_tree(conn: sqlite3.Connection) -> int:
    """Recompute every stored subtree from the leaf hashes; raise `LogCorrupted` at the first
    one that differs, is missing or should not exist. Returns the size checked.

    O(n) time, O(1) memory, one consistent read snapshot (a read transaction is opened if
    the connection is not already in one). For audits and after a crash, not per request.
    """
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        return _check_tree(conn)
    finally:
        if own:
            conn.execute("COMMIT")


def _check_tree(conn: sqlite3.Connection) -> int:
    size = log_size(conn)
    low, count = conn.execute("SELECT min(idx), count(*) FROM merkle_leaves").fetchone()
    if count != size or (size and low != 0):
        raise LogCorrupted(f"leaf indices are not 0..{size - 1} ({count} rows)")
    top = size.bit_length() - 1
    stray = conn.execute("SELECT count(*) FROM merkle_nodes WHERE level < 1 OR level > ?",
                         (max(top, 0),)).fetchone()[0]
    if stray:
        raise LogCorrupted(f"{stray} stored subtrees lie outside a tree of {size} leaves")
    for level in range(1, top + 1):
        below = _level_hashes(conn, level - 1)
        expected = size >> level
        stored = conn.execute(
            "SELECT idx, hash FROM merkle_nodes WHERE level = ? ORDER BY idx", (level,))
        seen = 0
        for idx, value in stored:
            if idx != seen or seen >= expected:
                raise LogCorrupted(f"unexpected subtree ({level}, {idx}) in a log of {size}")
            if node_hash(next(below), next(below)) != value:
                raise LogCorrupted(f"subtree ({level}, {idx}) does not match its halves")
            seen += 1
        if seen != expected:
            raise LogCorrupted(f"subtree ({level}, {seen}) of a log of {size} is missing")
    return size


def _level_hashes(conn: sqlite3.Connection, level: int) -> Iterator[bytes]:
    if level == 0:
        rows = conn.execute("SELECT leaf_hash FROM merkle_leaves ORDER BY idx")
    else:
        rows = conn.execute("SELECT hash FROM merkle_nodes WHERE level = ? ORDER BY idx",
                            (level,))
    return (bytes(r[0]) for r in rows)


# -- argument checks -------------------------------------------------------------------------


def _tree_size(view: LogView, size: int | None) -> int:
    if size is None:
        size = view.size
    _check_int(size, "tree size")
    if not 1 <= size <= view.size:
        raise OutOfRange(f"no tree of {size} leaves in a log of {view.size}")
    return size


def _check_int(value: object, what: str) -> None:
    # `type(...) is int` also refuses bools and floats that slipped in from JSON.
    if type(value) is not int or not 0 <= value <= _MAX_SIZE:
        raise OutOfRange(f"{what} must be a non-negative integer")


def _check_leaf(leaf: object) -> bytes:
    if not isinstance(leaf, bytes):
        raise BadLeaf("a leaf is bytes")
    return leaf


def _check_leaf_hash(value: object) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise BadLeaf(f"a leaf hash is {HASH_SIZE} bytes")


__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "LogView",
    "append_leaf_hashes",
    "append_leaves",
    "check_tree",
    "consistency_proof",
    "inclusion_proof",
    "inclusion_proof_for",
    "leaf_hash_at",
    "leaf_index",
    "log_size",
    "root_at",
]
