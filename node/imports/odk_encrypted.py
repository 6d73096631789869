"""Submissions of an ODK form that uses submission encryption, as ODK Briefcase pulls them.

Briefcase keeps one folder per submission under the form's ``instances`` folder: the
submission manifest ``submission.xml`` (in clear: form id and version, the instanceID, the
RSA-encrypted AES key, the list of encrypted files, the element signature), the encrypted
answers ``submission.xml.enc`` and each media file as ``<name>.enc``.

ODK's scheme (ODK Collect, Enketo and Briefcase agree on it): a random 256-bit AES key per
submission, encrypted to the form's RSA public key with RSA-OAEP (SHA-256; MGF1 with SHA-1
as Java's ``OAEPWithSHA256AndMGF1Padding`` does, SHA-256 accepted too); each file encrypted
with AES-CFB (128-bit segments) and PKCS#7 padding, under an IV taken from a seed, the MD5
of the instanceID then the key, whose byte ``i % 16`` is incremented before the ``i``-th
file (media in the manifest's order, then ``submission.xml``). The element signature is the
MD5 of the form id, version, encrypted key, instanceID and each decrypted file's MD5, one a
line, encrypted with the same RSA-OAEP: it is checked, so a changed or swapped file is
refused rather than imported.

The private key is given at import and only held in memory; nothing here writes a decrypted
byte to disk (the media are handed to the intake's attachment writer from memory).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from node import errors
from node.i18n import N_
from node.imports.formats import MAX_SUBMISSIONS, ExportUnreadable, MediaFile, Submission

MANIFEST = "submission.xml"
ENCRYPTED_XML = "submission.xml.enc"
MAX_FILE = 256 * 1024 * 1024


class KeyUnusable(errors.InvalidInput):
    message = N_("The private key could not be read (%(what)s). Give the form's private key "
                 "as a PEM file without a passphrase. Nothing was imported.")


class NotDecrypted(errors.InvalidInput):
    message = N_("Submission %(number)s could not be decrypted (%(what)s): the key is not "
                 "the form's, or its files were changed. Nothing was imported.")


def load_private_key(data: bytes) -> rsa.RSAPrivateKey:
    """The form's RSA private key from PEM (``openssl genrsa`` writes PKCS#1, others
    PKCS#8)."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyUnusable(what="passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyUnusable(what="PEM") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyUnusable(what="RSA")
    return key


def read_briefcase(folder: Path, key: rsa.RSAPrivateKey) -> list[Submission]:
    """Every submission under `folder` (a form's Briefcase folder or its ``instances``),
    decrypted; in the order of their folder names."""
    root = folder / "instances" if (folder / "instances").is_dir() else folder
    try:
        instances = sorted(p for p in root.iterdir() if (p / MANIFEST).is_file())
    except OSError:
        raise ExportUnreadable(what="instances", number=0) from None
    if not instances or len(instances) > MAX_SUBMISSIONS:
        raise ExportUnreadable(what="instances", number=0)
    return [_read_instance(path, number, key)
            for number, path in enumerate(instances, start=1)]


def _read_instance(folder: Path, number: int, key: rsa.RSAPrivateKey) -> Submission:
    manifest = _parse(_read(folder / MANIFEST, number), number, "submission.xml")
    if _local(manifest.tag) != "data" or manifest.get("encrypted") != "yes":
        raise ExportUnreadable(what="submission.xml", number=number)
    form_id, version = manifest.get("id"), manifest.get("version")
    children = {_local(c.tag): c for c in manifest}
    encrypted_key = _text(children.get("base64EncryptedKey"))
    signature = _text(children.get("base64EncryptedElementSignature"))
    meta = children.get("meta")
    instance_id = _text(next((c for c in meta if _local(c.tag) == "instanceID"), None)
                        if meta is not None else None)
    xml_name = _text(children.get("encryptedXmlFile"))
    if not (form_id and encrypted_key and signature and instance_id) or xml_name != ENCRYPTED_XML:
        raise ExportUnreadable(what="submission.xml", number=number)
    media_names = [_text(f) for c in manifest if _local(c.tag) == "media" for f in c
                   if _local(f.tag) == "file"]
    if any(not n or not n.endswith(".enc") or not _plain(n) for n in media_names):
        raise ExportUnreadable(what="media", number=number)

    aes_key = _rsa_decrypt(key, _b64(encrypted_key, number), number, "key")
    if len(aes_key) != 32:
        raise NotDecrypted(number=number, what="key")
    seed = bytearray(_md5(instance_id.encode() + aes_key).digest())
    plain: list[tuple[str, bytes]] = []
    for counter, name in enumerate([*media_names, ENCRYPTED_XML]):
        # ODK increments one byte of the seed per file, then uses the whole seed as the IV
        seed[counter % 16] = (seed[counter % 16] + 1) & 0xFF
        body = _aes_cfb_decrypt(aes_key, bytes(seed), _read(folder / name, number), number)
        plain.append((name.removesuffix(".enc"), body))

    lines = [form_id, *([version] if version is not None else []), encrypted_key, instance_id,
             *(f"{name}::{_md5(body).hexdigest()}" for name, body in plain)]
    expected = _md5("".join(f"{line}\n" for line in lines).encode()).digest()
    signed = _rsa_decrypt(key, _b64(signature, number), number, "signature")
    if not hmac.compare_digest(signed, expected):
        raise NotDecrypted(number=number, what="signature")

    xml = plain[-1][1]
    answers = _answers(_parse(xml, number, "submission.xml.enc"))
    if _strip_uuid(str(answers.get("meta-instanceID", ""))) != _strip_uuid(instance_id):
        raise NotDecrypted(number=number, what="instanceID")
    return Submission(
        "odk", number, _strip_uuid(instance_id),
        _submitted(answers), answers,
        tuple(MediaFile(name, data=body) for name, body in plain[:-1]),
        xml, "submission.xml", "application/xml")


def _rsa_decrypt(key: rsa.RSAPrivateKey, data: bytes, number: int, what: str) -> bytes:
    # MGF1's hash is ODK's (Java's default), only a mask generator here: not a weakness
    for mgf_hash in (hashes.SHA1(), hashes.SHA256()):  # noqa: S303
        try:
            return key.decrypt(data, padding.OAEP(mgf=padding.MGF1(algorithm=mgf_hash),
                                                  algorithm=hashes.SHA256(), label=None))
        except ValueError:
            continue
    raise NotDecrypted(number=number, what=what)


def _aes_cfb_decrypt(key: bytes, iv: bytes, data: bytes, number: int) -> bytes:
    decryptor = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
    body = decryptor.update(data) + decryptor.finalize()
    # Java's "AES/CFB/PKCS5Padding" pads to the block size although CFB needs no padding
    pad = body[-1] if body else 0
    if not 1 <= pad <= 16 or len(body) < pad or body[-pad:] != bytes([pad]) * pad:
        raise NotDecrypted(number=number, what="padding")
    return body[:-pad]


def _answers(root: ET.Element) -> dict[str, Any]:
    """The answers under their group paths joined with ``-``, as ODK Central's CSV names
    its columns (so one mapping file serves both); a repeated question gives a list."""
    out: dict[str, Any] = {}

    def walk(element: ET.Element, path: str) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue  # a comment or processing instruction
            name = f"{path}-{_local(child.tag)}" if path else _local(child.tag)
            if len(child):
                walk(child, name)
                continue
            value = (child.text or "").strip()
            if name in out:
                previous = out[name]
                out[name] = [*previous, value] if isinstance(previous, list) \
                    else [previous, value]
            else:
                out[name] = value

    walk(root, "")
    return out


def _submitted(answers: dict[str, Any]) -> str | None:
    # the form's own `end` (or `start`) question, when it has one
    for name in ("end", "start"):
        value = answers.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _parse(data: bytes, number: int, what: str) -> ET.Element:
    # ODK never writes a document type; refusing one rules out entity expansion
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise ExportUnreadable(what=what, number=number)
    try:
        return ET.fromstring(data)  # noqa: S314 -- no DOCTYPE, so no entity to expand
    except (ET.ParseError, ValueError, RecursionError):
        raise ExportUnreadable(what=what, number=number) from None


def _read(path: Path, number: int) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE:
            raise ExportUnreadable(what=path.name, number=number)
        return path.read_bytes()
    except OSError:
        raise ExportUnreadable(what=path.name, number=number) from None


def _b64(text: str, number: int) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ExportUnreadable(what="submission.xml", number=number) from None


def _md5(data: bytes) -> Any:
    # ODK's choice, for the IV seed and the element signature; not ours to change
    return hashlib.md5(data, usedforsecurity=False)


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _plain(name: str) -> bool:
    return "/" not in name and "\\" not in name and name not in (".", "..") and "\0" not in name


def _strip_uuid(value: str) -> str:
    return value.strip().removeprefix("uuid:")
