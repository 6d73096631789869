"""The [federation] section: optional, validated, and documented in the template."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from node import config

OBSERVATORY = {
    "observatory_node_id": "0123456789abcdef0123456789abcdef",
    "observatory_identity_key": "ab" * 32,
    "observatory_addrs": ["/ip4/192.0.2.10/tcp/4001"],
    "organisation_name": "Partner organisation",
    "country": "CD",
    "contact": "federation@example.org",
}


def test_without_the_section_the_node_is_standalone() -> None:
    assert config.parse({}).federation is None
    assert config.parse(tomllib.loads(config.template_text())).federation is None


def test_the_template_section_is_valid_once_uncommented() -> None:
    lines = config.template_text().split("\n[federation]", 1)
    assert len(lines) == 1, "the template's [federation] section is commented out"
    text = config.template_text()
    start = text.index("# [federation]")
    section = "\n".join(re.sub(r"^# ?", "", line) for line in text[start:].splitlines()
                        if not line.startswith("# #"))
    section = section.replace("<64 hex digits: the observatory's Ed25519 identity key>",
                              "ab" * 32)
    cfg = config.parse(tomllib.loads(section))
    assert cfg.federation is not None
    assert cfg.federation.listen_port == 4001
    assert [p.node_id for p in cfg.federation.peer_witnesses] == [
        "fedcba9876543210fedcba9876543210"]


def test_defaults() -> None:
    fed = config.parse({"federation": OBSERVATORY}).federation
    assert fed is not None
    assert (fed.listen_host, fed.listen_port, fed.enrollment_poll_seconds) == ("0.0.0.0", 4001, 60)
    assert fed.peer_witnesses == []


@pytest.mark.parametrize(("change", "field"), [
    ({"observatory_node_id": "XYZ"}, "federation.observatory_node_id"),
    ({"observatory_identity_key": "ab"}, "federation.observatory_identity_key"),
    ({"observatory_addrs": ["/dns4/observatory.example/tcp/4001"]}, "observatory_addrs"),
    ({"observatory_addrs": []}, "observatory_addrs"),
    ({"country": "Congo"}, "federation.country"),
    ({"organisation_name": "bad\u202ename"}, "organisation_name"),
    ({"listen_host": "localhost"}, "listen_host"),
    ({"listen_port": 0}, "listen_port"),
    ({"peer_witnesses": [{"node_id": "ab" * 16, "addrs": ["/ip4/1.2.3.4/tcp/1"]}] * 2},
     "peer_witnesses"),
    ({"peer_witnesses": [{"node_id": "ab" * 16, "addrs": ["1.2.3.4:4001"]}]},
     "peer_witnesses.0.addrs"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_values_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(config.ConfigError) as exc:
        config.parse({"federation": {**OBSERVATORY, **change}})
    assert field in str(exc.value)
