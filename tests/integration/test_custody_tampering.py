"""Issue 13, item 2: the chain of custody against someone who can write to the database.

Every attack runs against a real data directory. The attacker is either a *database
writer* (the SQLite file, no keys: plain `sqlite3` on ``node.db``) or the *holder of a
powered-off copy* (the database and ``keys/``: they can derive the custody role key and
certify a session key of their own, but hold no session key that signed past heads).
Each test names what detected the attack: the chain walk, the signed head, the session
certificate, or the anchor in the witnessed evidence log -- and that `AuditLog.append`
then refuses to write (fail closed).
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from crypto import merkle
from crypto import passphrase as pw
from crypto.keys import SigningKey
from node import accounts, cli, keyring
from node.backoffice import audit
from node.backoffice.audit import AuditLog, CustodyBroken, entry_hash
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.evidence import checkpoints, log_store
from node.evidence.signing import anchor_and_sign
from node.storage.database import Database
from tests.conftest import ADMIN

FAST = pw.INSECURE_FAST_FOR_TESTS


def _open(datadir: DataDir) -> NodeContext:
    return open_node(datadir, staff_params=FAST, receipt_params=FAST)


@pytest.fixture
def node(node_dir: DataDir):  # type: ignore[no-untyped-def]
    """A node with 12 custody entries, an anchor over entry 8, four more entries."""
    ctx = _open(node_dir)
    now = int(ctx.clock().timestamp())
    staff_id = accounts.find_id(ctx.db.read(), ADMIN)
    assert staff_id is not None

    def act(n: int) -> None:
        for _ in range(n):
            accounts.unlock_account(ctx.db, ctx.audit, staff_id, staff_id, now)

    act(8)
    assert anchor_and_sign(ctx.db, ctx.keys, ctx.audit, now) is not None
    act(4)
    yield ctx, node_dir, act
    ctx.close()


def _writer(datadir: DataDir) -> sqlite3.Connection:
    """The attacker's own connection to the database file: no keys, any SQL."""
    conn = sqlite3.connect(datadir.database, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def _rehash_from(conn: sqlite3.Connection, first: int) -> None:
    """Recompute every hash from entry `first` on, as anyone can (the hash is unkeyed)."""
    prev = (conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (first - 1,)).fetchone()
            or [audit.GENESIS])[0]
    for r in conn.execute("SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq",
                          (first,)).fetchall():
        h = entry_hash(prev, r["seq"], r["at"], r["actor"], r["action"], r["object_type"],
                       r["object_id"], r["detail"])
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?",
                     (prev, h, r["seq"]))
        prev = h


def _resign_as_disk_holder(datadir: DataDir) -> None:
    """What the holder of a powered-off copy can do: derive the custody role key from
    ``keys/identity.key``, certify a session key of their own and sign the head."""
    db = Database(datadir.database)
    try:
        keys = keyring.load(datadir, db)
        with db.write() as conn:
            AuditLog(keys.custody).resign(conn)
    finally:
        db.close()


def _refuses(ctx: NodeContext, act, detected_by: str) -> None:  # type: ignore[no-untyped-def]
    """Fail closed: the next action that writes to the chain is refused, nothing written."""
    before = ctx.db.read().execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    with pytest.raises(CustodyBroken) as caught:
        act(1)
    assert detected_by in caught.value.reason
    assert ctx.db.read().execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == before


def test_the_untouched_chain_verifies_and_is_anchored(node) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _ = node
    verdict = ctx.audit.verify(ctx.db.read())
    assert verdict.ok and verdict.entries == 12
    assert audit.anchored_through(ctx.db.read()) == 8


# -- the database writer, without keys ------------------------------------------------------


def test_edit_and_rehash_is_caught_by_the_signed_head(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, act = node
    w = _writer(datadir)
    w.execute("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 10")
    _rehash_from(w, 10)
    verdict = ctx.audit.verify(ctx.db.read())
    assert not verdict.ok and "signed head" in verdict.reason
    _refuses(ctx, act, "signed head")


def test_edit_and_rehash_before_an_anchor_is_caught_by_the_anchor(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, act = node
    # the head is re-signable by nobody here; the anchor names entry 8's hash
    w = _writer(datadir)
    w.execute("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 3")
    _rehash_from(w, 3)
    verdict = ctx.audit.verify(ctx.db.read())
    assert not verdict.ok and "anchored in the witnessed evidence log" in verdict.reason
    assert verdict.first_broken == 8
    _refuses(ctx, act, "signed head")


def test_truncation_is_caught_by_the_signed_head(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, act = node
    _writer(datadir).execute("DELETE FROM audit_log WHERE seq > 10")
    verdict = ctx.audit.verify(ctx.db.read())
    assert not verdict.ok and "removed from the end" in verdict.reason
    _refuses(ctx, act, "removed from the end")


def test_removing_a_middle_entry_is_caught_by_the_chain(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, act = node
    w = _writer(datadir)
    w.execute("DELETE FROM audit_log WHERE seq = 10")
    verdict = ctx.audit.verify(ctx.db.read())
    assert not verdict.ok and verdict.first_broken == 10 and "missing" in verdict.reason
    # renumbered and re-hashed so the chain walk passes: the head still names the old end
    w.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > 10")
    _rehash_from(w, 10)
    verdict = ctx.audit.verify(ctx.db.read())
    assert not verdict.ok and "signed head" in verdict.reason
    _refuses(ctx, act, "signed head")


def test_restoring_an_older_head_is_caught_by_the_anchor(node_dir: DataDir) -> None:
    ctx = _open(node_dir)
    try:
        now = int(ctx.clock().timestamp())
        staff_id = accounts.find_id(ctx.db.read(), ADMIN)
        assert staff_id is not None
        for _ in range(5):
            accounts.unlock_account(ctx.db, ctx.audit, staff_id, staff_id, now)
        old_head = ctx.db.read().execute(
            "SELECT value FROM node_meta WHERE key = 'audit_head'").fetchone()[0]
        for _ in range(5):
            accounts.unlock_account(ctx.db, ctx.audit, staff_id, staff_id, now)
        anchor_and_sign(ctx.db, ctx.keys, ctx.audit, now)  # the cadence anchors entry 10
        # the attacker cuts the chain back to entry 5 and puts back the head they kept
        w = _writer(node_dir)
        w.execute("DELETE FROM audit_log WHERE seq > 5")
        w.execute("UPDATE node_meta SET value = ? WHERE key = 'audit_head'", (old_head,))
        verdict = ctx.audit.verify(ctx.db.read())
        assert not verdict.ok
        assert "anchored in the witnessed evidence log" in verdict.reason
        with pytest.raises(CustodyBroken) as caught:
            accounts.unlock_account(ctx.db, ctx.audit, staff_id, staff_id, now)
        assert "anchored in the witnessed evidence log" in caught.value.reason
    finally:
        ctx.close()


def test_a_forged_session_key_is_caught_by_its_certificate(node) -> None:  # type: ignore[no-untyped-def]
    """A writer who signs the head with a key of their own cannot certify it."""
    ctx, datadir, act = node
    w = _writer(datadir)
    w.execute("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 12")
    _rehash_from(w, 12)
    with w:
        AuditLog(SigningKey.generate()).resign(w)  # a custody key that is not the node's
    verdict = ctx.audit.verify(ctx.db.read())
    assert not verdict.ok and "did not certify" in verdict.reason
    _refuses(ctx, act, "did not certify")


def test_a_flipped_bit_in_any_custody_signature_is_caught(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, _ = node
    w = _writer(datadir)
    head = bytes(w.execute("SELECT value FROM node_meta WHERE key = 'audit_head'").fetchone()[0])
    for bit in (0, 8 * 40 + 3, 8 * 72 + 5, len(head) * 8 - 1):  # seq, session key, signature
        flipped = bytearray(head)
        flipped[bit // 8] ^= 1 << (bit % 8)
        w.execute("UPDATE node_meta SET value = ? WHERE key = 'audit_head'", (bytes(flipped),))
        assert not ctx.audit.verify(ctx.db.read()).ok, bit
    w.execute("UPDATE node_meta SET value = ? WHERE key = 'audit_head'", (head,))
    assert ctx.audit.verify(ctx.db.read()).ok
    for (key, cert) in w.execute("SELECT public_key, certificate FROM custody_sessions"
                                 ).fetchall():
        flipped = bytearray(cert)
        flipped[17] ^= 0x10
        w.execute("UPDATE custody_sessions SET certificate = ? WHERE public_key = ?",
                  (bytes(flipped), key))
        verdict = ctx.audit.verify(ctx.db.read())
        assert not verdict.ok and "did not certify" in verdict.reason
        w.execute("UPDATE custody_sessions SET certificate = ? WHERE public_key = ?",
                  (cert, key))
    assert ctx.audit.verify(ctx.db.read()).ok


def test_an_edited_anchor_is_caught_by_the_witnessed_log(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, _ = node
    w = _writer(datadir)
    for column, value in (("seq", 11), ("salt", bytes(32)), ("at", 0)):
        row = dict(w.execute("SELECT * FROM custody_anchors").fetchone())
        w.execute(f"UPDATE custody_anchors SET {column} = ?", (value,))
        verdict = ctx.audit.verify(ctx.db.read())
        assert not verdict.ok and "does not match the witnessed log" in verdict.reason, column
        w.execute(f"UPDATE custody_anchors SET {column} = ?", (row[column],))
    assert ctx.audit.verify(ctx.db.read()).ok


# -- the holder of a powered-off copy (database and keys/) ----------------------------------


def test_a_disk_holder_cannot_rewrite_anchored_entries(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, _ = node
    ctx.close()
    w = _writer(datadir)
    w.execute("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 5")
    _rehash_from(w, 5)
    w.close()
    _resign_as_disk_holder(datadir)  # head and session certificate are now valid
    again = _open(datadir)
    try:
        verdict = again.audit.verify(again.db.read())
        assert not verdict.ok and "anchored in the witnessed evidence log" in verdict.reason
        staff_id = accounts.find_id(again.db.read(), ADMIN)
        with pytest.raises(CustodyBroken) as caught:
            accounts.unlock_account(again.db, again.audit, staff_id or "", staff_id or "", 0)
        assert "anchored in the witnessed evidence log" in caught.value.reason
    finally:
        again.close()


def test_a_disk_holder_cannot_truncate_below_the_anchor(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, _ = node
    ctx.close()
    w = _writer(datadir)
    w.execute("DELETE FROM audit_log WHERE seq > 6")
    w.close()
    _resign_as_disk_holder(datadir)
    again = _open(datadir)
    try:
        verdict = again.audit.verify(again.db.read())
        assert not verdict.ok and "anchored in the witnessed evidence log" in verdict.reason
    finally:
        again.close()


def test_no_key_on_disk_signed_a_past_head(node) -> None:  # type: ignore[no-untyped-def]
    """The head's signer is a session key that only lived in the serving process: nothing
    derivable from ``keys/`` and the database is that key."""
    ctx, datadir, _ = node
    head = audit.stored_head(ctx.db.read())
    assert head is not None and not head.legacy
    seed = datadir.identity_key.read_bytes()
    on_disk = [SigningKey(seed), *keyring.role_keys(SigningKey(seed)).values()]
    assert head.session_key not in {k.verify_key.raw() for k in on_disk}
    assert head.session_key == ctx.audit.session_public


# -- the cadence, and what the witnesses cosign ---------------------------------------------


def test_the_cadence_anchors_and_signs_even_when_nothing_happened(node) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _ = node
    now = int(ctx.clock().timestamp())
    first = anchor_and_sign(ctx.db, ctx.keys, ctx.audit, now)
    second = anchor_and_sign(ctx.db, ctx.keys, ctx.audit, now)  # no custody entry between
    assert first is not None and second is not None and second.size == first.size + 1
    conn = ctx.db.read()
    newest = audit.anchors(conn, newest_only=True)[0]
    assert newest.leaf_index == second.size - 1 and newest.seq == 12
    # the anchor's leaf is in the tree the checkpoint signs, provably
    proof = log_store.inclusion_proof(conn, newest.leaf_index, second.size)
    proof.verify(second.root_hash)
    assert log_store.leaf_hash_at(conn, newest.leaf_index) == merkle.leaf_hash(newest.leaf())
    digest = hashlib.sha256(audit.anchor_bytes(newest.seq, newest.hash, newest.session_key))
    assert len(digest.digest()) == 32
    signed = checkpoints.latest_checkpoint(conn)
    assert signed is not None and signed.size == second.size


def test_anchoring_a_tampered_chain_is_refused(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, _ = node
    _writer(datadir).execute("DELETE FROM audit_log WHERE seq = 12")
    size = log_store.log_size(ctx.db.read())
    with pytest.raises(CustodyBroken):
        anchor_and_sign(ctx.db, ctx.keys, ctx.audit, int(ctx.clock().timestamp()))
    assert log_store.log_size(ctx.db.read()) == size


def test_verify_audit_names_what_detected_it(node, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
                                             ) -> None:
    _, datadir, _ = node
    assert cli.main(["verify-audit", "--data", str(datadir.root)]) == 0
    assert "Entries 1 to 8 are anchored" in capsys.readouterr().out
    _writer(datadir).execute("DELETE FROM audit_log WHERE seq > 10")
    assert cli.main(["verify-audit", "--data", str(datadir.root)]) == 3
    assert "removed from the end" in capsys.readouterr().err


def test_each_process_signs_with_its_own_session_key(node) -> None:  # type: ignore[no-untyped-def]
    """A CLI command appends with a session key of its own, certified like the server's;
    the server's next append accepts the head it left."""
    ctx, datadir, act = node
    assert cli.main(["unlock-account", "--data", str(datadir.root), "--username", ADMIN]) == 0
    head = audit.stored_head(ctx.db.read())
    assert head is not None and head.session_key != ctx.audit.session_public
    act(1)
    sessions = ctx.db.read().execute("SELECT COUNT(*) FROM custody_sessions").fetchone()[0]
    assert sessions == 2 and ctx.audit.verify(ctx.db.read()).ok


def test_fail_closed_reaches_the_person_in_their_language(node) -> None:  # type: ignore[no-untyped-def]
    ctx, datadir, _ = node
    _writer(datadir).execute("DELETE FROM audit_log WHERE seq > 10")
    with pytest.raises(CustodyBroken) as caught:
        accounts.unlock_account(ctx.db, ctx.audit, "x", accounts.find_id(
            ctx.db.read(), ADMIN) or "", 0)
    fr = ctx.catalogues.get("fr")
    assert fr.gettext(caught.value.message) != caught.value.message



def test_verify_audit_needs_no_secret_key(node, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
                                          ) -> None:
    """A copy of the node without ``keys/`` is checked against the identity key as the
    federation knows it; another identity key is refused (the role statement says so)."""
    import shutil

    ctx, datadir, _ = node
    identity = ctx.keys.identity_public.raw().hex()
    ctx.close()
    shutil.rmtree(datadir.root / "keys")
    args = ["verify-audit", "--data", str(datadir.root)]
    assert cli.main([*args, "--identity-key", identity]) == 0
    assert "12 entries" in capsys.readouterr().out
    other = SigningKey.generate().verify_key.raw().hex()
    assert cli.main([*args, "--identity-key", other]) == 3
    assert "role statement" in capsys.readouterr().err
