"""Start (and on first run create) the demo federation; print where everything is.

    DIR/observatory       `backup-observatory init`, served on 127.0.0.1:8090 (libp2p 4101)
    DIR/node-a, node-b    `backup-node` demo nodes, served on 127.0.0.1:8080 and :8081, their
                          staff offices on their own addresses, 127.0.0.1:8180 and :8181
                          (libp2p 4111, 4112), each the other's peer witness
    DIR/logs              the processes' logs

Everything is synthetic and says so. Never use it for real reports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
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

from demo import channels
from node import demo as node_demo

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


# Both demo organisations work in one country, in overlapping regions (the demo node's
# fictional regions count as provinces of the DR Congo, `node.demo.DEMO_CONFIG`), so that the
# observatory's region table shows two organisations' counts combined by subdivision.
NODES = (NodeSpec("a", "CD", 8080, 4111, 8180), NodeSpec("b", "CD", 8081, 4112, 8181))
OBSERVATORY_WEB, OBSERVATORY_P2P = 8090, 4101


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True,  # noqa: S603
                          env={**os.environ, **(env or {})}, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _node_config(spec: NodeSpec, peer: NodeSpec, peer_id: str, observatory: dict[str, str]
                 ) -> str:
    base = node_demo.DEMO_CONFIG.replace(
        'site_name = "BackUp (demo)"', f'site_name = "BackUp (demo node {spec.name.upper()})"'
    ).replace('organisation = "Demo Partner Organisation (fictional)"',
              f'organisation = "Demo Partner Organisation {spec.name.upper()} (fictional)"')
    # issue 19: node A answers USSD and SMS
    channel = channels.CONFIG if spec is NODES[0] else ""
    return base + channel + f'''
# The demo federation: the observatory on this machine, the other demo node as peer witness.
[federation]
observatory_node_id = "{observatory['node_id']}"
observatory_identity_key = "{observatory['identity_key']}"
observatory_addrs = ["/ip4/{HOST}/tcp/{OBSERVATORY_P2P}"]
listen_host = "{HOST}"
listen_port = {spec.p2p_port}
organisation_name = "Demo Partner Organisation {spec.name.upper()} (fictional)"
country = "{spec.country}"
contact = "demo-{spec.name}@example.org"
enrollment_poll_seconds = 2
membership_refresh_seconds = 30
push_check_seconds = 5

[[federation.peer_witnesses]]
node_id = "{peer_id}"
addrs = ["/ip4/{HOST}/tcp/{peer.p2p_port}"]
'''


def prepare(root: Path, reports: int) -> None:
    """Create the observatory and the two nodes once."""
    obs = root / "observatory"
    if not (obs / "observatory.toml").exists():
        print("Creating the demo observatory…", flush=True)
        _run("-m", "observatory.cli", "init", "--data", str(obs),
             env={"BACKUP_OBSERVATORY_PASSPHRASE": PASSPHRASE})
    observatory = json.loads(_run("-m", "observatory.cli", "show-key", "--data", str(obs),
                                  "--json"))
    ids: dict[str, str] = {}
    for spec in NODES:
        data = root / f"node-{spec.name}"
        if not (data / "node.db").exists():
            print(f"Creating demo node {spec.name.upper()} with {reports} synthetic reports…",
                  flush=True)
            node_demo.prepare(data, reports)
        ids[spec.name] = _node_id(data)
    for spec, peer in ((NODES[0], NODES[1]), (NODES[1], NODES[0])):
        (root / f"node-{spec.name}" / "node.toml").write_text(
            _node_config(spec, peer, ids[peer.name], observatory), encoding="utf-8")
    channels.enable(root / f"node-{NODES[0].name}", f"http://{HOST}:{NODES[0].web_port}")


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


def _publish_statistics(root: Path, spec: NodeSpec) -> None:
    """As the team would: the analyst drafts a release on the node's staff pages and the
    coordinator approves it (four eyes, issue 15: the drafter cannot approve their own)."""
    marker = root / f"node-{spec.name}" / "DEMO-STATISTICS-SENT"
    if marker.exists():
        return
    base = f"http://{HOST}:{spec.staff_port}"

    def csrf(html: str) -> str:
        m = re.search(r'name="csrf" value="([^"]+)"', html)
        return m.group(1) if m else ""

    def signed_in(username: str) -> Callable[[str, dict[str, str] | None], str]:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

        def fetch(path: str, fields: dict[str, str] | None = None) -> str:
            data = None if fields is None else urllib.parse.urlencode(fields).encode()
            request = urllib.request.Request(base + path, data=data)  # noqa: S310 -- loopback
            with opener.open(request, timeout=120) as r:
                return str(r.read().decode())

        fetch("/staff/login", {"csrf": csrf(fetch("/staff/login", None)),
                               "username": username, "passphrase": PASSPHRASE})
        return fetch

    analyst = signed_in(node_demo.DEMO_ANALYST)
    coordinator = signed_in(node_demo.DEMO_ADMIN)
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


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
        procs.start("observatory", "-m", "observatory.cli", "serve", "--data",
                    str(root / "observatory"), "--host", HOST, "--port", str(OBSERVATORY_WEB),
                    "--p2p-port", str(OBSERVATORY_P2P))
        for spec in NODES:
            procs.start(f"node-{spec.name}", "-m", "node.cli", "serve", "--data",
                        str(root / f"node-{spec.name}"), "--host", HOST, "--port",
                        str(spec.web_port), "--staff-port", str(spec.staff_port))
        ids = [_node_id(root / f"node-{s.name}") for s in NODES]
        print("Starting the observatory and two nodes…", flush=True)
        _wait("the web servers", lambda: all(
            _get(f"http://{HOST}:{p}/")[0] in (200, 302) for p in
            (OBSERVATORY_WEB, *(s.web_port for s in NODES))), procs)
        _approve(root, ids, procs)
        _wait("witnessed checkpoints", lambda: all(
            _get(f"http://{HOST}:{OBSERVATORY_WEB}/api/v1/checkpoints/{i}")[0] == 200
            for i in ids), procs)
        for spec in NODES:
            _publish_statistics(root, spec)
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
                  f"  staff login:    http://{HOST}:{spec.staff_port}/staff/login"]
        creds = root / f"node-{spec.name}" / node_demo.CREDENTIALS_FILE
        lines += ["  " + line for line in creds.read_text(encoding="utf-8").splitlines()[2:]]
        lines.append("")
    lines += [f"Logs: {root / 'logs'}", "Press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)
