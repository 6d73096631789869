"""`make demo` enables USSD and SMS on node A (issue 19): DEMO-CREDENTIALS.txt has the
``USSD callback:`` and ``SMS webhook:`` lines, and their curl examples, sent as curl sends
them, get a menu screen and a status."""

from __future__ import annotations

import shlex
import urllib.parse
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from demo import channels
from node import demo as node_demo
from node.context import open_node
from node.datadir import DataDir
from node.web.app import create_app


def curl_form(command: str) -> tuple[str, bytes]:
    """The URL and the form body of a ``curl -s URL -d ... --data-urlencode ...`` line."""
    words = shlex.split(command)
    assert words[:2] == ["curl", "-s"]
    url, pairs = words[2], []
    for flag, value in zip(words[3::2], words[4::2], strict=True):
        name, _, raw = value.partition("=")
        assert flag in ("-d", "--data-urlencode")
        pairs.append(f"{name}={urllib.parse.quote_plus(raw) if flag != '-d' else raw}")
    return url, "&".join(pairs).encode()


async def test_the_demo_credentials_drive_both_channels(tmp_path: Path,
                                                        aiohttp_client: Any) -> None:
    data = tmp_path / "node-a"
    node_demo.prepare(data, 3, node_demo.DEMO_CONFIG + channels.CONFIG)
    channels.enable(data, "http://127.0.0.1:8080")
    channels.enable(data, "http://127.0.0.1:8080")  # again, as every `make demo` does
    text = (data / node_demo.CREDENTIALS_FILE).read_text(encoding="utf-8")
    lines = {line.split(":", 1)[0]: line for line in text.splitlines()
             if line.startswith(channels.PREFIXES)}
    assert set(lines) == {"USSD callback", "SMS webhook"}
    assert sum(line.startswith(channels.PREFIXES) for line in text.splitlines()) == 2
    ctx = open_node(DataDir(data), staff_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        client: TestClient[Any, Any] = await aiohttp_client(create_app(ctx, {"public"}))
        replies = []
        for name in ("USSD callback", "SMS webhook"):
            line = lines[name]
            url = line.split()[2]
            assert url.startswith("http://127.0.0.1:8080/")
            curl_url, body = curl_form(line.split(" -- try: ", 1)[1])
            assert curl_url == url
            r = await client.post(urllib.parse.urlsplit(url).path, data=body, headers={
                "Content-Type": "application/x-www-form-urlencoded"})
            assert r.status == 200
            replies.append(await r.text())
    finally:
        ctx.close()
    assert replies[0].startswith("CON ") and "Make a report" in replies[0]
    assert "<Message>Status: " in replies[1]
