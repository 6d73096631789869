"""The reporting form's step parsers and the bundle verifier fuzzed with Hypothesis: any
input gets a clear answer (a page with an error, a redirect, a verdict) -- never a crash."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backup_evidence.verify import NotABundle, verify_bundle
from tests.integration.conftest import csrf_of

STEPS = ["who", "what", "when", "where", "perpetrators", "help", "consent", "files", "review"]
FIELDS = ["reporter_role", "narrative", "incident_day", "incident_month", "incident_year",
          "incident_when", "region", "place", "perpetrator_affiliation", "perpetrators",
          "people_harmed", "needs", "consent", "contact_method", "contact_details",
          "contact_safe_times", "contact_precautions", "go", "remove"]
values = st.one_of(st.text(max_size=40), st.sampled_from(
    ["survivor", "R1", "militia", "medical", "care", "sms", "next", "back", "review", "٣١",
     "2024", "0", "-1", "99999999999999999999", ""]))


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(step=st.sampled_from(STEPS), lang=st.sampled_from(["en", "ar", "fr"]),
       data=st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=12))
async def test_steps_never_crash(client: TestClient[Any, Any], step: str, lang: str,
                                 data: list[tuple[str, str]]) -> None:
    r = await client.get(f"/{lang}/report/who")
    token = csrf_of(await r.text())
    r = await client.post(f"/{lang}/report/{step}", data=[("csrf", token), *data],
                          allow_redirects=False)
    assert r.status in {200, 303, 400, 409, 413, 415}, (step, r.status)
    if r.status >= 400:
        assert 'class="errs"' in await r.text()


@settings(max_examples=60, deadline=None)
@given(blob=st.binary(max_size=2048))
def test_verifier_never_crashes_on_random_bytes(tmp_path_factory: Any, blob: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "b.zip"
    path.write_bytes(blob)
    try:
        report = verify_bundle(str(path))
    except NotABundle:
        return
    assert not report.ok


@settings(max_examples=60, deadline=None)
@given(members=st.dictionaries(
    st.sampled_from(["manifest.json", "manifest.sig", "node-key.txt", "custody.json",
                     "evidence/report.json", "proofs/item-001.json",
                     "checkpoints/checkpoint-1.txt"]),
    st.one_of(st.binary(max_size=300), st.sampled_from([
        b'{"format": "backup-evidence-bundle/1", "items": [{"path": "evidence/report.json",'
        b' "proof": "proofs/item-001.json"}]}',
        b"ed25519:" + b"00" * 32, b"{}", b"[]"])), max_size=7))
def test_verifier_never_crashes_on_odd_archives(tmp_path_factory: Any,
                                                members: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    path = Path(tmp_path_factory.mktemp("fuzz")) / "b.zip"
    path.write_bytes(buf.getvalue())
    try:
        report = verify_bundle(str(path))
    except NotABundle:
        return
    assert not report.ok
