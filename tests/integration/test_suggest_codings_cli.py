"""`backup-node suggest-codings` (issue 17, item 6): the contract, run as the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from protocol.vocabulary import AFFILIATIONS, CATEGORIES

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {"id", "language", "is_crsv", "categories", "perpetrator_affiliation",
                 "perpetrator_affiliations", "confidence", "evidence"}

# Runs the command in a process whose every socket creation, connection and name lookup is
# refused and reported (PEP 578 audit hooks see them all, from Python or C extensions that go
# through the socket module): the suggestion path must not even try.
NO_SOCKET_RUNNER = """
import sys
def hook(event, args):
    if event.startswith("socket.") or event in ("urllib.Request",):
        sys.stderr.write("NETWORK ATTEMPT: " + event + "\\n")
        raise PermissionError("network refused in this test: " + event)
sys.addaudithook(hook)
from node.cli import main
sys.exit(main(["suggest-codings", *sys.argv[1:]]))
"""


def _run(stdin: bytes, *args: str, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", NO_SOCKET_RUNNER, *args], input=stdin,
                          capture_output=True, cwd=ROOT, timeout=300,
                          env={**os.environ, **(env or {})})


def _lines(stdin: bytes, *args: str) -> list[dict[str, Any]]:
    done = _run(stdin, *args)
    assert done.returncode == 0, done.stderr.decode()
    assert b"NETWORK ATTEMPT" not in done.stderr
    return [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]


def _jsonl(*records: Any) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


def test_answers_follow_the_contract_in_order_and_open_no_socket() -> None:
    records = [
        {"id": "a", "text": "Soldiers came into our house and raped me and my sister."},
        {"id": 2, "text": "Des miliciens ont pillé le marché et brûlé les maisons."},
        {"id": "c", "text": "Wanajeshi walinibaka msituni.", "language": "sw"},
        {"id": "d", "text": "Боевики вывезли женщин в лагерь и держали как жён."},
    ]
    out = _lines(_jsonl(*records))
    assert [o["id"] for o in out] == ["a", 2, "c", "d"]
    for o in out:
        assert CONTRACT_KEYS <= set(o), o
        assert isinstance(o["is_crsv"], bool)
        assert set(o["categories"]) <= set(CATEGORIES)
        assert o["perpetrator_affiliation"] in AFFILIATIONS
        assert set(o["perpetrator_affiliations"]) <= set(AFFILIATIONS)
        assert o["perpetrator_affiliation"] in o["perpetrator_affiliations"]
        assert all(0.0 <= v <= 1.0 for v in o["confidence"].values())
        assert all(isinstance(e, str) for e in o["evidence"])
    assert out[0]["is_crsv"] and "rape" in out[0]["categories"]
    assert out[0]["perpetrator_affiliation"] == "state_forces"
    assert any("raped" in e for e in out[0]["evidence"])
    assert not out[1]["is_crsv"] and out[1]["categories"] == []
    assert out[2]["language"] == "sw" and out[2]["confidence"]["language"] == 1.0


def test_bad_lines_get_an_error_and_the_run_goes_on() -> None:
    stdin = b"".join([
        b'{"id": "ok1", "text": "They raped her at the checkpoint."}\n',
        b"this is not json\n",
        b'{"text": "no id here"}\n',
        b'{"id": "x"}\n',
        b"[1, 2, 3]\n",
        b'{"id": "y", "text": 42}\n',
        b'{"id": "z", "text": "\xff\xfe broken utf-8"}\n',
        b"\n",
        b'{"id": "ok2", "text": "The village was burned."}\n',
    ])
    out = _lines(stdin)
    assert [o.get("id") for o in out] == ["ok1", None, None, "x", None, "y", None, "ok2"]
    errors = [o for o in out if "error" in o]
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6, 7]
    assert "JSON" in errors[0]["error"]
    assert "'id'" in errors[1]["error"] and "'text'" in errors[2]["error"]
    assert "object" in errors[3]["error"] and "string" in errors[4]["error"]
    assert "UTF-8" in errors[5]["error"]
    for e in errors:  # an error never echoes the text it was given
        assert "no id here" not in e["error"] and "broken" not in e["error"]
    assert out[0]["is_crsv"] and not out[-1]["is_crsv"]


def test_empty_text_is_not_crsv_with_confidence_zero() -> None:
    (out,) = _lines(_jsonl({"id": "e", "text": ""}))
    assert out["is_crsv"] is False and out["confidence"]["is_crsv"] == 0
    assert out["categories"] == [] and out["evidence"] == []


def test_text_over_100_kb_is_cut_and_the_answer_says_so() -> None:
    long_text = "Armed men raped two women near the river. " + "x" * 120_000
    out = _lines(_jsonl({"id": "long", "text": long_text}, {"id": "short", "text": "hello"}))
    assert out[0]["truncated"] is True and out[0]["is_crsv"]
    assert "truncated" not in out[1]


def test_exit_code_is_zero_on_empty_input() -> None:
    done = _run(b"")
    assert done.returncode == 0 and done.stdout == b""


def test_unreadable_input_is_a_non_zero_exit(tmp_path: Path) -> None:
    # stdin is a directory: reading it fails (EISDIR) -- input that could not be read
    directory = os.open(tmp_path, os.O_RDONLY)
    try:
        done = subprocess.run([sys.executable, "-c", NO_SOCKET_RUNNER], stdin=directory,
                              capture_output=True, cwd=ROOT, timeout=300)
    finally:
        os.close(directory)
    assert done.returncode != 0
    assert b"NETWORK ATTEMPT" not in done.stderr


def test_the_adapted_model_needs_a_node_and_an_account(tmp_path: Path) -> None:
    # the adapted model itself: tests/integration/test_adapted_model.py
    done = _run(_jsonl({"id": "a", "text": "x"}), "--data", str(tmp_path))
    assert done.returncode == 2 and done.stdout == b""
    done = _run(_jsonl({"id": "a", "text": "x"}), "--data", str(tmp_path), "--username", "u",
                env={"BACKUP_PASSPHRASE": "correct horse battery"})
    assert done.returncode != 0 and b"not a node" in done.stderr and done.stdout == b""


def test_the_no_socket_runner_does_see_a_socket() -> None:
    # the guard above is not vacuous: the same hook catches a socket opened from Python
    probe = NO_SOCKET_RUNNER.replace("from node.cli import main",
                                     "import socket\nsocket.socket()\nfrom node.cli import main")
    done = subprocess.run([sys.executable, "-c", probe], input=b"", capture_output=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode != 0 and b"NETWORK ATTEMPT: socket.__new__" in done.stderr
