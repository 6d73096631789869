"""The JSON API's parsers fuzzed with Hypothesis against a real server: whatever arrives,
the answer is a clear client error or a success -- never a crash, never a 500."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                       children, max_size=4),
    max_leaves=12)
report_like = st.fixed_dictionaries({}, optional={
    "narrative": st.text(max_size=50) | json_values,
    "region": st.sampled_from(["R1", "R2", "R9", ""]) | json_values,
    "needs": st.lists(st.sampled_from(["medical", "legal", "none", "x"]), max_size=5),
    "incident_year": st.integers(-5, 3000) | json_values,
    "incident_month": st.integers(-1, 14),
    "incident_day": st.integers(-1, 40),
    "consent": st.dictionaries(st.sampled_from(["care", "legal", "x"]), json_values, max_size=3),
    "people_harmed": json_values,
    "contact": json_values,
})

ROUTES = ["/api/v1/reports", "/api/v1/reports/status", "/api/v1/reports/additions",
          "/api/v1/reports/consent", "/api/v1/reports/deletion"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), body=report_like | json_values,
       raw=st.booleans(), junk=st.binary(max_size=60))
async def test_api_never_crashes(client: TestClient[Any, Any], route: str, body: Any,
                                 raw: bool, junk: bytes) -> None:
    data = junk if raw else json.dumps(body).encode()
    r = await client.post(route, data=data, headers={"Content-Type": "application/json"})
    assert r.status in {200, 201, 400, 403, 413, 415, 429}, (route, r.status)
    payload = await r.json()
    if r.status >= 400:
        assert payload["error"]["message"] and payload["error"]["code"]
