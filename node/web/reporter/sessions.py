"""A reporter's session: a report being written (its data key and answers) or a report
opened with a receipt, in memory only, named by a random cookie.

The reporter has no account: the session is all the node knows of them, and it ends when
idle, at quick exit, or when they close the report. It starts only when the person first
submits a form (`start_reporter_session`), never on a visit: until then the pages carry a
signed form token (`node.web.reporter.form_tokens`). A session holding a draft, or a
receipt not yet shown, is never ended to make room for another; when every place holds one,
new reporters are asked to come back later (`SessionsFull`) and no draft is touched.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from crypto.keys import DataKey
from node import errors
from node.config import Drafts
from node.i18n import N_
from node.intake.attachments import Allowance, StagedFile
from node.intake.partial_uploads import PartialUpload
from node.intake.service import Receipt, ReporterAccess
from node.web.appkeys import LIMITER, REPORTER_SESSIONS, node
from node.web.ratelimit import client_bucket, rate_ok
from node.web.reporter.form_tokens import FormTokens
from node.web.sessions import Monotonic, SessionStore

REPORTER_COOKIE = "s"
UPLOAD_SWEEP_SECONDS = 30


@dataclass
class Draft:
    """A report being written. Attachments are already encrypted on disk with `data_key`;
    `uploads` are files still arriving over resumable uploads (`node.web.reporter.tus`)."""

    data_key: DataKey = field(repr=False)
    allowance: Allowance
    answers: dict[str, Any] = field(default_factory=dict)
    files: list[StagedFile] = field(default_factory=list)
    uploads: dict[str, PartialUpload] = field(default_factory=dict)

    def drop_uploads(self, expired_before: float | None = None) -> None:
        """Shred the uploads still arriving: all of them, or those whose expiry passed."""
        for upload in list(self.uploads.values()):
            if expired_before is None or (upload.expires_at < expired_before
                                          and not upload.busy):
                del self.uploads[upload.id]
                upload.abort()


@dataclass
class AfterSubmit:
    """What the confirmation page shows once, then forgets."""

    receipt: Receipt | None
    needs: list[str]
    region: str | None


@dataclass
class ReporterSession:
    id: str
    csrf: str
    last_seen: float
    draft: Draft | None = None
    access: ReporterAccess | None = None
    after_submit: AfterSubmit | None = None
    flash: str | None = None
    source: bytes = b""  # keyed hash of the address it came from (`ReporterSessions.tag`)
    shared: bool = False  # it came from a shared address (an onion service)

    @property
    def staged_bytes(self) -> int:
        """Bytes of files staged for the draft, those still arriving included."""
        if self.draft is None:
            return 0
        return (sum(f.size for f in self.draft.files)
                + sum(u.offset for u in self.draft.uploads.values()))


class SessionsFull(errors.Busy):
    message = N_("Many people are using this site right now. Please try again in a few "
                 "minutes. Nothing that was sent before has been lost.")


class StagingFull(errors.Busy):
    message = N_("Files cannot be added right now because the site has too many files "
                 "waiting. Please try again in a few minutes, or send your report without "
                 "them and add them later with your receipt.")


class ReporterSessions(SessionStore[ReporterSession]):
    def __init__(self, drafts: Drafts, on_end: Callable[[ReporterSession], None] | None = None,
                 monotonic: Monotonic = time.monotonic) -> None:
        super().__init__(drafts.idle_minutes * 60, drafts.max_sessions, on_end, monotonic)
        self.drafts = drafts
        self.tokens = FormTokens(monotonic)
        self._source_key = secrets.token_bytes(32)
        self._shared = 0  # sessions started from a shared address, held now
        self._uploads_swept = monotonic()

    def tag(self, address: str) -> bytes:
        """A keyed hash of an address (the key lives in memory only, as the sessions do):
        enough to add up one address's staged files, never the address itself."""
        return hashlib.blake2b(address.encode(), key=self._source_key, digest_size=16).digest()

    def new(self, source: bytes = b"", *, shared: bool = False) -> ReporterSession:
        """A new session. One from a shared address (an onion service) is refused
        (`SessionsFull`) once such sessions hold `shared_sessions_percent` of the places:
        a token costs one page, so nothing tells one Tor client from another, and a flood
        from that address must not keep out everyone else."""
        if shared:
            self.expire()
            if self._shared >= max(1, self.max_sessions
                                   * self.drafts.shared_sessions_percent // 100):
                self._full()
        session = self._add(ReporterSession(secrets.token_urlsafe(32),
                                            secrets.token_urlsafe(32), self._now(),
                                            source=source, shared=shared))
        self._shared += shared
        return session

    def close_report(self, report_id: str, *, keep: str) -> None:
        """Every other session that opened `report_id` forgets it (issue 19: after the
        receipt secret was replaced, whoever opened it with the old one is out at once)."""
        for other in self._items.values():
            if other.id != keep and other.access is not None \
                    and other.access.report_id == report_id:
                other.access = None

    def _end(self, s: ReporterSession) -> None:
        self._shared -= s.shared
        if s.draft is not None:
            s.draft.drop_uploads()
        super()._end(s)

    @property
    def upload_idle_seconds(self) -> float:
        """How long a resumable upload waits for its next bytes before it is shredded."""
        return self.drafts.idle_minutes_with_files * 60

    def upload_expiry(self) -> float:
        return self._now() + self.upload_idle_seconds

    def seconds_left(self, expires_at: float) -> float:
        return max(0.0, expires_at - self._now())

    def expire(self) -> None:
        """End idle sessions, and (every `UPLOAD_SWEEP_SECONDS`; the app calls this every
        minute even when no one visits) shred the uploads abandoned in live drafts."""
        super().expire()
        now = self._now()
        if now - self._uploads_swept < UPLOAD_SWEEP_SECONDS:
            return
        self._uploads_swept = now
        for s in self._items.values():
            if s.draft is not None and s.draft.uploads:
                s.draft.drop_uploads(expired_before=now)

    def _evictable(self, session: ReporterSession) -> bool:
        # A report just sent keeps its place until its receipt (shown only once) is shown:
        # ended in between, the reporter would never see it.
        unseen = session.after_submit is not None and session.after_submit.receipt is not None
        return session.draft is None and not unseen

    def _full(self) -> None:
        raise SessionsFull()

    def _idle_limit(self, session: ReporterSession) -> float:
        if session.draft is not None and (session.draft.files or session.draft.uploads):
            return self.drafts.idle_minutes_with_files * 60
        return self.idle_seconds

    @property
    def shortest_idle(self) -> float:
        return min(self.idle_seconds, self.drafts.idle_minutes_with_files * 60)

    def staged_bytes(self, source: bytes | None = None) -> int:
        """Bytes of files staged for drafts: all of them, or those from one address."""
        self.expire()
        return sum(s.staged_bytes for s in self._items.values()
                   if source is None or s.source == source)


def reporter_session(request: web.Request) -> ReporterSession | None:
    return request.config_dict[REPORTER_SESSIONS].get(request.cookies.get(REPORTER_COOKIE))


def require_reporter_session(request: web.Request) -> ReporterSession:
    session = reporter_session(request)
    if session is None:
        raise errors.SessionExpired()
    return session


def new_reporter_session(request: web.Request) -> ReporterSession:
    sessions = request.config_dict[REPORTER_SESSIONS]
    address, shared = client_bucket(request.remote, request.headers.get("X-Forwarded-For"),
                                    node(request).config.rate_limits.trusted_proxies)
    return sessions.new(sessions.tag(address), shared=shared)


def form_token(request: web.Request) -> str:
    """The CSRF token of a form shown before there is a session."""
    return request.config_dict[REPORTER_SESSIONS].tokens.issue()


def start_reporter_session(request: web.Request, token: object) -> ReporterSession:
    """The session a person's first submitted form starts, holding an empty draft. The form
    must carry a valid signed token; new sessions are rate-limited per address, and behind
    an onion service (one address for everyone) per token."""
    sessions = request.config_dict[REPORTER_SESSIONS]
    if not sessions.tokens.valid(token):
        raise errors.SessionExpired()
    if not rate_ok(request, "session", sessions.drafts.sessions_per_minute,
                   session=str(token)):
        raise errors.RateLimited()
    session = new_reporter_session(request)
    session.csrf = str(token)  # the page's forms keep working with the token they carry
    session.draft = Draft(DataKey.generate(), node(request).intake.allowance())
    return session


def upload_allowed(request: web.Request, session: ReporterSession) -> None:
    """Rate-limit uploads per address and per session, and refuse one when the files
    staged for drafts already fill the session's, the address's or the node's share. A cap
    can be passed by at most the file being received (the per-file limit)."""
    sessions = request.config_dict[REPORTER_SESSIONS]
    per_minute = sessions.drafts.uploads_per_minute
    if not (rate_ok(request, "upload", per_minute)
            and request.config_dict[LIMITER].allow("upload", "session:" + session.id,
                                                   per_minute)):
        raise errors.RateLimited()
    staging_allowed(request, session)


def staging_allowed(request: web.Request, session: ReporterSession) -> None:
    """Refuse more bytes when the files staged for drafts (uploads still arriving
    included) fill the session's, the address's or the node's share. A resumed upload
    checks this at every request, without spending the rate of new uploads."""
    sessions = request.config_dict[REPORTER_SESSIONS]
    drafts = sessions.drafts
    mb = 1024 * 1024
    if sessions.staged_bytes() >= drafts.staged_mb_total * mb:
        raise StagingFull()
    if (session.staged_bytes >= drafts.staged_mb_per_session * mb
            or sessions.staged_bytes(session.source) >= drafts.staged_mb_per_source * mb):
        raise errors.RateLimited()


def end_reporter_session(request: web.Request, sid: str | None) -> None:
    request.config_dict[REPORTER_SESSIONS].end(sid)
