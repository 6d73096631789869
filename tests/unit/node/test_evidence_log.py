"""The evidence log over a real SQLite file: tree store, proofs, checkpoints.

The reference is `crypto.merkle.MemoryTree` (itself checked against the RFC 6962 vectors in
tests/unit/crypto/test_merkle.py): the store must give the same hashes and proofs for every
size, read O(log n) rows per proof, and refuse to write outside a transaction or twice.
"""

from __future__ import annotations

import hashlib
import math
import random
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backup_evidence import leaves
from backup_evidence.leaves import ItemType
from crypto import merkle
from crypto.checkpoint import Checkpoint, decode_vkey, open_checkpoint
from crypto.errors import CryptoError, ProofError, SignatureError
from crypto.keys import SigningKey
from node.evidence import checkpoints, log_store
from node.evidence.errors import (
    BadLeafInput,
    EvidenceError,
    LeafExists,
    LogCorrupted,
    NotInTransaction,
    OutOfRange,
)
from node.storage.database import Database
from tests.evidence_log import EvidenceLog

NODE_ID = "0123456789abcdef0123456789abcdef"
NOW = 1_780_000_000


def leaf_data(i: int) -> bytes:
    """A distinct, well-formed leaf per index, as the node would append."""
    digest = hashlib.sha256(b"test leaf %d" % i).digest()
    return leaves.leaf_from_digest(ItemType.ATTACHMENT, NOW + i, bytes(32), digest).encode()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "node.db")
    yield database
    database.close()


@pytest.fixture
def log(db: Database) -> EvidenceLog:
    return EvidenceLog(db)


def fill(log: EvidenceLog, n: int, batch: int = 10_000) -> list[bytes]:
    data = [leaf_data(i) for i in range(n)]
    for k in range(0, n, batch):
        log.append_many(data[k:k + batch])
    return data


def flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def drop_append_only_triggers(db: Database) -> None:
    """What someone with the database file can do: the triggers guard against bugs, not
    against an attacker, which is what `check_tree` and the checkpoints are for."""
    with db.write() as conn:
        for name in ("merkle_hashes_append_only", "merkle_hashes_no_delete",
                     "merkle_leaf_index_append_only", "merkle_leaf_index_no_delete",
                     "merkle_leaf_index_recent_append_only", "merkle_leaf_index_recent_moved",
                     "merkle_leaf_index_collisions_append_only",
                     "merkle_leaf_index_collisions_no_delete"):
            conn.execute(f"DROP TRIGGER {name}")


# -- the store against the reference ---------------------------------------------------------


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batches=st.lists(st.integers(0, 70), min_size=1, max_size=8), data=st.data())
def test_store_agrees_with_memory_tree(batches: list[int], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "node.db")
        try:
            log, ref, n = EvidenceLog(db), merkle.MemoryTree(), 0
            for count in batches:
                new = [leaf_data(i) for i in range(n, n + count)]
                if count == 1:
                    assert log.append(new[0]) == n
                else:
                    with db.write() as conn:  # inside a caller's transaction
                        assert log_store.append_leaves(conn, new) == range(n, n + count)
                for leaf in new:
                    ref.append(leaf)
                n += count
            assert log.size == ref.size == n
            conn = db.read()
            view = log_store.LogView(conn)
            for level in range(n.bit_length()):
                width = 1 << level
                for start in range(0, n - width + 1, width):
                    assert view.subtree_hash(start, start + width) == \
                        ref.subtree_hash(start, start + width)
            for size in range(n + 1):
                assert log.root(size) == merkle.root_hash(ref, size)
            assert log_store.check_tree(conn) == n
            if n == 0:
                return
            for _ in range(5):
                size = data.draw(st.integers(1, n), label="size")
                index = data.draw(st.integers(0, size - 1), label="index")
                proof = log.inclusion_proof(index, size)
                assert list(proof.path) == merkle.inclusion_proof(ref, index, size)
                assert proof.leaf_hash == merkle.leaf_hash(leaf_data(index))
                proof.verify(merkle.root_hash(ref, size))
                size1 = data.draw(st.integers(1, size), label="size1")
                consistency = log.consistency_proof(size1, size)
                assert list(consistency.path) == merkle.consistency_proof(ref, size1, size)
                consistency.verify(merkle.root_hash(ref, size1), merkle.root_hash(ref, size))
        finally:
            db.close()


def test_one_leaf_at_a_time_across_row_boundaries(db: Database, log: EvidenceLog) -> None:
    """Each append grows the last row of a level (16 hashes to a row) or starts a new one."""
    ref = merkle.MemoryTree()
    for i in range(300):
        assert log.append(leaf_data(i)) == i
        ref.append(leaf_data(i))
        assert log.root() == merkle.root_hash(ref)
    rows = db.read().execute("SELECT level, count(*), sum(length(hashes)) FROM merkle_hashes "
                             "GROUP BY level ORDER BY level").fetchall()
    assert [tuple(r) for r in rows] == [
        (level, -(-(300 >> level) // log_store.CHUNK), (300 >> level) * 32)
        for level in range(9)]
    assert log.check() == 300


def test_empty_log(log: EvidenceLog, db: Database) -> None:
    assert log.size == 0 and log.root() == merkle.EMPTY_ROOT
    assert log.append_many([]) == range(0, 0)
    with pytest.raises(OutOfRange):
        log.inclusion_proof(0)
    assert log_store.check_tree(db.read()) == 0


def test_proofs_verify_and_every_flipped_bit_fails(log: EvidenceLog) -> None:
    n = 1000
    fill(log, n, batch=37)
    rng = random.Random(4)
    for size in (1, 2, 3, 512, 999, 1000):
        root = log.root(size)
        index = rng.randrange(size)
        proof = log.inclusion_proof(index, size)
        proof.verify(root)
        merkle.verify_inclusion(leaf_hash=proof.leaf_hash, index=index, size=size,
                                path=proof.path, root=root)
        for bit in range(256):
            with pytest.raises(ProofError):
                proof.verify(flip(root, bit))
            with pytest.raises(ProofError):
                merkle.verify_inclusion(leaf_hash=flip(proof.leaf_hash, bit), index=index,
                                        size=size, path=proof.path, root=root)
        for k in range(len(proof.path)):
            bad_path = list(proof.path)
            bad_path[k] = flip(bad_path[k], rng.randrange(256))
            with pytest.raises(ProofError):
                merkle.verify_inclusion(leaf_hash=proof.leaf_hash, index=index, size=size,
                                        path=bad_path, root=root)
        # (A wrong size alone can still verify when the path has the same shape: the size
        # is bound to the root by the signed checkpoint, tested below.)
        if size > 1:
            size1 = rng.randrange(1, size)
            consistency = log.consistency_proof(size1, size)
            root1 = log.root(size1)
            consistency.verify(root1, root)
            for bit in range(0, 256, 7):
                with pytest.raises(ProofError):
                    consistency.verify(flip(root1, bit), root)
                with pytest.raises(ProofError):
                    consistency.verify(root1, flip(root, bit))
            for k in range(len(consistency.path)):
                bad_path = list(consistency.path)
                bad_path[k] = flip(bad_path[k], rng.randrange(256))
                with pytest.raises(ProofError):
                    merkle.verify_consistency(size1=size1, size2=size, root1=root1,
                                              root2=root, path=bad_path)


def test_historical_proofs_and_lookup(log: EvidenceLog) -> None:
    data = fill(log, 300, batch=50)
    old_root = log.root(100)
    fill_more = [leaf_data(i) for i in range(300, 333)]
    log.append_many(fill_more)
    proof = log.inclusion_proof(42, 100)  # against the older tree
    assert proof.tree_size == 100
    proof.verify(old_root)
    hashed = merkle.leaf_hash(data[42])
    assert log.leaf_index(hashed) == 42
    assert log.inclusion_proof_for(hashed, 100) == proof
    assert log.leaf_index(merkle.leaf_hash(b"never appended")) is None
    with pytest.raises(OutOfRange):
        log.inclusion_proof_for(merkle.leaf_hash(b"never appended"))
    assert proof.as_json()["inclusion_path"] == [h.hex() for h in proof.path]
    assert proof.as_json()["leaf_hash"] == hashed.hex()


@pytest.mark.parametrize(("index", "size"), [
    (0, 0), (5, 5), (0, 11), (-1, 5), (True, 5), (0, 10.0), (2**64, None)])
def test_out_of_range_requests(log: EvidenceLog, index: object, size: object) -> None:
    fill(log, 10)
    with pytest.raises(OutOfRange):
        log.inclusion_proof(index, size)  # type: ignore[arg-type]


@pytest.mark.parametrize(("size1", "size2"), [(0, 5), (6, 5), (1, 11), (False, 5)])
def test_out_of_range_consistency(log: EvidenceLog, size1: object, size2: object) -> None:
    fill(log, 10)
    with pytest.raises(OutOfRange):
        log.consistency_proof(size1, size2)  # type: ignore[arg-type]
    with pytest.raises(OutOfRange):
        log.root(11)


# -- cost: O(log n) reads --------------------------------------------------------------------


def test_reads_are_logarithmic_at_100k(db: Database, log: EvidenceLog) -> None:
    n = 100_000
    fill(log, n, batch=25_000)
    conn = db.read()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    bound = 2 * math.ceil(math.log2(n))  # siblings, each one read, plus a few
    rng = random.Random(9)
    try:
        for index in [0, 1, n // 2, n - 2, n - 1, *rng.sample(range(n), 200)]:
            statements.clear()
            log_store.inclusion_proof(conn, index)
            # 1 for the size, 1 for the leaf hash itself, the rest subtree reads
            assert len(statements) <= bound + 2, (index, len(statements))
        for size1 in [1, 2, 3, n // 2, n - 1, n, *rng.sample(range(1, n), 200)]:
            statements.clear()
            log_store.consistency_proof(conn, size1)
            assert len(statements) <= bound + 1, (size1, len(statements))
        for size in [1, n, *rng.sample(range(1, n), 50)]:
            statements.clear()
            log_store.root_at(conn, size)
            assert len(statements) <= math.ceil(math.log2(n)) + 1
    finally:
        conn.set_trace_callback(None)

    with db.write() as wconn:  # one append: size, last row of each level, the batch's
        # prefixes in the large index table, then writes
        wconn.set_trace_callback(statements.append)
        statements.clear()
        try:
            log_store.append_leaves(wconn, [leaf_data(n)])
        finally:
            wconn.set_trace_callback(None)
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) <= 2 + n.bit_length() and len(statements) <= len(reads) + 5


def test_subtree_calls_per_proof_are_logarithmic(db: Database, log: EvidenceLog) -> None:
    n = 100_000
    fill(log, n, batch=50_000)

    class Counting(log_store.LogView):
        calls = 0

        def subtree_hash(self, start: int, end: int) -> bytes:
            Counting.calls += 1
            return super().subtree_hash(start, end)

    view = Counting(db.read())
    worst = 0
    for index in random.Random(2).sample(range(n), 300):
        Counting.calls = 0
        merkle.inclusion_proof(view, index)
        worst = max(worst, Counting.calls)
    assert worst <= 2 * math.log2(n)


# -- writes: transactions, atomicity, uniqueness ---------------------------------------------


def test_append_refuses_to_run_outside_a_transaction(db: Database) -> None:
    conn = db.read()
    with pytest.raises(NotInTransaction):
        log_store.append_leaves(conn, [leaf_data(0)])
    with pytest.raises(NotInTransaction):
        checkpoints.maybe_checkpoint(conn, checkpoints.log_signer(NODE_ID,
                                                                  SigningKey.generate()), NOW)


def test_leaves_commit_with_the_callers_rows_or_not_at_all(db: Database,
                                                          log: EvidenceLog) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.write() as conn:
        conn.execute("INSERT INTO node_meta (key, value) VALUES ('evidence-test', x'01')")
        log_store.append_leaves(conn, [leaf_data(0), leaf_data(1)])
        raise Boom
    assert log.size == 0
    assert db.read().execute("SELECT count(*) FROM node_meta WHERE key = 'evidence-test'"
                             ).fetchone()[0] == 0
    with db.write() as conn:
        conn.execute("INSERT INTO node_meta (key, value) VALUES ('evidence-test', x'01')")
        log_store.append_leaves(conn, [leaf_data(0), leaf_data(1)])
    assert log.size == 2


def test_a_leaf_goes_in_once_and_a_refused_append_leaves_nothing(db: Database,
                                                                log: EvidenceLog) -> None:
    log.append_many([leaf_data(0), leaf_data(1), leaf_data(2)])
    with db.write() as conn:
        log_store.append_leaves(conn, [leaf_data(3)])
        with pytest.raises(LeafExists):
            log_store.append_leaves(conn, [leaf_data(4), leaf_data(5), leaf_data(1)])
        with pytest.raises(LeafExists):  # twice in one batch
            log_store.append_leaves(conn, [leaf_data(6), leaf_data(6)])
        # the caller goes on and commits: only what succeeded is there, tree intact
        log_store.append_leaves(conn, [leaf_data(7)])
    assert log.size == 5
    assert log.root() == merkle.merkle_tree_hash([leaf_data(i) for i in (0, 1, 2, 3, 7)])
    assert log.check() == 5
    with pytest.raises(LeafExists):
        log.append(leaf_data(7))


def test_bad_leaf_input(db: Database) -> None:
    with db.write() as conn:
        with pytest.raises(BadLeafInput):
            log_store.append_leaf_hashes(conn, [b"\x00" * 31])
        with pytest.raises(BadLeafInput):
            log_store.append_leaves(conn, ["text"])  # type: ignore[list-item]
        assert log_store.log_size(conn) == 0


def test_tables_are_append_only(db: Database, log: EvidenceLog,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_store, "RECENT_LEAVES", 8)
    fill(log, 20, batch=3)  # leaves 0..17 in the large index table, 18 and 19 in the small
    with db.write() as conn:  # and one whose prefix another leaf has
        log_store.append_leaf_hashes(conn, [log_store.leaf_hash_at(conn, 5)[:8] + bytes(24)])
    for statement in (
        "UPDATE merkle_hashes SET hashes = zeroblob(512) WHERE level = 0 AND chunk = 0",
        "UPDATE merkle_hashes SET hashes = zeroblob(64) WHERE level = 0 AND chunk = 1",
        "UPDATE merkle_hashes SET chunk = 7 WHERE level = 0 AND chunk = 1",
        "DELETE FROM merkle_hashes WHERE level = 4",
        "UPDATE merkle_leaf_index SET idx = idx + 1",
        "DELETE FROM merkle_leaf_index",
        "UPDATE merkle_leaf_index_recent SET idx = 0",
        "DELETE FROM merkle_leaf_index_recent",  # entries not (yet) in the large table
        "UPDATE merkle_leaf_index_collisions SET idx = 0",
        "DELETE FROM merkle_leaf_index_collisions",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), db.write() as conn:
            conn.execute(statement)
    # the last row of a level may only grow, keeping what it held
    with db.write() as conn:
        conn.execute("SAVEPOINT grow")
        rewrite_row(conn, 0, 1, lambda old: old + bytes(32))
        conn.execute("ROLLBACK TO grow")
    assert log.check() == 21


def rewrite_row(conn: sqlite3.Connection, level: int, chunk: int,
                change: Callable[[bytes], bytes]) -> None:
    old = conn.execute("SELECT hashes FROM merkle_hashes WHERE level = ? AND chunk = ?",
                       (level, chunk)).fetchone()[0]
    conn.execute("UPDATE merkle_hashes SET hashes = ? WHERE level = ? AND chunk = ?",
                 (change(old), level, chunk))


TAMPERING: list[Callable[[sqlite3.Connection], object]] = [
    lambda c: rewrite_row(c, 1, 0, lambda old: bytes(32) + old[32:]),  # a node
    lambda c: rewrite_row(c, 0, 0, lambda old: old[:32] + flip(old[32:64], 3) + old[64:]),
    lambda c: rewrite_row(c, 0, 1, lambda old: old[32:]),  # a leaf lost
    lambda c: rewrite_row(c, 1, 0, lambda old: old[:-32]),  # a node lost
    lambda c: rewrite_row(c, 0, 1, lambda old: old + bytes(32)),  # a leaf too many
    lambda c: c.execute("DELETE FROM merkle_hashes WHERE level = 1 AND chunk = 0"),
    lambda c: c.execute("INSERT INTO merkle_hashes VALUES (5, 0, zeroblob(32))"),
    lambda c: c.execute("INSERT INTO merkle_hashes VALUES (1, 5, zeroblob(32))"),
    lambda c: c.execute("UPDATE merkle_leaf_index SET idx = 7 WHERE idx = 5"),
    lambda c: c.execute("DELETE FROM merkle_leaf_index WHERE idx = 3"),
    lambda c: c.execute("INSERT INTO merkle_leaf_index VALUES (12345, 3)"),
    lambda c: c.execute("DELETE FROM merkle_leaf_index_recent WHERE idx = 19"),
    lambda c: c.execute("UPDATE merkle_leaf_index_recent SET prefix = prefix + 1 "
                        "WHERE idx = 18"),
    lambda c: c.execute("UPDATE merkle_leaf_index_recent SET idx = 17 WHERE idx = 18"),
    lambda c: c.execute("INSERT INTO merkle_leaf_index_collisions VALUES (zeroblob(32), 3)"),
]


@pytest.mark.parametrize("tamper", TAMPERING)
def test_check_tree_finds_tampering(db: Database, log: EvidenceLog,
                                    tamper: Callable[[sqlite3.Connection], object],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_store, "RECENT_LEAVES", 8)
    fill(log, 20, batch=3)  # leaves 0..17 in the large index table, 18 and 19 in the small
    assert log.check() == 20
    drop_append_only_triggers(db)
    with db.write() as conn:
        tamper(conn)
    with pytest.raises(LogCorrupted):
        log.check()


# -- the leaf-hash index: integer prefixes, recent entries, collisions ------------------------


def hash_with_prefix(prefix: bytes, i: int) -> bytes:
    """A 32-byte value standing for a leaf hash with the given first bytes (finding real
    SHA-256 values that share 8 bytes would take about 2^32 hashes)."""
    return prefix + hashlib.sha256(b"rest %d" % i).digest()[:32 - len(prefix)]


def test_leaves_whose_prefixes_collide(db: Database, log: EvidenceLog,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_store, "RECENT_LEAVES", 12)
    p, q = b"\x80" + bytes(7), b"\x7f" + b"\xff" * 7  # the two ends of the signed range
    first = [merkle.leaf_hash(leaf_data(i)) for i in range(10)]
    hashes = [*first, hash_with_prefix(p, 0), hash_with_prefix(q, 0)]
    log.append_hashes(hashes)  # 0..11 moved to the large table: it reached 12
    later = [hash_with_prefix(p, 1),            # collides with one in the large table
             hash_with_prefix(first[3][:8], 2),  # with an ordinary leaf there
             hash_with_prefix(b"\x01" * 8, 3),
             hash_with_prefix(b"\x01" * 8, 4)]  # with one of the same batch
    log.append_hashes(later)
    log.append_hashes([hash_with_prefix(b"\x01" * 8, 5)])  # with one in the small table
    hashes += [*later, hash_with_prefix(b"\x01" * 8, 5)]
    conn = db.read()
    counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
        "merkle_leaf_index", "merkle_leaf_index_recent", "merkle_leaf_index_collisions")]
    assert counts == [12, 1, 4]
    for index, hashed in enumerate(hashes):
        assert log.leaf_index(hashed) == index
        log.inclusion_proof_for(hashed).verify(log.root())
    for absent in (hash_with_prefix(p, 9), hash_with_prefix(b"\x01" * 8, 9),
                   hash_with_prefix(b"\x02" * 8, 9)):
        assert log.leaf_index(absent) is None
    for again in (hashes[10], hashes[12], hashes[15], hashes[16], first[3]):
        with pytest.raises(LeafExists):
            log.append_hashes([hash_with_prefix(b"\x03" * 8, 0), again])
    with pytest.raises(LeafExists):  # the same colliding value twice in one batch
        log.append_hashes([hash_with_prefix(p, 7), hash_with_prefix(p, 7)])
    assert log.size == len(hashes) and log.check() == len(hashes)
    monkeypatch.setattr(log_store, "RECENT_LEAVES", 1 << 18)
    assert log.leaf_index(hashes[-1]) == len(hashes) - 1


def test_recent_entries_move_at_each_multiple(db: Database, log: EvidenceLog,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_store, "RECENT_LEAVES", 16)
    conn = db.read()
    data = [leaf_data(i) for i in range(70)]
    for i, leaf in enumerate(data):
        log.append(leaf)
        recent = conn.execute("SELECT count(*) FROM merkle_leaf_index_recent").fetchone()[0]
        assert recent == (i + 1) % 16
    log.append_many([leaf_data(i) for i in range(70, 100)])  # crosses 80 and 96 at once
    assert conn.execute("SELECT count(*) FROM merkle_leaf_index_recent").fetchone()[0] == 0
    assert log.check() == 100
    for i in (0, 15, 16, 69, 70, 99):
        assert log.leaf_index(merkle.leaf_hash(leaf_data(i))) == i


def test_lookup_by_leaf_hash_is_two_reads(db: Database, log: EvidenceLog) -> None:
    fill(log, 3000)
    conn = db.read()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        for i in (0, 1234, 2999):
            statements.clear()
            assert log_store.leaf_index(conn, merkle.leaf_hash(leaf_data(i))) == i
            assert len(statements) == 2
    finally:
        conn.set_trace_callback(None)


@pytest.mark.parametrize("first8", ["0000000000000000", "7fffffffffffffff",
                                    "8000000000000000", "ffffffffffffffff", "0123456789abcdef",
                                    "fedcba9876543210", "00000000000000ff", "ff00000000000000"])
def test_the_migrations_prefix_is_hash_prefix(first8: str) -> None:
    from node.storage import migrations

    value = bytes.fromhex(first8) + bytes(range(24))
    conn = sqlite3.connect(":memory:")
    try:
        got = conn.execute(f"SELECT {migrations._hash_prefix_sql('x')} FROM (SELECT ? AS x)",
                           (value,)).fetchone()[0]
    finally:
        conn.close()
    assert type(got) is int and got == log_store.hash_prefix(value)


def test_migration_7_moves_the_old_index(tmp_path: Path) -> None:
    """A log written before migration 7 (leaf hashes as the index's BLOB keys) is indexed
    by prefix after it, colliding prefixes included."""
    from node.storage import migrations

    source = Database(tmp_path / "source.db")  # the tree rows, as both layouts store them
    hashes = [merkle.leaf_hash(leaf_data(i)) for i in range(40)]
    hashes += [hash_with_prefix(hashes[7][:8], 1), hash_with_prefix(hashes[7][:8], 2)]
    EvidenceLog(source).append_hashes(hashes)
    rows = source.read().execute("SELECT level, chunk, hashes FROM merkle_hashes").fetchall()
    source.close()

    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("BEGIN")
    for script in migrations.MIGRATIONS[:6]:
        for statement in migrations._statements(script):
            old.execute(statement)
    old.execute("PRAGMA user_version=6")
    old.executemany("INSERT INTO merkle_hashes VALUES (?, ?, ?)", [tuple(r) for r in rows])
    old.executemany("INSERT INTO merkle_leaf_index (leaf_hash, idx) VALUES (?, ?)",
                    [(h, i) for i, h in enumerate(hashes)])
    old.execute("COMMIT")
    old.close()

    db = Database(path)
    try:
        conn = db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 7
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
            "merkle_leaf_index", "merkle_leaf_index_recent", "merkle_leaf_index_collisions")]
        assert counts == [40, 0, 2]
        log = EvidenceLog(db)
        assert log.check() == 42
        assert [log.leaf_index(h) for h in hashes] == list(range(42))
        log.append(leaf_data(42))  # and it goes on
        with pytest.raises(LeafExists):
            log.append_hashes([hashes[41]])
        assert log.check() == 43
    finally:
        db.close()


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_round_trip_with_the_node_key(db: Database, log: EvidenceLog) -> None:
    key = SigningKey.generate()
    signer = checkpoints.log_signer(NODE_ID, key)
    assert signer.name == f"backup.node/{NODE_ID}/evidence"
    assert log.maybe_checkpoint(signer, NOW) is None  # nothing to sign yet
    assert log.latest_checkpoint() is None

    fill(log, 1000, batch=100)
    first = log.maybe_checkpoint(signer, NOW)
    assert first is not None and first.size == 1000
    assert first.created_at == NOW - NOW % 3600  # stored to the hour
    verifier = checkpoints.log_verifier(NODE_ID, key.verify_key)
    body, note = open_checkpoint(first.note, verifier)
    assert body == Checkpoint(signer.name, 1000, log.root())
    assert note.is_signed_by(verifier)
    vkey = verifier.vkey()
    assert vkey.startswith(f"backup.node/{NODE_ID}/evidence+")
    assert open_checkpoint(first.note, decode_vkey(vkey))[0] == body

    assert log.maybe_checkpoint(signer, NOW + 60) is None  # did not grow
    log.append_many([leaf_data(i) for i in range(1000, 1234)])
    second = log.maybe_checkpoint(signer, NOW + 300)
    assert second is not None and second.size == 1234
    assert log.latest_checkpoint() == second
    assert log.checkpoint_at(1000) == first and log.checkpoint_at(1001) is None
    # what a witness checks: the new checkpoint extends the old one
    log.consistency_proof(first.size, second.size).verify(first.root_hash, second.root_hash)
    # what a court checks: a leaf is in the signed tree
    log.inclusion_proof(999, first.size).verify(first.root_hash)


def test_tampered_checkpoints_fail(log: EvidenceLog) -> None:
    key = SigningKey.generate()
    signer = checkpoints.log_signer(NODE_ID, key)
    fill(log, 10)
    stored = log.maybe_checkpoint(signer, NOW)
    assert stored is not None
    verifier = signer.verifier
    open_checkpoint(stored.note, verifier)
    for position in range(len(stored.note)):
        for bit in (0, 1, 6):
            with pytest.raises(CryptoError):  # text, signature, key name or id, syntax
                open_checkpoint(flip(stored.note, position * 8 + bit), verifier)
    other = checkpoints.log_verifier(NODE_ID, SigningKey.generate().verify_key)
    with pytest.raises(SignatureError):
        open_checkpoint(stored.note, other)
    forged = stored.note.replace(b"\n10\n", b"\n11\n")
    with pytest.raises(SignatureError):
        open_checkpoint(forged, verifier)


def test_no_checkpoint_over_a_tree_that_does_not_extend_the_last(db: Database,
                                                                  log: EvidenceLog) -> None:
    signer = checkpoints.log_signer(NODE_ID, SigningKey.generate())
    fill(log, 13)
    assert log.maybe_checkpoint(signer, NOW) is not None
    log.append_many([leaf_data(i) for i in range(13, 20)])
    drop_append_only_triggers(db)
    with db.write() as conn:  # rewrite history: leaves 0..7 of the signed tree
        conn.execute("UPDATE merkle_hashes SET hashes = zeroblob(32) WHERE level = 3")
    with pytest.raises(LogCorrupted):
        log.maybe_checkpoint(signer, NOW + 1)
    latest = log.latest_checkpoint()
    assert latest is not None and latest.size == 13


def test_checkpoints_keep_one_origin(log: EvidenceLog) -> None:
    fill(log, 3)
    key = SigningKey.generate()
    assert log.maybe_checkpoint(checkpoints.log_signer(NODE_ID, key), NOW) is not None
    log.append(leaf_data(3))
    with pytest.raises(EvidenceError):
        log.maybe_checkpoint(checkpoints.log_signer("another", key), NOW)


@pytest.mark.parametrize("node_id", ["", "UPPER", "has space", "a+b", "x" * 65, "é"])
def test_origin_refuses_odd_node_ids(node_id: str) -> None:
    with pytest.raises(EvidenceError):
        checkpoints.log_origin(node_id)


def test_timestamp_hook(db: Database, log: EvidenceLog) -> None:
    signer = checkpoints.log_signer(NODE_ID, SigningKey.generate())
    fill(log, 5)
    first = log.maybe_checkpoint(signer, NOW)
    log.append(leaf_data(5))
    second = log.maybe_checkpoint(signer, NOW + 1)
    assert first is not None and second is not None
    conn = db.read()
    assert [c.size for c in checkpoints.checkpoints_to_timestamp(conn)] == [6, 5]
    imprint = checkpoints.timestamp_imprint(second)
    assert imprint == hashlib.sha256(second.checkpoint.text().encode()).digest()
    with db.write() as wconn:
        checkpoints.attach_timestamp(wconn, 6, b"\x30\x03\x02\x01\x00")
        with pytest.raises(OutOfRange):
            checkpoints.attach_timestamp(wconn, 7, b"\x30\x00")
    assert [c.size for c in checkpoints.checkpoints_to_timestamp(conn)] == [5]
    stamped = log.checkpoint_at(6)
    assert stamped is not None and stamped.timestamp_token == b"\x30\x03\x02\x01\x00"
    with pytest.raises(sqlite3.IntegrityError), db.write() as wconn:  # what was signed stays
        wconn.execute("UPDATE checkpoints SET note = x'00' WHERE size = 6")
    with pytest.raises(sqlite3.IntegrityError), db.write() as wconn:
        wconn.execute("DELETE FROM checkpoints")
