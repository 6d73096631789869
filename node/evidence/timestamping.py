"""RFC 3161 timestamps of the evidence log's checkpoints, from a timestamping authority (TSA)
named in the ``[timestamping]`` section of ``node.toml`` (issue 4).

A TSA's token says "this hash existed at genTime", signed by someone other than the node:
over a checkpoint's text (`checkpoints.timestamp_imprint`), it dates the whole tree, hence
every evidence item in it, even for a court that does not trust the node's own clock.

The exchange is RFC 3161 §3.4 (HTTP): POST the DER ``TimeStampReq`` as
``application/timestamp-query``; the answer is a DER ``TimeStampResp``,
``application/timestamp-reply``. The request carries a fresh random nonce (§2.4.1) and
``certReq`` (so that the token holds the TSA's certificate and a bundle can be checked
offline). A response is accepted only if: its status is "granted" (§2.4.2); its token's
signature verifies and the TSA certificate chains to one of the certificates the
configuration trusts, with the critical ``id-kp-timeStamping`` key purpose (§2.3); its
nonce is ours; its ``messageImprint`` is SHA-256 of this checkpoint's text; and its genTime
is within `MAX_CLOCK_SKEW` of the node's clock. Only then is it stored
(`checkpoints.attach_timestamp`), as the DER ``TimeStampToken``.

Parsing and chain checks are rfc3161-client's (Trail of Bits; sigstore-python's TSA
client). A bundle's verifier also checks a token with nothing but the token
(`verify_token` without trusted certificates): the CMS signature (RFC 5652 §5.4) by the
certificate the token embeds, which the ESS signing-certificate attribute binds to the
signed content (RFC 3161 §2.4.1, RFC 5035). rfc3161-client cannot check a signature
without a trusted root, so that part reads the few DER fields it needs here.

Privacy: the TSA receives a SHA-256 of a checkpoint (itself hashes and a size) and nothing
else; but it sees the node's network address unless the node reaches it through a proxy or
Tor. Logs say sizes and error codes only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimeStampRequest,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from node.config import TimestampingConfig
from node.evidence import checkpoints
from node.evidence.checkpoints import StoredCheckpoint
from node.evidence.errors import EvidenceError
from node.storage.database import Database

log = logging.getLogger(__name__)

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_RESPONSE_BYTES = 64 * 1024
"""A token with a certificate chain is a few KiB; anything far larger is not an answer."""
MAX_CLOCK_SKEW = 600
"""Seconds between a token's genTime and the node's clock beyond which the token is refused
(RFC 3161 §2.4.2 leaves the window to the requester: a stale or future time is no use)."""
PER_RUN = 10
"""Checkpoints stamped per call of `timestamp_pending`, at most (the rest wait for the next)."""

SHA256_OID = "2.16.840.1.101.3.4.2.1"
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    SHA256_OID: hashes.SHA256, "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512, "1.3.14.3.2.26": hashes.SHA1}
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_TST_INFO = "1.2.840.113549.1.9.16.1.4"
_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"  # ESSCertID, SHA-1 (RFC 2634)
_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"  # ESSCertIDv2 (RFC 5035)
_ECDSA = {"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"}
_RSA = {"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12",
        "1.2.840.113549.1.1.13"}
_ED25519 = "1.3.101.112"


class TimestampError(EvidenceError):
    """A token could not be had or does not hold. ``code`` names the failed step (and is all
    that is logged): ``config``, ``network``, ``timeout``, ``http_status``,
    ``content_type``, ``too_large``, ``malformed``, ``not_granted``, ``nonce``,
    ``hash_algorithm``, ``imprint``, ``untrusted``, ``certificate``, ``signature``,
    ``clock``."""

    def __init__(self, code: str) -> None:
        super().__init__(f"timestamp refused: {code}")
        self.code = code


@dataclass(frozen=True)
class TokenInfo:
    """What a verified token says."""

    gen_time: datetime
    serial_number: int
    tsa_subject: str
    """The signing certificate's subject (RFC 4514), e.g. ``CN=Example TSA,O=Example``."""


# -- requesting ------------------------------------------------------------------------------


def load_trusted(path: Path) -> list[x509.Certificate]:
    """The certificates a TSA must chain to: a PEM file of one or more root (and, if the TSA
    does not send them, intermediate) certificates."""
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        raise TimestampError("config") from None
    return certificates


def build_request(stored: StoredCheckpoint) -> TimeStampRequest:
    """A ``TimeStampReq`` over the checkpoint's text: SHA-256, a fresh 64-bit nonce,
    certReq true."""
    request = (TimestampRequestBuilder().data(stored.checkpoint.text().encode("utf-8"))
               .hash_algorithm(HashAlgorithm.SHA256).nonce(nonce=True)
               .cert_request(cert_request=True).build())
    assert request.message_imprint.message == checkpoints.timestamp_imprint(stored)
    return request


def check_response(response: bytes, request: TimeStampRequest, stored: StoredCheckpoint,
                   trusted: list[x509.Certificate], now: int) -> bytes:
    """The DER ``TimeStampToken`` of a TSA's answer to ``request``, once every check of the
    module docstring holds; raises `TimestampError` otherwise."""
    nonce = request.nonce
    assert nonce is not None
    with _untrusted_input():
        parsed = _parse_response(response)
        info = _verify(parsed, checkpoints.timestamp_imprint(stored), trusted, nonce)
        token = bytes(parsed.time_stamp_token())
    if abs(info.gen_time.timestamp() - now) > MAX_CLOCK_SKEW:
        raise TimestampError("clock")
    return token


async def request_token(session: aiohttp.ClientSession, config: TimestampingConfig,
                        request: TimeStampRequest) -> bytes:
    """POST one request; the raw response body (at most `MAX_RESPONSE_BYTES`)."""
    try:
        async with session.post(
                str(config.url), data=request.as_bytes(),
                headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
                timeout=aiohttp.ClientTimeout(total=config.timeout_seconds),
                allow_redirects=False) as response:
            if response.status != 200:
                raise TimestampError("http_status")
            if response.content_type != REPLY_TYPE:
                raise TimestampError("content_type")
            if (response.content_length or 0) > MAX_RESPONSE_BYTES:
                raise TimestampError("too_large")
            body = await response.content.read(MAX_RESPONSE_BYTES + 1)
    except TimeoutError:
        raise TimestampError("timeout") from None
    except aiohttp.ClientError:
        raise TimestampError("network") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise TimestampError("too_large")
    return body


async def timestamp_pending(db: Database, config: TimestampingConfig | None,
                            now: int) -> int:
    """Ask the configured TSA for a token over each checkpoint that has none
    (`checkpoints.checkpoints_to_timestamp`, newest first, at most `PER_RUN`), check each
    and attach it; returns how many were attached. Nothing to do without a configuration.

    Database reads and the one-row writes run in a worker thread; no transaction is open
    during a network call. Stops at the first failure (the TSA is down or wrong: the next
    run tries again) and logs only its error code.
    """
    if config is None:
        return 0
    pending = await asyncio.to_thread(_pending, db)
    if not pending:
        return 0
    try:
        trusted = await asyncio.to_thread(load_trusted, config.trusted_certificates)
    except TimestampError as exc:
        log.warning("timestamping: trusted certificates unreadable (%s)", exc.code)
        return 0
    attached = 0
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        for stored in pending:
            try:
                request = build_request(stored)
                response = await request_token(session, config, request)
                token = check_response(response, request, stored, trusted, now)
            except TimestampError as exc:
                log.warning("timestamping: checkpoint of %d leaves: %s", stored.size, exc.code)
                break
            await asyncio.to_thread(_attach, db, stored.size, token)
            attached += 1
    if attached:
        log.info("timestamping: %d checkpoint(s) stamped (%d bytes)", attached, len(token))
    return attached


def _pending(db: Database) -> list[StoredCheckpoint]:
    return checkpoints.checkpoints_to_timestamp(db.read(), PER_RUN)


def _attach(db: Database, size: int, token: bytes) -> None:
    with db.write() as conn:
        checkpoints.attach_timestamp(conn, size, token)


# -- verifying -------------------------------------------------------------------------------


def verify_token(token: bytes, message: bytes,
                 trusted: list[x509.Certificate] | None = None) -> TokenInfo:
    """Check a stored ``TimeStampToken`` over ``message`` (a checkpoint's text), offline.

    Always: the token parses, its imprint is the hash of ``message`` (SHA-256, -384 or
    -512), and its CMS signature verifies with the certificate it embeds, which its signed
    ESS attribute names. With ``trusted``: also that certificate's chain to one of them and
    its time-stamping key purpose, as when the node accepted it. Raises `TimestampError`.
    """
    with _untrusted_input():
        parsed = _parse_response(_granted_response(token))
        imprint = parsed.tst_info.message_imprint
        digest = _HASHES.get(imprint.hash_algorithm.dotted_string)
        if digest is None or digest is hashes.SHA1:
            raise TimestampError("hash_algorithm")
        hasher = hashes.Hash(digest())
        hasher.update(message)
        info = _verify(parsed, hasher.finalize(), trusted, None)
        _check_signature(token, parsed)
    return info


@contextmanager
def _untrusted_input() -> Iterator[None]:
    """rfc3161-client answers some malformed tokens with ValueError, KeyError or, from its
    Rust part, a ``PanicException`` (a BaseException): each of them is "malformed" here."""
    try:
        yield
    except TimestampError:
        raise
    except Exception:  # noqa: BLE001 -- any failure to read a token from outside
        raise TimestampError("malformed") from None
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise TimestampError("malformed") from None


def _granted_response(token: bytes) -> bytes:
    """``TimeStampResp ::= SEQUENCE { status PKIStatusInfo (granted), timeStampToken }``
    around a stored token, the only form rfc3161-client reads."""
    body = b"\x30\x03\x02\x01\x00" + token
    return b"\x30" + _der_length(len(body)) + body


def _parse_response(data: bytes) -> TimeStampResponse:
    try:
        parsed = decode_timestamp_response(data)
    except ValueError:
        raise TimestampError("malformed") from None
    if parsed.status != PKIStatus.GRANTED:  # before anything that assumes a token is there
        raise TimestampError("not_granted")
    try:
        parsed.tst_info.message_imprint  # noqa: B018 -- parses the token's content
    except ValueError:
        raise TimestampError("malformed") from None
    return parsed


def _verify(parsed: TimeStampResponse, hashed_message: bytes,
            trusted: list[x509.Certificate] | None, nonce: int | None) -> TokenInfo:
    tst = parsed.tst_info
    if nonce is not None and tst.nonce != nonce:
        raise TimestampError("nonce")
    if nonce is not None and tst.message_imprint.hash_algorithm.dotted_string != SHA256_OID:
        raise TimestampError("hash_algorithm")
    if tst.message_imprint.message != hashed_message:
        raise TimestampError("imprint")
    if trusted is not None:
        if not trusted:
            raise TimestampError("untrusted")
        verifier = VerifierBuilder(roots=list(trusted), nonce=nonce).build()
        try:
            verifier.verify(parsed, hashed_message)
        except (VerificationError, ValueError):
            raise TimestampError("untrusted") from None
    signer = _signer_certificate(parsed)
    return TokenInfo(tst.gen_time.astimezone(UTC), int(tst.serial_number),
                     signer.subject.rfc4514_string())


def _signer_certificate(parsed: TimeStampResponse) -> x509.Certificate:
    signer_infos = list(parsed.signed_data.signer_infos)
    if len(signer_infos) != 1:
        raise TimestampError("signature")
    sid = signer_infos[0]
    for der in parsed.signed_data.certificates:
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            raise TimestampError("malformed") from None
        if certificate.issuer == sid.issuer and certificate.serial_number == sid.serial_number:
            return certificate
    raise TimestampError("signature")  # certReq was true: the token must hold it


def _check_signature(token: bytes, parsed: TimeStampResponse) -> None:
    """RFC 5652 §5.4: the signer's signature over the DER SET OF its signed attributes, whose
    message-digest attribute is the hash of the TSTInfo and whose ESS signing-certificate
    attribute is the hash of the signer's certificate."""
    try:
        fields = _signer_fields(token)
    except (ValueError, IndexError, KeyError):  # not DER, or an attribute missing
        raise TimestampError("malformed") from None
    certificate = _signer_certificate(parsed)
    try:  # RFC 3161 §2.3: a TSA's certificate is for time-stamping only, and says so
        purposes = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except (x509.ExtensionNotFound, ValueError):
        raise TimestampError("certificate") from None
    if (not purposes.critical
            or list(purposes.value) != [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]):
        raise TimestampError("certificate")
    digest = _HASHES.get(fields.digest_oid)
    if digest is None or digest is hashes.SHA1:
        raise TimestampError("hash_algorithm")
    hasher = hashes.Hash(digest())
    hasher.update(fields.content)
    if (fields.content_type != _TST_INFO or fields.message_digest != hasher.finalize()
            or fields.cert_hash != _certificate_hash(certificate, fields.cert_hash_oid)):
        raise TimestampError("signature")
    key = certificate.public_key()
    try:
        if fields.signature_oid in _ECDSA and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(fields.signature, fields.signed_attrs, ec.ECDSA(digest()))
        elif fields.signature_oid in _RSA and isinstance(key, rsa.RSAPublicKey):
            key.verify(fields.signature, fields.signed_attrs, padding.PKCS1v15(), digest())
        elif fields.signature_oid == _ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(fields.signature, fields.signed_attrs)
        else:
            raise TimestampError("signature")
    except InvalidSignature:
        raise TimestampError("signature") from None


def _certificate_hash(certificate: x509.Certificate, oid: str) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    algorithm = _HASHES.get(oid)
    if algorithm is None:
        raise TimestampError("hash_algorithm")
    hasher = hashes.Hash(algorithm())
    hasher.update(certificate.public_bytes(Encoding.DER))
    return hasher.finalize()


# -- the few DER fields of a SignedData that the signature check needs -----------------------


@dataclass(frozen=True)
class _SignerFields:
    content: bytes  # the TSTInfo, as signed
    digest_oid: str
    signed_attrs: bytes  # re-tagged as SET OF, what the signature covers (RFC 5652 §5.4)
    content_type: str
    message_digest: bytes
    cert_hash_oid: str
    cert_hash: bytes
    signature_oid: str
    signature: bytes


def _signer_fields(token: bytes) -> _SignerFields:
    """ContentInfo { signedData, [0] SignedData { version, digestAlgorithms,
    encapContentInfo { TSTInfo OID, [0] OCTET STRING }, [0] certificates, [1] crls,
    signerInfos { SignerInfo { version, sid, digestAlgorithm, [0] signedAttrs,
    signatureAlgorithm, signature, [1] unsignedAttrs } } } } (RFC 5652 §3, §5)."""
    top = _items(token, 0, len(token))
    if len(top) != 1:
        raise ValueError("one ContentInfo")
    content_info = _children(token, top[0], 0x30)
    signed_data = _children(token, _children(token, content_info[1], 0xA0)[0], 0x30)
    encap = _children(token, signed_data[2], 0x30)
    content = _value(token, _children(token, encap[1], 0xA0)[0], 0x04)
    signer_infos = _children(token, signed_data[-1], 0x31)
    if len(signer_infos) != 1:
        raise ValueError("one signer")
    signer = _children(token, signer_infos[0], 0x30)
    if len(signer) < 6:
        raise ValueError("signed attributes are required")
    _, _, attrs_end, attrs_start = signer[3]
    attrs: dict[str, list[_Item]] = {}
    for attribute in _children(token, signer[3], 0xA0):
        oid, values = _children(token, attribute, 0x30)[:2]
        attrs[_oid(token, oid)] = _children(token, values, 0x31)
    cert_hash_oid, cert_hash = _ess_cert_hash(token, attrs)
    return _SignerFields(
        content=content,
        digest_oid=_oid(token, _children(token, signer[2], 0x30)[0]),
        signed_attrs=b"\x31" + token[attrs_start + 1:attrs_end],
        content_type=_oid(token, attrs[_CONTENT_TYPE][0]),
        message_digest=_value(token, attrs[_MESSAGE_DIGEST][0], 0x04),
        cert_hash_oid=cert_hash_oid, cert_hash=cert_hash,
        signature_oid=_oid(token, _children(token, signer[4], 0x30)[0]),
        signature=_value(token, signer[5], 0x04))


_Item = tuple[int, int, int, int]  # tag, value start, value end, element start


def _ess_cert_hash(token: bytes, attrs: dict[str, list[_Item]]) -> tuple[str, bytes]:
    """The hash of the signer's certificate: SigningCertificateV2 { SEQUENCE OF
    ESSCertIDv2 { hashAlgorithm DEFAULT SHA-256, certHash, ... } } or SigningCertificate
    { SEQUENCE OF ESSCertID { certHash (SHA-1), ... } }; the first names the signer."""
    if _SIGNING_CERTIFICATE_V2 in attrs:
        oid, value = SHA256_OID, attrs[_SIGNING_CERTIFICATE_V2][0]
    else:
        oid, value = "1.3.14.3.2.26", attrs[_SIGNING_CERTIFICATE][0]
    cert_ids = _children(token, _children(token, value, 0x30)[0], 0x30)
    fields = _children(token, cert_ids[0], 0x30)
    if fields[0][0] == 0x30:  # ESSCertIDv2 with its hashAlgorithm
        oid = _oid(token, _children(token, fields[0], 0x30)[0])
        fields = fields[1:]
    return oid, _value(token, fields[0], 0x04)


def _children(data: bytes, item: _Item, tag: int) -> list[_Item]:
    """The elements inside ``item``, which must have ``tag``."""
    if item[0] != tag:
        raise ValueError(f"tag {item[0]:#x} where {tag:#x} was expected")
    return _items(data, item[1], item[2])


def _value(data: bytes, item: _Item, tag: int) -> bytes:
    if item[0] != tag:
        raise ValueError(f"tag {item[0]:#x} where {tag:#x} was expected")
    return data[item[1]:item[2]]


def _items(data: bytes, start: int, end: int) -> list[_Item]:
    """The DER elements back to back in ``data[start:end]`` (definite lengths only)."""
    out = []
    pos = start
    while pos < end:
        if end - pos < 2 or data[pos] & 0x1F == 0x1F:
            raise ValueError("not a DER element here")
        length, value_start = data[pos + 1], pos + 2
        if length & 0x80:
            count = length & 0x7F
            if not 1 <= count <= 4:
                raise ValueError("indefinite or huge length")
            length = int.from_bytes(data[value_start:value_start + count], "big")
            value_start += count
        if value_start + length > end:
            raise ValueError("an element runs past its container")
        out.append((data[pos], value_start, value_start + length, pos))
        pos = value_start + length
    return out


def _oid(data: bytes, item: _Item) -> str:
    body = _value(data, item, 0x06)
    if not body or body[-1] & 0x80:
        raise ValueError("not an OID")
    numbers, value = [], 0
    for byte in body:  # base-128 subidentifiers, the first one holding two arcs (X.690 8.19)
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            numbers.append(value)
            value = 0
    first = min(numbers[0] // 40, 2)
    return ".".join(map(str, [first, numbers[0] - 40 * first, *numbers[1:]]))


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


__all__ = [
    "MAX_CLOCK_SKEW",
    "TimestampError",
    "TokenInfo",
    "build_request",
    "check_response",
    "load_trusted",
    "request_token",
    "timestamp_pending",
    "verify_token",
]
