"""The evidence log in the node's SQLite database: an append-only RFC 9162 Merkle tree.

The math is `crypto.merkle`'s; this module only keeps its `SubtreeHashes` on disk, in tables
of hashes only, never leaf data (migrations 3 and 7, node/storage/migrations.py):

* ``merkle_hashes(level, chunk, hashes)``, WITHOUT ROWID, primary key ``(level, chunk)``:
  the hash of every *complete aligned* subtree (level 0: the leaf hashes; level l: the
  subtrees of 2^l leaves), 16 consecutive hashes of one level to a row. A hash is written
  in the same transaction as the leaf that completes its subtree and never changes after;
  only the last row of a level grows, and a trigger refuses any other change.
* the leaf-hash index, which leaf index a leaf hash has (lookup by leaf hash, and a leaf
  goes in once), keyed by `hash_prefix`, the first 8 bytes of the leaf hash as an integer:
  ``merkle_leaf_index_recent(prefix, idx)`` holds the leaves appended since the log last
  crossed a multiple of `RECENT_LEAVES`; the append that crosses one moves them, in prefix
  order, into ``merkle_leaf_index(prefix, idx)``, which holds all the others. A prefix is in
  at most one row of the two; a leaf whose prefix another leaf already holds (about one
  leaf in 2^64 / n) is in ``merkle_leaf_index_collisions(leaf_hash, idx)`` by its whole
  hash. Every candidate a prefix gives is checked against the leaf hash stored at level 0.

Why 16 hashes to a row, not one row per hash: an append then writes about 1/8 of a row per
leaf instead of two rows. A row holds one level only, so a subtree hash is still one
primary-key read and a 32-byte ``substr``, with nothing to recompute (unlike C2SP
tlog-tiles, whose tiles span levels).

Why the index is shaped so (bench/bench_evidence.py): leaf hashes are random, so each new
entry lands on a random page of the index, and once the index is much larger than a batch,
a commit writes about one whole 4 KiB page per leaf to the WAL and again to the database
(a 32-byte BLOB key at 10 million leaves: ~24,000 appends/s, nearly all of it page writes).
An 8-byte integer key makes the index less than half as large; the small table of recent
leaves (at most `RECENT_LEAVES` plus one batch, a few MiB, in the writer's page cache) takes
the random inserts on few pages, and moving it into the large table in key order every
`RECENT_LEAVES` leaves writes each page of the large table once for many entries, as an
LSM tree's compaction does (O'Neil et al., "The log-structured merge-tree", 1996).

Costs, for a log of n leaves (each "read" one B-tree lookup by primary key):

* size: one read (the last row of level 0);
* append of k leaves: the size, the last row of each level (at most log2(n) + 1 reads),
  about k/8 rows, one statement that looks all k prefixes up in the large table, k entries
  in the small one; once every `RECENT_LEAVES` leaves, moving the small table;
* lookup by leaf hash: two reads (the prefix in both tables in one statement, then the
  leaf hash it names), three when the prefix is another leaf's;
* root, inclusion proof, consistency proof: one read per `subtree_hash` call that
  `crypto.merkle` makes, at most about 2·log2(n) (its module docstring says why).

Crash safety: every write function runs *inside the caller's transaction* and refuses to
run outside one, so a leaf, the subtrees it completes, its index entry and whatever the
caller wrote with it (a report, an attachment row) commit together or not at all. With the
node's WAL and ``synchronous=FULL`` (node/storage/database.py) a committed append survives
``kill -9`` and power loss, and an interrupted one leaves no trace
(tests/integration/test_evidence_log_crash.py). Within the caller's transaction an append
runs under a SAVEPOINT, so a refused append (a leaf already in the log) leaves nothing
half-written even if the caller goes on and commits.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crypto import merkle
from crypto.merkle import HASH_SIZE, node_hash
from node.evidence.errors import (
    BadLeafInput,
    LeafExists,
    LogCorrupted,
    NotInTransaction,
    OutOfRange,
)

CHUNK = 16
"""Hashes per row of ``merkle_hashes`` (part of the schema: changing it needs a migration)."""

RECENT_LEAVES = 1 << 18
"""The small table of recent index entries is moved into the large one whenever the log
crosses a multiple of this many leaves: 2^18 entries are about 7 MiB of pages, well within
the writer's 64 MiB page cache, and at 10 million leaves each move writes each page of the
large table for about 4 entries (bench/bench_evidence.py measures appends at that size)."""

_CHUNK_BYTES = CHUNK * HASH_SIZE
# RFC 9162 §2.1.1, as `crypto.merkle.leaf_hash` and `node_hash` (inlined in the append loop,
# where a function call per hash was a tenth of the time; the tests compare every root and
# proof with `crypto.merkle`'s)
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_LAST_LEAF_ROW = ("SELECT chunk, length(hashes) FROM merkle_hashes WHERE level = 0 "
                  "ORDER BY chunk DESC LIMIT 1")
_HASH = "SELECT substr(hashes, ?, 32) FROM merkle_hashes WHERE level = ? AND chunk = ?"
_ROW = "SELECT hashes FROM merkle_hashes WHERE level = ? AND chunk = ?"
# A prefix is in at most one of the two tables; one statement reads both in one snapshot.
_CANDIDATES = ("SELECT idx FROM merkle_leaf_index WHERE prefix = ?1 UNION ALL "
               "SELECT idx FROM merkle_leaf_index_recent WHERE prefix = ?1")
_COLLISION = "SELECT idx FROM merkle_leaf_index_collisions WHERE leaf_hash = ?"
# How many of a batch's prefixes (a JSON array: one parameter, any batch size) the large
# table already holds: one primary-key search each, in C.
_TAKEN = ("SELECT count(*) FROM json_each(?) AS batch "
          "JOIN merkle_leaf_index ON merkle_leaf_index.prefix = batch.value")
_PUT_ROW = ("INSERT INTO merkle_hashes (level, chunk, hashes) VALUES (?, ?, ?) "
            "ON CONFLICT (level, chunk) DO UPDATE SET hashes = excluded.hashes")
_PUT_RECENT = "INSERT INTO merkle_leaf_index_recent (prefix, idx) VALUES (?, ?)"
# The whole batch in one statement: SQLite sorts the prefixes (so that the B-tree takes its
# random keys in order, in one sweep) and numbers them from the batch's first index.
_PUT_RECENT_BATCH = ("INSERT INTO merkle_leaf_index_recent (prefix, idx) "
                     "SELECT value, ?2 + key FROM json_each(?1) WHERE true ORDER BY value "
                     "ON CONFLICT (prefix) DO NOTHING")
_PUT_COLLISION = "INSERT INTO merkle_leaf_index_collisions (leaf_hash, idx) VALUES (?, ?)"
_MOVE_RECENT = ("INSERT INTO merkle_leaf_index (prefix, idx) "
                "SELECT prefix, idx FROM merkle_leaf_index_recent ORDER BY prefix")
_CLEAR_RECENT = "DELETE FROM merkle_leaf_index_recent"
_SAVEPOINT = "evidence_log_append"
_MAX_SIZE = 2**63 - 1  # SQLite integers; far beyond any node (and below RFC 9162's 2**64)


# -- reading ---------------------------------------------------------------------------------


def log_size(conn: sqlite3.Connection) -> int:
    """Number of leaves committed (or written in this connection's open transaction)."""
    row = conn.execute(_LAST_LEAF_ROW).fetchone()
    if row is None:
        return 0
    chunk, length = int(row[0]), int(row[1])
    if length % HASH_SIZE or not 0 < length <= _CHUNK_BYTES:
        raise LogCorrupted(f"the last row of leaf hashes has {length} bytes")
    return chunk * CHUNK + length // HASH_SIZE


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
        level = width.bit_length() - 1
        return self._hash(level, start >> level)

    def _hash(self, level: int, index: int) -> bytes:
        chunk, slot = divmod(index, CHUNK)
        row = self._conn.execute(_HASH, (slot * HASH_SIZE + 1, level, chunk)).fetchone()
        if row is None or len(row[0]) != HASH_SIZE:
            raise LogCorrupted(f"subtree {index} of level {level} in a log of {self._size} "
                               "is missing")
        return bytes(row[0])


def hash_prefix(hashed_leaf: bytes) -> int:
    """The key of a leaf hash in the index: its first 8 bytes as a signed big-endian
    integer (SQLite's INTEGER; migration 7 computes the same in SQL)."""
    return int.from_bytes(hashed_leaf[:8], "big", signed=True)


def leaf_index(conn: sqlite3.Connection, hashed_leaf: bytes) -> int | None:
    """The index of the leaf with this leaf hash, or None if the log does not hold it."""
    _check_leaf_hash(hashed_leaf)
    for (idx,) in conn.execute(_CANDIDATES, (hash_prefix(hashed_leaf),)).fetchall():
        if _stored_leaf_hash(conn, idx) == hashed_leaf:
            return int(idx)
    row = conn.execute(_COLLISION, (hashed_leaf,)).fetchone()
    return None if row is None else int(row[0])


def _stored_leaf_hash(conn: sqlite3.Connection, index: int) -> bytes:
    chunk, slot = divmod(index, CHUNK)
    row = conn.execute(_HASH, (slot * HASH_SIZE + 1, 0, chunk)).fetchone()
    if row is None or len(row[0]) != HASH_SIZE:
        raise LogCorrupted(f"the leaf index names leaf {index}, which is not stored")
    return bytes(row[0])


def leaf_hash_at(conn: sqlite3.Connection, index: int) -> bytes:
    """The leaf hash stored at ``index``."""
    _check_int(index, "leaf index")
    view = LogView(conn)
    if index >= view.size:
        raise OutOfRange(f"leaf {index} is not in the log")
    return view.subtree_hash(index, index + 1)


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
    sha256, prefix = hashlib.sha256, _LEAF_PREFIX  # `leaf_hash`, inlined: a hot loop
    return append_leaf_hashes(conn, [sha256(prefix + _check_leaf(leaf)).digest()
                                     for leaf in leaves])


def append_leaf_hashes(conn: sqlite3.Connection, hashed_leaves: Iterable[bytes]) -> range:
    """Append already hashed leaves inside the caller's transaction; return their indices.

    All or none: a leaf hash already in the log (or twice in ``hashed_leaves``) raises
    `LeafExists` and nothing of this call stays in the transaction.
    """
    if not conn.in_transaction:
        raise NotInTransaction("append to the evidence log inside a write transaction")
    hashes = list(hashed_leaves)
    if any(type(hashed) is not bytes or len(hashed) != HASH_SIZE for hashed in hashes):
        raise BadLeafInput(f"a leaf hash is {HASH_SIZE} bytes")
    start = log_size(conn)
    n = start + len(hashes)
    if n > _MAX_SIZE:
        raise BadLeafInput(f"a log holds at most {_MAX_SIZE} leaves")
    if n == start:
        return range(start, start)
    tails = _right_edge(conn, start)
    level0 = b"".join(hashes)
    rows = _new_rows(tails, start, hashes, level0)
    prefixes = [int.from_bytes(hashed[:8], "big", signed=True) for hashed in hashes]
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        conn.executemany(_PUT_ROW, rows)
        _index(conn, json.dumps(prefixes), level0, start)
        if start // RECENT_LEAVES != n // RECENT_LEAVES:
            conn.execute(_MOVE_RECENT)
            conn.execute(_CLEAR_RECENT)
    except sqlite3.IntegrityError as e:
        _undo(conn)
        raise LogCorrupted(f"appending at {start} broke a stored row: {e}") from None
    except BaseException:
        _undo(conn)
        raise
    conn.execute(f"RELEASE {_SAVEPOINT}")
    return range(start, n)


def _new_rows(tails: list[bytes], start: int, hashes: list[bytes],
              level0: bytes) -> list[tuple[int, int, bytes]]:
    """The ``merkle_hashes`` rows that appending ``hashes`` (``level0``: the same, back to
    back) to a tree of ``start`` leaves writes, level by level: each level's new complete
    subtrees, from index ``start >> level``, after that level's partial last row (upserted).

    A level's new subtrees pair up into the next level's; when the first of them is a right
    half (an odd index), its left half is the last hash of that level's partial row (the
    frontier). One list comprehension per level rather than a loop per leaf: the same
    hashes as `crypto.merkle` (the tests compare every root and proof), in a third of the
    time.
    """
    sha256, node_prefix = hashlib.sha256, _NODE_PREFIX  # `node_hash`, inlined: a hot loop
    rows: list[tuple[int, int, bytes]] = []
    level, first, new, joined = 0, start, hashes, level0
    while new:
        tail = tails[level] if level < len(tails) else b""
        data = tail + joined
        base = first // CHUNK  # the row of the first new hash, which ``tail`` begins
        rows += [(level, base + k // _CHUNK_BYTES, data[k:k + _CHUNK_BYTES])
                 for k in range(0, len(data), _CHUNK_BYTES)]
        if first & 1:
            new = [tail[-HASH_SIZE:], *new]
        halves = iter(new)  # pairs (2i, 2i + 1); an odd one out is not complete yet
        new = [sha256(node_prefix + left + right).digest()
               for left, right in zip(halves, halves, strict=False)]
        joined = b"".join(new)
        first, level = first >> 1, level + 1
    return rows


def _index(conn: sqlite3.Connection, prefixes: str, hashes: bytes, start: int) -> None:
    """Index the leaves ``start ..``, whose hashes ``hashes`` holds back to back and whose
    `hash_prefix` values ``prefixes`` lists in order (a JSON array), once their level-0 row
    is written.

    The usual case takes two statements: no prefix of the batch is in the large table, and
    all of them go into the small one with none already there. Otherwise (a leaf already in
    the log, or a prefix that another leaf holds) the leaves that did not go in are indexed
    one by one.
    """
    count = len(hashes) // HASH_SIZE
    taken = conn.execute(_TAKEN, (prefixes,)).fetchone()[0]
    if not taken and conn.execute(_PUT_RECENT_BATCH, (prefixes, start)).rowcount == count:
        return
    for k in range(0, len(hashes), HASH_SIZE):
        hashed, index = hashes[k:k + HASH_SIZE], start + k // HASH_SIZE
        holders = [other for (other,) in conn.execute(_CANDIDATES, (hash_prefix(hashed),))]
        if index in holders:
            continue  # went in above
        if not holders:
            conn.execute(_PUT_RECENT, (hash_prefix(hashed), index))
            continue
        if any(_stored_leaf_hash(conn, other) == hashed for other in holders):
            raise LeafExists("a leaf is already in the evidence log")
        try:
            conn.execute(_PUT_COLLISION, (hashed, index))
        except sqlite3.IntegrityError:  # its whole hash is there: a leaf that collided before
            raise LeafExists("a leaf is already in the evidence log") from None


def _undo(conn: sqlite3.Connection) -> None:
    conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
    conn.execute(f"RELEASE {_SAVEPOINT}")


def _right_edge(conn: sqlite3.Connection, size: int) -> list[bytes]:
    """The partial last row of each level of the tree of ``size`` leaves, levels
    0..log2(size) (b"" where the last row is full), which the new hashes of that level
    extend. Where a level holds an odd count of subtrees, the last hash of its row is the
    frontier's subtree at that level (an odd count never fills a row of 16)."""
    tails: list[bytes] = []
    for level in range(max(size.bit_length(), 1)):
        count = size >> level
        tail = b""
        if count % CHUNK:
            row = conn.execute(_ROW, (level, count // CHUNK)).fetchone()
            tail = b"" if row is None else bytes(row[0])
            if len(tail) != count % CHUNK * HASH_SIZE:
                raise LogCorrupted(f"the last row of level {level} does not fit {size} leaves")
        tails.append(tail)
    return tails


# -- auditing --------------------------------------------------------------------------------


def check_tree(conn: sqlite3.Connection) -> int:
    """Recompute every stored subtree from the leaf hashes and check the leaf-hash index;
    raise `LogCorrupted` at the first row or hash that differs, is missing or should not
    exist. Returns the size checked.

    O(n log n) time, O(1) memory, one consistent read snapshot (a read transaction is
    opened if the connection is not already in one). For audits and after a crash, not
    per request. (A request-time check would not catch everything: a proof only reads the
    subtrees it needs, so a wrong stored hash shows up as a proof that does not verify.)
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
    levels = size.bit_length()  # levels 0 .. log2(size) hold complete subtrees
    stray = conn.execute("SELECT count(*) FROM merkle_hashes WHERE level >= ?",
                         (levels,)).fetchone()[0]
    if stray:
        raise LogCorrupted(f"{stray} rows lie above the top of a tree of {size} leaves")
    for level in range(1, levels):
        below = _stored_level(conn, level - 1, size >> (level - 1))
        for index, value in enumerate(_stored_level(conn, level, size >> level)):
            if node_hash(next(below), next(below)) != value:
                raise LogCorrupted(f"subtree {index} of level {level} does not match its "
                                   "halves")
    entries = conn.execute(
        "SELECT (SELECT count(*) FROM merkle_leaf_index) "
        "+ (SELECT count(*) FROM merkle_leaf_index_recent) "
        "+ (SELECT count(*) FROM merkle_leaf_index_collisions)").fetchone()[0]
    if entries != size:
        raise LogCorrupted(f"the leaf index has {entries} entries for {size} leaves")
    for index, hashed in enumerate(_stored_level(conn, 0, size)):
        if leaf_index(conn, hashed) != index:  # n distinct keys, each at its leaf: a bijection
            raise LogCorrupted(f"the leaf index does not map leaf {index} to itself")
    return size


def _stored_level(conn: sqlite3.Connection, level: int, count: int) -> Iterator[bytes]:
    """The ``count`` hashes of one level, checking that its rows are exactly those."""
    rows = conn.execute("SELECT chunk, hashes FROM merkle_hashes WHERE level = ? "
                        "ORDER BY chunk", (level,))
    expected = 0
    for chunk, blob in rows:
        want = min(count - chunk * CHUNK, CHUNK) * HASH_SIZE
        if chunk != expected or want <= 0 or len(blob) != want:
            raise LogCorrupted(f"row {chunk} of level {level} does not fit a level of {count}")
        for k in range(0, want, HASH_SIZE):
            yield bytes(blob[k:k + HASH_SIZE])
        expected += 1
    if expected * CHUNK < count:
        raise LogCorrupted(f"rows of level {level} are missing")


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
        raise BadLeafInput("a leaf is bytes")
    return leaf


def _check_leaf_hash(value: object) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise BadLeafInput(f"a leaf hash is {HASH_SIZE} bytes")


__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "LogView",
    "append_leaf_hashes",
    "append_leaves",
    "check_tree",
    "consistency_proof",
    "hash_prefix",
    "inclusion_proof",
    "inclusion_proof_for",
    "leaf_hash_at",
    "leaf_index",
    "log_size",
    "root_at",
]
