"""Errors map to HTTP statuses at the web edge only: domain errors carry no status, and the
one table (`node.web.failures.STATUSES`) gives each the status it has always had."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import node
from node import accounts, errors, invitations, second_factor
from node.backoffice import audit
from node.bundles.export import NoEvidenceRecord
from node.evidence import errors as evidence_errors
from node.statistics import errors as statistics_errors
from node.web.bodies import MalformedJson
from node.web.failures import (
    STATUSES,
    RequestTooLarge,
    Unexpected,
    UnsupportedMediaType,
    status_of,
)
from node.web.reporter.report_flow import ContactWithoutConsent
from node.web.staff.auth import SecondStepExpired
from node.web.staff.cases import DeletionNotConfirmed


def _every_error_class() -> set[type[errors.NodeError]]:
    for module in pkgutil.walk_packages(node.__path__, "node."):
        importlib.import_module(module.name)
    found: set[type[errors.NodeError]] = set()
    todo: list[type[errors.NodeError]] = [errors.NodeError]
    while todo:
        kind = todo.pop()
        found.add(kind)
        todo.extend(kind.__subclasses__())
    return found


def test_domain_errors_know_nothing_of_http() -> None:
    for kind in _every_error_class():
        assert "status" not in vars(kind), f"{kind.__qualname__} carries an HTTP status"


EXPECTED = [
    (errors.NodeError, 400), (errors.InvalidInput, 400), (errors.TextTooLong, 400),
    (errors.UnknownChoice, 400), (errors.BadDate, 400), (errors.EmptyReport, 400),
    (errors.EmptyFile, 400), (errors.ReceiptFormat, 400), (errors.SecretFormat, 400),
    (errors.FileTooLarge, 413), (errors.TotalTooLarge, 413), (errors.TooManyFiles, 413),
    (errors.FileTypeNotAllowed, 415), (errors.ReceiptRejected, 403), (errors.RateLimited, 429),
    (errors.SessionExpired, 403), (errors.NotFound, 404), (errors.NotAuthenticated, 401),
    (errors.LoginFailed, 401), (errors.Forbidden, 403), (errors.ReportGone, 410),
    (errors.ConsentMissing, 409), (errors.Busy, 503),
    (accounts.WeakPassphrase, 400), (accounts.SignInFailed, 401), (accounts.AccountLocked, 403),
    (accounts.LastAdmin, 409), (accounts.LastKeyHolder, 409), (accounts.NothingToGrant, 409),
    (accounts.AccountGone, 404), (accounts.NoRole, 400),
    (second_factor.TotpFormat, 400), (second_factor.TotpRejected, 401),
    (second_factor.TotpAlreadyOn, 409), (second_factor.TotpNotOn, 409),
    (invitations.InvitationInvalid, 404), (invitations.InvitationExpired, 410),
    (invitations.InvitationUsed, 410),
    (statistics_errors.StatisticsError, 400), (statistics_errors.BudgetExceeded, 409),
    (statistics_errors.DraftPending, 409), (statistics_errors.ReleaseNotFound, 404),
    (statistics_errors.PlanNotReleasable, 400),
    (evidence_errors.EvidenceError, 500), (evidence_errors.BadLeafInput, 400),
    (evidence_errors.LeafExists, 409), (evidence_errors.OutOfRange, 404),
    (evidence_errors.LogCorrupted, 500), (evidence_errors.NotInTransaction, 500),
    (NoEvidenceRecord, 409), (audit.CustodyBroken, 500),
    (MalformedJson, 400), (UnsupportedMediaType, 415), (ContactWithoutConsent, 400),
    (SecondStepExpired, 403), (DeletionNotConfirmed, 400), (RequestTooLarge, 413),
    (Unexpected, 500),
]


@pytest.mark.parametrize(("kind", "status"), EXPECTED,
                         ids=[k.__qualname__ for k, _ in EXPECTED])
def test_each_error_keeps_its_status(kind: type[errors.NodeError], status: int) -> None:
    err = kind.__new__(kind)  # the status depends on the class only
    assert status_of(err) == status


def test_the_table_names_only_node_errors() -> None:
    assert all(issubclass(kind, errors.NodeError) for kind in STATUSES)
    assert {status for _, status in EXPECTED} >= set(STATUSES.values())
