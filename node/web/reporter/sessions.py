"""A reporter's session: a report being written (its data key and answers) or a report
opened with a receipt, in memory only, named by a random cookie.

The reporter has no account: the session is all the node knows of them, and it ends when
idle, at quick exit, or when they close the report.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from crypto.keys import DataKey
from node import errors
from node.intake.attachments import Allowance, StagedFile
from node.intake.service import Receipt, ReporterAccess
from node.web.appkeys import REPORTER_SESSIONS
from node.web.sessions import SessionStore

REPORTER_COOKIE = "s"


@dataclass
class Draft:
    """A report being written. Attachments are already encrypted on disk with `data_key`."""

    data_key: DataKey = field(repr=False)
    allowance: Allowance
    answers: dict[str, Any] = field(default_factory=dict)
    files: list[StagedFile] = field(default_factory=list)


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


class ReporterSessions(SessionStore[ReporterSession]):
    def new(self) -> ReporterSession:
        return self._add(ReporterSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                                         self._now()))


def reporter_session(request: web.Request) -> ReporterSession | None:
    return request.config_dict[REPORTER_SESSIONS].get(request.cookies.get(REPORTER_COOKIE))


def require_reporter_session(request: web.Request) -> ReporterSession:
    session = reporter_session(request)
    if session is None:
        raise errors.SessionExpired()
    return session


def new_reporter_session(request: web.Request) -> ReporterSession:
    return request.config_dict[REPORTER_SESSIONS].new()


def end_reporter_session(request: web.Request, sid: str | None) -> None:
    request.config_dict[REPORTER_SESSIONS].end(sid)
