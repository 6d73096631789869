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

Reading and checking tokens is `backup_evidence.timestamps`, the one module that the
offline verifier checks a bundle's token with too.

Privacy: the TSA receives a SHA-256 of a checkpoint (itself hashes and a size) and nothing
else; but it sees the node's network address unless the node reaches it through a proxy or
Tor. Logs say sizes and error codes only.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from cryptography import x509
from rfc3161_client import HashAlgorithm, TimeStampRequest, TimestampRequestBuilder

from backup_evidence import timestamps
from backup_evidence.timestamps import TimestampError
from node.config import TimestampingConfig
from node.evidence import checkpoints
from node.evidence.checkpoints import StoredCheckpoint
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
    token, info = timestamps.check_response(response, checkpoints.timestamp_imprint(stored),
                                            trusted, nonce)
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
        trusted = await asyncio.to_thread(timestamps.load_trusted, config.trusted_certificates)
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
