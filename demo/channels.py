"""USSD and SMS on demo node A (issue 19), so that anyone can play the gateway with curl.

The demo's secrets are fixed and public (synthetic data only). The SMS webhook takes the
secret in its URL only (no X-Twilio-Signature, so that a plain curl works); no outbound
sender is configured, since the demo has no SMS gateway, so notices of waiting messages
are not sent. The first synthetic receipt gets the status PIN ``DEMO_PIN`` so that the SMS
example answers.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from node import demo as node_demo
from node.channels import sms_pins
from node.context import open_node
from node.datadir import DataDir

USSD_SECRET = "demo-ussd-callback-secret-not-for-real-use"  # noqa: S105 -- public demo value
SMS_SECRET = "demo-sms-webhook-secret-not-for-real-use"  # noqa: S105 -- public demo value
SERVICE_CODE = "*384*1234#"
DEMO_PIN = "123456"
DEMO_PHONE = "+243990000001"
PREFIXES = ("USSD callback:", "SMS webhook:")

CONFIG = f'''
# Issue 19: USSD and SMS, with the demo's public secrets (see DEMO-CREDENTIALS.txt).
[ussd]
callback_secret = "{USSD_SECRET}"
service_codes = ["{SERVICE_CODE}"]

[sms]
webhook_secret = "{SMS_SECRET}"
notice_text = "Reminder: your appointment is confirmed."
'''


def _first_receipt(data: Path) -> tuple[str, str] | None:
    lines = (data / node_demo.CREDENTIALS_FILE).read_text(encoding="utf-8").splitlines()
    for line in lines:
        code, sep, secret = line.strip().partition("  /  ")
        if sep and code.replace(" ", "").isdigit():
            return code, secret
    return None


def credential_lines(base_url: str, receipt_code: str | None) -> list[str]:
    ussd = f"{base_url}/ussd/{USSD_SECRET}"
    sms = f"{base_url}/sms/{SMS_SECRET}"
    body = f"STATUS {receipt_code or '<receipt number>'} {DEMO_PIN}"
    return [
        f"USSD callback: {ussd} (service code {SERVICE_CODE}; text = the answers joined by *)"
        f" -- try: curl -s {ussd} -d sessionId=demo1 --data-urlencode "
        f"'serviceCode={SERVICE_CODE}' --data-urlencode 'phoneNumber={DEMO_PHONE}' "
        f"-d networkCode=63902 --data-urlencode 'text=1*1'",
        f"SMS webhook: {sms} (PIN {DEMO_PIN} is set on the first receipt listed)"
        f" -- try: curl -s {sms} --data-urlencode 'From={DEMO_PHONE}' "
        f"--data-urlencode 'To=+15005550006' --data-urlencode {shlex.quote('Body=' + body)}",
    ]


def enable(data: Path, base_url: str) -> None:
    """Set the demo PIN once and (re)write the channel lines of DEMO-CREDENTIALS.txt."""
    first = _first_receipt(data)
    if first is not None:
        ctx = open_node(DataDir(data))
        try:
            access = ctx.intake.open_receipt(*first)
            if not sms_pins.has_pin(ctx.db, access.report_id)[0]:
                sms_pins.set_pin(ctx.db, ctx.keys.receipt_index, ctx.intake,
                                 access.report_id, access.data_key,
                                 sms_pins.Choice(DEMO_PIN, "en", None, None), 0)
        finally:
            ctx.close()
    path = data / node_demo.CREDENTIALS_FILE
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if not line.startswith(PREFIXES)]
    while kept and not kept[-1].strip():
        kept.pop()
    lines = [*kept, "", *credential_lines(base_url, first[0] if first else None)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
