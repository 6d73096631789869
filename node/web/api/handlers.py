"""The JSON API's handlers, over the same service layer as the HTML form. The receipt and
secret always travel in the request body, never in a URL (URLs end up in logs and
histories).

Every route is declared once in `ROUTES`, which both registers it and documents it in the
OpenAPI document (`node.web.api.openapi`); a test fails if the two ever disagree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from crypto.keys import DataKey
from node import errors
from node.context import NodeContext, run_sync
from node.intake.attachments import Allowance
from node.intake.models import COURT_SCOPE, AdditionInput, ReceiptCredentials, ReportInput
from node.intake.service import ReporterAccess, ReportView
from node.services_directory import matching
from node.web.api.models import (
    AcceptedOut,
    AdditionRequest,
    ConsentRequest,
    DeletionRequest,
    ItemOut,
    ReceiptOut,
    ServiceOut,
    ServicesOut,
    StatusOut,
)
from node.web.api.openapi import ApiRoute, document
from node.web.appkeys import node
from node.web.bodies import parse_json, read_json, readable_bodies
from node.web.failures import UnsupportedMediaType, error_text, json_errors, status_of
from node.web.formatting import hour_to_date
from node.web.ratelimit import rate_ok, refund
from node.web.reporter.uploads import UploadResult, first_field, next_field, receive_file

# ------------------------------------------------------------------ parsing

def _validate(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Locations only: pydantic's messages echo the input, which may be testimony.
        fields = sorted({".".join(str(p) for p in e["loc"]) or "(body)" for e in exc.errors()})
        raise errors.InvalidInput(fields=fields) from None


Prepare = Callable[[Any], Awaitable[tuple[DataKey, Allowance]]]


async def _multipart_with_files(ctx: NodeContext, request: web.Request, first_name: str,
                                model: type[BaseModel], prepare: Prepare
                                ) -> tuple[Any, UploadResult]:
    """A multipart body: a JSON part named `first_name` first, then `files` parts.
    `prepare` turns the validated JSON into the key and allowance the files go under."""
    reader = await request.multipart()
    first = await first_field(reader, first_name)
    data = parse_json(await first.read(), field=first_name)
    body = _validate(model, data)
    data_key, allowance = await prepare(body)
    result = UploadResult()
    try:
        while (part := await next_field(reader)) is not None:
            if part.name == "files":
                await receive_file(ctx, part, data_key, allowance, result)
            else:
                await part.release()
    except BaseException:
        await run_sync(ctx, ctx.intake.discard, result.staged)
        raise
    return body, result


# ------------------------------------------------------------------ handlers

async def create_report(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    per_minute = ctx.config.rate_limits.reports_per_minute

    def charge() -> None:
        # Only a well-formed report spends the bucket: behind an onion service it is shared
        # by every reporter, and malformed requests must not block them all.
        if not rate_ok(request, "report", per_minute):
            raise errors.RateLimited()

    data_key = DataKey.generate()
    if request.content_type == "application/json":
        report = _validate(ReportInput, await read_json(request))
        charge()
        result = UploadResult()
    elif request.content_type == "multipart/form-data":
        async def prepare(_: Any) -> tuple[DataKey, Allowance]:
            charge()
            return data_key, ctx.intake.allowance()

        report, result = await _multipart_with_files(ctx, request, "report", ReportInput,
                                                     prepare)
    else:
        raise UnsupportedMediaType()
    if result.refused:
        await run_sync(ctx, ctx.intake.discard, result.staged)
        refund(request, "report", per_minute)
        raise result.refused[0]
    try:
        receipt = await run_sync(ctx, ctx.intake.submit, report, data_key, result.staged, "api")
    except errors.NodeError as exc:
        await run_sync(ctx, ctx.intake.discard, result.staged)
        if 400 <= status_of(exc) < 500:
            refund(request, "report", per_minute)
        raise
    except BaseException:
        await run_sync(ctx, ctx.intake.discard, result.staged)
        raise
    out = ReceiptOut(receipt=receipt.code, secret=receipt.secret,
                     receipt_display=receipt.code_display,
                     secret_display=receipt.secret_display, status="new")
    return web.json_response(out.model_dump(), status=201)


async def _open(request: web.Request, creds: ReceiptCredentials) -> ReporterAccess:
    ctx = node(request)
    per_minute = ctx.config.rate_limits.receipt_attempts_per_minute
    if not rate_ok(request, "receipt", per_minute):
        raise errors.RateLimited()
    try:
        return await run_sync(ctx, ctx.intake.open_receipt, creds.receipt, creds.secret)
    except (errors.ReceiptFormat, errors.SecretFormat):
        # Refused before any guess was checked: a malformed attempt costs no one anything.
        # A well-formed wrong one keeps its cost (that is what slows guessing).
        refund(request, "receipt", per_minute)
        raise


def _status_out(view: ReportView) -> StatusOut:
    return StatusOut(
        status=view.status, received_date=hour_to_date(view.received_hour).isoformat(),
        updated_date=hour_to_date(view.updated_hour).isoformat(), consent=view.consent,
        items=[ItemOut(kind=i.kind,
                       received_date=hour_to_date(i.received_hour).isoformat(),
                       filename=i.meta.get("filename"), size=i.meta.get("size"))
               for i in view.items])


async def report_status(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    creds = _validate(ReceiptCredentials, await read_json(request))
    access = await _open(request, creds)
    view = await run_sync(ctx, ctx.intake.view_for_reporter, access)
    return web.json_response(_status_out(view).model_dump(mode="json"))


async def add_to_report(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    if request.content_type == "application/json":
        body = _validate(AdditionRequest, await read_json(request))
        access = await _open(request, body)
        result = UploadResult()
    elif request.content_type == "multipart/form-data":
        opened: list[ReporterAccess] = []

        async def prepare(b: Any) -> tuple[DataKey, Allowance]:
            opened.append(await _open(request, b))
            return opened[0].data_key, await run_sync(ctx, ctx.intake.allowance, opened[0])

        body, result = await _multipart_with_files(ctx, request, "addition", AdditionRequest,
                                                   prepare)
        access = opened[0]
    else:
        raise UnsupportedMediaType()
    if body.text or result.staged:
        await run_sync(ctx, ctx.intake.add_information, access, AdditionInput(text=body.text),
                       result.staged)
    elif not result.refused:
        raise errors.EmptyReport()
    refused = [error_text(request, e) for e in result.refused]
    status = 200 if not refused else 207
    return web.json_response(AcceptedOut(refused_files=refused).model_dump(), status=status)


async def change_consent(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    body = _validate(ConsentRequest, await read_json(request))
    access = await _open(request, body)
    consent = body.consent
    unset = [n for n in COURT_SCOPE if n not in consent.model_fields_set]
    if unset:  # a court scope left out keeps its value: leaving it out never widens it
        current = (await run_sync(ctx, ctx.intake.view_for_reporter, access)).consent
        consent = consent.model_copy(update={n: getattr(current, n) for n in unset})
    await run_sync(ctx, ctx.intake.change_consent, access, consent)
    return web.json_response(AcceptedOut().model_dump())


async def delete_report(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    body = _validate(DeletionRequest, await read_json(request))
    access = await _open(request, body)
    await run_sync(ctx, ctx.deletion.by_reporter, access.report_id)
    return web.json_response(AcceptedOut().model_dump())


async def list_services(request: web.Request) -> web.StreamResponse:
    cfg = node(request).config
    found = matching(cfg, request.query.getall("need", []), request.query.get("region"))
    out = ServicesOut(services=[ServiceOut(
        id=s.id, name=s.name, kinds=list(s.kinds), regions=list(s.regions),
        languages=list(s.languages), contact=s.contact, address=s.address, hours=s.hours,
        description=s.description, free_of_charge=s.free_of_charge) for s in found])
    return web.json_response(out.model_dump())


async def openapi_document(request: web.Request) -> web.StreamResponse:
    return web.json_response(document(ROUTES))


# ------------------------------------------------------------------ the route table

ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("POST", "/reports", create_report, "api_create_report",
             "Submit a report (text as JSON; with files as multipart: part `report` holding "
             "the JSON first, then `files` parts). A report with no answer and no file is "
             "refused (400, `empty_report`)", ReportInput, "report", ReceiptOut, 201,
             (400, 413, 415, 429)),
    ApiRoute("POST", "/reports/status", report_status, "api_report_status",
             "Status of a report, opened with its receipt and secret", ReceiptCredentials,
             None, StatusOut, 200, (400, 403, 429)),
    ApiRoute("POST", "/reports/additions", add_to_report, "api_add_to_report",
             "Add information or files to a report (multipart: part `addition` first); "
             "nothing to add is refused (400, `empty_report`)",
             AdditionRequest, "addition", AcceptedOut, 200, (400, 403, 413, 415, 429)),
    ApiRoute("POST", "/reports/consent", change_consent, "api_change_consent",
             "Replace the report's consent choices", ConsentRequest, None, AcceptedOut, 200,
             (400, 403, 429)),
    ApiRoute("POST", "/reports/deletion", delete_report, "api_delete_report",
             "Delete a report and all its files for good (crypto-shredding)", DeletionRequest,
             None, AcceptedOut, 200, (400, 403, 429)),
    ApiRoute("GET", "/services", list_services, "api_services",
             "Services matching needs and a region (no report needed)", None, None,
             ServicesOut, 200, (),
             (("need", "medical | psychosocial | legal | shelter; repeatable"),
              ("region", "a region code from the node's configuration"))),
    ApiRoute("GET", "/openapi.json", openapi_document, "api_openapi",
             "This OpenAPI 3 document", None, None, None, 200),
)


def create_api_app() -> web.Application:
    app = web.Application(middlewares=[json_errors, readable_bodies],
                          client_max_size=2 * 1024 * 1024)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    return app
