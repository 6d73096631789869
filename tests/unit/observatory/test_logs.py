"""No IP address in any log line, ours or libp2p's (which logs peer multiaddrs and, since it
sets its logger to propagate=False, would reach stderr through logging.lastResort)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from observatory.logs import LIBRARY_LOGGERS, configure_logging, redact


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    libraries = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level)
                 for n in LIBRARY_LOGGERS}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (handlers, level) in libraries.items():
        logging.getLogger(name).handlers = handlers
        logging.getLogger(name).setLevel(level)


def test_addresses_are_redacted() -> None:
    line = ("dial /ip4/203.0.113.9/tcp/4001 and [2001:db8::1]:443 and ::1 failed; "
            "peer 12D3KooWRqfj node 0123456789abcdef0123456789abcdef")
    out = redact(line)
    assert "203.0.113.9" not in out and "2001:db8::1" not in out and "::1 " not in out
    assert "12D3KooWRqfj" in out and "0123456789abcdef0123456789abcdef" in out


def test_libp2p_warnings_go_through_the_filter(restore_logging: None) -> None:
    handler = configure_logging()
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logging.getLogger("libp2p.network.swarm").error(
        "failed to upgrade security for peer at /ip4/%s/tcp/%d", "198.51.100.4", 4001)
    logging.getLogger("backup.observatory").warning("from 10.0.0.1 %s", "x")
    text = stream.getvalue()
    assert "198.51.100.4" not in text and "10.0.0.1" not in text
    assert text.count("[address]") == 2
