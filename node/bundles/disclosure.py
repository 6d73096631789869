"""What a court bundle discloses (issue 12): for each field of each item, whether it leaves
and why, decided once here for the export, its preview and the CLI's ``--dry-run``.

A field leaves when all of these hold:

* legal use needs it (`DEFAULT_GROUPS`: the narrative, when and where it happened, the
  perpetrators as described, the reporter's role, the attachments, sound recordings apart
  from the other attachments since a voice identifies the speaker) -- or a coordinator
  discloses it on a court order (only fields outside those groups and outside contact);
* it is not contact information: contact details, safe times and precautions never leave;
* the reporter's court scope (consent data, `Consent.court_*`) allows its group;
* the coordinator did not withhold its group or its item.

An expert's signed opinion (issue 16) leaves by default, as its own group: it was
commissioned and signed for this case so that it could serve as evidence, and a bundle is
made only under the reporter's legal-use consent. Since an opinion restates the reporter's
account (a medico-legal certificate describes what happened and what was found), it follows
the reporter's court scope for their account (``court_narrative``), and a coordinator can
withhold it, or every opinion, with a reason like any other item. An opinion still sealed to
the node (no coordinator holding its intake key opened the case since it arrived) leaves as
its digests only.

A coordinator's choices carry a reason from a closed list (`WITHHOLD_REASONS`,
`DISCLOSE_REASONS`), and only the reason's code goes to the chain of custody, which travels
with bundles: there is no free text to leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backup_evidence.leaves import ItemType
from node import errors
from node.i18n import N_
from node.intake.models import Consent

GROUPS: tuple[str, ...] = ("narrative", "when", "place", "perpetrators", "role", "files",
                           "voice", "opinion", "contact", "other", "item", "original")
GROUP_LABELS: dict[str, str] = {
    "narrative": N_("What happened, in the reporter's words"),
    "when": N_("When it happened"),
    "place": N_("Where it happened"),
    "perpetrators": N_("The perpetrators as described"),
    "role": N_("The reporter's role"),
    "files": N_("Attached files"),
    "voice": N_("Attached sound recordings (voice)"),
    "opinion": N_("Experts' signed opinions"),
    "contact": N_("Contact details, safe times and precautions"),
    "other": N_("Other answers (needs, language, channel, time of receipt, consent, file names)"),
    "item": N_("Links between records"),
    "original": N_("The original submission from the field tool, whole"),
}
DEFAULT_GROUPS = frozenset({"narrative", "when", "place", "perpetrators", "role", "files",
                            "voice", "opinion"})
WITHHOLDABLE = DEFAULT_GROUPS
SCOPE_OF_GROUP = {"narrative": "court_narrative", "when": "court_when",
                  "place": "court_place", "perpetrators": "court_perpetrators",
                  "role": "court_role", "files": "court_files", "voice": "court_voice",
                  "opinion": "court_narrative"}

WITHHOLD_REASONS: tuple[str, ...] = ("reporter_safety", "others_safety", "not_relevant",
                                     "reporter_request", "legal_advice")
DISCLOSE_REASONS: tuple[str, ...] = ("court_order",)
REASON_LABELS: dict[str, str] = {
    "reporter_safety": N_("The reporter's safety"),
    "others_safety": N_("The safety of other people"),
    "not_relevant": N_("Not relevant to the proceedings"),
    "reporter_request": N_("The reporter asked for it"),
    "legal_advice": N_("On legal advice"),
    "court_order": N_("A court order"),
}
WHY_LABELS: dict[str, str] = {
    "needed": N_("legal use needs it"),
    "item": N_("it links records, and says nothing the reporter wrote"),
    "never": N_("contact information never leaves"),
    "reporter": N_("the reporter did not agree to show it to a court"),
    "coordinator": N_("withheld by a coordinator"),
    "default": N_("legal use does not need it"),
    "court_order": N_("disclosed on a court order"),
    "original": N_("it holds only answers that leave in this bundle"),
    "original_contact": N_("it seems to hold contact information, and it leaves whole or "
                           "not at all"),
    "original_more": N_("it also holds answers that do not leave in this bundle"),
    "sealed": N_("still sealed to the node: no coordinator holding its intake key opened it "
                 "yet"),
}

_REPORT_GROUPS = {
    "narrative": "narrative", "incident_year": "when", "incident_month": "when",
    "incident_day": "when", "incident_when": "when", "region": "place", "place": "place",
    "perpetrators": "perpetrators", "perpetrator_affiliation": "perpetrators",
    "people_harmed": "perpetrators", "reporter_role": "role"}
_ATTACHMENT_GROUPS = {"file.sha256": "files", "file.size": "files", "file.mime": "files"}


def group_of(item_type: ItemType, name: str, *, sound: bool = False) -> str:
    """The group of a field of an item of `item_type`; `sound`: the item is a sound
    recording (an attachment whose sniffed type is audio)."""
    if name.startswith("_"):
        return "item"
    if name.startswith("contact.") or name == "contact":
        return "contact"
    if item_type == ItemType.REPORT:
        return _REPORT_GROUPS.get(name, "other")
    if item_type == ItemType.ATTACHMENT:
        group = _ATTACHMENT_GROUPS.get(name, "other")
        return "voice" if sound and group == "files" else group
    if item_type == ItemType.ADDITION:
        return "narrative" if name == "text" else "other"
    if item_type == ItemType.OPINION:
        return "opinion"
    return "other"


def whole_item_group(item_type: ItemType, *, sound: bool = False) -> str:
    """The group of a version-1 item, disclosed or withheld whole."""
    if item_type == ItemType.ATTACHMENT and sound:
        return "voice"
    return {ItemType.ATTACHMENT: "files", ItemType.ADDITION: "narrative"}.get(
        item_type, "other")


class BadChoice(errors.InvalidInput):
    """A coordinator's choice outside the closed lists (400, names the field)."""


@dataclass(frozen=True)
class Choices:
    """A coordinator's choices for one export."""

    withhold_groups: frozenset[str] = frozenset()
    withhold_items: frozenset[str] = frozenset()
    withhold_reason: str | None = None
    disclose_fields: frozenset[str] = frozenset()
    disclose_reason: str | None = None

    def check(self) -> None:
        if not self.withhold_groups <= WITHHOLDABLE:
            raise BadChoice(field="withhold")
        if (self.withhold_groups or self.withhold_items) and (
                self.withhold_reason not in WITHHOLD_REASONS):
            raise BadChoice(field="withhold_reason")
        if self.disclose_fields and self.disclose_reason not in DISCLOSE_REASONS:
            raise BadChoice(field="disclose_reason")
        if any(len(n) > 200 for n in self.disclose_fields):
            raise BadChoice(field="disclose")

    def custody_details(self) -> list[str]:
        """What the chain of custody records: codes only, never free text."""
        out = []
        if self.withhold_groups:
            out.append(f"withheld groups {','.join(sorted(self.withhold_groups))}; "
                       f"reason {self.withhold_reason}")
        if self.withhold_items:
            out.append(f"withheld items {','.join(sorted(self.withhold_items))}; "
                       f"reason {self.withhold_reason}")
        if self.disclose_fields:
            out.append(f"disclosed fields {','.join(sorted(self.disclose_fields))}; "
                       f"reason {self.disclose_reason}")
        return out


@dataclass(frozen=True)
class FieldDecision:
    name: str
    group: str
    disclose: bool
    why: str


@dataclass
class ItemDecision:
    """One item of the case: its key ("report" or the item's id) and its fields."""

    key: str
    item_type: ItemType
    fields: list[FieldDecision] = field(default_factory=list)

    @property
    def disclosed(self) -> list[str]:
        return [f.name for f in self.fields if f.disclose]

    @property
    def withheld(self) -> list[str]:
        return [f.name for f in self.fields if not f.disclose]

    def discloses(self, name: str) -> bool:
        return any(f.name == name and f.disclose for f in self.fields)


def decide(item_type: ItemType, name: str, item_key: str, consent: Consent,
           choices: Choices, *, sound: bool = False) -> FieldDecision:
    group = group_of(item_type, name, sound=sound)
    return _decide_group(name, group, item_key, consent, choices)


def decide_whole(item_type: ItemType, item_key: str, consent: Consent,
                 choices: Choices, *, sound: bool = False) -> FieldDecision:
    """For a version-1 item (one commitment over its whole content)."""
    return _decide_group("(whole item)", whole_item_group(item_type, sound=sound), item_key,
                         consent, choices)


def _decide_group(name: str, group: str, item_key: str, consent: Consent,
                  choices: Choices) -> FieldDecision:
    if group == "item":
        return FieldDecision(name, group, True, "item")
    if group == "contact":
        return FieldDecision(name, group, False, "never")
    if item_key in choices.withhold_items or group in choices.withhold_groups:
        return FieldDecision(name, group, False, "coordinator")
    if group in DEFAULT_GROUPS:
        if not getattr(consent, SCOPE_OF_GROUP[group]):
            return FieldDecision(name, group, False, "reporter")
        return FieldDecision(name, group, True, "needed")
    if name in choices.disclose_fields:
        return FieldDecision(name, group, True, "court_order")
    return FieldDecision(name, group, False, "default")


def decide_original(name: str, item_key: str, consent: Consent, choices: Choices, *,
                    holds_contact: bool, report: list[FieldDecision]) -> FieldDecision:
    """A field of an imported report's original submission (issue 19), committed whole by
    the SHA-256 of its bytes: it cannot be disclosed in part. Its bytes (and their size and
    type) leave only when nothing in it looks like contact information (`holds_contact`:
    the report's contact fields came from it, or `node.bundles.contact_text` found some),
    the report's own decisions (`report`) let every legal-use answer leave -- what the
    original holds besides them is the form's needs and consent answers, and the tool's
    metadata -- and neither the reporter's court scope for files nor a coordinator keeps
    it. Its file name is an item's like any other ("other")."""
    if name not in ("file.sha256", "file.size", "file.mime"):
        return decide(ItemType.ATTACHMENT, name, item_key, consent, choices)
    if holds_contact:
        return FieldDecision(name, "original", False, "original_contact")
    if item_key in choices.withhold_items or "files" in choices.withhold_groups:
        return FieldDecision(name, "original", False, "coordinator")
    if not consent.court_files:
        return FieldDecision(name, "original", False, "reporter")
    if any(not d.disclose for d in report if d.group in DEFAULT_GROUPS):
        return FieldDecision(name, "original", False, "original_more")
    return FieldDecision(name, "original", True, "original")
