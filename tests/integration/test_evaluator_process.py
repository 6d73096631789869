"""`backup-evaluator` as its own process on 127.0.0.1 (issue 18): its own data directory,
identity key and epoch key; a member it knows gets its identifiers evaluated over libp2p and
checks the proof against the published key; a stranger is refused; the budget per member
and day holds; nothing it stores holds an element or a name. Every wait is bounded."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.keys import VerifyKey
from node.matching.evaluation import PendingTokens
from node.matching.recipe import Identifiers
from observatory.evaluator_cli import main as evaluator
from protocol.delivery import DeliveryAck
from protocol.matching import OprfEvaluation
from tests.conftest import ROOT, files_containing
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress

COMMANDER = Identifiers(names=("Mahmoud Abdelrahman",), group="Jaysh al-Nasr")
SAME_IN_ARABIC = Identifiers(names=("محمود عبد الرحمن",), group="جيش النصر")


def _field(text: str, name: str) -> str:
    found = re.search(rf"^{name}: (\S+)$", text, re.M)
    assert found is not None, text
    return found.group(1)


@pytest.fixture
def evaluator_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                      ) -> Iterator[tuple[Path, ObservatoryAddress, bytes, FakeNode]]:
    data = tmp_path / "evaluator"
    assert evaluator(["init", "--data", str(data)]) == 0
    shown = capsys.readouterr().out
    member = FakeNode()
    assert evaluator(["add-member", "--data", str(data), member.node_id,
                      member.key.verify_key.raw().hex()]) == 0
    config = (data / "evaluator.toml").read_text(encoding="utf-8")
    (data / "evaluator.toml").write_text(
        config.replace("per_member_per_day = 1000", "per_member_per_day = 2"), encoding="utf-8")
    log = tmp_path / "evaluator.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "observatory.evaluator_cli", "serve", "--data", str(data)],
            stdout=subprocess.PIPE, stderr=err, cwd=ROOT, env={**os.environ})
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = b""
        while time.monotonic() < deadline and not line.startswith(b"listening:"):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
        addr = line.decode().split()[1]
        listen = addr.rsplit("/p2p/", 1)[0]
        address = ObservatoryAddress(_field(shown, "node id"), VerifyKey(bytes.fromhex(
            _field(shown, "identity key"))), (listen,))
        yield data, address, bytes.fromhex(_field(shown, "epoch 1 oprf key")), member
    finally:
        proc.terminate()
        proc.wait(20)
        if proc.stdout is not None:
            proc.stdout.close()


async def test_the_evaluator_runs_as_its_own_process(
        evaluator_process: tuple[Path, ObservatoryAddress, bytes, FakeNode]) -> None:
    data, address, published, member = evaluator_process
    stranger = FakeNode()
    await member.start()
    await stranger.start()
    try:
        first = PendingTokens.of(COMMANDER, epoch=1)
        answer = await member.ask(first.evaluation.request, address)
        assert isinstance(answer, OprfEvaluation)
        latin = first.tokens(answer, published)
        second = PendingTokens.of(SAME_IN_ARABIC, epoch=1)
        arabic = second.tokens(await member.ask(second.evaluation.request, address), published)
        assert latin == arabic  # the same man in two scripts: the same token
        # one token each (name with group): 2 evaluations used, the budget is 2 a day
        over = await member.ask(PendingTokens.of(COMMANDER, 1).evaluation.request, address)
        assert isinstance(over, DeliveryAck) and over.reason == "over_budget"
        refused = await stranger.ask(PendingTokens.of(COMMANDER, 1).evaluation.request,
                                     address)
        assert isinstance(refused, DeliveryAck) and refused.status == "rejected"
    finally:
        await member.stop()
        await stranger.stop()
    for text in ("Mahmoud", "محمود", "Jaysh"):
        assert files_containing(data, text.encode()) == []
    for _, token in latin:
        assert files_containing(data, token) == []
