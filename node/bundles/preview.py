"""The preview of a court bundle (issue 12): every field and file that would leave, what is
inside each file, and what inside a disclosed text looks like contact information -- a
per-field commitment cannot redact inside a narrative, so a person must see it first.
Built in memory from the decrypted case; the staff page and ``export-bundle --dry-run``
show the same thing.

The text checks are `node.bundles.contact_text`'s."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from backup_evidence.leaves import ItemType
from node.bundles import disclosure as policy
from node.bundles.contact_text import text_flags
from node.bundles.export import CaseItem, CasePlan
from node.bundles.file_metadata import FileFacts, inspect
from node.evidence.items import DisclosedRecord, report_fields
from node.i18n import N_

FLAG_LABELS = {
    "phone": N_("looks like a phone number"),
    "email": N_("looks like an e-mail address"),
    "address": N_("looks like a street address"),
}


@dataclass
class FieldRow:
    item: str  # "report", or the item's bundle name
    name: str
    group: str
    value: str
    disclose: bool
    why: str
    flags: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FileRow:
    key: str
    name: str
    mime: str | None
    size: int
    disclose: bool
    why: str
    facts: FileFacts


@dataclass
class Preview:
    report_id: str
    fields: list[FieldRow]
    files: list[FileRow]
    pending_recommit: bool

    @property
    def flagged(self) -> list[FieldRow]:
        return [f for f in self.fields if f.disclose and f.flags]


def build(plan: CasePlan) -> Preview:
    rows: list[FieldRow] = []
    files: list[FileRow] = []
    for item in plan.items:
        values = _values(item)
        for decision in item.decision.fields:
            value = values.get(decision.name)
            text = "" if value is None else str(value)
            rows.append(FieldRow(item.base, decision.name, decision.group,
                                 text if decision.disclose else "", decision.disclose,
                                 decision.why,
                                 text_flags(text) if isinstance(value, str) else []))
        if item.record.item_type == ItemType.ATTACHMENT or (
                item.record.item_type == ItemType.OPINION and "file.sha256" in values):
            data = item.load()  # decrypted in memory for the preview only
            files.append(FileRow(item.key, item.file_name(), item.mime, len(data),
                                 item.file_leaves, _file_why(item), inspect(data, item.mime)))
    return Preview(plan.report_id, rows, files, plan.pending_recommit)


def _values(item: CaseItem) -> dict[str, object]:
    if isinstance(item.record, DisclosedRecord):
        return {f.name: f.value for f in item.record.fields()}
    if item.key == "report":  # a version-1 report, as it will be re-committed
        return dict(report_fields(json.loads(item.load())))
    if item.record.item_type == ItemType.ADDITION:
        return {"(whole item)": item.load().decode("utf-8", "replace")}
    return {}


def _file_why(item: CaseItem) -> str:
    for d in item.decision.fields:
        if d.name in ("file.sha256", "(whole item)"):
            return d.why
    return "default"


def group_label(group: str) -> str:
    return policy.GROUP_LABELS[group]
