"""The names of the actions in the chain of custody, as staff read them in their language.

The log itself records a stable code (``case.recode``): it is hashed into the chain and
must never change with a translation. Pages show the label; the CSV export keeps the code
(a court reads the same code whatever the language of the page). An action without a
label here is shown as its code.
"""

from __future__ import annotations

from node.i18n import N_

ACTION_LABELS = {
    "case.view": N_("Opened the case"),
    "case.decrypt_attachment": N_("Opened a file"),
    "case.status": N_("Changed the status"),
    "case.assign": N_("Assigned the case"),
    "case.unassign": N_("Removed an assignment"),
    "case.reply": N_("The reporter replied"),
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
}
