"""Encrypted ODK forms (issue 19): submissions encrypted here exactly as ODK Collect encrypts
them, laid out as ODK Briefcase pulls them, imported with the form's private key through the
real command; a flipped bit, a swapped file or a wrong key is refused and imports nothing;
the key is never stored."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from crypto import passphrase as pw
from node.backoffice.access import Action
from node.cli import main
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.demo import tiny_png
from node.imports import odk_encrypted
from node.imports.importer import open_original
from tests.conftest import CANARY, files_containing
from tests.integration.test_imports import ODK_MAPPING
from tests.team import make_team

FORM_ID, VERSION = "crsv_intake", "2026110101"
# Collect's "RSA/NONE/OAEPWithSHA256AndMGF1Padding": SHA-256, MGF1 with SHA-1
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None)


def _md5(data: bytes) -> hashlib._Hash:
    return hashlib.md5(data, usedforsecurity=False)


def _encrypt_file(key: bytes, iv: bytes, data: bytes) -> bytes:
    pad = 16 - len(data) % 16  # "AES/CFB/PKCS5Padding"
    enc = Cipher(algorithms.AES(key), CFB(iv)).encryptor()
    return enc.update(data + bytes([pad]) * pad) + enc.finalize()


def encrypt_instance(instances: Path, public: rsa.RSAPublicKey, instance_id: str,
                     xml: bytes, media: dict[str, bytes]) -> Path:
    """One finalised submission as ODK Collect encrypts it and Briefcase stores it."""
    folder = instances / instance_id.replace(":", "")
    folder.mkdir(parents=True)
    key = os.urandom(32)
    seed = bytearray(_md5(instance_id.encode() + key).digest())
    encrypted_key = base64.b64encode(public.encrypt(key, OAEP)).decode()
    lines = [FORM_ID, VERSION, encrypted_key, instance_id]
    for counter, (name, body) in enumerate([*media.items(), ("submission.xml", xml)]):
        seed[counter % 16] = (seed[counter % 16] + 1) & 0xFF
        (folder / f"{name}.enc").write_bytes(_encrypt_file(key, bytes(seed), body))
        lines.append(f"{name}::{_md5(body).hexdigest()}")
    signature = base64.b64encode(public.encrypt(
        _md5("".join(f"{line}\n" for line in lines).encode()).digest(), OAEP)).decode()
    files = "".join(f"<file>{escape(name)}.enc</file>" for name in media)
    (folder / "submission.xml").write_text(
        f'<data xmlns="http://www.opendatakit.org/xforms/encrypted" id="{FORM_ID}" '
        f'version="{VERSION}" encrypted="yes">'
        f"<base64EncryptedKey>{encrypted_key}</base64EncryptedKey>"
        f'<meta xmlns="http://openrosa.org/xforms"><instanceID>{instance_id}</instanceID>'
        f"</meta><media>{files}</media>"
        f"<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
        f"<base64EncryptedElementSignature>{signature}</base64EncryptedElementSignature>"
        "</data>")
    return folder


def submission_xml(n: int, instance_id: str, photo: str | None) -> bytes:
    return (
        f'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{FORM_ID}" version="{VERSION}">'
        f"<start>2026-11-0{n}T08:00:00.000+01:00</start>"
        f"<end>2026-11-0{n}T08:20:00.000+01:00</end>"
        "<respondent><role>victim</role></respondent>"
        f"<incident><what_happened>{CANARY} in the encrypted form, n\u00b0{n}</what_happened>"
        "<anything_else/><year>2024</year><region>R2</region></incident>"
        "<help><needs>health legal</needs></help>"
        "<consent><help_me>yes</help_me><count_it>no</count_it></consent>"
        f"<evidence><photo>{photo or ''}</photo></evidence>"
        f"<meta><orx:instanceID>{instance_id}</orx:instanceID></meta></data>").encode()


@pytest.fixture
def form_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def briefcase_form(root: Path, private: rsa.RSAPrivateKey) -> tuple[Path, Path]:
    """A form folder as Briefcase pulls it (two submissions, one with a photo), and the key
    file as `openssl genrsa` writes it (PKCS#1 PEM)."""
    form = root / "ODK Briefcase Storage" / "forms" / "CRSV intake"
    for n in (1, 2):
        instance_id = f"uuid:5f0c2b9e-8d1a-4c3b-9e7f-00000000000{n}"
        photo = f"17000000{n}.png" if n == 1 else None
        encrypt_instance(form / "instances", private.public_key(), instance_id,
                         submission_xml(n, instance_id, photo),
                         {photo: tiny_png(n) + CANARY.encode()} if photo else {})
    key_file = root / "form-private.pem"
    key_file.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    return form, key_file


def open_ctx(root: Path) -> NodeContext:
    return open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                     receipt_params=pw.INSECURE_FAST_FOR_TESTS)


def run(node: Path, *args: str) -> int:
    return main(["import", "--data", str(node), "--from", "odk", *args])


def test_encrypted_submissions_are_decrypted_at_import(
        tmp_path: Path, node_dir: DataDir, form_key: rsa.RSAPrivateKey,
        capsys: pytest.CaptureFixture[str]) -> None:
    node = node_dir.root
    form, key_file = briefcase_form(tmp_path, form_key)
    (tmp_path / "map.toml").write_text(ODK_MAPPING)
    mapping_args = ("--mapping", str(tmp_path / "map.toml"))

    assert run(node, str(form), "--key", str(key_file), *mapping_args, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "submission 1: a new report (channel import:odk" in out
    assert "  consent: care\n" in out and "  file: 170000001.png" in out
    assert "dry run: 2 report(s) would be created" in out

    assert run(node, str(form), "--key", str(key_file), *mapping_args) == 0
    assert "imported 2 report(s); 0 already imported" in capsys.readouterr().out
    assert run(node, str(form / "instances"), "--key", str(key_file), *mapping_args) == 0
    assert "imported 0 report(s); 2 already imported" in capsys.readouterr().out

    ctx = open_ctx(node)
    try:
        team = make_team(ctx)
        ids = [r[0] for r in ctx.db.read().execute("SELECT id FROM reports")]
        assert len(ids) == 2
        photos = 0
        for report_id in ids:
            case = ctx.cases.read(team.coordinator, report_id)
            record = case.report.record
            assert record["channel"] == "import:odk" and CANARY in record["narrative"]
            assert record["reporter_role"] == "survivor" and record["needs"] == [
                "medical", "legal"]
            assert case.report.consent.granted() == ["care"]
            for item in case.report.items:
                _meta, body = ctx.cases.open_attachment(team.coordinator, report_id, item.id)
                assert body == tiny_png(1) + CANARY.encode()  # byte for byte
                photos += 1
            key = ctx.case_access.open_case(team.coordinator, Action.READ_CASE, report_id)
            original = open_original(ctx.db.read(), report_id, key)
            assert original is not None and original.startswith(b"<?xml")
            assert CANARY.encode() in original
        assert photos == 1
    finally:
        ctx.close()
    # nothing decrypted is at rest, and the key is not kept anywhere under the data directory
    assert files_containing(node, CANARY.encode()) == []
    der = form_key.private_bytes(serialization.Encoding.DER,
                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
    assert files_containing(node, der[-64:]) == []
    assert files_containing(node, key_file.read_bytes().splitlines()[3]) == []


@pytest.mark.parametrize("target", ["submission.xml.enc", "170000001.png.enc",
                                    "submission.xml"])
def test_a_flipped_bit_is_refused_and_imports_nothing(
        tmp_path: Path, node_dir: DataDir, form_key: rsa.RSAPrivateKey, target: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    form, key_file = briefcase_form(tmp_path, form_key)
    instance = sorted((form / "instances").iterdir())[0]
    path = instance / target
    data = bytearray(path.read_bytes())
    if target == "submission.xml":  # a bit of the element signature
        at = data.index(b"<base64EncryptedElementSignature>") + 40
        data[at] = ord("A") if data[at] != ord("A") else ord("B")
    else:
        data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert run(node_dir.root, str(form), "--key", str(key_file)) == 1
    err = capsys.readouterr().err
    assert "Submission 1 could not be decrypted" in err
    assert CANARY not in err
    assert _report_count(node_dir.root) == 0


def test_a_swapped_file_is_refused(tmp_path: Path, node_dir: DataDir,
                                   form_key: rsa.RSAPrivateKey,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    form, key_file = briefcase_form(tmp_path, form_key)
    first, second = sorted((form / "instances").iterdir())
    (first / "submission.xml.enc").write_bytes((second / "submission.xml.enc").read_bytes())
    assert run(node_dir.root, str(form), "--key", str(key_file)) == 1
    assert "could not be decrypted" in capsys.readouterr().err
    assert _report_count(node_dir.root) == 0


def test_wrong_or_unreadable_key(tmp_path: Path, node_dir: DataDir,
                                 form_key: rsa.RSAPrivateKey,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    form, _key_file = briefcase_form(tmp_path, form_key)
    other = tmp_path / "other.pem"
    other.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048)
                      .private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    assert run(node_dir.root, str(form), "--key", str(other)) == 1
    assert "Submission 1 could not be decrypted (key)" in capsys.readouterr().err
    other.write_bytes(form_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"a passphrase")))
    assert run(node_dir.root, str(form), "--key", str(other)) == 1
    assert "The private key could not be read (passphrase)" in capsys.readouterr().err
    other.write_bytes(b"not a key")
    assert run(node_dir.root, str(form), "--key", str(other)) == 1
    assert "The private key could not be read (PEM)" in capsys.readouterr().err
    assert _report_count(node_dir.root) == 0


def test_key_is_for_odk_only(tmp_path: Path, node_dir: DataDir,
                             form_key: rsa.RSAPrivateKey) -> None:
    form, key_file = briefcase_form(tmp_path, form_key)
    assert main(["import", "--data", str(node_dir.root), "--from", "kobo", str(form),
                 "--key", str(key_file)]) == 2


def test_reader_decrypts_what_collect_encrypts(tmp_path: Path,
                                               form_key: rsa.RSAPrivateKey) -> None:
    form, _ = briefcase_form(tmp_path, form_key)
    subs = odk_encrypted.read_briefcase(form, form_key)
    assert [s.uuid for s in subs] == [f"5f0c2b9e-8d1a-4c3b-9e7f-00000000000{n}" for n in (1, 2)]
    assert subs[0].answers["incident-region"] == "R2"
    assert subs[0].submitted_at == "2026-11-01T08:20:00.000+01:00"
    assert [m.name for m in subs[0].attachments] == ["170000001.png"]
    assert subs[1].attachments == ()


def _report_count(node: Path) -> int:
    ctx = open_ctx(node)
    try:
        return int(ctx.db.read().execute("SELECT COUNT(*) FROM reports").fetchone()[0])
    finally:
        ctx.close()
