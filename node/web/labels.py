"""Human labels for coded answers, marked for translation (rendered with the page's `_`)."""

from __future__ import annotations

from node.i18n import N_
from node.intake.models import CONSENT_LABELS

ROLES = {
    "survivor": N_("It happened to me"),
    "relative": N_("It happened to someone close to me"),
    "witness": N_("I saw it or know about it"),
}

AFFILIATIONS = {
    "state_forces": N_("State forces (army, police)"),
    "non_state_armed_group": N_("A non-state armed group"),
    "militia": N_("A militia"),
    "peacekeepers": N_("Peacekeepers"),
    "civilian": N_("Civilians"),
    "unknown": N_("I do not know"),
}

NEEDS = {
    "medical": N_("Medical care"),
    "psychosocial": N_("Someone to talk to, psychological support"),
    "legal": N_("Legal advice or justice"),
    "shelter": N_("Safety or a place to stay"),
    "none": N_("No help needed now"),
}

SERVICE_KINDS = {
    "medical": N_("Medical care"),
    "psychosocial": N_("Psychological support"),
    "legal": N_("Legal help"),
    "shelter": N_("Safety and shelter"),
}

CONSENTS = CONSENT_LABELS

CONTACT_METHODS = {
    "phone_call": N_("Phone call"),
    "sms": N_("Text message (SMS)"),
    "email": N_("Email"),
    "messaging_app": N_("Messaging app"),
    "in_person": N_("In person"),
}

STATUS_FOR_REPORTER = {
    "new": N_("Received. Trained staff will read it soon."),
    "in_triage": N_("Being read by trained staff."),
    "assigned": N_("A caseworker is following your report."),
    "referred": N_("You have been referred to a service."),
    "closed": N_("Closed."),
    "withdrawn": N_("Withdrawn."),
}

STATUS_FOR_STAFF = {
    "new": N_("New"),
    "in_triage": N_("In triage"),
    "assigned": N_("Assigned"),
    "referred": N_("Referred"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}

RELEASE_STATUS = {
    "draft": N_("Draft, waiting for review"),
    "approved": N_("Approved"),
    "sent": N_("Sent to the observatory"),
    "discarded": N_("Discarded"),
}

CHANNELS = {
    "web": N_("The reporting website"),
    "api": N_("A partner's app (API)"),
}

NOT_ANSWERED = N_("Not answered")
LANGUAGE = N_("Language")
CHANNEL = N_("Received through")
