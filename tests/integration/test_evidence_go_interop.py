"""A court bundle of per-field leaves (issue 12) read by Go's reference code: the checkpoint
is opened with ``golang.org/x/mod/sumdb/note`` and every item's inclusion proof checked with
``golang.org/x/mod/sumdb/tlog`` (the log, checkpoint and proof formats did not change).
Needs Go and Debian's ``golang-golang-x-mod-dev``; skipped where they are absent."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from crypto.checkpoint import ED25519, encode_vkey
from node.context import NodeContext
from node.evidence import checkpoints
from tests.integration.test_evidence_disclosure import submit
from tests.team import make_team

GOPATH_SYSTEM = Path("/usr/share/gocode")
PROGRAM = r'''
package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	vkey, note_, _ := os.Args[1], os.Args[2], 0
	verifier, err := note.NewVerifier(vkey)
	if err != nil { fmt.Println("vkey:", err); os.Exit(1) }
	msg, _ := os.ReadFile(note_)
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil { fmt.Println("note:", err); os.Exit(1) }
	lines := strings.Split(n.Text, "\n")
	size, _ := strconv.ParseInt(lines[1], 10, 64)
	rootBytes, _ := base64.StdEncoding.DecodeString(lines[2])
	var root tlog.Hash
	copy(root[:], rootBytes)
	for _, arg := range os.Args[3:] {
		parts := strings.Split(arg, ":")  // index:leafhex:path,path,...
		index, _ := strconv.ParseInt(parts[0], 10, 64)
		leaf, _ := hex.DecodeString(parts[1])
		var proof tlog.RecordProof
		if parts[2] != "" {
			for _, h := range strings.Split(parts[2], ",") {
				b, _ := hex.DecodeString(h)
				var x tlog.Hash
				copy(x[:], b)
				proof = append(proof, x)
			}
		}
		if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(leaf)); err != nil {
			fmt.Println("proof", index, err); os.Exit(1)
		}
	}
	fmt.Println("OK", size)
}
'''


@pytest.mark.skipif(shutil.which("go") is None
                    or not (GOPATH_SYSTEM / "src/golang.org/x/mod/sumdb").is_dir(),
                    reason="needs Go and golang-golang-x-mod-dev")
def test_go_reads_the_checkpoint_and_proofs(node_ctx: NodeContext, tmp_path: Path) -> None:
    report_id = submit(node_ctx)
    data = node_ctx.bundles.export(make_team(node_ctx).coordinator, report_id)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read("manifest.json"))
        (tmp_path / "checkpoint.txt").write_bytes(z.read(manifest["checkpoint"]))
        proofs = [json.loads(z.read(i["proof"])) for i in manifest["items"]]
    assert {i["version"] for i in manifest["items"]} == {2}
    # Issue 13: the checkpoint is signed by the checkpoint role key, under the log's
    # origin name; to Go it is an ordinary signed note by that key.
    vkey = encode_vkey(checkpoints.log_origin(node_ctx.keys.node_id), ED25519,
                       node_ctx.keys.checkpoint_key.verify_key)
    src = tmp_path / "src" / "bundlecheck"
    src.mkdir(parents=True)
    (src / "main.go").write_text(PROGRAM)
    args = [f"{p['leaf_index']}:{p['leaf']}:{','.join(p['inclusion_path'])}" for p in proofs]
    env = {**os.environ, "GO111MODULE": "off", "GOFLAGS": "", "GOCACHE": str(tmp_path / "c"),
           "GOPATH": f"{tmp_path}:{GOPATH_SYSTEM}"}
    out = subprocess.run(["go", "run", "bundlecheck", vkey, str(tmp_path / "checkpoint.txt"),
                          *args], capture_output=True, text=True, env=env, cwd=src,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.startswith("OK"), out.stdout + out.stderr
    # a flipped leaf bit is refused by Go too
    bad = args[0].split(":")
    bad[1] = f"{int(bad[1][:2], 16) ^ 1:02x}" + bad[1][2:]
    out = subprocess.run(["go", "run", "bundlecheck", vkey, str(tmp_path / "checkpoint.txt"),
                          ":".join(bad)], capture_output=True, text=True, env=env, cwd=src,
                         timeout=300)
    assert out.returncode == 1
