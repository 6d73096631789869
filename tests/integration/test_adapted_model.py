"""The node's adapted suggestion model (issue 17): trained in a worker process, encrypted at
rest, versioned with admin rollback, erased through the one deletion path; used by
`backup-node suggest-codings --data --username`. Starts from the schema-10 fixture node,
so migration 17 is applied to the previous version's data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crypto import passphrase as pw
from node import accounts, errors
from node.analysis import adapted as ad
from node.analysis.model import Example, train
from node.analysis.shipped_model import THRESHOLDS
from node.context import NodeContext, open_node
from node.storage.migrations import MIGRATIONS
from tests.conftest import files_containing
from tests.integration.test_schema10_fixture import copy_fixture

ROOT = Path(__file__).resolve().parents[2]
TRAINING_CANARY = "TRAININGCANARYQZX"
OTHERS = [
    ("r-a", Example("the soldiers raped me in the forest near the river", True,
                    frozenset({"rape"}))),
    ("r-b", Example("the militia burned our houses and stole the goats", False)),
    ("r-c", Example("they kept us in the camp as wives of the fighters for a year", True,
                    frozenset({"rape", "sexual_slavery"}))),
    ("r-d", Example("my husband was beaten at the checkpoint and they took money", False)),
]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[NodeContext, dict[str, object]]]:
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    yield ctx, answers
    ctx.close()


def _models(ctx: NodeContext) -> ad.AdaptedModels:
    return ad.AdaptedModels(ctx.db, ctx.keys.intake_public, ctx.keys.analysis_public, lambda: 1)


def _unlock(ctx: NodeContext, answers: dict[str, object], who: str) -> accounts.UnlockedStaff:
    return accounts.unlock(ctx.db.read(), str(answers[who]), str(answers["passphrase"]))


def _fill(ctx: NodeContext, answers: dict[str, object]) -> str:
    canary_report = str(answers["canary_report_id"])
    models = _models(ctx)
    models.add_example(canary_report, Example(
        f"{TRAINING_CANARY} the commander raped me in the barracks", True, frozenset({"rape"})))
    for report_id, example in OTHERS:
        models.add_example(report_id, example)
    return canary_report


def test_migration_17_applies_to_the_previous_version(
        node: tuple[NodeContext, dict[str, object]]) -> None:
    ctx, _ = node
    conn = ctx.db.read()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    for table in ("analysis_examples", "analysis_models", "analysis_model_reports"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0


def test_training_runs_in_another_process() -> None:
    import concurrent.futures
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        rows = [(e.text, e.is_crsv, tuple(sorted(e.categories)), e.affiliation)
                for _, e in OTHERS]
        pid, data = pool.submit(ad._train_bytes, rows).result()
    assert pid != os.getpid() and data


def test_adapted_model_is_encrypted_at_rest_and_erased_with_its_report(
        node: tuple[NodeContext, dict[str, object]]) -> None:
    ctx, answers = node
    coordinator = _unlock(ctx, answers, "admin")  # demo-admin is admin and coordinator
    canary_report = _fill(ctx, answers)
    models = _models(ctx)
    first = models.retrain(coordinator)
    assert first == 1 and not models.retrain_needed()
    assert coordinator.analysis_key is not None
    loaded = models.active_model(coordinator.analysis_key)
    assert loaded is not None and loaded[0] == first
    # encrypted at rest: the training canary is in no file under the data directory
    assert files_containing(ctx.datadir.root, TRAINING_CANARY.encode()) == []
    # an analyst holds the analysis key (the model) but cannot open training examples
    analyst = _unlock(ctx, answers, "analyst")
    assert analyst.analysis_key is not None
    assert models.active_model(analyst.analysis_key) is not None
    with pytest.raises(errors.Forbidden):
        models.examples(analyst)

    ctx.deletion.by_staff(coordinator, canary_report, "duplicate")
    conn = ctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM analysis_examples WHERE report_id = ?",
                        (canary_report,)).fetchone()[0] == 0
    # every version the report shaped is gone at once, without anyone's key
    assert models.versions() == [] and models.active_model(coordinator.analysis_key) is None
    assert models.retrain_needed()
    second = models.retrain(coordinator)
    assert second is not None
    got = models.active_model(coordinator.analysis_key)
    assert got is not None
    # retrained without it: exactly the model the report never touched
    never = train([e for _, e in sorted(OTHERS)], THRESHOLDS)
    assert np.allclose(got[1].weights, never.weights, atol=2e-3)
    assert files_containing(ctx.datadir.root, TRAINING_CANARY.encode()) == []


def test_versions_are_kept_and_only_an_admin_rolls_back(
        node: tuple[NodeContext, dict[str, object]]) -> None:
    ctx, answers = node
    admin = _unlock(ctx, answers, "admin")
    caseworker = _unlock(ctx, answers, "caseworker")
    models = _models(ctx)
    for report_id, example in OTHERS[:2]:
        models.add_example(report_id, example)
    v1 = models.retrain(admin)
    for report_id, example in OTHERS[2:]:
        models.add_example(report_id, example)
    v2 = models.retrain(admin)
    assert [v.version for v in models.versions()] == [v2, v1]
    assert models.versions()[0].active
    with pytest.raises(errors.Forbidden):
        models.activate(caseworker, v1 or 0)
    with pytest.raises(errors.Forbidden):
        models.retrain(caseworker)  # a caseworker holds no intake key
    with pytest.raises(errors.NotFound):
        models.activate(admin, 99)
    models.activate(admin, v1 or 0)
    assert [v.version for v in models.versions() if v.active] == [v1]
    assert admin.analysis_key is not None
    active = models.active_model(admin.analysis_key)
    assert active is not None and active[0] == v1


def test_suggest_codings_uses_the_nodes_adapted_model(
        node: tuple[NodeContext, dict[str, object]]) -> None:
    ctx, answers = node
    admin = _unlock(ctx, answers, "admin")
    _fill(ctx, answers)
    version = _models(ctx).retrain(admin)
    root = str(ctx.datadir.root)
    line = json.dumps({"id": "x", "text": "the soldiers raped me near the river"}) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "node.cli", "suggest-codings", "--data", root,
         "--username", str(answers["admin"])],
        input=line.encode(), capture_output=True, cwd=ROOT, timeout=300,
        env={**os.environ, "BACKUP_PASSPHRASE": str(answers["passphrase"])})
    assert done.returncode == 0, done.stderr.decode()
    assert f"adapted model, version {version}".encode() in done.stderr
    out = json.loads(done.stdout)
    assert out["id"] == "x" and out["is_crsv"] is True
    wrong = subprocess.run(
        [sys.executable, "-m", "node.cli", "suggest-codings", "--data", root,
         "--username", str(answers["admin"])],
        input=line.encode(), capture_output=True, cwd=ROOT, timeout=300,
        env={**os.environ, "BACKUP_PASSPHRASE": "not the passphrase at all"})
    assert wrong.returncode == 2 and wrong.stdout == b""
