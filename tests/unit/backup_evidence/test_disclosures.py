"""Per-field disclosures (leaf version 2): known answers, the parser under fuzzing, and the
verifier's verdict on bundles with random fields, random disclosure sets and random
changes -- it holds exactly when nothing was changed, and a failure names the item."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backup_evidence import disclosures as sd
from backup_evidence import leaves
from backup_evidence.bundle_format import MANIFEST_SIG, NODE_ROLES
from backup_evidence.leaves import EvidenceLeaf, ItemType
from backup_evidence.verify import verify_bundle
from crypto import merkle, role_statement
from crypto.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from crypto.keys import SigningKey
from tests.unit.backup_evidence.disclosed_bundles import (
    CASE,
    COSIGNED_AT,
    NODE_ID,
    ORIGIN,
    Built,
    build,
)

SALT = bytes(range(32))


def test_known_answer() -> None:
    d = sd.Disclosure(SALT, "narrative", "Ça s'est passé\n")
    salt = base64.urlsafe_b64encode(SALT).rstrip(b"=").decode()
    assert d.encode() == f'["{salt}","narrative","Ça s\'est passé\\n"]'.encode()
    assert d.digest == hashlib.sha256(d.encode()).digest()
    assert sd.parse(d.encode()) == d
    subject = "report:" + CASE
    digests = [d.digest, hashlib.sha256(b"x").digest()]
    expected = hashlib.sha256(
        b"BackUp evidence item v2\x00" + len(subject).to_bytes(2, "big") + subject.encode()
        + (2).to_bytes(4, "big") + b"".join(sorted(digests))).digest()
    assert sd.item_commitment(subject, digests) == expected
    assert sd.item_commitment(subject, reversed(digests)) == expected  # a set: order-free
    leaf = sd.item_leaf(ItemType.REPORT, 5, subject, digests)
    assert leaf.encode() == b"\x02\x01" + (5).to_bytes(8, "big") + expected
    assert EvidenceLeaf.decode(leaf.encode()) == leaf
    # another subject, another leaf: a bundle's items prove they belong to one report
    assert sd.item_commitment("report:other", digests) != expected
    assert sd.item_commitment("node:n1", digests) != expected


@pytest.mark.parametrize("digests", [[b"x" * 31], [b"x" * 32, b"x" * 32]])
def test_commitment_refuses_bad_sets(digests: list[bytes]) -> None:
    with pytest.raises(sd.BadDisclosure):
        sd.item_commitment("report:" + CASE, digests)


@pytest.mark.parametrize("subject", ["", "report:", "case:1", "node:", "report:" + "x" * 300])
def test_subject_refused(subject: str) -> None:
    with pytest.raises(sd.BadDisclosure):
        sd.item_commitment(subject, [])


def test_flatten() -> None:
    assert sd.flatten({"a": 1, "b": {"c": None, "d": []}, "e": ["x", "y"], "f": {}}) == [
        ("a", 1), ("b.c", None), ("b.d", None), ("e[0]", "x"), ("e[1]", "y"), ("f", None)]
    with pytest.raises(sd.BadDisclosure):
        sd.flatten({"a": 1.5})


@given(st.binary(max_size=300))
def test_parser_fuzz(data: bytes) -> None:
    try:
        d = sd.parse(data)
    except sd.BadDisclosure:
        return
    assert d.encode() == data  # only the canonical form is ever accepted


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1),
                    st.text(max_size=30).filter(lambda s: all(not 0xD800 <= ord(c) <= 0xDFFF
                                                              for c in s)))


@given(st.lists(scalars, min_size=1, max_size=8).map(
           lambda vs: [sd.Disclosure(bytes([i]) * 32, f"f{i}", v) for i, v in enumerate(vs)]))
def test_parser_round_trips(fields: list[sd.Disclosure]) -> None:
    for f in fields:
        assert sd.parse(f.encode()) == f
        with pytest.raises(sd.BadDisclosure):
            sd.parse(f.encode() + b" ")  # not canonical: refused
    with pytest.raises(sd.BadDisclosure):
        sd.parse(json.dumps([base64.urlsafe_b64encode(SALT).decode().rstrip("="), "n", 1],
                            separators=(", ", ":")).encode())


field_sets = st.lists(scalars, min_size=1, max_size=6).map(
    lambda vs: [sd.new_disclosure(f"field{i}", v) for i, v in enumerate(vs)])
CHANGES = ("none", "value", "salt", "withheld_digest", "drop_withheld", "extra_digest",
           "subject", "drop_disclosed")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(field_sets, min_size=1, max_size=3), st.data(), st.sampled_from(CHANGES))
def test_verifies_exactly_when_unchanged(tmp_path: Path, items: list[list[sd.Disclosure]],
                                         data: st.DataObject, change: str) -> None:
    shown_sets = [data.draw(st.sets(st.sampled_from([f.name for f in fs]))) for fs in items]
    built = build(list(zip(items, shown_sets, strict=True)))
    target = data.draw(st.integers(0, len(items) - 1))
    entry = built.manifest["items"][target]
    path = entry["path"]
    lines = [line for line in built.files[path].split(b"\n") if line]
    changed = True
    if change == "value" and lines:
        d = sd.parse(lines[0])
        new_value = "changed" if d.value != "changed" else "other"
        lines[0] = sd.Disclosure(d.salt, d.name, new_value).encode()
    elif change == "salt" and lines:
        d = sd.parse(lines[0])
        lines[0] = sd.Disclosure(bytes([d.salt[0] ^ 1]) + d.salt[1:], d.name, d.value).encode()
    elif change == "withheld_digest" and entry["withheld"]:
        digest = bytearray(bytes.fromhex(entry["withheld"][0]["digest"]))
        digest[0] ^= 1
        entry["withheld"][0]["digest"] = bytes(digest).hex()
    elif change == "drop_withheld" and entry["withheld"]:
        entry["withheld"].pop()
    elif change == "extra_digest":
        entry["withheld"].append({"name": "planted", "digest": "ab" * 32, "why": "default"})
    elif change == "subject":
        entry["subject"] = "report:another"
    elif change == "drop_disclosed" and lines:
        lines.pop()
    else:
        changed = False
    built.files[path] = b"".join(line + b"\n" for line in lines)
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(built.zip_bytes())
    report = verify_bundle(str(bundle), built.node_key.verify_key.raw().hex(),
                           [built.witness.verifier.vkey()])
    assert report.ok is (not changed), report.checks
    if changed:
        failed = [name for name, ok, _ in report.checks if not ok]
        assert failed == [f"item {path}"]  # the failure names the item, nothing else
    else:  # each withheld field is listed with its digest; the time bound is the witness's
        for w in entry["withheld"]:
            assert any(f"withheld (committed) {w['name']}, digest {w['digest']}" in n
                       for n in report.notes)
        assert any("no later than 2027-01-15T08:00:00Z" in n and "asserted" in n
                   for n in report.notes), COSIGNED_AT


def test_withheld_field_presented_later_verifies(tmp_path: Path) -> None:
    fields = [sd.new_disclosure("narrative", "what happened"),
              sd.new_disclosure("needs[0]", "medical")]
    first = build([(fields, {"narrative"})])
    later = build([(fields, {"narrative", "needs[0]"})])
    for n, b in enumerate((first, later)):
        path = tmp_path / f"{n}.zip"
        path.write_bytes(b.zip_bytes())
        assert verify_bundle(str(path), b.node_key.verify_key.raw().hex()).ok
    # the same leaf in both: the later bundle discloses more of the same commitment
    assert (json.loads(first.files["proofs/item-001.json"])["leaf"]
            == json.loads(later.files["proofs/item-001.json"])["leaf"])


texts = st.text(max_size=40).filter(lambda s: all(not 0xD800 <= ord(c) <= 0xDFFF for c in s))
reports = st.fixed_dictionaries({
    "narrative": texts, "place": st.none() | texts,
    "incident_year": st.none() | st.integers(1950, 2100),
    "reporter_role": st.none() | st.sampled_from(["survivor", "relative", "witness"]),
    "needs": st.lists(st.sampled_from(["medical", "legal", "shelter"]), unique=True),
    "contact": st.none() | st.fixed_dictionaries({"method": st.just("sms"), "details": texts,
                                                  "safe_times": st.none() | texts}),
    "consent": st.fixed_dictionaries({"legal": st.booleans(), "court_place": st.booleans()}),
})


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports, st.data(), st.booleans())
def test_random_reports_verify_exactly_when_unchanged(tmp_path: Path, record: dict[str, object],
                                                      data: st.DataObject,
                                                      change: bool) -> None:
    from node.evidence.items import report_fields

    fields = [sd.new_disclosure(n, v) for n, v in report_fields(record)]
    names = [f.name for f in fields]
    assert {"contact.details", "contact.safe_times", "contact.precautions"} <= set(names)
    shown = data.draw(st.sets(st.sampled_from(names), min_size=1))
    built = build([(fields, shown)])
    path = built.manifest["items"][0]["path"]
    if change:
        lines = built.files[path].split(b"\n")[:-1]
        i = data.draw(st.integers(0, len(lines) - 1))
        d = sd.parse(lines[i])
        lines[i] = sd.Disclosure(d.salt, d.name, "x" if d.value != "x" else "y").encode()
        built.files[path] = b"".join(line + b"\n" for line in lines)
    bundle = tmp_path / "r.zip"
    bundle.write_bytes(built.zip_bytes())
    report = verify_bundle(str(bundle), built.node_key.verify_key.raw().hex())
    assert report.ok is (not change)
    if change:
        assert [n for n, ok, _ in report.checks if not ok] == [f"item {path}"]


def test_a_format_1_bundle_still_verifies(tmp_path: Path) -> None:
    """Bundles exported before issue 12: every item whole, under a version-1 leaf."""
    built = build([([sd.new_disclosure("narrative", "x")], {"narrative"})], filler=2)
    content = b'{"narrative":"the report as submitted"}'
    salt = bytes(range(32))
    leaf = leaves.leaf_from_bytes(ItemType.REPORT, 1_700_000_000, salt, content)
    # the same log plus the old leaf, and a checkpoint over it
    tree = merkle.MemoryTree([bytes([0]) * 42, bytes([1]) * 42])
    index = tree.append(leaf.encode())
    checkpoint = Checkpoint(ORIGIN, tree.size, merkle.root_hash(tree))
    built.files = {k: v for k, v in built.files.items() if not k.startswith(
        ("evidence/", "proofs/", "checkpoints/"))}
    built.files[f"checkpoints/checkpoint-{tree.size}.txt"] = sign_checkpoint(
        checkpoint, NoteSigner(ORIGIN, built.node_key)).encode()
    built.files["evidence/report.json"] = content
    built.files["proofs/item-001.json"] = json.dumps({
        "leaf_index": index, "tree_size": tree.size, "leaf": leaf.encode().hex(),
        "leaf_hash": leaf.leaf_hash.hex(),
        "inclusion_path": [h.hex() for h in merkle.inclusion_proof(tree, index)]}).encode()
    built.manifest.update({
        "format": "backup-evidence-bundle/1", "tree_size": tree.size,
        "checkpoint": f"checkpoints/checkpoint-{tree.size}.txt",
        "items": [{"path": "evidence/report.json", "proof": "proofs/item-001.json",
                   "type": "report", "type_code": 1, "received_at": 1_700_000_000,
                   "salt": salt.hex(), "sha256": hashlib.sha256(content).hexdigest(),
                   "size": len(content), "leaf_index": index}]})
    path = tmp_path / "old.zip"
    path.write_bytes(built.zip_bytes())
    report = verify_bundle(str(path), built.node_key.verify_key.raw().hex())
    assert report.ok, report.checks
    built.files["evidence/report.json"] = content.replace(b"report", b"rapport")
    path.write_bytes(built.zip_bytes())
    assert not verify_bundle(str(path), built.node_key.verify_key.raw().hex()).ok


# -- role keys (issue 13): identity -> role statement -> manifest and checkpoint keys --------


def _one_item(tmp_path: Path) -> tuple[Path, Built]:
    built = build([([sd.new_disclosure("narrative", "x")], {"narrative"})], filler=2)
    path = tmp_path / "bundle.zip"
    path.write_bytes(built.zip_bytes())
    return path, built


def test_a_format_3_bundle_verifies_through_its_role_statement(tmp_path: Path) -> None:
    path, built = _one_item(tmp_path)
    report = verify_bundle(str(path), built.node_key.verify_key.raw().hex())
    assert report.ok, report.checks
    assert ("role statement", True, "") in report.checks


@settings(max_examples=40, deadline=None)
@given(bit=st.integers(min_value=0, max_value=8 * 400))
def test_a_flipped_bit_in_the_role_statement_fails_verification(tmp_path_factory: Any,
                                                                bit: int) -> None:
    path, built = _one_item(tmp_path_factory.mktemp("roles"))
    raw = bytearray(built.statement())
    bit %= 8 * len(raw)
    raw[bit // 8] ^= 1 << (bit % 8)
    built.files[NODE_ROLES] = role_statement.encode(bytes(raw)).encode() + b"\n"
    path.write_bytes(built.zip_bytes())
    report = verify_bundle(str(path), built.node_key.verify_key.raw().hex())
    assert not report.ok
    failed = [name for name, ok, _ in report.checks if not ok]
    assert "role statement" in failed and "manifest signature" in failed


def test_a_swapped_role_statement_fails_verification(tmp_path: Path) -> None:
    """An attacker's statement binding their own manifest and checkpoint keys, with the
    bundle re-signed by them: the node key did not sign it, so nothing verifies."""
    path, built = _one_item(tmp_path)
    attacker = SigningKey.generate()
    forged = role_statement.sign(
        NODE_ID, {r: attacker.derive(f"backup-role/{r}/1".encode()).verify_key
                  for r in role_statement.ROLES}, 1, attacker)
    built.files[NODE_ROLES] = role_statement.encode(forged).encode() + b"\n"
    path.write_bytes(built.zip_bytes())
    report = verify_bundle(str(path), built.node_key.verify_key.raw().hex())
    assert ("role statement", False, "node-roles.txt is missing or not signed by the node key"
            ) in report.checks
    assert not report.ok
    # and the statement of another node (same identity, another node id) is refused too
    other = role_statement.sign(
        "0" * 32, {r: built.role(r).verify_key for r in role_statement.ROLES}, 1,
        built.node_key)
    built.files[NODE_ROLES] = role_statement.encode(other).encode() + b"\n"
    path.write_bytes(built.zip_bytes())
    assert not verify_bundle(str(path), built.node_key.verify_key.raw().hex()).ok


def test_a_flipped_bit_in_the_manifest_role_signature_fails(tmp_path: Path) -> None:
    path, built = _one_item(tmp_path)
    data = built.zip_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    sig = bytearray(bytes.fromhex(members[MANIFEST_SIG].decode().strip()))
    sig[5] ^= 0x10
    members[MANIFEST_SIG] = sig.hex().encode() + b"\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    path.write_bytes(buf.getvalue())
    report = verify_bundle(str(path), built.node_key.verify_key.raw().hex())
    assert [n for n, ok, _ in report.checks if not ok] == ["manifest signature"]


def test_a_checkpoint_signed_by_the_identity_key_still_verifies(tmp_path: Path) -> None:
    """A format-3 bundle may carry a checkpoint signed before role keys (generation 0):
    the node key itself still signs for it. A checkpoint signed by another role key (the
    manifest key) does not."""
    path, built = _one_item(tmp_path)
    (name,) = [n for n in built.files if n.startswith("checkpoints/")]
    note = built.files[name].decode()
    body = note[: note.index("\n\n") + 1]
    checkpoint = Checkpoint.parse(body)
    built.files[name] = sign_checkpoint(checkpoint, NoteSigner(ORIGIN, built.node_key)).encode()
    path.write_bytes(built.zip_bytes())
    report = verify_bundle(str(path), built.node_key.verify_key.raw().hex())
    assert report.ok, report.checks
    built.files[name] = sign_checkpoint(
        checkpoint, NoteSigner(ORIGIN, built.role("manifest"))).encode()
    path.write_bytes(built.zip_bytes())
    report = verify_bundle(str(path), built.node_key.verify_key.raw().hex())
    assert ("checkpoint signature", False, "the checkpoint or its signature changed"
            ) in report.checks
