"""The template's ``[ussd]`` and ``[sms]`` sections (issue 19) are valid once uncommented,
and each needs a way for its gateway to prove itself."""

from __future__ import annotations

import re
import tomllib

import pytest
from pydantic import ValidationError

from node import config
from node.channels.sms_config import SmsConfig


def uncommented(first: str, last: str) -> str:
    text = config.template_text()
    section = text[text.index(first):text.index(last)]
    return "\n".join(re.sub(r"^# ?", "", line) for line in section.splitlines()
                     if not line.startswith("# #"))


def test_the_template_sections_are_valid_once_uncommented() -> None:
    text = uncommented("# [ussd]", "\n\n# SMS follow-up") + "\n" + uncommented(
        "# [sms]", "\n\n# The federation")
    text = re.sub(r'"<[^>]*>"', '"' + "s" * 32 + '"', text)
    cfg = config.parse(tomllib.loads(text))
    assert cfg.ussd is not None and cfg.ussd.service_codes == ["*384*1234#"]
    assert cfg.sms is not None and cfg.sms.sender is not None
    assert cfg.sms.keyword == "STATUS"


def test_an_sms_section_needs_a_secret_or_a_signature_key() -> None:
    with pytest.raises(ValidationError):
        SmsConfig()
    assert SmsConfig(auth_token="0123456789").webhook_secret is None
