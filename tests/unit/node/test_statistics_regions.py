"""A node's regions counted by the federation's region vocabulary (issue 14): each region of
node.toml names a first-level ISO 3166-2 subdivision; incidents coded with the node's own
codes are counted under it, several regions in one subdivision share its cells, and a code
no longer configured counts as "unknown". A region that maps to nothing stops the node."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import cli
from node.backoffice.codings import IncidentRow
from node.backoffice.incidents import IncidentCoding
from node.config import ConfigError, parse
from node.statistics.columns import encode
from node.statistics.plan import ReleasePeriod, domain, region_domain
from protocol.vocabulary import UNKNOWN

PERIOD = ReleasePeriod(2025)
MAPPING = {"north": "CD-NK", "lake": "CD-NK", "south": "CD-SK", "border": UNKNOWN}


def row(region: str | None) -> IncidentRow:
    return IncidentRow(secrets.token_hex(12),
                       IncidentCoding(category="rape", date_from=date(2025, 3, 1),
                                      region=region),
                       [secrets.token_hex(16)], True)


def test_the_region_domain_is_the_mapped_subdivisions_then_unknown() -> None:
    assert region_domain(MAPPING) == ("CD-NK", "CD-SK", UNKNOWN)
    assert domain("region", PERIOD, MAPPING) == ("CD-NK", "CD-SK", UNKNOWN)
    assert region_domain({}) == (UNKNOWN,)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([*MAPPING, "gone", None]), max_size=30))
def test_incidents_count_under_the_subdivision_their_region_maps_to(
        coded: list[str | None]) -> None:
    columns = encode([row(r) for r in coded], PERIOD, MAPPING, 2, ["region"])
    values = columns.domains["region"]
    got = sorted(values[i] for i in columns.values["region"].tolist())
    expected = sorted(MAPPING.get(r, UNKNOWN) if r is not None else UNKNOWN for r in coded)
    assert got == expected


def _config(**region: object) -> dict[str, object]:
    return {"regions": [{"code": "north", "name": "North", **region}]}


def test_a_configuration_maps_every_region() -> None:
    cfg = parse({"regions": [{"code": c, "name": c, "subdivision": s}
                             for c, s in MAPPING.items()]})
    assert cfg.region_map() == MAPPING
    for bad, words in (({}, 'add subdivision = "<code>"'),
                       ({"subdivision": "CD-XX"}, "'CD-XX' is not a first-level"),
                       ({"subdivision": "FR-75"}, "'FR-75' is not a first-level"),
                       ({"subdivision": "north"}, "is not a first-level")):
        with pytest.raises(ConfigError) as caught:
            parse(_config(**bad))
        message = str(caught.value)
        assert words in message and "backup-node regions COUNTRY" in message


def test_the_regions_command_lists_a_countrys_codes(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    assert cli.main(["regions", "ua", "--lang", "uk"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Україна:") and "UA-14\tДонецька область\tRegion\n" in out
    assert cli.main(["regions", "XX"]) == 2
    assert "no such ISO 3166-1 alpha-2 country code" in capsys.readouterr().err
