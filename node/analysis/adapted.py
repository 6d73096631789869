"""The node's adapted suggestion model (issue 17): trained from the node's confirmed codings,
encrypted at rest, versioned with admin rollback, and erased through the one deletion path.

Where things are (schema migration 17):
- `analysis_examples`: one training example per report (its text and confirmed codings),
  sealed to the node's **intake** key: it holds narrative text, so only those who may read
  reports (coordinators) can open it -- never analysts.
- `analysis_models`: each model version, its bytes (`model.Model.to_bytes`) encrypted under a
  fresh data key sealed to the node's **analysis** key, with the number of examples and
  whether it is the active one. At most `KEEP_VERSIONS` are kept.
- `analysis_model_reports`: which reports each version was trained on.

Deleting a report (`derived_stores`, registered in `node/context.py`) removes its example
and every model version it was trained on, in the deletion's transaction (then the
database is vacuumed): the adapted model no longer carries anything from it, at once, and
without anyone's key. `retrain_needed()` then says so, and the next `retrain` by a
coordinator trains from the remaining examples only -- the model that report never touched,
since `model.train` is deterministic and starts from nothing. Until then suggestions use the
newest remaining version, or the shipped model.

Training runs in a worker process (`train_in_worker`), never on the server's event loop or
its threads: the caller passes a `ProcessPoolExecutor`, or gets a one-off one.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crypto.keys import BoxPublicKey, BoxSecretKey, DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.analysis.model import Example, Model, train
from node.backoffice.deletion import AfterCommit, DerivedStore
from node.storage.database import Database

KEEP_VERSIONS = 5
_EXAMPLE_CONTEXT = b"backup/analysis-example/v1:"
_MODEL_CONTEXT = b"backup/analysis-model/v1:"


@dataclass(frozen=True)
class Version:
    version: int
    created_at: int
    examples: int
    active: bool


Row = tuple[str, bool, tuple[str, ...], str | None]


def _train_bytes(rows: Sequence[Row]) -> tuple[int, bytes]:
    """The worker process's job: train, and return its pid (tests check it is not the
    caller's) and the model's bytes. With fewer than `affiliation.MIN_EXAMPLES` affiliations
    confirmed on the node, the version decides the main affiliation as the shipped model does
    (by the rules, or by the shipped arbiter if one ships: it holds nothing of the node's)."""
    examples = [Example(text, crsv, frozenset(cats), aff) for text, crsv, cats, aff in rows]
    from node.analysis.shipped_model import THRESHOLDS
    from node.analysis.suggest import shipped_model
    model = train(examples, THRESHOLDS)
    if model.affiliation is None:
        model.affiliation = shipped_model().affiliation
    return os.getpid(), model.to_bytes()


def train_in_worker(examples: Sequence[Example],
                    executor: concurrent.futures.Executor | None = None) -> bytes:
    """Train in another process (spawned: no copy of the server's memory or its keys)."""
    rows: list[Row] = [(e.text, e.is_crsv, tuple(sorted(e.categories)), e.affiliation)
                       for e in examples]
    if executor is not None:
        return executor.submit(_train_bytes, rows).result()[1]
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_train_bytes, rows).result()[1]


def _example_ct(key: BoxPublicKey, report_id: str, example: Example) -> bytes:
    body = json.dumps({"text": example.text, "is_crsv": example.is_crsv,
                       "categories": sorted(example.categories),
                       "affiliation": example.affiliation}).encode("utf-8")
    data_key = DataKey.generate()
    return json.dumps({
        "key": key.seal_data_key(data_key).hex(),
        "ct": data_key.encrypt(body, _EXAMPLE_CONTEXT + report_id.encode()).hex(),
    }).encode()


def _open_example(key: BoxSecretKey, report_id: str, blob: bytes) -> Example:
    outer = json.loads(blob)
    data_key = key.open_data_key(bytes.fromhex(outer["key"]))
    body = json.loads(data_key.decrypt(bytes.fromhex(outer["ct"]),
                                       _EXAMPLE_CONTEXT + report_id.encode()))
    return Example(body["text"], bool(body["is_crsv"]), frozenset(body["categories"]),
                   body.get("affiliation"))


class AdaptedModels:
    def __init__(self, db: Database, intake_public: BoxPublicKey,
                 analysis_public: BoxPublicKey, clock: Callable[[], int]) -> None:
        self._db = db
        self._intake_public = intake_public
        self._analysis_public = analysis_public
        self._clock = clock

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DerivedStore("adapted suggestion model and its training examples", _erase),)

    # ---- training examples

    def add_example(self, report_id: str, example: Example) -> None:
        """A report's confirmed codings as a training example (replacing an earlier one)."""
        ct = _example_ct(self._intake_public, report_id, example)
        with self._db.write() as conn:
            conn.execute("INSERT INTO analysis_examples (report_id, example_ct, added_at) "
                         "VALUES (?, ?, ?) ON CONFLICT (report_id) DO UPDATE SET "
                         "example_ct = excluded.example_ct, added_at = excluded.added_at",
                         (report_id, ct, self._clock()))

    def examples(self, staff: UnlockedStaff) -> list[tuple[str, Example]]:
        key = staff.intake_key
        if key is None:
            raise errors.Forbidden()  # only coordinators hold the intake key
        rows = self._db.read().execute(
            "SELECT report_id, example_ct FROM analysis_examples ORDER BY report_id").fetchall()
        return [(r["report_id"], _open_example(key, r["report_id"], r["example_ct"]))
                for r in rows]

    # ---- versions

    def retrain(self, staff: UnlockedStaff,
                executor: concurrent.futures.Executor | None = None) -> int | None:
        """Train a new version from every example (in a worker process) and make it active;
        None when there is nothing to train on."""
        pairs = self.examples(staff)
        if not pairs:
            return None
        data = train_in_worker([e for _, e in pairs], executor)
        return self._store(data, [rid for rid, _ in pairs])

    def _store(self, model_bytes: bytes, report_ids: Sequence[str]) -> int:
        data_key = DataKey.generate()
        now = self._clock()
        with self._db.write() as conn:
            version = int(conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM "
                                       "analysis_models").fetchone()[0])
            conn.execute("UPDATE analysis_models SET active = 0")
            conn.execute("INSERT INTO analysis_models (version, created_at, examples, key_ct, "
                         "model_ct, active) VALUES (?, ?, ?, ?, ?, 1)",
                         (version, now, len(report_ids),
                          self._analysis_public.seal_data_key(data_key),
                          data_key.encrypt(model_bytes, _MODEL_CONTEXT + str(version).encode())))
            conn.executemany("INSERT INTO analysis_model_reports (version, report_id) "
                             "VALUES (?, ?)", [(version, r) for r in report_ids])
            old = [r[0] for r in conn.execute(
                "SELECT version FROM analysis_models ORDER BY version DESC LIMIT -1 OFFSET ?",
                (KEEP_VERSIONS,))]
            for v in old:
                _drop_version(conn, v)
        return version

    def versions(self) -> list[Version]:
        rows = self._db.read().execute(
            "SELECT version, created_at, examples, active FROM analysis_models "
            "ORDER BY version DESC").fetchall()
        return [Version(r["version"], r["created_at"], r["examples"], bool(r["active"]))
                for r in rows]

    def activate(self, staff: UnlockedStaff, version: int) -> None:
        """Roll back (or forward) to a kept version: admins only."""
        if not staff.has_role("admin"):
            raise errors.Forbidden()
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM analysis_models WHERE version = ?",
                            (version,)).fetchone() is None:
                raise errors.NotFound()
            conn.execute("UPDATE analysis_models SET active = (version = ?)", (version,))

    def active_model(self, analysis_key: BoxSecretKey) -> tuple[int, Model] | None:
        """The active version (or, after a deletion shredded it, the newest kept one)."""
        row = self._db.read().execute(
            "SELECT version, key_ct, model_ct FROM analysis_models "
            "ORDER BY active DESC, version DESC LIMIT 1").fetchone()
        if row is None:
            return None
        data_key = analysis_key.open_data_key(row["key_ct"])
        data = data_key.decrypt(row["model_ct"], _MODEL_CONTEXT + str(row["version"]).encode())
        return int(row["version"]), Model.from_bytes(data)

    def retrain_needed(self) -> bool:
        """True when examples exist that the active version was not trained on, or it
        still counts one a deletion removed (it is then gone: see the module's docstring)."""
        conn = self._db.read()
        active = conn.execute("SELECT version FROM analysis_models WHERE active = 1").fetchone()
        examples = {r[0] for r in conn.execute("SELECT report_id FROM analysis_examples")}
        if active is None:
            return bool(examples)
        trained = {r[0] for r in conn.execute(
            "SELECT report_id FROM analysis_model_reports WHERE version = ?", (active[0],))}
        return trained != examples


def _drop_version(conn: sqlite3.Connection, version: int) -> None:
    conn.execute("DELETE FROM analysis_model_reports WHERE version = ?", (version,))
    conn.execute("DELETE FROM analysis_models WHERE version = ?", (version,))


def _erase(conn: sqlite3.Connection, report_id: str) -> AfterCommit | None:
    conn.execute("DELETE FROM analysis_examples WHERE report_id = ?", (report_id,))
    shaped = [r[0] for r in conn.execute(
        "SELECT version FROM analysis_model_reports WHERE report_id = ?", (report_id,))]
    for version in shaped:
        _drop_version(conn, version)
    return None
