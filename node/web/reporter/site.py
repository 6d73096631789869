"""The reporter's site: what a survivor, a relative or a witness sees. Tiny, works without
JavaScript, answers in the reporter's language, leaves no trace it can avoid.

Here: the home page, the services directory, the quick exit, the one script, and the route
table of the whole site (the report form in `report_flow`, the receipt channel in
`receipt_pages`). Nothing here needs or knows a staff account.
"""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.services_directory import matching
from node.web import appkeys, labels
from node.web.appkeys import node
from node.web.language import lang_of, require_lang
from node.web.rendering import render, translate
from node.web.reporter import prompts, receipt_pages, report_flow, tus
from node.web.reporter.sessions import REPORTER_COOKIE, end_reporter_session
from node.web.responses import clear_cookie
from runtime.catalogues import native_name


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"/{lang_of(request)}/")


async def home(request: web.Request) -> web.StreamResponse:
    require_lang(request)
    return render(request, "public/home.html")


async def quick_exit(request: web.Request) -> web.StreamResponse:
    """Forget this browser's session, ask the browser to drop this site's cookies and
    storage, and go to the neutral site. A plain link, so it works without JavaScript."""
    end_reporter_session(request, request.cookies.get(REPORTER_COOKIE))
    response = web.HTTPSeeOther(str(node(request).config.quick_exit_url))
    response.headers["Clear-Site-Data"] = '"cookies", "storage"'
    clear_cookie(response, REPORTER_COOKIE)
    raise response


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    files = request.config_dict[appkeys.RENDERER].static
    if name not in files:
        raise errors.NotFound()
    return web.Response(body=files[name], content_type="text/javascript", charset="utf-8")


async def services(request: web.Request) -> web.StreamResponse:
    lang = require_lang(request)
    cfg = node(request).config
    needs = [n for n in request.query.getall("need", []) if n in labels.SERVICE_KINDS]
    region = request.query.get("region") or None
    if region is not None and cfg.region(region) is None:
        region = None
    region_names = {r.code: r.label(lang) for r in cfg.regions}
    found = [{
        "name": s.name,
        "kinds": ", ".join(translate(request, labels.SERVICE_KINDS[k]) for k in s.kinds),
        "description": s.describe(lang), "contact": s.contact, "address": s.address,
        "hours": s.hours, "free": s.free_of_charge,
        "regions": ", ".join(region_names.get(c, c) for c in s.regions),
        "languages": ", ".join(native_name(c) for c in s.languages),
    } for s in matching(cfg, needs, region)]
    return render(
        request, "public/services.html", services=found, selected_needs=needs,
        selected_region=region or "",
        kinds=[(k, translate(request, v)) for k, v in labels.SERVICE_KINDS.items()],
        regions=list(region_names.items()))


def add_routes(app: web.Application) -> None:
    app[prompts.PROMPTS] = prompts.load(app[appkeys.CONTEXT].config,
                                        app[appkeys.CONTEXT].datadir.root)
    r = app.router
    r.add_get("/", root, name="root")
    r.add_get("/exit", quick_exit, name="exit")
    r.add_get("/static/{name}", static_file, name="static")
    r.add_get("/prompts/{lang}/{place}", prompts.prompt_get, name="spoken_prompt")
    r.add_get("/{lang}/", home, name="home")
    r.add_get("/{lang}/services", services, name="services")
    r.add_get("/{lang}/report/sent", report_flow.sent_get, name="report_sent")
    r.add_get("/{lang}/report/{step}", report_flow.step_get, name="report_step")
    r.add_post("/{lang}/report/{step}", report_flow.step_post, name="report_step_post")
    r.add_get("/{lang}/receipt", receipt_pages.open_get, name="receipt_open")
    r.add_post("/{lang}/receipt", receipt_pages.open_post, name="receipt_open_post")
    r.add_get("/{lang}/receipt/report", receipt_pages.report_get, name="receipt_report")
    r.add_post("/{lang}/receipt/add", receipt_pages.add_post, name="receipt_add")
    r.add_post("/{lang}/receipt/consent", receipt_pages.consent_post, name="receipt_consent")
    r.add_post("/{lang}/receipt/share/stop", receipt_pages.share_stop_post,
               name="receipt_share_stop")
    r.add_post("/{lang}/receipt/reply", receipt_pages.reply_post, name="receipt_reply")
    r.add_post("/{lang}/receipt/secret", receipt_pages.secret_post, name="receipt_secret")
    r.add_get("/{lang}/receipt/delete", receipt_pages.delete_get, name="receipt_delete")
    r.add_post("/{lang}/receipt/delete", receipt_pages.delete_post, name="receipt_delete_post")
    r.add_get("/{lang}/receipt/deleted", receipt_pages.deleted_get, name="receipt_deleted")
    r.add_post("/{lang}/receipt/close", receipt_pages.close_post, name="receipt_close")
    tus.add_routes(app)  # resumable uploads of the files step (issue 20)
