"""``summary.html``: a bundle's readable account, in the language of the person who
exported it, for a lawyer without tools (self-contained: the stylesheet is inline)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2

from node.bundles.disclosure import GROUP_LABELS, WHY_LABELS
from node.i18n import N_, load
from node.intake.models import (
    CONSENT_LABELS,
    COURT_SCOPE_LABELS,
    NOTICE_CONSENT_LABELS,
    SHARE_CONSENT_LABELS,
)

ITEM_LABELS = {"report": N_("The report"), "attachment": N_("An attached file"),
               "addition": N_("Information added later"),
               "original": N_("The original submission from the field tool"),
               "opinion": N_("An expert's signed opinion")}


def render_summary(manifest: dict[str, Any], custody: list[dict[str, Any]],
                   consent: dict[str, Any], vkey: str, lang: str,
                   shown: dict[str, list[tuple[str, str]]]) -> str:
    """`shown`: the disclosed fields of each item (by its proof's path), as text."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("node", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    translations = load(lang)

    def _(message: str, **params: Any) -> str:
        text = translations.gettext(message)
        return text % params if params else text

    template = env.get_template("bundle/summary.html")
    return template.render(_=_, lang=lang, m=manifest, custody=custody, consent=consent,
                           consent_labels=(CONSENT_LABELS | COURT_SCOPE_LABELS
                                           | SHARE_CONSENT_LABELS | NOTICE_CONSENT_LABELS),
                           shown=shown, why_labels=WHY_LABELS, group_labels=GROUP_LABELS,
                           item_labels={k: _(v) for k, v in ITEM_LABELS.items()},
                           vkey=vkey,
                           css=resources.files("node").joinpath("static", "site.css")
                           .read_text(encoding="utf-8"))
