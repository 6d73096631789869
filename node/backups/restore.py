"""Restoring a backup archive into a new data directory.

In order, and nothing is written until the first three pass:
1. the trailer's signature (and, if given, that it is the expected node's identity key);
2. the encrypted stream against the signed SHA-256;
3. the recovery key opens the backup secret key, which opens the data key
   (`WrongRecoveryKey` otherwise).
Then the tar is extracted into a hidden sibling directory (regular files and directories
only, inside it, under the names a data directory has), the identity key found there must be
the one that signed, and the node is opened (migrating an older schema), its custody chain
verified and its evidence log's tree checked. Deletions made after the backup -- read from
the ``deletions`` log (report ids only) of the live node's directory or of newer archives --
are replayed through the one deletion path. A federated node is restored with its evidence
log's signing held until its witnesses have said what they cosigned
(`node.evidence.succession`). Only then is the directory renamed to its name.
Any failure removes the sibling and leaves nothing.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.filestream import decrypt_stream
from crypto.keys import DataKey, SigningKey
from crypto.recovery import RecoveryKey
from node.backups import archive, restore_state
from node.backups.archive import ArchiveInvalid
from node.datadir import DataDir
from node.evidence import succession
from node.evidence.errors import LogCorrupted
from node.evidence.log_store import check_tree

_TOP = ("node.db", "node.toml", "keys", "blobs")


class WrongRecoveryKey(ValueError):
    """The recovery key given does not open this archive: nothing was restored."""


class RestoreRefused(RuntimeError):
    """The restored node does not check out (custody chain, evidence log, keys): nothing
    was kept."""


@dataclass(frozen=True)
class Restored:
    node_id: str
    created_at: int
    files: int
    deletions_replayed: int


def _data_key(opened: archive.Opened, recovery: RecoveryKey) -> DataKey:
    t = opened.trailer
    try:
        backup_secret = recovery.open_box_key(bytes.fromhex(str(t["sealed_backup_secret"])))
        return backup_secret.open_data_key(bytes.fromhex(str(t["sealed_data_key"])))
    except (DecryptionError, ValueError, KeyError):
        raise WrongRecoveryKey("this recovery key does not open this archive (it belongs to "
                               "another node, or the key was rotated after the backup)"
                               ) from None


class _Plain:
    """The decrypted stream as a file, for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            nxt = next(self._chunks, None)
            if nxt is None:
                break
            self._buffer += nxt
        if n < 0:
            n = len(self._buffer)
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


def _safe(member: tarfile.TarInfo) -> bool:
    path = Path(member.name)
    return (not path.is_absolute() and ".." not in path.parts and bool(path.parts)
            and path.parts[0] in _TOP and (member.isfile() or member.isdir()))


def _extract(f: BinaryIO, opened: archive.Opened, key: DataKey, into: Path) -> int:
    node_id = str(opened.trailer["node_id"])
    source = archive.Bounded(f, opened.stream_offset, opened.stream_length)
    plain = _Plain(decrypt_stream(key, source, archive.stream_context(node_id)))  # type: ignore[arg-type]
    count = 0
    try:
        with tarfile.open(fileobj=plain, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                if not _safe(member):
                    raise ArchiveInvalid(f"the archive holds an unexpected entry: {member.name!r}")
                target = into / member.name
                if member.isdir():
                    target.mkdir(mode=0o700, parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                reader = tar.extractfile(member)
                assert reader is not None
                with open(target, "wb", opener=_private) as out:
                    shutil.copyfileobj(reader, out)
                count += 1
    except (DecryptionError, tarfile.TarError):
        raise ArchiveInvalid("the archive's content does not decrypt: it was damaged or "
                             "altered") from None
    return count


def _private(path: str, flags: int) -> int:
    import os

    return os.open(path, flags, 0o600)


def read_deletions(source: Path, recovery: RecoveryKey | None = None) -> dict[str, str]:
    """Report id -> reason, from the deletion log of a node's data directory or of an
    archive (which the same recovery key opens)."""
    if source.is_dir():
        return _deletions_of(DataDir(source).database)
    with tempfile.TemporaryDirectory(dir=source.parent) as tmp, source.open("rb") as f:
        opened = archive.read_trailer(f)
        archive.check_stream_hash(f, opened)
        if recovery is None:
            raise WrongRecoveryKey("a recovery key is needed to read a newer archive")
        _extract(f, opened, _data_key(opened, recovery), Path(tmp))
        return _deletions_of(Path(tmp) / "node.db")


def _deletions_of(database: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return {str(r[0]): str(r[1]) for r in conn.execute(
            "SELECT report_id, reason FROM deletions")}
    finally:
        conn.close()


def restore(archive_path: Path, target: Path, recovery_text: str, *,
            identity_key: str | None = None, deletions_from: Sequence[Path] = (),
            staff_params: pw.KdfParams = pw.STAFF,
            receipt_params: pw.KdfParams = pw.RECEIPT) -> Restored:
    from node.context import open_node

    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not empty; nothing was restored")
    recovery = RecoveryKey.parse(recovery_text)
    with archive_path.open("rb") as f:
        opened = archive.read_trailer(f)
        trailer: dict[str, Any] = opened.trailer
        if identity_key is not None and identity_key.lower() != trailer["identity_key"]:
            raise ArchiveInvalid("this archive was signed by another node's identity key")
        archive.check_stream_hash(f, opened)
        key = _data_key(opened, recovery)
        work = target.parent / f".{target.name}.restoring-{secrets.token_hex(4)}"
        work.mkdir(mode=0o700, parents=True)
        try:
            files = _extract(f, opened, key, work)
            replayed = _check_and_replay(work, trailer, recovery, deletions_from,
                                         staff_params, receipt_params, open_node)
            if target.exists():
                target.rmdir()
            work.rename(target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return Restored(str(trailer["node_id"]), int(trailer["created_at"]), files, replayed)


def _check_and_replay(work: Path, trailer: dict[str, Any], recovery: RecoveryKey,
                      deletions_from: Sequence[Path], staff_params: pw.KdfParams,
                      receipt_params: pw.KdfParams, open_node: Any) -> int:
    datadir = DataDir(work)
    seed = (work / "keys" / "identity.key").read_bytes()
    if SigningKey(seed).verify_key.raw().hex() != trailer["identity_key"]:
        raise RestoreRefused("the identity key in the archive is not the one that signed it")
    later: dict[str, str] = {}
    for source in deletions_from:
        later.update(read_deletions(source, recovery))
    ctx = open_node(datadir, staff_params=staff_params, receipt_params=receipt_params)
    try:
        conn = ctx.db.read()
        verdict = ctx.audit.verify(conn)
        if not verdict.ok:
            raise RestoreRefused(f"the restored chain of custody does not verify: "
                                 f"{verdict.reason}")
        try:
            check_tree(conn)
        except LogCorrupted:
            raise RestoreRefused("the restored evidence log does not check") from None
        present = {str(r[0]) for r in conn.execute("SELECT id FROM reports")}
        replay = sorted(set(later) & present)
        for report_id in replay:
            ctx.deletion.replayed(report_id, later[report_id])
        with ctx.db.write() as wconn:
            now = int(time.time())
            restore_state.record_restore(wconn, restored_at=now,
                                         backup_made_at=int(trailer["created_at"]))
            if ctx.config.federation is not None:
                # Witnesses may hold a larger tree of our log than this backup: sign nothing
                # until they have said what they cosigned (node.evidence.succession).
                succession.set_hold(wconn, succession.Hold("check", since=now))
        return len(replay)
    finally:
        ctx.close()
