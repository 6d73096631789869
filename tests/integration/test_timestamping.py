"""RFC 3161 timestamps of checkpoints against a real, local timestamping authority: OpenSSL's
``openssl ts -reply`` behind a small HTTP server on 127.0.0.1, with a throwaway CA and TSA
certificate made by ``openssl`` for the test (issue 4).

A checkpoint gets a token; an answer with another imprint, another nonce, from an untrusted
authority, refused or not an answer is refused and nothing is attached; a court bundle
carries the token and ``backup-evidence verify`` reports it; a flipped byte fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rfc3161_client import _rust as rfc3161_rust

from backup_evidence.timestamps import TimestampError, load_trusted, verify_token
from backup_evidence.verify import verify_bundle
from crypto.keys import DataKey, SigningKey
from node.config import TimestampingConfig
from node.context import NodeContext
from node.demo import tiny_png
from node.evidence import checkpoints
from node.evidence.checkpoints import StoredCheckpoint
from node.evidence.timestamping import build_request, check_response, timestamp_pending
from node.intake.models import Consent, ReportInput
from node.storage.database import Database
from tests.conftest import ROOT
from tests.evidence_log import EvidenceLog
from tests.team import make_team

OPENSSL_TIMEOUT_S = 30
MAX_QUERY_BYTES = 16 * 1024
SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")  # AlgorithmIdentifier


def openssl(*args: str, cwd: Path) -> bytes:
    if shutil.which("openssl") is None:
        pytest.fail("the `openssl` command is missing: this test's timestamping authority is "
                    "`openssl ts` (Debian package `openssl`: apt-get install openssl)")
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True,
                          timeout=OPENSSL_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def make_ca(directory: Path, name: str) -> Path:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name}",
            "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", cwd=directory)
    return directory / f"{name}.pem"


@dataclass
class Authority:
    url: str
    root: Path
    other_root: Path
    directory: Path
    rewrite: Callable[[bytes], bytes] | None = None
    """Replaces the query the TSA answers (to make wrong answers)."""
    content_type: str = "application/timestamp-reply"

    def reply(self, query: bytes) -> bytes:
        """``openssl ts -reply`` for one DER query (each call in its own files)."""
        work = self.directory / f"q-{threading.get_ident()}-{time.monotonic_ns()}"
        work.mkdir()
        (work / "query.tsq").write_bytes(query)
        openssl("ts", "-reply", "-config", str(self.directory / "tsa.cnf"), "-queryfile",
                "query.tsq", "-out", "reply.tsr", cwd=work)
        return (work / "reply.tsr").read_bytes()

    def config(self, root: Path | None = None) -> TimestampingConfig:
        return TimestampingConfig.model_validate(
            {"url": self.url, "trusted_certificates": str(root or self.root),
             "timeout_seconds": 10})


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[Authority]:
    directory = tmp_path / "tsa"
    directory.mkdir()
    root = make_ca(directory, "Test-Root")
    other_root = make_ca(directory, "Other-Root")
    (directory / "tsa-ext.cnf").write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = critical, timeStamping\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Test TSA", cwd=directory)
    openssl("x509", "-req", "-in", "tsa.csr", "-CA", "Test-Root.pem", "-CAkey", "Test-Root.key",
            "-CAcreateserial", "-out", "tsa.pem", "-days", "2", "-extfile", "tsa-ext.cnf",
            cwd=directory)
    (directory / "serial").write_text("01\n")
    (directory / "tsa.cnf").write_text(f"""
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {directory}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
    authority = Authority("", root, other_root, directory)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # RFC 3161 §3.4
            length = int(self.headers.get("Content-Length", "0"))
            if (self.headers.get("Content-Type") != "application/timestamp-query"
                    or not 0 < length <= MAX_QUERY_BYTES):
                self.send_error(400)
                return
            query = self.rfile.read(length)
            if authority.rewrite is not None:
                query = authority.rewrite(query)
            body = authority.reply(query)
            self.send_response(200)
            self.send_header("Content-Type", authority.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    authority.url = f"http://127.0.0.1:{server.server_address[1]}/tsr"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield authority
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# -- a DER query built by hand, to make the TSA answer something else ------------------------


def der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + body


def query(digest: bytes, nonce: int) -> bytes:
    """TimeStampReq { version 1, messageImprint (SHA-256), nonce, certReq TRUE }."""
    imprint = der(0x30, SHA256_ALGORITHM + der(0x04, digest))
    nonce_bytes = nonce.to_bytes(nonce.bit_length() // 8 + 1, "big")  # a positive INTEGER
    return der(0x30, der(0x02, b"\x01") + imprint + der(0x02, nonce_bytes) + b"\x01\x01\xff")


def nonce_of(request: bytes) -> int:
    nonce = rfc3161_rust.parse_timestamp_request(request).nonce
    assert nonce is not None
    return int(nonce)


def imprint_of(request: bytes) -> bytes:
    return bytes(rfc3161_rust.parse_timestamp_request(request).message_imprint.message)


# -- a checkpoint to stamp ---------------------------------------------------------------------

NODE_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "node.db")
    yield database
    database.close()


def sign_checkpoint(db: Database, leaves: int = 5) -> StoredCheckpoint:
    log = EvidenceLog(db)
    log.append_many([b"leaf %d of %d" % (i, time.monotonic_ns()) for i in range(leaves)])
    stored = log.maybe_checkpoint(checkpoints.log_signer(NODE_ID, SigningKey.generate()),
                                  int(time.time()))
    assert stored is not None
    return stored


def stamp(db: Database, config: TimestampingConfig | None) -> int:
    return asyncio.run(timestamp_pending(db, config, int(time.time())))


def token_at(db: Database, size: int) -> bytes | None:
    stored = checkpoints.checkpoint_at(db.read(), size)
    assert stored is not None
    return stored.timestamp_token


def test_a_checkpoint_gets_a_token(db: Database, tsa: Authority) -> None:
    assert stamp(db, tsa.config()) == 0  # nothing signed yet
    first = sign_checkpoint(db)
    assert stamp(db, None) == 0  # no [timestamping] section: nothing happens
    assert token_at(db, first.size) is None
    assert stamp(db, tsa.config()) == 1
    token = token_at(db, first.size)
    assert token is not None and token[:1] == b"\x30"
    info = verify_token(token, first.checkpoint.text().encode(), load_trusted(tsa.root))
    assert abs(info.gen_time.timestamp() - time.time()) < 120
    assert info.tsa_subject == "CN=Test TSA"
    assert verify_token(token, first.checkpoint.text().encode()) == info  # offline, no roots
    with pytest.raises(TimestampError) as refused:
        verify_token(token, first.checkpoint.text().encode() + b"x")
    assert refused.value.code == "imprint"
    assert stamp(db, tsa.config()) == 0  # done once
    second = sign_checkpoint(db)
    third = sign_checkpoint(db)
    assert stamp(db, tsa.config()) == 2
    assert token_at(db, second.size) and token_at(db, third.size)


@pytest.mark.parametrize(("make", "code"), [
    ("imprint", "imprint"),
    ("nonce", "nonce"),
    ("untrusted", "untrusted"),
    ("rejected", "not_granted"),
    ("content_type", "content_type"),
])
def test_wrong_answers_attach_nothing(db: Database, tsa: Authority, make: str, code: str,
                                      caplog: pytest.LogCaptureFixture) -> None:
    stored = sign_checkpoint(db)
    config = tsa.config()
    if make == "imprint":
        tsa.rewrite = lambda q: query(hashlib.sha256(b"another checkpoint").digest(),
                                      nonce_of(q))
    elif make == "nonce":
        tsa.rewrite = lambda q: query(imprint_of(q), nonce_of(q) ^ 1)
    elif make == "untrusted":
        config = tsa.config(tsa.other_root)
    elif make == "rejected":  # MD5 is not among the TSA's digests: it answers "rejection"
        tsa.rewrite = lambda q: der(0x30, der(0x02, b"\x01") + der(0x30, der(
            0x30, bytes.fromhex("06082a864886f70d02050500")) + der(0x04, bytes(16))))
    else:
        tsa.content_type = "text/html"
    with caplog.at_level(logging.INFO, logger="node.evidence.timestamping"):
        assert stamp(db, config) == 0
    assert token_at(db, stored.size) is None
    assert code in caplog.text  # the log says why, with an error code and sizes only
    assert stored.checkpoint.text() not in caplog.text
    assert checkpoints.timestamp_imprint(stored).hex() not in caplog.text


def test_check_response_refuses_each_mismatch(db: Database, tsa: Authority) -> None:
    stored = sign_checkpoint(db)
    trusted = load_trusted(tsa.root)
    request = build_request(stored)
    now = int(time.time())
    answer = tsa.reply(request.as_bytes())
    token = check_response(answer, request, stored, trusted, now)
    assert verify_token(token, stored.checkpoint.text().encode(), trusted)
    for response, code, when in [
        (tsa.reply(build_request(stored).as_bytes()), "nonce", now),  # another request's
        (tsa.reply(query(bytes(32), int(request.nonce or 0))), "imprint", now),
        (answer, "untrusted", now),
        (answer, "clock", now + 3600),
        (answer[:-1], "malformed", now),
    ]:
        roots = load_trusted(tsa.other_root) if code == "untrusted" else trusted
        with pytest.raises(TimestampError) as refused:
            check_response(response, request, stored, roots, when)
        assert refused.value.code == code


def test_an_unreachable_authority_attaches_nothing(db: Database, tsa: Authority) -> None:
    stored = sign_checkpoint(db)
    config = TimestampingConfig.model_validate(
        {"url": "http://127.0.0.1:9/tsr", "trusted_certificates": str(tsa.root),
         "timeout_seconds": 2})
    assert stamp(db, config) == 0
    assert token_at(db, stored.size) is None


def test_the_template_section_is_valid_once_uncommented() -> None:
    import re
    import tomllib

    from node import config

    text = config.template_text()
    start = text.index("# [timestamping]")
    end = text.index("\n\n", start)
    section = "\n".join(re.sub(r"^# ?", "", line) for line in text[start:end].splitlines()
                        if not line.startswith("# #"))
    parsed = config.parse(tomllib.loads(section)).timestamping
    assert parsed is not None and parsed.timeout_seconds == 10
    with pytest.raises(config.ConfigError, match="absolute"):
        config.parse({"timestamping": {"url": "https://tsa.example.org/",
                                       "trusted_certificates": "roots.pem"}})


# -- court bundles -----------------------------------------------------------------------------


def submit(ctx: NodeContext) -> str:
    key = DataKey.generate()
    staged = []
    allowance = ctx.intake.allowance()
    for i in range(2):
        writer = ctx.intake.attachment_writer(key, allowance, f"photo-{i}.png")
        writer.feed(tiny_png(i) + bytes([i]) * 100)
        staged.append(writer.finish())
    receipt = ctx.intake.submit(ReportInput(narrative="what happened", region="R1",
                                            consent=Consent(legal=True)), key, staged, "test")
    return receipt.report_id


def stamped_bundle(ctx: NodeContext, tsa: Authority, tmp_path: Path) -> tuple[Path, int]:
    report_id = submit(ctx)
    signer = checkpoints.log_signer(ctx.keys.node_id, ctx.keys.identity)
    stored = EvidenceLog(ctx.db).maybe_checkpoint(signer, int(time.time()))
    assert stored is not None
    assert stamp(ctx.db, tsa.config()) == 1
    data = ctx.bundles.export(make_team(ctx).coordinator, report_id)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return path, stored.size


def test_the_bundle_carries_the_token_and_the_verifier_reports_it(
        node_ctx: NodeContext, tsa: Authority, tmp_path: Path) -> None:
    path, size = stamped_bundle(node_ctx, tsa, tmp_path)
    member = f"checkpoints/checkpoint-{size}.tsr"
    with zipfile.ZipFile(path) as z:
        import json

        manifest = json.loads(z.read("manifest.json"))
        token = z.read(member)
    assert manifest["checkpoint_timestamp"] == member and member in manifest["files"]
    assert token == token_at(node_ctx.db, size)
    key = node_ctx.keys.identity_public.raw().hex()
    report = verify_bundle(str(path), key)
    assert report.ok, [c for c in report.checks if not c[1]]
    stamp_check = next(c for c in report.checks if c[0] == "checkpoint timestamp")
    assert stamp_check[1] and "genTime" in stamp_check[2] and "CN=Test TSA" in stamp_check[2]
    assert verify_bundle(str(path), key, tsa_certificates=load_trusted(tsa.root)).ok
    untrusted = verify_bundle(str(path), key, tsa_certificates=load_trusted(tsa.other_root))
    assert not untrusted.ok
    # the offline verifier, as a lawyer runs it
    for extra, status in (([], 0), (["--tsa-cert", str(tsa.root)], 0),
                          (["--tsa-cert", str(tsa.other_root)], 1)):
        out = subprocess.run([sys.executable, "-m", "backup_evidence.verify", "verify", str(path),
                              "--public-key", key, *extra], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
        assert out.returncode == status, out.stdout + out.stderr
        assert "checkpoint timestamp: RFC 3161, genTime " in out.stdout or status


def _flip(data: bytes, member: str, position: int) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == member:
                content = content[:position] + bytes([content[position] ^ 0x01]) + \
                    content[position + 1:]
            dst.writestr(info, content)
    return buf.getvalue()


def test_a_flipped_byte_in_the_token_fails(node_ctx: NodeContext, tsa: Authority,
                                           tmp_path: Path) -> None:
    path, size = stamped_bundle(node_ctx, tsa, tmp_path)
    member = f"checkpoints/checkpoint-{size}.tsr"
    data = path.read_bytes()
    token = zipfile.ZipFile(path).read(member)
    key = node_ctx.keys.identity_public.raw().hex()
    tampered = tmp_path / "tampered.zip"
    for position in range(0, len(token), 11):
        tampered.write_bytes(_flip(data, member, position))
        report = verify_bundle(str(tampered), key)
        assert not report.ok, position
        failed = {name for name, ok, _ in report.checks if not ok}
        assert f"file {member}" in failed, position  # its SHA-256 in the signed manifest
    # the token alone, without the manifest: a changed time, imprint or signature fails
    text = checkpoints.checkpoint_at(node_ctx.db.read(), size)
    assert text is not None
    message = text.checkpoint.text().encode()
    imprint = hashlib.sha256(message).digest()
    for position in (token.index(imprint) + 3, len(token) - 2,
                     token.index(b"\x18\x0f") + 8):  # in the imprint, signature, genTime
        changed = token[:position] + bytes([token[position] ^ 0x01]) + token[position + 1:]
        with pytest.raises(TimestampError):
            verify_token(changed, message)
