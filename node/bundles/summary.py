"""``summary.html``: a bundle's readable account, in the language of the person who
exported it, for a lawyer without tools (self-contained: the stylesheet is inline)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2

from backup_evidence.leaves import ItemType
from node.i18n import load
from node.intake.models import CONSENT_LABELS


def render_summary(manifest: dict[str, Any], custody: list[dict[str, Any]],
                   consent: dict[str, Any], vkey: str, lang: str) -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("node", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    translations = load(lang)

    def _(message: str, **params: Any) -> str:
        text = translations.gettext(message)
        return text % params if params else text

    template = env.get_template("bundle/summary.html")
    return template.render(_=_, lang=lang, m=manifest, custody=custody, consent=consent,
                           consent_labels=CONSENT_LABELS,
                           vkey=vkey,
                           item_types={t.name.lower(): t for t in ItemType},
                           css=resources.files("node").joinpath("static", "site.css")
                           .read_text(encoding="utf-8"))
