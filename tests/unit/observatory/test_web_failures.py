"""The observatory's errors map to HTTP statuses and to sentences at the web edge only."""

from __future__ import annotations

from observatory import errors
from observatory.i18n import _
from observatory.web.failures import explain, status_of


def test_domain_errors_know_nothing_of_http() -> None:
    todo: list[type[errors.ObservatoryError]] = [errors.ObservatoryError]
    while todo:
        kind = todo.pop()
        assert "status" not in vars(kind), kind.__qualname__
        todo.extend(kind.__subclasses__())


def test_each_error_has_a_status_and_a_sentence() -> None:
    cases = [
        (errors.UnknownNode("no node"), 404, "there is no request to join from this node"),
        (errors.UnknownAlarm("no alarm"), 404, "there is no such fork alarm"),
        (errors.WrongState("decided"), 409, "nothing changed"),
        (errors.InvalidReason("empty", "empty"), 400,
         "a rejection needs a reason: the organisation deserves one"),
        (errors.InvalidReason("long", "too_long"), 400,
         "a reason has at most 1000 characters"),
    ]
    for exc, status, sentence in cases:
        assert status_of(exc) == status
        assert explain(exc, _) == sentence
    assert explain(errors.WrongState("decided"), _, wrong_state="already decided") \
        == "already decided"
