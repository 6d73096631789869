"""observatory.toml: the template is valid, bad values are refused naming the field."""

from __future__ import annotations

import tomllib

import pytest

from observatory.config import ConfigError, ObservatoryConfig, parse, template_text


def test_the_template_is_valid_and_means_the_defaults() -> None:
    assert parse(tomllib.loads(template_text())) == ObservatoryConfig()


@pytest.mark.parametrize(("raw", "field"), [
    ({"languages": ["xx"]}, "languages"),
    ({"languages": []}, "languages"),
    ({"membership_list_days": 0}, "membership_list_days"),
    ({"certificate_days": 1}, "certificate_days"),
    ({"p2p": {"listen_host": "observatory.example.org"}}, "p2p"),
    ({"p2p": {"listen_port": 70000}}, "p2p.listen_port"),
    ({"p2p": {"announce": ["/dns4/observatory.example.org/tcp/4001"]}}, "p2p"),
    ({"p2p": {"announce": ["/ip4/203.0.113.10/tcp/4001/p2p/12D3KooWabc"]}}, "p2p"),
    ({"p2p": {"announce": ["/ip6/203.0.113.10/tcp/4001"]}}, "p2p"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_values_are_named(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw, "observatory.toml")
    assert f"  {field}" in str(info.value)


def test_nodes_dial_the_announced_addresses_or_the_listen_address() -> None:
    cfg = parse({"p2p": {"listen_host": "192.0.2.7", "listen_port": 4101}})
    assert cfg.p2p.dial_addrs() == ["/ip4/192.0.2.7/tcp/4101"]
    assert cfg.p2p.dial_addrs(4999) == ["/ip4/192.0.2.7/tcp/4999"]
    cfg = parse({"p2p": {"listen_host": "::", "announce": ["/ip6/2001:db8::1/tcp/4001"]}})
    assert cfg.p2p.dial_addrs() == ["/ip6/2001:db8::1/tcp/4001"]
