"""Small pure pieces of the web layer: language negotiation, sessions, rate limiting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node.config import Drafts, Limits
from node.intake.attachments import Allowance, StagedFile
from node.web.language import negotiate, parse_accept_language
from node.web.ratelimit import RateLimiter
from node.web.reporter.form_tokens import TOKEN_SECONDS, FormTokens
from node.web.reporter.sessions import Draft, ReporterSessions, SessionsFull


def test_accept_language() -> None:
    assert parse_accept_language("fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5") == ["fr", "fr", "en"]
    assert negotiate("de, ar;q=0.5", ["en", "ar"], "en") == "ar"
    assert negotiate(None, ["en", "ar"], "en") == "en"
    assert negotiate("sw;q=0", ["en", "sw"], "en") == "en"
    # issue 20: a language configured with its territory
    assert negotiate("pt-BR, en;q=0.5", ["en", "pt_BR"], "en") == "pt_BR"
    assert negotiate("pt, en;q=0.5", ["en", "pt", "pt_BR"], "en") == "pt"


@given(st.text(max_size=200))
def test_accept_language_never_crashes(header: str) -> None:
    assert negotiate(header, ["en", "fr"], "en") in {"en", "fr"}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_rate_limiter_refills_and_separates_addresses() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    assert all(limiter.allow("x", "10.0.0.1", 3) for _ in range(3))
    assert not limiter.allow("x", "10.0.0.1", 3)
    assert limiter.allow("x", "10.0.0.2", 3)
    assert limiter.allow("y", "10.0.0.1", 3)
    clock.t += 20  # one token per 20 s at 3/min
    assert limiter.allow("x", "10.0.0.1", 3)
    assert not limiter.allow("x", "10.0.0.1", 3)


def test_rate_limiter_stores_no_address() -> None:
    limiter = RateLimiter()
    limiter.allow("x", "192.0.2.77", 5)
    assert "192.0.2.77" not in repr(limiter.__dict__)
    assert b"192.0.2.77" not in b"".join(k[1] for k in limiter._buckets)


def test_sessions_expire_and_call_back() -> None:
    clock = Clock()
    ended = []
    store = ReporterSessions(Drafts(max_sessions=3, idle_minutes=1, idle_minutes_with_files=1),
                             ended.append, clock)
    a = store.new()
    assert store.get(a.id) is a
    clock.t += 61
    assert store.get(a.id) is None
    assert ended == [a]
    sessions = [store.new() for _ in range(4)]  # over capacity: the oldest is ended
    assert store.get(sessions[0].id) is None and len(store) == 3


def _staged(size: int) -> StagedFile:
    return StagedFile(item_id="i", blob_name="b", stored_bytes=size, filename="f",
                      mime="image/png", category="image", size=size, sha256="0" * 64,
                      received_at="2026-01-01T00:00:00")


def test_drafts_are_never_evicted_and_files_expire_sooner() -> None:
    from crypto.keys import DataKey

    clock = Clock()
    ended: list[object] = []
    store = ReporterSessions(Drafts(max_sessions=2, idle_minutes=60,
                                    idle_minutes_with_files=20), ended.append, clock)
    writing = [store.new(), store.new()]
    for s in writing:
        s.draft = Draft(DataKey.generate(), Allowance(Limits()))
    try:
        store.new()
        raise AssertionError("a full store of drafts must refuse a new session")
    except SessionsFull:
        pass
    assert ended == [] and len(store) == 2
    writing[0].draft.files.append(_staged(10))  # type: ignore[union-attr]
    assert store.staged_bytes() == 10
    clock.t += 21 * 60  # the draft with files ends after 20 idle minutes, the other stays
    assert store.get(writing[0].id) is None and store.get(writing[1].id) is writing[1]
    assert ended == [writing[0]]


def test_form_tokens_are_signed_and_expire() -> None:
    clock = Clock()
    tokens = FormTokens(clock)
    t = tokens.issue()
    assert tokens.valid(t)
    assert not tokens.valid(t[:-2] + ("AA" if t[-2:] != "AA" else "BB"))
    assert not FormTokens(clock).valid(t)  # another process's key (or a restart)
    assert not tokens.valid("x") and not tokens.valid(None)
    clock.t += TOKEN_SECONDS - 1
    assert tokens.valid(t)  # across a key change
    clock.t += 2
    assert not tokens.valid(t)


def test_client_bucket_behind_proxies() -> None:
    from node.web.ratelimit import client_bucket

    proxies = ["127.0.0.1"]
    # a direct client is limited by its own address
    assert client_bucket("203.0.113.5", "198.51.100.1", proxies) == ("203.0.113.5", False)
    # behind nginx: the rightmost hop not a proxy; a forged left part is ignored
    assert client_bucket("127.0.0.1", "6.6.6.6, 198.51.100.7", proxies) == (
        "198.51.100.7", False)
    # an onion service: the proxy names nobody, everyone shares one (larger) bucket
    assert client_bucket("127.0.0.1", None, proxies) == ("shared:127.0.0.1", True)
    # without trusted proxies X-Forwarded-For is never believed
    assert client_bucket("127.0.0.1", "198.51.100.7", []) == ("127.0.0.1", False)


def test_library_loggers_go_through_the_redacting_handler() -> None:
    import logging

    import libp2p  # noqa: F401 -- sets its logger to propagate=False on import

    from runtime.logs import RedactAddresses, adopt_library_loggers, configure_logging

    root_handlers = logging.getLogger().handlers[:]
    try:
        configure_logging(logging.INFO)
        adopt_library_loggers(logging.INFO)
        logger = logging.getLogger("libp2p")
        handlers = logger.handlers if not logger.propagate else logging.getLogger().handlers
        assert handlers and all(any(isinstance(f, RedactAddresses) for f in h.filters)
                                for h in handlers)
    finally:
        logging.getLogger().handlers = root_handlers
