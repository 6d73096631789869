"""The expert's own pages: home (availability in one tap, what was shared with them) and
their profile. Plain forms: everything works without JavaScript, on a 360 px phone."""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.context import run_sync
from node.experts import profiles
from node.web.appkeys import node
from node.web.expert import shares
from node.web.expert.common import (
    EXPERT_PATH,
    Access,
    ExpertRoute,
    checked_form,
    page,
    session_of,
)
from node.web.failures import error_text, status_of
from node.web.responses import see_other
from protocol.experts import (
    AVAILABILITIES,
    AVAILABILITY_LABELS,
    SPECIALTIES,
    SPECIALTY_LABELS,
    WORK_MODE_LABELS,
    WORK_MODES,
)

# What a phone form may send: at most this many codes per field.
_MAX_CODES = 200


def _now(request: web.Request) -> int:
    return int(node(request).clock().timestamp())


async def _stored(request: web.Request) -> profiles.StoredProfile:
    ctx = node(request)
    return await run_sync(ctx, profiles.open_profile, ctx.db, ctx.audit,
                          session_of(request).staff, _now(request))


async def home(request: web.Request) -> web.StreamResponse:
    stored = await _stored(request)
    return page(request, "expert/home.html", session_of(request), stored=stored,
                availabilities=[(a, AVAILABILITY_LABELS[a]) for a in AVAILABILITIES],
                specialty_labels=SPECIALTY_LABELS, mode_labels=WORK_MODE_LABELS,
                shared=await shares.held_for(request), done=request.query.get("done", "")[:20])


async def availability_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    await run_sync(ctx, profiles.set_availability, ctx.db, ctx.audit, session_of(request).staff,
                   str(form.get("availability", ""))[:20], _now(request))
    raise see_other(f"{EXPERT_PATH}/")


def _profile_page(request: web.Request, stored: profiles.StoredProfile,
                  chosen: dict[str, list[str]], exc: errors.NodeError | None = None
                  ) -> web.Response:
    languages = node(request).config.languages
    return page(request, "expert/profile.html", session_of(request),
                status=status_of(exc) if exc else 200,
                errors=[error_text(request, exc)] if exc else [],
                specialties=[(s, SPECIALTY_LABELS[s]) for s in SPECIALTIES],
                modes=[(m, WORK_MODE_LABELS[m]) for m in WORK_MODES],
                node_languages=languages, chosen=chosen, stored=stored)


def _chosen_of(stored: profiles.StoredProfile) -> dict[str, list[str]]:
    p = stored.profile
    if p is None:
        return {"specialties": [], "languages": [], "countries": [], "regions": [], "modes": []}
    return {"specialties": list(p.specialties), "languages": list(p.languages),
            "countries": list(p.countries), "regions": list(p.regions), "modes": list(p.modes)}


def _codes(text: str) -> list[str]:
    """Codes typed in one box, separated by commas or spaces ("CD, IQ"; "CD-NK CD-SK")."""
    return [c.strip() for c in text.replace(",", " ").split() if c.strip()][:_MAX_CODES]


async def profile_get(request: web.Request) -> web.StreamResponse:
    stored = await _stored(request)
    return _profile_page(request, stored, _chosen_of(stored))


async def profile_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    chosen = {
        "specialties": [str(v)[:40] for v in form.getall("specialties", [])][:_MAX_CODES],
        "languages": [str(v)[:20] for v in form.getall("languages", [])][:_MAX_CODES]
        + _codes(str(form.get("other_languages", ""))[:500].lower()),
        "countries": _codes(str(form.get("countries", ""))[:500].upper()),
        "regions": _codes(str(form.get("regions", ""))[:2000].upper()),
        "modes": [str(v)[:20] for v in form.getall("modes", [])][:_MAX_CODES],
    }
    try:
        await run_sync(ctx, lambda: profiles.save_profile(
            ctx.db, ctx.audit, session_of(request).staff, node_id=ctx.keys.node_id,
            now=_now(request), **chosen))
    except errors.NodeError as exc:
        return _profile_page(request, await _stored(request), chosen, exc)
    raise see_other(f"{EXPERT_PATH}/?done=profile")


ROUTES = [
    ExpertRoute("GET", "/", home, "expert_home", Access.EXPERT),
    ExpertRoute("POST", "/availability", availability_post, "expert_availability",
                Access.EXPERT),
    ExpertRoute("GET", "/profile", profile_get, "expert_profile", Access.EXPERT),
    ExpertRoute("POST", "/profile", profile_post, "expert_profile_post", Access.EXPERT),
]
