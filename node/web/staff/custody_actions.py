"""The names of the actions in the chain of custody, as staff read them in their language.

The log itself records a stable code (``case.recode``): it is hashed into the chain and
must never change with a translation. Pages show the label; the CSV export keeps the code
(a court reads the same code whatever the language of the page). An action without a
label here is shown as its code.

The same holds for an entry's detail ("to service clinic", "in_triage", "task 3fa2..."):
recorded in English words and codes, shown in the page's language by `detail_text`, kept
as recorded in the CSV.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from node.i18n import N_
from node.web.labels import STATUS_FOR_STAFF

ACTION_LABELS = {
    "case.view": N_("Opened the case"),
    "case.decrypt_attachment": N_("Opened a file"),
    "case.status": N_("Changed the status"),
    "case.assign": N_("Assigned the case"),
    "case.unassign": N_("Removed an assignment"),
    "case.rotate_key": N_("Replaced the case key"),  # issue 13
    "case.reply": N_("The reporter replied"),
    "case.secret_replaced": N_("The reporter replaced their secret"),  # issue 19
    "case.note": N_("Added a note"),
    "case.task": N_("Added a task"),
    "case.task_done": N_("Completed a task"),
    "case.message": N_("Message to the reporter"),
    "case.referral": N_("Referred to a service"),
    "case.referral_outcome": N_("Recorded a referral outcome"),
    "case.retention": N_("Set the retention period"),
    "case.delete": N_("Deleted the case"),
    "case.import": N_("Imported from a field tool"),
    "case.export": N_("Exported a court bundle"),
    "case.custody_report": N_("Exported the chain of custody"),
    "case.code": N_("Coded an incident"),
    "case.recode": N_("Edited an incident coding"),
    "case.withdraw_coding": N_("Withdrew an incident coding"),
    "case.link_incident": N_("Linked an incident"),
    "case.unlink_incident": N_("Removed an incident link"),
    "case.suggestion_decided": N_("Decided on a suggested coding"),
    "case.receipt_lookup": N_("Found by receipt number"),
    "case.receipt_check": N_("Checked the caller's secret"),
    "receipt.lookup_unknown": N_("Looked up a receipt number: no case"),
    "case.export.choice": N_("Chose what a court bundle discloses"),
    "account.create": N_("Created an account"),
    "account.invite": N_("Invited someone"),
    "account.invite_cancel": N_("Cancelled an invitation"),
    "account.disable": N_("Disabled an account"),
    "account.enable": N_("Enabled an account"),
    "account.unlock": N_("Unlocked an account"),
    "account.roles": N_("Changed the roles of an account"),
    "account.passphrase": N_("Changed their passphrase"),
    "account.recover": N_("Recovered an account"),
    "account.self_grant": N_("Gave themselves access"),
    "account.sign_in": N_("Signed in"),
    "account.totp_on": N_("Turned on two-step sign-in"),
    "account.totp_off": N_("Turned off two-step sign-in"),
    "account.totp_reset": N_("Reset two-step sign-in of an account"),
    "account.key_not_authentic": N_("Found a key that is not authentic"),
    "key.grant": N_("Gave access to a key"),
    "key.revoke": N_("Removed access to a key"),
    "key.rotate": N_("Replaced a node key"),
    "recovery.split": N_("Split the recovery key into shares"),
    "expert.availability": N_("Changed their availability"),
    "expert.profile": N_("Changed their expert profile"),
    "expert.vouch": N_("Vouched for an expert"),
    "expert.key_made": N_("Made their expert key"),
    "statistics.draft": N_("Drafted a statistics release"),
    "statistics.approve": N_("Approved a statistics release"),
    "statistics.discard": N_("Discarded a statistics release"),
    "evidence.recommit": N_("Re-committed a report to the evidence log"),
    "audit.rewrite": N_("Upgraded the audit log's format"),
}

# who acted, when it was no staff member
ACTOR_LABELS = {
    "reporter": N_("the reporter"),
    "system": N_("the node itself"),
    "node": N_("the node itself"),
    "upgrade": N_("the node's upgrade"),
    "cli": N_("an administrator, at the command line"),
    "recovery": N_("account recovery"),
}

# what an entry is about, when it is not a case (those are named by their case number)
OBJECT_LABELS = {
    "account": N_("Account %(id)s"),
    "invitation": N_("Invitation %(id)s"),
    "statistics_release": N_("Statistics release %(id)s"),
    "node": N_("This node (%(id)s)"),
    "audit": N_("Audit log %(id)s"),
}

# "<what> <id>": the kind of entry an action touched, and its id (shortened on the page)
_OBJECTS = {
    "incident": N_("incident %(id)s"), "task": N_("task %(id)s"), "item": N_("file %(id)s"),
    "message": N_("message %(id)s"), "note": N_("note %(id)s"),
    "referral": N_("referral %(id)s"),
}
_FIXED = {
    "kept until deleted": N_("kept until deleted"),
    "matched": N_("the caller's secret matched"),
    "did not match": N_("the caller's secret did not match"),
}
_OBJECT = re.compile(r"(incident|task|item|message|note|referral) ([0-9a-f]{8,64})")
_DAYS = re.compile(r"(\d{1,6}) days")


def detail_text(t: Callable[..., str], action: str, detail: str,
                usernames: Mapping[str, str], services: Mapping[str, str]) -> str:
    """An entry's recorded detail as staff read it in their language (`t` translates);
    a detail of no known form is shown as recorded."""
    if action == "case.status" and detail in STATUS_FOR_STAFF:
        return t(STATUS_FOR_STAFF[detail])
    if detail in _FIXED:
        return t(_FIXED[detail])
    if m := _OBJECT.fullmatch(detail):
        return t(_OBJECTS[m[1]], id=m[2][:8])
    if m := _DAYS.fullmatch(detail):
        return t(N_("%(n)s days"), n=m[1])
    if detail.startswith("to service "):
        service = detail.removeprefix("to service ")
        return t(N_("to %(service)s"), service=services.get(service, service))
    if action in ("case.assign", "case.unassign") and detail.startswith(("to ", "from ")):
        word, _, who = detail.partition(" ")
        return t(N_("to %(who)s") if word == "to" else N_("from %(who)s"),
                 who=usernames.get(who, who))
    return detail
