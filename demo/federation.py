"""Start (and on first run create) the demo federation; print where everything is.

    DIR/observatory       `backup-observatory init`, served on 127.0.0.1:8090 (libp2p 4101)
    DIR/node-a, node-b    `backup-node` demo nodes, served on 127.0.0.1:8080 and :8081, their
                          staff offices on their own addresses, 127.0.0.1:8180 and :8181,
                          their expert apps on 127.0.0.1:8280 and :8281 (libp2p 4111,
                          4112), each the other's peer witness
    DIR/evaluator         `backup-evaluator`, the OPRF evaluator of perpetrator tokens as its
                          own process (libp2p 4121; issue 18, `demo.matching`)
    DIR/logs              the processes' logs

Everything is synthetic and says so. Never use it for real reports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pyotp

from demo import channels, matching
from node import demo as node_demo
from node.datadir import DataDir

PASSPHRASE = node_demo.DEMO_PASSPHRASE
WAIT_SECONDS = 90
HOST = "127.0.0.1"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    country: str
    web_port: int
    p2p_port: int
    staff_port: int
    expert_port: int


@dataclass(frozen=True)
class Layout:
    """Where the demo federation listens: fixed for `make demo`, free ports in its test;
    and how often its nodes look (the test sets shorter rounds, so it waits less)."""

    nodes: tuple[NodeSpec, ...]
    observatory_web: int
    observatory_p2p: int
    evaluator_p2p: int = 4121
    membership_refresh_seconds: int = 30
    push_check_seconds: int = 5


# Both demo organisations work in one country, in overlapping regions (the demo node's
# fictional regions count as provinces of the DR Congo, `node.demo.DEMO_CONFIG`), so that the
# observatory's region table shows two organisations' counts combined by subdivision.
NODES = (NodeSpec("a", "CD", 8080, 4111, 8180, 8280),
         NodeSpec("b", "CD", 8081, 4112, 8181, 8281))
OBSERVATORY_WEB, OBSERVATORY_P2P = 8090, 4101
LAYOUT = Layout(NODES, OBSERVATORY_WEB, OBSERVATORY_P2P)

# The demo's experts (issue 16), varied in specialty and language, on both nodes; all
# vouched for by their node's coordinator and countersigned by the demo observatory.
_E = node_demo.DemoExpert
EXPERTS: dict[str, tuple[node_demo.DemoExpert, ...]] = {
    "a": (_E("demo-expert-amina", ("psychosocial_support", "psychology_psychiatry"),
             ("fr", "ar"), ("CD-NK",), ("remote", "on_site")),
          _E("demo-expert-jean", ("interpretation", "domestic_law"), ("fr", "sw", "ar"),
             ("CD-NK", "CD-KN"), ("remote",))),
    "b": (_E("demo-expert-baraka", ("forensic_medicine", "sexual_reproductive_health"),
             ("sw", "fr", "en"), ("CD-SK", "CD-NK"), ("on_site", "remote")),
          _E("demo-expert-olena", ("international_criminal_law", "investigation"),
             ("uk", "en"), (), ("remote",))),
}
# The need node A posts: only node B's forensic doctor fits it.
NEED = {"specialty": "forensic_medicine", "languages": "sw", "country": "CD",
        "regions": "CD-SK", "mode": "on_site", "urgency": "urgent", "deadline_hours": "72",
        "description": f"{node_demo.LABEL} Synthetic need: a medico-legal examination for an "
                       "invented case, within three days."}
MOBILISED_FILE = "DEMO-EXPERTS-MOBILISED"


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True,  # noqa: S603
                          env={**os.environ, **(env or {})}, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _node_config(spec: NodeSpec, peer: NodeSpec, peer_id: str, observatory: dict[str, str],
                 layout: Layout = LAYOUT) -> str:
    base = node_demo.DEMO_CONFIG.replace(
        'site_name = "BackUp (demo)"', f'site_name = "BackUp (demo node {spec.name.upper()})"'
    ).replace('organisation = "Demo Partner Organisation (fictional)"',
              f'organisation = "Demo Partner Organisation {spec.name.upper()} (fictional)"'
    ).replace('languages = ["en", "fr", "ar", "sw", "uk"]',  # every shipped one (issue 20)
              'languages = ["en", "fr", "ar", "sw", "uk", "es", "pt"]')
    # issue 19: node A answers USSD and SMS
    channel = channels.CONFIG if spec is layout.nodes[0] else ""
    return base + channel + f'''
# The demo federation: the observatory on this machine, the other demo node as peer witness.
[federation]
observatory_node_id = "{observatory['node_id']}"
observatory_identity_key = "{observatory['identity_key']}"
observatory_addrs = ["/ip4/{HOST}/tcp/{layout.observatory_p2p}"]
listen_host = "{HOST}"
listen_port = {spec.p2p_port}
organisation_name = "Demo Partner Organisation {spec.name.upper()} (fictional)"
country = "{spec.country}"
contact = "demo-{spec.name}@example.org"
enrollment_poll_seconds = 2
membership_refresh_seconds = {layout.membership_refresh_seconds}
push_check_seconds = {layout.push_check_seconds}
# the OPRF evaluator of perpetrator tokens (issue 18), its own process
evaluator_addrs = ["/ip4/{HOST}/tcp/{layout.evaluator_p2p}"]

[[federation.peer_witnesses]]
node_id = "{peer_id}"
addrs = ["/ip4/{HOST}/tcp/{peer.p2p_port}"]

# The expert app, on its own address (issue 16).
[expert_app]
enabled = true
host = "{HOST}"
port = {spec.expert_port}
'''


def prepare(root: Path, reports: int, layout: Layout = LAYOUT) -> None:
    """Create the observatory and the two nodes once."""
    obs = root / "observatory"
    if not (obs / "observatory.toml").exists():
        print("Creating the demo observatory…", flush=True)
        _run("-m", "observatory.cli", "init", "--data", str(obs),
             env={"BACKUP_OBSERVATORY_PASSPHRASE": PASSPHRASE})
    observatory = json.loads(_run("-m", "observatory.cli", "show-key", "--data", str(obs),
                                  "--json"))
    ids: dict[str, str] = {}
    for spec in layout.nodes:
        data = root / f"node-{spec.name}"
        if not (data / "node.db").exists():
            print(f"Creating demo node {spec.name.upper()} with {reports} synthetic reports…",
                  flush=True)
            node_demo.prepare(data, reports, experts=EXPERTS.get(spec.name, ()),
                              expert_url=f"http://{HOST}:{spec.expert_port}",
                              shared_case=spec is layout.nodes[0])
        matching.seed_case(data, spec.name)  # the invented commander (issue 18)
        ids[spec.name] = _node_id(data)
    a, b = layout.nodes
    for spec, peer in ((a, b), (b, a)):
        (root / f"node-{spec.name}" / "node.toml").write_text(
            _node_config(spec, peer, ids[peer.name], observatory, layout), encoding="utf-8")
    channels.enable(root / f"node-{a.name}", f"http://{HOST}:{a.web_port}")
    matching.prepare_evaluator(root, layout.evaluator_p2p,
                               [root / f"node-{s.name}" for s in layout.nodes], _run)


def _node_id(data: Path) -> str:
    from node.datadir import DataDir
    from node.keyring import load
    from node.storage.database import Database

    db = Database(DataDir(data).database)
    try:
        return load(DataDir(data), db).node_id
    finally:
        db.close()


class Processes:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []
        (root / "logs").mkdir(exist_ok=True)

    def start(self, name: str, *args: str) -> None:
        log = (self.root / "logs" / f"{name}.log").open("ab")
        self.procs.append(subprocess.Popen([sys.executable, *args],  # noqa: S603 -- our CLIs
                                           stdout=log, stderr=subprocess.STDOUT))
        log.close()

    def check(self) -> None:
        for p in self.procs:
            if p.poll() is not None:
                raise SystemExit(f"a demo process stopped (exit {p.returncode}); "
                                 f"see {self.root / 'logs'}")

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 -- loopback only
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


def _wait(what: str, check: object, procs: Processes, seconds: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        procs.check()
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    print(f"  (still waiting for {what}; carrying on)", flush=True)
    return False


def _approve(root: Path, node_ids: list[str], procs: Processes) -> None:
    obs = str(root / "observatory")

    def all_known() -> bool:
        listed = _run("-m", "observatory.cli", "members", "--data", obs, "--all") + _run(
            "-m", "observatory.cli", "requests", "--data", obs)
        return all(n in listed for n in node_ids)

    if _wait("the nodes' membership requests", all_known, procs):
        members = _run("-m", "observatory.cli", "members", "--data", obs)
        for node_id in node_ids:
            if node_id not in members:
                _run("-m", "observatory.cli", "approve", node_id, "--data", obs)


Fields = dict[str, str | list[str]]
Fetch = Callable[[str, Fields | None], str]


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    return m.group(1) if m else ""


def signed_in(base: str, username: str, *, area: str = "staff",
               totp_secret: str | None = None, totp_at: float | None = None) -> Fetch:
    """A person signed in on a node's pages, as their browser would be: the staff office,
    or (`area="expert"`) the expert app, whose second step asks for a TOTP code."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def fetch(path: str, fields: Fields | None = None) -> str:
        data = None if fields is None else urllib.parse.urlencode(fields, doseq=True).encode()
        request = urllib.request.Request(base + path, data=data)  # noqa: S310 -- loopback
        with opener.open(request, timeout=120) as r:
            return str(r.read().decode())

    page = fetch(f"/{area}/login", {"csrf": _csrf(fetch(f"/{area}/login", None)),
                                    "username": username, "passphrase": PASSPHRASE})
    if totp_secret is not None:
        fetch(f"/{area}/login/code", {"csrf": _csrf(page),
                                      "code": pyotp.TOTP(totp_secret).at(
                                          time.time() if totp_at is None else totp_at)})
    return fetch


def _publish_statistics(root: Path, spec: NodeSpec) -> None:
    """As the team would: the analyst drafts a release on the node's staff pages and the
    coordinator approves it (four eyes, issue 15: the drafter cannot approve their own)."""
    marker = root / f"node-{spec.name}" / "DEMO-STATISTICS-SENT"
    if marker.exists():
        return
    base = f"http://{HOST}:{spec.staff_port}"
    csrf = _csrf
    analyst = signed_in(base, node_demo.DEMO_ANALYST)
    coordinator = signed_in(base, node_demo.DEMO_ADMIN)
    year = time.gmtime().tm_year
    for y in (year - 1, year):
        try:
            page = analyst("/staff/statistics", None)
            drafted = analyst("/staff/statistics/draft", {"csrf": csrf(page), "year": str(y)})
            # the draft's review page: the drafter may discard it, not approve it
            release = re.search(r'/staff/statistics/([0-9a-f]{32})/discard', drafted)
            if release:
                review = coordinator(f"/staff/statistics/{release.group(1)}", None)
                if f"/staff/statistics/{release.group(1)}/approve" in review:
                    coordinator(f"/staff/statistics/{release.group(1)}/approve",
                                {"csrf": csrf(review)})
        except urllib.error.HTTPError:
            continue  # no coded incident that year, or its budget is spent
    marker.write_text("[SYNTHETIC DEMO DATA] statistics releases sent\n", encoding="utf-8")


def query(data: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Read a running demo node's database (read-only: the node is its only writer)."""
    conn = sqlite3.connect(f"file:{DataDir(data).database}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _directory_size(data: Path) -> int:
    rows = query(data, "SELECT directory FROM expert_directory")
    return len(json.loads(str(rows[0][0]))["body"]["entries"]) if rows else 0


def _vet_experts(root: Path, layout: Layout, procs: Processes) -> bool:
    """The observatory admin countersigns the coordinators' vouches for the demo experts;
    both nodes then keep a directory listing them all."""
    obs = str(root / "observatory")
    expected = sum(len(EXPERTS.get(s.name, ())) for s in layout.nodes)
    signed: set[str] = set()

    def all_signed() -> bool:
        out = _run("-m", "observatory.cli", "expert-vouches", "--data", obs)
        for vouch_id in re.findall(r"^(\S+)  expert key [0-9a-f]{64}$", out, re.MULTILINE):
            if vouch_id not in signed:
                _run("-m", "observatory.cli", "countersign", vouch_id, "--days", "365",
                     "--data", obs)
                signed.add(vouch_id)
        return len(signed) >= expected

    if not _wait("the experts' vouches", all_signed, procs):
        return False
    return _wait("the expert directory on both nodes", lambda: all(
        _directory_size(root / f"node-{s.name}") >= expected for s in layout.nodes), procs)


def _mobilise(root: Path, layout: Layout, procs: Processes) -> None:
    """As the people would, on their pages: A's coordinator posts a need, B's forensic
    doctor accepts it in the expert app, A's coordinator picks them and shares the synthetic
    case with them (its reporter allowed it)."""
    a, b = layout.nodes
    marker = root / f"node-{a.name}" / MOBILISED_FILE
    if marker.exists() or not _vet_experts(root, layout, procs):
        return
    coordinator = signed_in(f"http://{HOST}:{a.staff_port}", node_demo.DEMO_ADMIN)
    page = coordinator("/staff/needs", None)
    posted = coordinator("/staff/needs", {"csrf": _csrf(page), **NEED})
    found = re.search(r"/staff/needs/([0-9a-f]{32})/", posted) or re.search(
        r"/staff/needs/([0-9a-f]{32})", posted)
    if found is None:
        print("  (the demo need was not posted; carrying on)", flush=True)
        return
    need_id = found.group(1)
    node_b = root / f"node-{b.name}"
    if not _wait("the need on node B", lambda: bool(query(
            node_b, "SELECT 1 FROM expert_needs_received WHERE need_id = ?", need_id)), procs):
        return
    a_id = _node_id(root / f"node-{a.name}")
    username, secret = expert_secret(node_b, "demo-expert-baraka")
    expert = signed_in(f"http://{HOST}:{b.expert_port}", username, area="expert",
                        totp_secret=secret)
    listing = expert("/expert/needs", None)
    expert(f"/expert/needs/{a_id}/{need_id}/answer",
           {"csrf": _csrf(listing), "answer": "accept"})
    node_a = root / f"node-{a.name}"
    if not _wait("the acceptance on node A", lambda: bool(query(
            node_a, "SELECT 1 FROM expert_need_matches WHERE need_id = ? AND answer = 'accept'",
            need_id)), procs):
        return
    page = coordinator(f"/staff/needs/{need_id}", None)
    [expert_key] = re.findall(r'name="expert" value="([0-9a-f]{64})"', page)
    coordinator(f"/staff/needs/{need_id}/pick", {"csrf": _csrf(page), "expert": expert_key})
    [(engagement_id,)] = query(node_a, "SELECT engagement_id FROM expert_engagements "
                                        "WHERE need_id = ?", need_id)
    if not _wait("the engagement on node B", lambda: bool(query(
            node_b, "SELECT 1 FROM expert_engagements WHERE engagement_id = ?",
            engagement_id)), procs):
        return
    report_id = (node_a / node_demo.SHARED_CASE_FILE).read_text(encoding="utf-8").strip()
    page = coordinator(f"/staff/cases/{report_id}/share?engagement={engagement_id}"
                       f"&expert={expert_key}", None)
    coordinator(f"/staff/cases/{report_id}/share", {
        "csrf": _csrf(page), "engagement": str(engagement_id), "expert": expert_key,
        "days": "14", "groups": ["narrative", "when", "place", "needs"]})
    marker.write_text(f"{node_demo.LABEL} need {need_id} engaged {engagement_id}\n",
                      encoding="utf-8")


def expert_secret(data: Path, username: str) -> tuple[str, str]:
    """The demo expert's TOTP secret, from the node's demo credentials file."""
    text = (data / node_demo.CREDENTIALS_FILE).read_text(encoding="utf-8")
    found = re.search(rf"^  {re.escape(username)}  TOTP secret ([A-Z2-7]+)", text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"no TOTP secret for {username} in {data}")
    return username, found.group(1)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def start(root: Path, procs: Processes, layout: Layout = LAYOUT) -> list[str]:
    """Start the prepared federation and bring it to its demo state: members approved,
    checkpoints witnessed, statistics sent, experts vetted and one of them engaged with a
    shared synthetic case. The nodes' ids."""
    procs.start("observatory", "-m", "observatory.cli", "serve", "--data",
                str(root / "observatory"), "--host", HOST, "--port",
                str(layout.observatory_web), "--p2p-port", str(layout.observatory_p2p))
    procs.start("evaluator", "-m", "observatory.evaluator_cli", "serve", "--data",
                str(root / matching.EVALUATOR))
    for spec in layout.nodes:
        procs.start(f"node-{spec.name}", "-m", "node.cli", "serve", "--data",
                    str(root / f"node-{spec.name}"), "--host", HOST, "--port",
                    str(spec.web_port), "--staff-port", str(spec.staff_port))
    ids = [_node_id(root / f"node-{s.name}") for s in layout.nodes]
    print("Starting the observatory and two nodes…", flush=True)
    _wait("the web servers", lambda: all(
        _get(f"http://{HOST}:{p}/")[0] in (200, 302) for p in
        (layout.observatory_web, *(s.web_port for s in layout.nodes))), procs)
    _approve(root, ids, procs)
    _wait("witnessed checkpoints", lambda: all(
        _get(f"http://{HOST}:{layout.observatory_web}/api/v1/checkpoints/{i}")[0] == 200
        for i in ids), procs)
    for spec in layout.nodes:
        _publish_statistics(root, spec)
    _mobilise(root, layout, procs)
    _show_match(root, layout, procs)
    return ids


def _show_match(root: Path, layout: Layout, procs: Processes) -> None:
    """Issue 18: each coordinator signs in (their key opens the case to evaluate), and the
    match notice reaches both nodes."""
    for spec in layout.nodes:
        signed_in(f"http://{HOST}:{spec.staff_port}", node_demo.DEMO_ADMIN)
    _wait("the match notices on both nodes", lambda: all(
        query(root / f"node-{s.name}", "SELECT 1 FROM matching_matches") for s in layout.nodes),
        procs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--data", default="demo-data", help="where the demo lives")
    parser.add_argument("--reports", type=int, default=40, help="synthetic reports per node")
    args = parser.parse_args(argv)
    root = Path(args.data).resolve()
    root.mkdir(parents=True, exist_ok=True)
    prepare(root, args.reports)
    procs = Processes(root)
    # `kill`, a closed terminal or a supervisor stop the demo as Ctrl-C does: its three
    # servers are stopped too, not left running on the demo's ports
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        ids = start(root, procs)
        _print_banner(root, ids)
        while True:
            procs.check()
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping the demo…", flush=True)
    finally:
        procs.stop()
    return 0


def _print_banner(root: Path, ids: list[str]) -> None:
    lines = ["", "=== BackUp DEMO federation -- synthetic data, not for real reports ===", "",
             f"Observatory (public statistics): http://{HOST}:{OBSERVATORY_WEB}/",
             f"Observatory admin:               http://{HOST}:{OBSERVATORY_WEB}/admin/"
             f"   passphrase: {PASSPHRASE}", ""]
    for spec, node_id in zip(NODES, ids, strict=True):
        lines += [f"Node {spec.name.upper()} (id {node_id[:12]}…, country {spec.country}):",
                  f"  reporting site: http://{HOST}:{spec.web_port}/",
                  f"  staff login:    http://{HOST}:{spec.staff_port}/staff/login",
                  f"  expert app:     http://{HOST}:{spec.expert_port}/expert/login"]
        creds = root / f"node-{spec.name}" / node_demo.CREDENTIALS_FILE
        lines += ["  " + line for line in creds.read_text(encoding="utf-8").splitlines()[2:]]
        lines.append("")
    lines += [f"Logs: {root / 'logs'}", "Press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)
