"""The demo's perpetrator matching (issue 18): the OPRF evaluator as its own process, and the
same invented commander named on both demo nodes, in Latin script on node A and in Arabic
script on node B.

    DIR/evaluator    `backup-evaluator init` (another operator's service in real life: its
                     own data directory, identity key and epoch key), served on libp2p
                     127.0.0.1:4121

On first run: the evaluator is created and knows both nodes; the observatory's admin records
its identity and epoch 1's key (published in the signed membership list); each node gets a
synthetic report, with the reporter's consent to matching, whose coordinator confirmed the
commander (stored encrypted). Once the federation runs, the coordinator signs in (their key
opens the case), the node evaluates the identifiers through the evaluator, submits the tokens
and fetches the observatory's notice: both coordinators see "This case matched a case at 1
other organisation(s)" on the case's perpetrator page. `DEMO-CREDENTIALS.txt` lists the
spellings, so that anyone can check that they appear nowhere under the observatory's (or the
evaluator's) data directory.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from crypto.keys import DataKey
from node import accounts
from node import demo as node_demo
from node.context import open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from node.matching.recipe import Identifiers

# Invented: no such man or brigade exists. (name, armed group) as each node's staff typed it.
COMMANDER = {"a": ("Haroun Tazrakbi", "Liwa al-Fajr al-Ahmar"),
             "b": ("هارون تازركبي", "لواء الفجر الأحمر")}
EVALUATOR = "evaluator"
CREDENTIALS_LINE = ("Matching demo: the same invented commander on both nodes, spelled "
                    + " / ".join(f"{n} ({g})" for n, g in COMMANDER.values())
                    + "; none of these appears under the observatory's data directory.\n")
MARKER = "DEMO-MATCH-CASE"

Run = Callable[..., str]


def _field(text: str, name: str) -> str:
    found = re.search(rf"^{name}: (\S+)$", text, re.M)
    if found is None:
        raise SystemExit(f"backup-evaluator did not print its {name}")
    return found.group(1)


def identity(data: Path) -> tuple[str, str]:
    """A node's id and identity key (hex), as the evaluator's operator is given them."""
    from node.keyring import load
    from node.storage.database import Database

    db = Database(DataDir(data).database)
    try:
        keys = load(DataDir(data), db)
        return keys.node_id, keys.identity_public.raw().hex()
    finally:
        db.close()


def prepare_evaluator(root: Path, port: int, nodes: list[Path], run: Run) -> None:
    """Create the evaluator once, give it the nodes, and have the observatory publish it."""
    data = root / EVALUATOR
    if (data / "evaluator.toml").exists():
        return
    print("Creating the demo OPRF evaluator…", flush=True)
    shown = run("-m", "observatory.evaluator_cli", "init", "--data", str(data), "--port",
                str(port))
    for node in nodes:
        run("-m", "observatory.evaluator_cli", "add-member", "--data", str(data),
            *identity(node))
    obs = str(root / "observatory")
    run("-m", "observatory.cli", "evaluator-set", _field(shown, "node id"),
        _field(shown, "identity key"), "--data", obs)
    run("-m", "observatory.cli", "evaluator-epoch", "1", _field(shown, "epoch 1 oprf key"),
        "--data", obs)


def seed_case(data: Path, name: str) -> None:
    """Node `name`'s synthetic case naming the commander, confirmed by its coordinator."""
    if (data / MARKER).exists():
        return
    person, group = COMMANDER[name]
    ctx = open_node(DataDir(data))
    try:
        coordinator = accounts.unlock(ctx.db.read(), node_demo.DEMO_ADMIN,
                                      node_demo.DEMO_PASSPHRASE)
        report_id = ctx.intake.submit(ReportInput(
            narrative=f"{node_demo.LABEL} The commander of the invented brigade, {person} "
                      f"({group}), led the attack.",
            consent=Consent(care=True, statistics=True, matching=True)),
            DataKey.generate(), [], "demo").report_id
        ctx.perpetrators.confirm(coordinator, report_id, Identifiers(names=(person,),
                                                                     group=group))
    finally:
        ctx.close()
    (data / MARKER).write_text(f"{node_demo.LABEL} {report_id}\n", encoding="utf-8")
    credentials = data / node_demo.CREDENTIALS_FILE
    text = credentials.read_text(encoding="utf-8")
    if "Matching demo:" not in text:
        credentials.write_text(text + "\n" + CREDENTIALS_LINE, encoding="utf-8")


def case_of(data: Path) -> str:
    return (data / MARKER).read_text(encoding="utf-8").split()[-1]
