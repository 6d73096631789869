"""The demo federation (`make demo`) built in a temporary directory on free ports: the
observatory and two demo nodes as real processes, brought to their demo state by
`demo.federation.start`. Issue 16: experts of varied specialties and languages on both
nodes, vetted (countersigned by the demo observatory, in the directory both nodes keep); a
need posted on node A and matched to node B's expert, who accepted and was engaged; the
synthetic case shared with them, which opens in their app on node B. Issue 18: the OPRF
evaluator runs as its own process; the invented commander named in Latin script on A and in
Arabic script on B is a match both coordinators see; `DEMO-CREDENTIALS.txt` lists the
spellings, found nowhere under the observatory's or the evaluator's data directory."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from demo import federation, matching
from node import demo as node_demo
from tests.conftest import files_containing, free_port
from tests.integration.test_federation_network import eventually

pytestmark = pytest.mark.slow


def _layout() -> federation.Layout:
    # shorter rounds than `make demo`'s (a directory refresh every 30 s, a push or notice
    # query every 5 s): the same steps, with less waiting between them
    return federation.Layout(
        tuple(federation.NodeSpec(name, "CD", free_port(), free_port(), free_port(),
                                  free_port()) for name in "ab"),
        free_port(), free_port(), free_port(), membership_refresh_seconds=2,
        push_check_seconds=1)


async def test_the_demo_has_vetted_experts_a_matched_need_and_a_shared_case(
        tmp_path: Path) -> None:
    layout = _layout()
    a, b = layout.nodes
    root = tmp_path / "demo"
    root.mkdir()
    federation.prepare(root, 4, layout)
    node_a, node_b = root / "node-a", root / "node-b"
    procs = federation.Processes(root)
    try:
        federation.start(root, procs, layout)
        everyone = [e for spec in layout.nodes for e in federation.EXPERTS[spec.name]]
        assert len(everyone) >= 3
        assert len({s for e in everyone for s in e.specialties}) >= 4
        assert len({lang for e in everyone for lang in e.languages}) >= 4

        # Each node's credentials list its experts, their TOTP secret and the app's address.
        for spec, data in ((a, node_a), (b, node_b)):
            text = (data / node_demo.CREDENTIALS_FILE).read_text(encoding="utf-8")
            assert f"http://127.0.0.1:{spec.expert_port}/expert/login" in text
            for e in federation.EXPERTS[spec.name]:
                assert re.search(rf"^  {e.username}  TOTP secret [A-Z2-7]{{32}}", text,
                                 re.MULTILINE), text

        # Vetted: both nodes keep the observatory's directory listing all of them.
        for data in (node_a, node_b):
            [(signed,)] = federation.query(data, "SELECT directory FROM expert_directory")
            assert len(json.loads(str(signed))["body"]["entries"]) == len(everyone)

        # A's need was matched on B, accepted and picked; both nodes hold the engagement.
        [(need_id,)] = federation.query(node_a, "SELECT need_id FROM expert_needs")
        assert federation.query(node_b, "SELECT need_id FROM expert_needs_received") == [
            (need_id,)]
        [(engagement_id, expert_key)] = federation.query(
            node_a, "SELECT engagement_id, expert_key FROM expert_engagements")
        assert federation.query(node_b, "SELECT engagement_id, expert_key FROM "
                                         "expert_engagements") == [(engagement_id, expert_key)]

        # The synthetic case, shared with that expert, opens in their app on B.
        [(share_id,)] = federation.query(node_a, "SELECT share_id FROM expert_shares_sent "
                                                  "WHERE expert_key = ?", expert_key)

        def held() -> bool:
            rows = federation.query(
                node_b, "SELECT parts, (SELECT count(*) FROM expert_share_parts p "
                        "WHERE p.share_id = h.share_id) FROM expert_shares_held h "
                        "WHERE share_id = ?", share_id)
            return bool(rows) and rows[0][0] == rows[0][1]

        await eventually(held, "the shared case kept on B")
        username, secret = federation.expert_secret(node_b, "demo-expert-baraka")
        # the next time step's code: the demo's own sign-in may have used this one
        expert = federation.signed_in(f"http://127.0.0.1:{b.expert_port}", username,
                                       area="expert", totp_secret=secret,
                                       totp_at=time.time() + 30)
        home = expert("/expert/", None)
        assert f"/expert/shares/{share_id}" in home
        opened = expert(f"/expert/shares/{share_id}", None)
        assert node_demo.SHARED_CASE_NARRATIVE in opened
        assert node_demo.LABEL in opened  # clearly synthetic

        # Issue 18: the match, seen by both coordinators; the spellings nowhere central.
        for spec, data in ((a, node_a), (b, node_b)):
            assert federation.query(data, "SELECT others FROM matching_matches") == [(1,)]
            coordinator = federation.signed_in(f"http://127.0.0.1:{spec.staff_port}",
                                               node_demo.DEMO_ADMIN)
            page = coordinator(f"/staff/cases/{matching.case_of(data)}/perpetrators", None)
            assert "This case matched a case at 1 other organisation(s)." in page
            line = next(t for t in (data / node_demo.CREDENTIALS_FILE).read_text(
                encoding="utf-8").splitlines() if t.startswith("Matching demo:"))
            for person, group in matching.COMMANDER.values():
                assert person in line and group in line
        for person, group in matching.COMMANDER.values():
            for central in (root / "observatory", root / matching.EVALUATOR):
                for text in (person, group):
                    assert files_containing(central, text.encode()) == [], text
    except BaseException:
        _show_federation_logs(root)
        raise
    finally:
        procs.stop()


def _show_federation_logs(root: Path) -> None:
    """On a failure, what the demo's processes said about their federation traffic (the
    demo's synthetic data; the logs hold no report text)."""
    for log in sorted((root / "logs").glob("*.log")):
        lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                 if "federation" in line or "outbox" in line]
        print(f"--- {log.name}: the last of {len(lines)} federation lines ---")
        print("\n".join(lines[-80:]))
