"""The evidence log survives ``kill -9`` during appends with its tree intact (issue 4).

A child process appends leaves in a loop, in batches of random sizes, each batch in its own
write transaction together with a row of the caller's (as a report and its leaves would
be), now and then signing a checkpoint. The test kills it with SIGKILL at random moments,
several times. After each kill it reopens the database and checks that: every stored
subtree hash equals the one recomputed from the leaves; the leaves are exactly the ones
appended, in order, none missing or extra; the root equals `crypto.merkle.merkle_tree_hash`
of all leaves; the caller's row committed with the leaves says the same size; the tree
consistently extends the one seen after the previous kill; every stored checkpoint is
validly signed and matches the tree; and appending continues correctly.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from crypto import merkle
from crypto.checkpoint import open_checkpoint
from node.evidence import checkpoints, log_store
from node.storage.database import Database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 8

# Shared by the child and this test, so both agree on leaf i and on the log's key.
COMMON = r"""
import hashlib
from crypto.keys import SigningKey
from backup_evidence import leaves
from node.evidence import checkpoints

def leaf(i):
    salt = hashlib.sha256(b"salt %d" % i).digest()
    digest = hashlib.sha256(b"evidence item %d" % i).digest()
    return leaves.leaf_from_digest(leaves.ItemType.ATTACHMENT, 1_780_000_000 + i, salt,
                                   digest).encode()

SIGNER = checkpoints.log_signer("crash-test", SigningKey(hashlib.sha256(b"key").digest()))
"""

CHILD = COMMON + r"""
import random, sys, time
from pathlib import Path
from node.evidence import log_store
from node.storage.database import Database

db = Database(Path(sys.argv[1]))
rng = random.Random(int(sys.argv[2]))
print("ready", flush=True)
while True:
    k = rng.choice([1, 2, 7, 64, 500, 3000, 20000])
    with db.write() as conn:
        n = log_store.log_size(conn)
        log_store.append_leaves(conn, [leaf(i) for i in range(n, n + k)])
        conn.execute("INSERT INTO node_meta (key, value) VALUES ('crash-test-size', ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (str(n + k).encode(),))
        if rng.random() < 0.3:
            checkpoints.maybe_checkpoint(conn, SIGNER, int(time.time()))
"""

shared: dict[str, object] = {}
exec(COMMON, shared)  # our own constant: the child and this test use the same code
leaf = cast(Callable[[int], bytes], shared["leaf"])
SIGNER = cast(checkpoints.NoteSigner, shared["SIGNER"])


class Expected:
    """The leaves the child appends, and RFC 9162's tree of them, computed here in memory
    once and grown as the log grows (every check compares the whole log against it;
    recomputing every leaf for each of the 16 checks was most of this test's time)."""

    def __init__(self) -> None:
        self.leaves: list[bytes] = []
        self.hashes: list[bytes] = []
        self.tree = merkle.MemoryTree()

    def _grow(self, size: int) -> None:
        for i in range(len(self.leaves), size):
            self.leaves.append(leaf(i))
            self.hashes.append(merkle.leaf_hash(self.leaves[i]))
            self.tree.append_hash(self.hashes[i])

    def leaf(self, i: int) -> bytes:
        self._grow(i + 1)
        return self.leaves[i]

    def leaf_hashes(self, size: int) -> bytes:
        self._grow(size)
        return b"".join(self.hashes[:size])

    def root(self, size: int) -> bytes:
        """MTH(D[size]) (RFC 9162 §2.1.1) of the leaves appended so far."""
        self._grow(size)
        return merkle.root_hash(self.tree, size)


def check_after_crash(db: Database, expected: Expected, previous_size: int,
                      previous_root: bytes) -> int:
    conn = db.read()
    size = log_store.check_tree(conn)  # every stored subtree == recomputed from the leaves
    stored = b"".join(bytes(r[0]) for r in conn.execute(
        "SELECT hashes FROM merkle_hashes WHERE level = 0 ORDER BY chunk"))
    assert stored == expected.leaf_hashes(size)
    root = log_store.root_at(conn)
    assert root == expected.root(size)
    row = conn.execute("SELECT value FROM node_meta WHERE key = 'crash-test-size'").fetchone()
    assert (int(row[0]) if row else 0) == size  # committed with the leaves, or not at all
    if previous_size:
        log_store.consistency_proof(conn, previous_size).verify(previous_root, root)
    signed = conn.execute("SELECT note FROM checkpoints ORDER BY size").fetchall()
    for (note,) in signed:
        body, _ = open_checkpoint(bytes(note), SIGNER.verifier)
        assert body.size <= size and body.root_hash == log_store.root_at(conn, body.size)
    return size


def test_kill9_during_appends_leaves_a_sound_tree(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    previous_size, previous_root = 0, merkle.EMPTY_ROOT
    expected = Expected()
    sizes = []
    for round_ in range(ROUNDS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(seed + round_)],
                                 cwd=ROOT, stdout=subprocess.PIPE)
        try:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            if child.stdout is not None:
                child.stdout.close()
        assert child.returncode == -signal.SIGKILL, f"seed {seed}"

        db = Database(path)
        try:
            size = check_after_crash(db, expected, previous_size, previous_root)
            assert size >= previous_size, f"seed {seed}"
            # appending goes on where the crash left off
            with db.write() as conn:
                added = log_store.append_leaves(conn, [expected.leaf(size),
                                                         expected.leaf(size + 1)])
                conn.execute("INSERT INTO node_meta (key, value) VALUES ('crash-test-size', ?) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             (str(size + 2).encode(),))
                checkpoints.maybe_checkpoint(conn, SIGNER, int(time.time()))
            assert added == range(size, size + 2)
            previous_size = check_after_crash(db, expected, size,
                                              log_store.root_at(db.read(), size))
            previous_root = log_store.root_at(db.read())
            sizes.append(size)
        finally:
            db.close()
    # the child made progress between kills, so the kills did land among appends
    assert len(set(sizes)) >= ROUNDS // 2, (seed, sizes)
