"""Account administration (admin) and node-key grants (coordinators).

Admins invite people, change roles, unlock, disable and enable accounts, and turn off a
lost second factor; they never see case content for it. After disabling an account that
held the intake or analysis key, the page offers to rotate those keys (issue 13,
`node.key_rotation.rotate_after_departure`): the person may have kept a copy, and after
the rotation it opens nothing the node stores. Roles an admin gives themselves
are shown to the coordinators on the pending-access page (who, which roles, when). A
coordinator gives a new coordinator or analyst the node keys their roles need, by sealing
the keys they hold in their own session to the newcomer's public key: the server never
holds a node key unless a person who holds it is signed in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from node import accounts, errors, invitations, key_rotation, second_factor
from node.backoffice import case_keys
from node.backoffice.access import Action, allowed
from node.context import NodeContext, run_sync
from node.web.appkeys import node
from node.web.failures import error_text, status_of
from node.web.form_errors import field_errors
from node.web.responses import see_other
from node.web.staff.auth import refresh_sessions, with_roles
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of

ACCOUNTS_PATH = f"{STAFF_PATH}/accounts"
GRANTS_PATH = f"{STAFF_PATH}/grants"


def _now(ctx: NodeContext) -> int:
    return int(ctx.clock().timestamp())


def _origin(request: web.Request) -> str:
    """The address the admin's browser uses, for the invitation link. Behind a TLS proxy
    the server itself sees plain HTTP, so the browser's own Origin header (same host, as
    `same_origin_only` has checked) is preferred: an http:// link would send the code in
    clear on its first use."""
    origin = request.headers.get("Origin", "")
    if origin.startswith(("https://", "http://")) and origin.split("://", 1)[1] == request.host:
        return origin
    return str(request.url.origin())


def _roles_of(form: object) -> list[str]:
    getall = getattr(form, "getall", None)
    return [str(r) for r in getall("roles", [])][:10] if getall else []


# ------------------------------------------------------------------ accounts (admin)

def _rotate_offer(request: web.Request) -> tuple[str, list[str]] | None:
    """The disabled account and the keys it held, named by the redirect after disabling:
    what the page offers to rotate."""
    staff_id = request.query.get("rotate", "")[:64]
    held = [k for k in request.query.get("held", "").split(",")
            if k in key_rotation.STAFF_HELD]
    return (staff_id, held) if staff_id else None


async def _accounts_page(request: web.Request, exc: errors.NodeError | None = None,
                         done: str = "", username: str = "",
                         roles: list[str] | None = None, invited: bool = False,
                         offer: tuple[str, list[str]] | None = None) -> web.Response:
    """The accounts; after a refused invitation (`invited`), its form marked as typed."""
    ctx = node(request)
    now = _now(ctx)

    def load() -> tuple[list[accounts.Account], list[invitations.Invitation]]:
        conn = ctx.db.read()
        return accounts.list_accounts(conn), invitations.open_invitations(conn, now)

    people, pending = await run_sync(ctx, load)
    departed = None
    cases_left: list[str] = []
    if offer is not None:
        departed = next((a for a in people if a.id == offer[0] and a.disabled), None)
    if departed is not None:  # the cases they held whose key was not rotated since
        cases_left = await run_sync(ctx, _cases_left, ctx, departed.id)
        if not cases_left and not (offer and offer[1]):
            departed = None
    staff = session_of(request).staff
    return page(request, "staff/accounts.html", session_of(request),
                status=status_of(exc) if exc else 200, accounts=people, invitations=pending,
                all_roles=accounts.ROLES, done=done, username=username,
                chosen=set(roles or []), errors=[error_text(request, exc)] if exc else [],
                departed=departed,
                rotate_keys=offer[1] if departed is not None and offer else [],
                holds_keys=set(staff.node_keys), cases_left=len(cases_left),
                can_rotate_cases=allowed(staff.member, Action.ASSIGN)
                and staff.intake_key is not None,
                field_errors=field_errors(request, exc) if invited else {})


async def accounts_get(request: web.Request) -> web.StreamResponse:
    return await _accounts_page(request, done=request.query.get("done", "")[:20],
                                offer=_rotate_offer(request))


async def invite_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    username = str(form.get("username", ""))[:100]
    roles = _roles_of(form)
    now = _now(ctx)
    try:
        code = await run_sync(ctx, invitations.invite, ctx.db, ctx.audit,
                              session.staff.member.id, username, roles, now)
    except errors.NodeError as exc:
        return await _accounts_page(request, exc, username=username, roles=roles,
                                   invited=True)
    # Shown once, in this answer only: the node keeps nothing but the code's hash.
    link = f"{_origin(request)}{STAFF_PATH}/invite/{code}"
    if set(roles) == {"expert"}:  # experts accept on the expert app (issue 16)
        link = f"{ctx.config.expert_app.origin or _origin(request)}/expert/invite/{code}"
    return page(request, "staff/invitation.html", session, link=link,
                username=username.strip(), invited_roles=sorted(set(roles)),
                days=invitations.INVITATION_SECONDS // 86400)


async def _account_action(request: web.Request, done: str) -> web.StreamResponse:
    """Run one admin action on the account in the path, then show the list again."""
    ctx = node(request)
    form = await checked_form(request)
    admin_id = session_of(request).staff.member.id
    target = request.match_info.get("staff_id", "")
    now = _now(ctx)
    held: list[str] = []
    try:
        if done == "unlocked":
            await run_sync(ctx, accounts.unlock_account, ctx.db, ctx.audit, admin_id, target,
                           now)
        elif done == "disabled":
            held = await run_sync(ctx, _staff_keys_held, ctx, target)
            await run_sync(ctx, accounts.set_disabled, ctx.db, ctx.audit, admin_id, target,
                           True, now)
            refresh_sessions(request, target, lambda staff: None)
        elif done == "enabled":
            await run_sync(ctx, accounts.set_disabled, ctx.db, ctx.audit, admin_id, target,
                           False, now)
        elif done == "totp_reset":
            await run_sync(ctx, second_factor.reset_totp, ctx.db, ctx.audit, admin_id, target,
                           now)
        elif done == "roles":
            chosen = await run_sync(ctx, accounts.set_roles, ctx.db, ctx.audit, admin_id,
                                    target, _roles_of(form), now)
            refresh_sessions(request, target, lambda staff: with_roles(staff, chosen))
        elif done == "invitation_cancelled":
            await run_sync(ctx, invitations.cancel_invitation, ctx.db, ctx.audit, admin_id,
                           request.match_info["invitation_id"], now)
    except errors.NodeError as exc:
        return await _accounts_page(request, exc)
    if done == "roles" and target == admin_id and "admin" not in _roles_of(form):
        raise see_other(f"{STAFF_PATH}/account")  # no longer allowed on the accounts page
    if done == "disabled" and (held or await run_sync(ctx, _cases_left, ctx, target)):
        # offer to rotate what they held (ids and key names only in the address)
        raise see_other(f"{ACCOUNTS_PATH}?done={done}&rotate={target}&held={','.join(held)}")
    raise see_other(f"{ACCOUNTS_PATH}?done={done}")


def _staff_keys_held(ctx: NodeContext, staff_id: str) -> list[str]:
    """The node keys sealed to an account now, of those a rotation can replace."""
    return key_rotation.held_by(ctx.db.read(), staff_id)


def _cases_left(ctx: NodeContext, staff_id: str) -> list[str]:
    """The cases a person left whose key was not rotated since (issue 13)."""
    return case_keys.left_unrotated(ctx.db.read(), staff_id)


async def rotate_cases_post(request: web.Request) -> web.StreamResponse:
    """Rotate the key of every case a disabled account held (issue 13), as whoever may
    assign cases does it: one custody entry per case."""
    ctx = node(request)
    await checked_form(request)
    staff = session_of(request).staff
    target = request.match_info.get("staff_id", "")
    try:
        await run_sync(ctx, ctx.case_access.rotate_after_departure, staff, target)
    except errors.NodeError as exc:
        return await _accounts_page(request, exc)
    raise see_other(f"{ACCOUNTS_PATH}?done=cases_rotated")


async def rotate_keys_post(request: web.Request) -> web.StreamResponse:
    """Rotate the keys a disabled account held, with the keys the admin holds; then
    every open session of the remaining holders gets the new keys."""
    ctx = node(request)
    form = await checked_form(request)
    staff = session_of(request).staff
    target = request.match_info.get("staff_id", "")
    names = [str(k) for k in form.getall("keys", [])][:4]
    live = {accounts.INTAKE_KEY: ctx.keys.intake_public,
            accounts.ANALYSIS_KEY: ctx.keys.analysis_public}
    try:
        done = await run_sync(ctx, key_rotation.rotate_after_departure, ctx.db, ctx.audit,
                              ctx.keys.certifier, staff, target, names, live, _now(ctx))
    except errors.NodeError as exc:
        return await _accounts_page(request, exc)
    conn = ctx.db.read()

    def reopened(st: accounts.UnlockedStaff) -> accounts.UnlockedStaff:
        return accounts.UnlockedStaff(st.member, st.secret_key,
                                      accounts.open_node_keys(conn, st.member.id,
                                                              st.secret_key))

    for holder in sorted({h for rotated in done for h in rotated.holders}):
        refresh_sessions(request, holder.removeprefix("staff:"), reopened)
    raise see_other(f"{ACCOUNTS_PATH}?done=rotated")


async def unlock_post(request: web.Request) -> web.StreamResponse:
    return await _account_action(request, "unlocked")


async def disable_post(request: web.Request) -> web.StreamResponse:
    return await _account_action(request, "disabled")


async def enable_post(request: web.Request) -> web.StreamResponse:
    return await _account_action(request, "enabled")


async def totp_reset_post(request: web.Request) -> web.StreamResponse:
    return await _account_action(request, "totp_reset")


async def roles_post(request: web.Request) -> web.StreamResponse:
    return await _account_action(request, "roles")


async def cancel_invitation_post(request: web.Request) -> web.StreamResponse:
    return await _account_action(request, "invitation_cancelled")


# ------------------------------------------------------------------ pending access (coordinators)

async def _grants_page(request: web.Request, exc: errors.NodeError | None = None,
                       done: str = "") -> web.Response:
    ctx = node(request)
    session = session_of(request)
    now = _now(ctx)

    def load() -> tuple[list[accounts.PendingAccess], list[accounts.SelfGrant]]:
        conn = ctx.db.read()
        return accounts.pending_access(conn), accounts.self_grants(conn, now)

    pending, self_granted = await run_sync(ctx, load)
    held = frozenset(session.staff.node_keys)
    return page(request, "staff/grants.html", session, status=status_of(exc) if exc else 200,
                pending=[(p, p.missing & held) for p in pending],
                self_granted=[(g, datetime.fromtimestamp(g.at, UTC).strftime("%Y-%m-%d %H:%M UTC"))
                              for g in self_granted],
                shown_days=accounts.SELF_GRANT_SHOWN_SECONDS // 86400, done=done,
                errors=[error_text(request, exc)] if exc else [])


async def grants_get(request: web.Request) -> web.StreamResponse:
    return await _grants_page(request, done=request.query.get("done", "")[:20])


async def grant_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    await checked_form(request)
    granter = session_of(request).staff
    target = request.match_info["staff_id"]
    try:
        granted = await run_sync(ctx, accounts.grant_pending, ctx.db, ctx.audit, granter,
                                 target, _now(ctx))
    except errors.NodeError as exc:
        return await _grants_page(request, exc)
    refresh_sessions(request, target, lambda staff: accounts.UnlockedStaff(
        staff.member, staff.secret_key, {**staff.node_keys, **granted}))
    raise see_other(f"{GRANTS_PATH}?done=granted")


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/accounts", accounts_get, "staff_accounts", Action.MANAGE_ACCOUNTS),
    StaffRoute("POST", "/accounts/invite", invite_post, "staff_accounts_invite",
               Action.MANAGE_ACCOUNTS),
    StaffRoute("POST", "/accounts/invitations/{invitation_id}/cancel", cancel_invitation_post,
               "staff_accounts_invitation_cancel", Action.MANAGE_ACCOUNTS),
    StaffRoute("POST", "/accounts/{staff_id}/unlock", unlock_post, "staff_accounts_unlock",
               Action.MANAGE_ACCOUNTS),
    StaffRoute("POST", "/accounts/{staff_id}/disable", disable_post, "staff_accounts_disable",
               Action.MANAGE_ACCOUNTS),
    StaffRoute("POST", "/accounts/{staff_id}/enable", enable_post, "staff_accounts_enable",
               Action.MANAGE_ACCOUNTS),
    StaffRoute("POST", "/accounts/{staff_id}/roles", roles_post, "staff_accounts_roles",
               Action.MANAGE_ACCOUNTS),
    StaffRoute("POST", "/accounts/{staff_id}/rotate-cases", rotate_cases_post,
               "staff_accounts_rotate_cases", Action.ASSIGN),
    StaffRoute("POST", "/accounts/{staff_id}/rotate-keys", rotate_keys_post,
               "staff_accounts_rotate_keys", Action.MANAGE_ACCOUNTS),
    StaffRoute("POST", "/accounts/{staff_id}/totp-reset", totp_reset_post,
               "staff_accounts_totp_reset", Action.MANAGE_ACCOUNTS),
    StaffRoute("GET", "/grants", grants_get, "staff_grants", Action.GRANT_KEYS),
    StaffRoute("POST", "/grants/{staff_id}", grant_post, "staff_grants_post", Action.GRANT_KEYS),
]
