"""Dates and sizes as a person reads them, in the request's language (CLDR, through Babel).
Times are given as hours since the epoch, the unit the node stores reports in."""

from __future__ import annotations

from datetime import UTC, date, datetime

from aiohttp import web
from babel.dates import format_date
from babel.numbers import format_decimal

from node.i18n import N_
from node.web.language import lang_of
from node.web.rendering import translate


def hour_to_date(hour: int) -> date:
    return datetime.fromtimestamp(hour * 3600, UTC).date()


def format_day(request: web.Request, hour: int) -> str:
    return format_date(hour_to_date(hour), format="long", locale=lang_of(request))


def format_size(request: web.Request, size: int) -> str:
    lang = lang_of(request)
    mb = size / (1024 * 1024)
    if mb < 0.1:
        return translate(request, N_("%(n)s KB"), n=format_decimal(max(1, round(size / 1024)),
                                                                   locale=lang))
    return translate(request, N_("%(n)s MB"), n=format_decimal(round(mb, 1), locale=lang))
