"""``backup-evidence verify FILE``: check a court bundle offline, with nothing but the bundle
(and, better, the node's public key obtained independently).

Checks, each reported by name:

1. the manifest is signed by the node key (``manifest.sig``): from format 3 on, by the
   node's manifest role key, which the role statement ``node-roles.txt`` binds and the
   node key (its identity key) signs; formats 1 and 2, by the node key itself;
2. every file other than the evidence has the SHA-256 the signed manifest lists, and the
   archive holds no file the manifest does not list;
3. the checkpoint is a valid C2SP signed note by the node's log key: the checkpoint role
   key of ``node-roles.txt``, or the node key itself for a checkpoint signed before role
   keys existed (and by each witness key given with ``--witness``);
4. if the bundle has one, the RFC 3161 timestamp of the checkpoint
   (``checkpoints/checkpoint-SIZE.tsr``): its imprint is the hash of the checkpoint's text
   and its signature verifies with the certificate it carries (and, with ``--tsa-cert``,
   that certificate chains to a certificate given there); its genTime is printed;
5. for every evidence item: the file's SHA-256 and size, the leaf recomputed from its kind,
   receipt time, salt and SHA-256, and the RFC 9162 inclusion proof against the signed
   checkpoint's root;
6. for an expert's signed opinion (issue 16, `backup_evidence.opinions`): the expert's
   credential is countersigned by the observatory's key (the bundle's
   ``experts/observatory-key.txt``, or better the key given with ``--observatory-key``) and
   valid when the opinion was signed, the expert's signature of the statement holds, and
   the statement binds the disclosed text and file and this report.

Any changed byte anywhere makes one of these fail: exit status 1 and the failing check
named. Exit 2 when the file is not a bundle at all.

Needs only the ``backup-evidence`` distribution (this package and `crypto`) and its
dependencies, all of them installable without a compiler: no node, no database, no
network. The bundle's layout is `backup_evidence.bundle_format`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from backup_evidence import disclosures as sd
from backup_evidence import opinions, succession
from backup_evidence.bundle_format import (
    FORMAT,
    FORMATS,
    LEGACY_FORMATS,
    MANIFEST,
    MANIFEST_SIG,
    MAX_MEMBER_BYTES,
    NODE_KEY,
    NODE_ROLES,
    OBSERVATORY_KEY,
    manifest_message,
)
from backup_evidence.leaves import (
    VERSION_DISCLOSURES,
    BadLeaf,
    EvidenceLeaf,
    ItemType,
    leaf_from_digest,
)
from backup_evidence.timestamps import TimestampError, load_trusted, verify_token
from crypto import merkle, role_statement
from crypto.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    Ed25519Verifier,
    SignedNote,
    VerifiedNote,
    cosignature_time,
    decode_vkey,
    open_note,
)
from crypto.errors import CryptoError, ProofError, SignatureError
from crypto.keys import VerifyKey
from crypto.role_statement import RoleStatement


@dataclass
class Report:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What a reader needs beyond pass or fail: each disclosed field, each withheld one
    with its digest, and what bounds each item's time."""
    earliest_cosignature: tuple[int, str] | None = None
    # The node's checkpoint role key and its identity key (checkpoints from before role
    # keys), both under the log's origin name.
    log_verifiers: list[Ed25519Verifier] = field(default_factory=list)
    # after a log succession (issue 21): the same keys under each earlier origin
    earlier_log_verifiers: list[Ed25519Verifier] = field(default_factory=list)
    witness_verifiers: list[CosignatureVerifier | Ed25519Verifier] = field(
        default_factory=list)
    # the observatory's key, which countersigns expert credentials (issue 16)
    observatory_key: VerifyKey | None = None

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, ok, detail))
        return ok

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)


class NotABundle(Exception):
    pass


def _key_from_text(text: str) -> VerifyKey:
    text = text.strip()
    if text.startswith("ed25519:"):
        return VerifyKey(bytes.fromhex(text.split(":", 1)[1]))
    if "+" in text:
        verifier = decode_vkey(text)
        if not isinstance(verifier, Ed25519Verifier):
            raise ValueError("not an Ed25519 signing key")
        return verifier.public_key
    return VerifyKey(bytes.fromhex(text))


def _read(z: zipfile.ZipFile, name: str) -> bytes:
    info = z.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise NotABundle(f"{name} is too large")
    return z.read(name)


def verify_bundle(data_path: str, trusted_key: str | None = None,
                  witnesses: list[str] | None = None,
                  tsa_certificates: list[x509.Certificate] | None = None,
                  observatory_key: str | None = None) -> Report:
    """Run every check; ``tsa_certificates``: require the checkpoint's RFC 3161 timestamp,
    from a TSA that chains to one of them; ``observatory_key``: the observatory's key
    obtained independently, which must be the one the bundle carries for its opinions."""
    report = Report()
    try:
        z = zipfile.ZipFile(data_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise NotABundle(f"not a ZIP archive: {exc}") from None
    with z:
        names = set(z.namelist())
        for required in (MANIFEST, MANIFEST_SIG, NODE_KEY):
            if required not in names:
                raise NotABundle(f"{required} is missing")
        manifest_bytes = _read(z, MANIFEST)
        try:
            manifest: dict[str, Any] = json.loads(manifest_bytes)
        except ValueError:
            raise NotABundle("manifest.json is not JSON") from None
        if not isinstance(manifest, dict) or manifest.get("format") not in FORMATS:
            raise NotABundle(f"not a {FORMAT} bundle")

        # 1. the node key, and the manifest signature
        bundle_key_text = _read(z, NODE_KEY).decode("utf-8", "replace").splitlines()
        try:
            bundle_key = _key_from_text(bundle_key_text[-1])
        except (ValueError, IndexError, CryptoError):
            raise NotABundle("node-key.txt does not hold a key") from None
        key = bundle_key
        if trusted_key is not None:
            try:
                key = _key_from_text(trusted_key)
            except (ValueError, CryptoError):
                raise NotABundle("the --public-key given is not an Ed25519 key") from None
            report.check("node key is the trusted key", key == bundle_key,
                         "" if key == bundle_key else "node-key.txt holds another key")
        roles = _role_statement(z, manifest, names, key, report)
        try:
            signature = bytes.fromhex(_read(z, MANIFEST_SIG).decode("ascii").strip())
            (key if roles is None else roles.key("manifest")).verify(
                manifest_message(manifest_bytes), signature)
            report.check("manifest signature", True)
        except (ValueError, UnicodeDecodeError, SignatureError):
            report.check("manifest signature", False, "manifest.json or manifest.sig changed")

        # 2. every other file against the signed manifest
        listed: dict[str, str] = manifest.get("files", {})
        items: list[dict[str, Any]] = manifest.get("items", [])
        evidence_paths = {str(i.get(k)) for i in items for k in ("path", "file")
                          if i.get(k) is not None}
        for name in sorted(names - {MANIFEST, MANIFEST_SIG}):
            if name in evidence_paths:
                continue
            if name not in listed:
                report.check(f"file {name}", False, "not listed in the manifest")
                continue
            digest = hashlib.sha256(_read(z, name)).hexdigest()
            report.check(f"file {name}", digest == listed[name],
                         "" if digest == listed[name] else "its SHA-256 changed")
        for name in sorted(set(listed) - names):
            report.check(f"file {name}", False, "listed in the manifest but missing")

        # 3. the checkpoint
        checkpoint_path = str(manifest.get("checkpoint", ""))
        log_keys = [key] if roles is None else [roles.key("checkpoint"), key]
        try:
            log_verifiers = [Ed25519Verifier(str(manifest.get("log_origin", "")), k)
                             for k in log_keys]
        except CryptoError:
            raise NotABundle("the manifest names no valid log origin") from None
        _follow_successions(z, manifest, log_keys, report)
        witness_verifiers = []
        for text in witnesses or []:
            v = decode_vkey(text)
            if not isinstance(v, CosignatureVerifier | Ed25519Verifier):
                raise NotABundle("a --witness key is not a witness key")
            witness_verifiers.append(v)
        report.log_verifiers, report.witness_verifiers = log_verifiers, witness_verifiers
        checkpoint: Checkpoint | None = None
        try:
            note = open_note(_read(z, checkpoint_path), [*log_verifiers, *witness_verifiers])
            if not any(note.is_signed_by(v) for v in log_verifiers):
                raise SignatureError()
            checkpoint = Checkpoint.parse(note.text)
            ok = (checkpoint.origin == manifest.get("log_origin")
                  and checkpoint.size == manifest.get("tree_size"))
            report.check("checkpoint signature", ok,
                         "" if ok else "the checkpoint is not the one the manifest names")
            for w in witness_verifiers:
                report.check(f"cosignature by {w.name}", note.is_signed_by(w),
                             "" if note.is_signed_by(w) else "missing or invalid")
            report.earliest_cosignature = _earliest_cosignature(
                _read(z, checkpoint_path), note, witness_verifiers)
        except KeyError:
            report.check("checkpoint signature", False, f"{checkpoint_path} is missing")
        except (CryptoError, ValueError, UnicodeDecodeError):
            report.check("checkpoint signature", False, "the checkpoint or its signature changed")

        # 4. the checkpoint's RFC 3161 timestamp
        stamp_path = manifest.get("checkpoint_timestamp")
        if stamp_path is not None:
            _verify_timestamp(z, str(stamp_path), checkpoint, tsa_certificates, report)
        elif tsa_certificates is not None:
            report.check("checkpoint timestamp", False, "the bundle has no RFC 3161 timestamp")

        # 6. (with 5) the observatory's key, for the credentials of expert opinions
        _observatory_key(z, manifest, names, observatory_key, report)

        # 5. every evidence item
        subject = sd.report_subject(str(manifest.get("case_id")))
        for item in items:
            _verify_item(z, item, checkpoint, subject, report)
    return report


def _role_statement(z: zipfile.ZipFile, manifest: dict[str, Any], names: set[str],
                    key: VerifyKey, report: Report) -> RoleStatement | None:
    """The node's role keys, for a bundle of format 3: ``node-roles.txt`` must be a role
    statement of the manifest's node, signed by the node key (its identity key). Formats
    1 and 2 have none (everything in them is signed by the node key itself). A failing
    statement is reported, and the manifest is then checked against the node key, which
    did not sign it: both fail."""
    if manifest.get("format") in LEGACY_FORMATS:
        return None
    try:
        text = _read(z, NODE_ROLES).decode("ascii").strip() if NODE_ROLES in names else ""
        roles = role_statement.verify_encoded(text, key, str(manifest.get("node_id", "")))
    except (UnicodeDecodeError, CryptoError):
        report.check("role statement", False,
                     f"{NODE_ROLES} is missing or not signed by the node key")
        return None
    report.check("role statement", True)
    return roles


def _earliest_cosignature(data: bytes, note: VerifiedNote,
                          witnesses: list[CosignatureVerifier | Ed25519Verifier]
                          ) -> tuple[int, str] | None:
    """The earliest time a verified witness cosigned the checkpoint (C2SP
    tlog-cosignature: the time is inside the signed message): every item the checkpoint
    covers was in the log by then, whatever the node's clock said."""
    times = []
    parsed = SignedNote.parse(data)
    for sig in parsed.signatures:
        for w in witnesses:
            # each line checked on its own: a forged earlier line beside a valid one counts
            # for nothing
            if (isinstance(w, CosignatureVerifier) and note.is_signed_by(w)
                    and sig.name == w.name and sig.key_id == w.key_id
                    and w.verify(parsed.text.encode("utf-8"), sig.signature)):
                times.append((cosignature_time(sig), w.name))
    return min(times) if times else None


def _verify_timestamp(z: zipfile.ZipFile, path: str, checkpoint: Checkpoint | None,
                      trusted: list[x509.Certificate] | None, report: Report) -> None:
    name = "checkpoint timestamp"
    if checkpoint is None:
        report.check(name, False, "no valid checkpoint to check the timestamp against")
        return
    try:
        token = _read(z, path)
    except KeyError:
        report.check(name, False, f"{path} is missing")
        return
    try:
        info = verify_token(token, checkpoint.text().encode("utf-8"), trusted)
    except TimestampError as exc:
        report.check(name, False, f"the RFC 3161 token does not hold ({exc.code})")
        return
    by = ("a TSA certificate given with --tsa-cert" if trusted is not None else
          "the certificate in the token; give --tsa-cert to require a trusted authority")
    report.check(name, True, f"RFC 3161, genTime {info.gen_time:%Y-%m-%dT%H:%M:%SZ}, by "
                             f"{info.tsa_subject} (signature checked against {by})")


def _verify_item(z: zipfile.ZipFile, item: dict[str, Any], checkpoint: Checkpoint | None,
                 subject: str, report: Report) -> None:
    path = item.get("path")
    name = f"item {path or item.get('proof')}"
    try:
        proof = json.loads(_read(z, str(item["proof"])))
        stated = EvidenceLeaf.decode(bytes.fromhex(proof["leaf"]))
        version = int(item.get("version", 1))
    except (KeyError, ValueError, TypeError, BadLeaf):
        report.check(name, False, "its proof is missing or its leaf malformed")
        return
    if version == VERSION_DISCLOSURES:
        opened = _open_disclosed(z, item, name, subject, report)
        if opened is None:
            return
        leaf, summary, values = opened
        if stated.item_type == ItemType.OPINION and not _check_opinion(
                z, item, values, name, report):
            return
    elif item.get("withheld_item") and path is None:
        leaf, summary = stated, "withheld whole (committed): only its leaf is shown"
    else:
        opened1 = _open_whole(z, item, name, report)
        if opened1 is None:
            return
        leaf, summary = opened1
    if stated != leaf or bytes.fromhex(str(proof.get("leaf_hash"))) != leaf.leaf_hash:
        report.check(name, False, "its leaf does not match its content (a field, salt, digest, "
                                  "kind or time changed)")
        return
    if checkpoint is None:
        report.check(name, False, "no valid checkpoint to check the proof against")
        return
    try:
        if (proof["tree_size"] != checkpoint.size
                or proof["leaf_index"] != item.get("leaf_index")):
            raise ProofError("the proof is for another tree or position")
        merkle.verify_inclusion(leaf_hash=leaf.leaf_hash, index=int(proof["leaf_index"]),
                                size=int(proof["tree_size"]),
                                path=[bytes.fromhex(h) for h in proof["inclusion_path"]],
                                root=checkpoint.root_hash)
    except (ProofError, KeyError, ValueError, TypeError) as exc:
        report.check(name, False, f"inclusion proof fails ({exc})")
        return
    report.check(name, True, f"{item.get('type')}, {summary}, log position "
                             f"{proof['leaf_index']} of {checkpoint.size}")
    bound = report.earliest_cosignature
    if item.get("bounded_by") is not None:
        held, bound = _earlier_bound(z, item, leaf, name, report)
        if not held:
            return
    _note_times(item, bound, report)


def _open_whole(z: zipfile.ZipFile, item: dict[str, Any], name: str, report: Report
                ) -> tuple[EvidenceLeaf, str] | None:
    """A version-1 item: the whole file under one salt."""
    try:
        content = _read(z, str(item["path"]))
    except KeyError:
        report.check(name, False, "the file is missing")
        return None
    digest = hashlib.sha256(content).digest()
    if digest.hex() != item.get("sha256") or len(content) != item.get("size"):
        report.check(name, False, "its content changed (SHA-256 or size differs)")
        return None
    try:
        leaf = leaf_from_digest(ItemType(int(item["type_code"])), int(item["received_at"]),
                                bytes.fromhex(item["salt"]), digest)
    except (KeyError, ValueError, TypeError, BadLeaf):
        report.check(name, False, "its leaf data is malformed")
        return None
    return leaf, "disclosed whole (leaf version 1)"


def _open_disclosed(z: zipfile.ZipFile, item: dict[str, Any], name: str, subject: str,
                    report: Report) -> tuple[EvidenceLeaf, str, dict[str, Any]] | None:
    """A version-2 item: each disclosed field against its digest, each withheld digest as
    given, the subject, then the leaf they make."""
    path = item.get("path")
    shown: list[sd.Disclosure] = []
    digests: list[bytes] = []
    try:
        if item.get("subject") != subject and not str(item.get("subject")).startswith(
                sd.NODE_SUBJECT):
            report.check(name, False, "it belongs to another report")
            return None
        if path is not None:
            lines = _read(z, str(path)).split(b"\n")
            if lines[-1] != b"":
                raise sd.BadDisclosure("each disclosure ends with a newline")
            for line in lines[:-1]:
                shown.append(sd.parse(line))
                digests.append(sd.digest(line))
        withheld = item.get("withheld", [])
        for w in withheld:
            digests.append(bytes.fromhex(str(w["digest"])))
        leaf = sd.item_leaf(ItemType(int(item["type_code"])), int(item["received_at"]),
                            str(item["subject"]), digests)
    except KeyError:
        report.check(name, False, "its disclosures are missing")
        return None
    except (sd.BadDisclosure, ValueError, TypeError, BadLeaf) as exc:
        report.check(name, False, f"its disclosures are malformed ({exc})")
        return None
    values = {d.name: d.value for d in shown}
    if item.get("file") is not None and not _check_file(z, item, values, name, report):
        return None
    if item.get("original") is True:  # an imported report's original submission (issue 19)
        report.note(f"{name}: the original submission as the field tool exported it, "
                    + (f"in {item['file']}: its bytes match the SHA-256 its leaf commits to"
                       if item.get("file") is not None else
                       "withheld whole (committed), reason: " + ", ".join(sorted({
                           str(w.get("why")) for w in withheld
                           if w.get("name") == "file.sha256"}))))
    for d in shown:
        report.note(f"{name}: disclosed {d.name} = {json.dumps(d.value, ensure_ascii=False)}")
    for w in withheld:
        report.note(f"{name}: withheld (committed) {w.get('name')}, digest {w['digest']}")
    if RECOMMITS_INDEX in values:
        report.note(f"{name}: committed at {_utc(int(item['received_at']))} by re-committing "
                    f"the report first committed at log position {values[RECOMMITS_INDEX]} "
                    f"(leaf hash {values.get(RECOMMITS_HASH)}); the node states that the "
                    f"fields are those of that leaf")
    return leaf, (f"{len(shown)} field(s) disclosed and checked, {len(withheld)} withheld "
                  f"(committed)"), values


def _observatory_key(z: zipfile.ZipFile, manifest: dict[str, Any], names: set[str],
                     trusted: str | None, report: Report) -> None:
    """The key that countersigns expert credentials: the bundle's (listed in the signed
    manifest, so the node vouches for it), checked against the one given, if any."""
    path = manifest.get("observatory_key")
    if path is None and trusted is None:
        return
    try:
        carried = (_key_from_text(_read(z, str(path)).decode("utf-8").splitlines()[-1])
                   if path is not None and str(path) in names else None)
    except (ValueError, IndexError, UnicodeDecodeError, CryptoError):
        carried = None
    if trusted is None:
        report.observatory_key = carried
        if carried is not None:
            report.note("expert credentials were checked against the observatory key the "
                        "bundle carries; give --observatory-key to check them against one "
                        "obtained independently")
        return
    try:
        report.observatory_key = _key_from_text(trusted)
    except (ValueError, CryptoError):
        raise NotABundle("the --observatory-key given is not an Ed25519 key") from None
    if carried is not None:
        report.check("observatory key is the trusted key", carried == report.observatory_key,
                     "" if carried == report.observatory_key else
                     f"{OBSERVATORY_KEY} holds another key")


def _check_opinion(z: zipfile.ZipFile, item: dict[str, Any], values: dict[str, Any],
                   name: str, report: Report) -> bool:
    """An expert's opinion whose statement and signature are disclosed: its credential, its
    signature, and that it binds what is disclosed of it and this report. A withheld
    opinion shows only its leaf (nothing of it to check beyond the commitment)."""
    if "statement" not in values or "signature" not in values:
        report.note(f"{name}: an expert's opinion, withheld: its signature is not shown")
        return True
    try:
        statement = opinions.verify_signature(str(values["statement"]).encode("utf-8"),
                                              str(values["signature"]))
    except opinions.BadOpinion as exc:
        report.check(f"{name} (expert signature)", False, str(exc))
        return False
    report.check(f"{name} (expert signature)", True, f"by expert key {statement.expert_key}")
    try:
        if report.observatory_key is None:
            raise opinions.BadOpinion("the bundle carries no observatory key")
        credential = opinions.verify_credential(_read(z, str(item["credential"])),
                                                report.observatory_key)
        if not credential.covers(statement):
            raise opinions.BadOpinion("the credential is another expert's, or was not valid "
                                      "when the opinion was signed")
    except KeyError:
        report.check(f"{name} (expert credential)", False, "the credential is missing")
        return False
    except opinions.BadOpinion as exc:
        report.check(f"{name} (expert credential)", False, str(exc))
        return False
    report.check(f"{name} (expert credential)", True,
                 f"countersigned by the observatory, serial {credential.serial}, "
                 f"specialties {', '.join(credential.specialties)}, home node "
                 f"{credential.home_node}, valid {_utc(credential.not_before)} to "
                 f"{_utc(credential.not_after)}")
    problems = []
    if statement.subject_sha256 != opinions.subject_digest(str(item.get("subject"))):
        problems.append("it is about another report")
    if "kind" in values and values["kind"] != statement.kind:
        problems.append("its kind is not the one signed")
    if "text" in values and hashlib.sha256(str(values["text"]).encode(
            "utf-8")).hexdigest() != statement.text_sha256:
        problems.append("its text is not the one signed")
    if values.get("file.sha256", statement.file_sha256) != statement.file_sha256:
        problems.append("its file is not the one signed")
    report.check(f"{name} (opinion content)", not problems, "; ".join(problems) or
                 f"{statement.kind}, signed {_utc(statement.signed_at)} (the expert's "
                 f"clock), for engagement {statement.engagement}")
    return not problems


RECOMMITS_INDEX = "_recommits.leaf_index"
RECOMMITS_HASH = "_recommits.leaf_hash"


def _check_file(z: zipfile.ZipFile, item: dict[str, Any], values: dict[str, Any], name: str,
                report: Report) -> bool:
    try:
        content = _read(z, str(item["file"]))
    except KeyError:
        report.check(name, False, "its file is missing")
        return False
    if "file.sha256" not in values:
        report.check(name, False, "its file is given but its SHA-256 is not disclosed")
        return False
    if hashlib.sha256(content).hexdigest() != values["file.sha256"] or (
            "file.size" in values and len(content) != values["file.size"]):
        report.check(name, False, "its file changed (SHA-256 or size differs)")
        return False
    return True


def _follow_successions(z: zipfile.ZipFile, manifest: dict[str, Any],
                        log_keys: list[VerifyKey], report: Report) -> None:
    """A checkpoint under a successor origin (issue 21): the signed statements in the bundle
    must lead from the node's first origin to the manifest's, each signed by the node's log
    keys (its checkpoint role key, or its identity key) under the origin it ends. Those keys
    are then believed under each earlier origin for earlier checkpoints (`bounded_by`)."""
    origin = str(manifest.get("log_origin", ""))
    paths = manifest.get("log_successions")
    try:
        generation = succession.origin_parts(origin)[1]
    except succession.SuccessionError:
        generation = 1
    if paths is None and generation == 1:
        return  # the node's first log: nothing to follow
    try:
        if not isinstance(paths, list):
            raise succession.SuccessionError("the bundle carries no successor statements")
        notes = [_read(z, str(p)).decode("utf-8") for p in paths]
        reached = succession.follow(notes, log_keys, str(manifest.get("node_id", "")))
        for note in notes:
            old = succession.open_statement(note, log_keys)
            report.earlier_log_verifiers.extend(Ed25519Verifier(old.old_origin, k)
                                                for k in log_keys)
            report.note(f"log succession: {old.old_origin} ended at {old.old_size} leaves "
                        f"as its witnesses cosigned it (a restore); continued as "
                        f"{old.new_origin}, signed by the node's key")
    except (succession.SuccessionError, KeyError, UnicodeDecodeError) as exc:
        report.check("log succession", False, str(exc))
        return
    report.check("log succession", reached == origin,
                 "" if reached == origin else f"the statements lead to {reached}, not {origin}")


def _earlier_bound(z: zipfile.ZipFile, item: dict[str, Any], leaf: EvidenceLeaf, name: str,
                   report: Report) -> tuple[bool, tuple[int, str] | None]:
    """Whether an earlier checkpoint holds the item (``bounded_by``: that checkpoint and an
    inclusion proof against it; a failed check if not), and the earliest verified witness
    cosignature of that checkpoint."""
    bounded = item["bounded_by"]
    try:
        data = _read(z, str(bounded["checkpoint"]))
        if not report.log_verifiers:
            raise SignatureError()
        logs = [*report.log_verifiers, *report.earlier_log_verifiers]
        note = open_note(data, [*logs, *report.witness_verifiers])
        if not any(note.is_signed_by(v) for v in logs):
            raise SignatureError()
        earlier = Checkpoint.parse(note.text)
        if earlier.size != bounded["tree_size"]:
            raise ProofError("the checkpoint is not the one named")
        merkle.verify_inclusion(leaf_hash=leaf.leaf_hash, index=int(item["leaf_index"]),
                                size=earlier.size,
                                path=[bytes.fromhex(h) for h in bounded["inclusion_path"]],
                                root=earlier.root_hash)
    except (KeyError, ValueError, TypeError, CryptoError) as exc:
        report.check(f"{name} (time bound)", False,
                     f"the earlier checkpoint or its proof does not hold ({exc})")
        return False, None
    return True, _earliest_cosignature(data, note, report.witness_verifiers)


def _note_times(item: dict[str, Any], bound: tuple[int, str] | None, report: Report) -> None:
    stated = _utc(int(item["received_at"]))
    label = f"item {item.get('path') or item.get('proof')}"
    if bound is not None:
        report.note(f"{label}: in the log no later than {_utc(bound[0])} (earliest witness "
                    f"cosignature of a checkpoint holding it, by {bound[1]}); the node's own time "
                    f"{stated} is asserted by the node, not proven")
    else:
        report.note(f"{label}: the node's time {stated} is asserted by the node, not "
                    f"proven (no verified witness cosignature: give --witness)")


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="backup-evidence",
        description="Check BackUp evidence bundles offline.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("verify", help="check every hash, proof and signature of a bundle",
                       description="Recompute every hash, check every inclusion proof against "
                       "the signed checkpoint and every signature. Exit 0 if everything holds, "
                       "1 if any check fails, 2 if FILE is not a bundle.")
    p.add_argument("file", metavar="FILE", help="the bundle (.zip)")
    p.add_argument("--public-key", default=None, help="the node's Ed25519 key obtained "
                   "independently (vkey text, 'ed25519:HEX' or HEX); without it the bundle's "
                   "own key is used, which proves only that the bundle is self-consistent")
    p.add_argument("--witness", action="append", default=[], metavar="VKEY",
                   help="a witness key (C2SP vkey) whose cosignature the checkpoint must carry;"
                   " repeatable")
    p.add_argument("--observatory-key", default=None, metavar="KEY",
                   help="the observatory's Ed25519 key obtained independently (as for "
                   "--public-key): expert credentials must be countersigned by it")
    p.add_argument("--tsa-cert", default=None, metavar="PEM",
                   help="a PEM file of the timestamping authority's root certificate(s): "
                   "the checkpoint must carry an RFC 3161 timestamp from a TSA under them")
    args = parser.parse_args(argv)
    tsa_certificates = None
    if args.tsa_cert is not None:
        try:
            tsa_certificates = load_trusted(Path(args.tsa_cert))
        except TimestampError:
            print(f"NOT READABLE: --tsa-cert {args.tsa_cert} holds no PEM certificate",
                  file=sys.stderr)
            return 2
    try:
        report = verify_bundle(args.file, args.public_key, args.witness, tsa_certificates,
                               args.observatory_key)
    except NotABundle as exc:
        print(f"NOT A BUNDLE: {exc}", file=sys.stderr)
        return 2
    for check, ok, detail in report.checks:
        print(f"{'OK    ' if ok else 'FAILED'} {check}" + (f": {detail}" if detail else ""))
    for text in report.notes:
        print(f"NOTE   {text}")
    if args.public_key is None:
        print("NOTE: no --public-key given; the key inside the bundle was trusted.")
    print("VERDICT: " + ("the bundle verifies." if report.ok else "the bundle does NOT verify."))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
