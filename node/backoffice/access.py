"""Who may do what, decided in one place (issue 3: "decided in one place, enforced twice").

This table is the application half of the enforcement; cryptography is the other half: a
caseworker can only decrypt a case whose data key is wrapped to their own key, whatever
this table says (`node.backoffice.case_access`).

Every staff route names one `Action`; a test builds the role x route matrix from the route
table and this policy, so a route without a rule cannot be added.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from node import accounts, errors
from node.accounts import StaffMember, UnlockedStaff
from node.i18n import N_

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
    LOOKUP_RECEIPT = "lookup_receipt"    # find a case from a receipt number read out
    VOUCH_EXPERTS = "vouch_experts"      # the node's experts and their vetting (issue 16)
    VIEW_INBOX = "view_inbox"            # what is new on one's own cases (issue 15)
    MOBILISE_EXPERTS = "mobilise_experts"  # post needs, pick an expert who accepted (issue 16)
    SHARE_WITH_EXPERTS = "share_with_experts"  # consented case sharing (issue 16)
    DISMISS_MATCH = "dismiss_match"      # mark a perpetrator match as false (issue 18)


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
    # Coordinators only: a caseworker would learn that a number belongs to some case they
    # may not open. The case found is then opened under READ_CASE as any other.
    Action.LOOKUP_RECEIPT: Rule(COORD),
    Action.VOUCH_EXPERTS: Rule(COORD),
    Action.VIEW_INBOX: Rule(CASEWORK),
    Action.MOBILISE_EXPERTS: Rule(COORD),
    Action.SHARE_WITH_EXPERTS: Rule(COORD),
    Action.DISMISS_MATCH: Rule(COORD),
}


def allowed(member: StaffMember, action: Action, *, assigned: bool | None = None) -> bool:
    return POLICY[action].allows(member, assigned=assigned)


def require(member: StaffMember, action: Action, *, assigned: bool | None = None) -> None:
    if not allowed(member, action, assigned=assigned):
        raise errors.Forbidden()


# ------------------------------------------------------------------ roles without their keys

KEY_LABELS = {
    accounts.INTAKE_KEY: N_("the intake key, which opens the reports"),
    accounts.ANALYSIS_KEY: N_("the analysis key, which opens the incident codings"),
}


class NodeKeyMissing(errors.Forbidden):
    """The person has the role, but not yet the node key the role needs: a coordinator who
    holds it must give it to them (a bare "not allowed" told them nothing, issue 15)."""

    message = N_("Your account has the role for this, but not yet %(key)s. A coordinator "
                 "who holds it gives it to you on their “Pending access” page: %(holders)s. "
                 "Ask one of them, then open this page again.")


def require_node_key(conn: sqlite3.Connection, staff: UnlockedStaff, key_name: str) -> None:
    """`NodeKeyMissing`, naming who can give the key, unless the person holds it."""
    if key_name in staff.node_keys:
        return
    raise NodeKeyMissing(key=KEY_LABELS[key_name],
                         holders=", ".join(key_holders(conn, key_name)) or "—")


def key_holders(conn: sqlite3.Connection, key_name: str) -> list[str]:
    """The usernames of the enabled coordinators who hold `key_name` (who can grant it)."""
    out = []
    for row in conn.execute("SELECT id, username FROM staff WHERE disabled = 0"
                            " ORDER BY username").fetchall():
        member = accounts.get(conn, row["id"])
        if member is None or "coordinator" not in member.roles:
            continue
        if conn.execute("SELECT 1 FROM key_wraps WHERE holder = ? AND key_name = ?",
                        (accounts.staff_holder(row["id"]), key_name)).fetchone():
            out.append(row["username"])
    return out
