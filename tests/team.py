"""A node's team for tests: one account per role, with the node keys their roles need."""

from __future__ import annotations

from dataclasses import dataclass

from crypto import passphrase as pw
from node import accounts
from node.accounts import UnlockedStaff
from node.context import NodeContext
from tests.conftest import ADMIN, ADMIN_PASSPHRASE

PASSPHRASE = "a long enough passphrase"
ROLES = ("admin", "coordinator", "caseworker", "analyst")


@dataclass
class Team:
    root: UnlockedStaff  # the account created at init (admin + coordinator)
    admin: UnlockedStaff
    coordinator: UnlockedStaff
    caseworker: UnlockedStaff
    other_caseworker: UnlockedStaff
    analyst: UnlockedStaff

    def by_role(self, role: str) -> UnlockedStaff:
        return {"admin": self.admin, "coordinator": self.coordinator,
                "caseworker": self.caseworker, "analyst": self.analyst}[role]


def make_team(ctx: NodeContext) -> Team:
    root = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    people = {}
    with ctx.db.write() as conn:
        for username, roles in (("admin2", {"admin"}), ("coord", {"coordinator"}),
                                ("worker", {"caseworker"}), ("worker2", {"caseworker"}),
                                ("analyst", {"analyst"})):
            member, _ = accounts.create(conn, username, PASSPHRASE, roles,
                                        pw.INSECURE_FAST_FOR_TESTS, 0,
                                        certifier=ctx.keys.certifier)
            for role in roles:
                for key_name in accounts.NODE_KEYS_BY_ROLE.get(role, ()):
                    accounts.grant_key(conn, key_name, root.node_keys[key_name],
                                       accounts.staff_holder(member.id), member.public_key,
                                       certifier=ctx.keys.certifier)
    for username in ("admin2", "coord", "worker", "worker2", "analyst"):
        people[username] = accounts.unlock(ctx.db.read(), username, PASSPHRASE)
    return Team(root, people["admin2"], people["coord"], people["worker"], people["worker2"],
                people["analyst"])
