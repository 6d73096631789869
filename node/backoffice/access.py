"""Who may do what, decided in one place (issue 3: "decided in one place, enforced twice").

This table is the application half of the enforcement; cryptography is the other half: a
caseworker can only decrypt a case whose data key is wrapped to their own key, whatever
this table says (`node.backoffice.case_access`).

Every staff route names one `Action`; a test builds the role x route matrix from the route
table and this policy, so a route without a rule cannot be added.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from node import errors
from node.accounts import StaffMember

Scope = Literal["none", "any", "assigned"]


class Action(StrEnum):
    PUBLIC = "public"                    # sign-in, invitation pages
    OWN_ACCOUNT = "own_account"          # sign out, second factor, own passphrase
    VIEW_QUEUE = "view_queue"            # the triage queue
    LIST_CASES = "list_cases"            # coordinators: all; caseworkers: their own
    SEARCH = "search"
    READ_CASE = "read_case"              # narrative, answers, attachments
    CHANGE_STATUS = "change_status"
    ASSIGN = "assign"
    WRITE_NOTE = "write_note"
    MANAGE_TASKS = "manage_tasks"
    MESSAGE_REPORTER = "message_reporter"
    REFER = "refer"
    CODE_INCIDENT = "code_incident"
    VIEW_CODINGS = "view_codings"        # de-identified incident codings, never narratives
    SET_RETENTION = "set_retention"
    DELETE_CASE = "delete_case"
    EXPORT_CASE = "export_case"
    VIEW_CUSTODY = "view_custody"
    VERIFY_AUDIT = "verify_audit"
    MANAGE_ACCOUNTS = "manage_accounts"  # invitations, roles, unlock, disable
    GRANT_KEYS = "grant_keys"            # give a new coordinator/analyst their node keys
    VIEW_FEDERATION = "view_federation"  # outbox, membership (federation issue)
    VIEW_EVIDENCE_LOG = "view_evidence_log"  # checkpoints and proofs (hashes only)
    RELEASE_STATISTICS = "release_statistics"  # draft, review, approve DP releases
    VOUCH_EXPERTS = "vouch_experts"      # the node's experts and their vetting (issue 16)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scope: Scope = "none"  # "assigned": a caseworker only on cases assigned to them

    def allows(self, member: StaffMember, *, assigned: bool | None = None) -> bool:
        if self.roles == ANYONE:
            return True
        held = member.roles & self.roles
        if not held:
            return False
        if self.scope != "assigned" or assigned is None:
            return True
        # coordinators act on any case; caseworkers only on cases assigned to them
        return "coordinator" in held or assigned


ANYONE = frozenset({"*"})
SIGNED_IN = frozenset({"admin", "coordinator", "caseworker", "analyst"})
COORD = frozenset({"coordinator"})
CASEWORK = frozenset({"coordinator", "caseworker"})

POLICY: dict[Action, Rule] = {
    Action.PUBLIC: Rule(ANYONE),
    Action.OWN_ACCOUNT: Rule(SIGNED_IN),
    Action.VIEW_QUEUE: Rule(COORD),
    Action.LIST_CASES: Rule(CASEWORK),
    Action.SEARCH: Rule(CASEWORK),
    Action.READ_CASE: Rule(CASEWORK, "assigned"),
    Action.CHANGE_STATUS: Rule(CASEWORK, "assigned"),
    Action.ASSIGN: Rule(COORD),
    Action.WRITE_NOTE: Rule(CASEWORK, "assigned"),
    Action.MANAGE_TASKS: Rule(CASEWORK, "assigned"),
    Action.MESSAGE_REPORTER: Rule(CASEWORK, "assigned"),
    Action.REFER: Rule(COORD),
    Action.CODE_INCIDENT: Rule(CASEWORK, "assigned"),
    Action.VIEW_CODINGS: Rule(frozenset({"analyst", "coordinator"})),
    Action.SET_RETENTION: Rule(COORD),
    Action.DELETE_CASE: Rule(COORD),
    Action.EXPORT_CASE: Rule(COORD),
    Action.VIEW_CUSTODY: Rule(CASEWORK, "assigned"),
    Action.VERIFY_AUDIT: Rule(frozenset({"admin", "coordinator"})),
    Action.MANAGE_ACCOUNTS: Rule(frozenset({"admin"})),
    Action.GRANT_KEYS: Rule(COORD),
    Action.VIEW_FEDERATION: Rule(frozenset({"admin"})),
    Action.VIEW_EVIDENCE_LOG: Rule(frozenset({"admin", "coordinator"})),
    Action.RELEASE_STATISTICS: Rule(frozenset({"analyst", "coordinator"})),
    Action.VOUCH_EXPERTS: Rule(COORD),
}


def allowed(member: StaffMember, action: Action, *, assigned: bool | None = None) -> bool:
    return POLICY[action].allows(member, assigned=assigned)


def require(member: StaffMember, action: Action, *, assigned: bool | None = None) -> None:
    if not allowed(member, action, assigned=assigned):
        raise errors.Forbidden()
