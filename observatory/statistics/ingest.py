"""Accepting a member's statistics release: the federation's ``statistics.release`` hook.

By the time the hook runs, the federation layer has verified the envelope (size, schema,
recipient, times, Ed25519 signature, replay), that the libp2p peer is the sender's key, and
that the sender is an approved member (anyone else: ``not_a_member``); a release that does
not even parse as a `StatisticsRelease` was refused there as ``malformed``. The hook then
decides, inside the same write transaction as the replay guard's record:

===========================  ===============================================================
answer                       when
===========================  ===============================================================
``duplicate``                the same release (same id, same content) was accepted before
``release_id_conflict``      the id is known with other content, or from another node
``unsupported_mechanism``    not discrete Laplace
``period_mismatch``          period_start / period_end are not the bounds of the months
``period_in_future``         the first month has not started
``unknown_table``            a table name the published plan does not list
``dimensions_mismatch``      a known table with other dimensions (or in another order)
``domain_mismatch``          fixed values not the published ones, months not the release's,
                             regions not keyed by the published region vocabulary (first-
                             level ISO 3166-2 codes, then unknown), or differing between
                             tables
``noise_mismatch``           variance or epsilon inconsistent with the declared scale
``over_budget``              spent_in_period above budget_per_period, or the node's accepted
                             releases for the period would add up to more than it declared
``over_observatory_budget``  ... or to more than ``statistics.max_epsilon_per_period``
``accepted``                 stored; it replaces the node's older release for the period in
                             the estimates (`observatory.statistics.publication`)
===========================  ===============================================================

A refusal stores nothing (the envelope itself is recorded by the replay guard, so a resend
is answered ``duplicate``). An accepted release whose noise looks smaller than its declared
scale (`observatory.statistics.plausibility`) is stored with its findings and shown to the
admin: nodes are trusted to add noise, and the checks only catch plain failures of that
trust, so the flag is a question for the organisation, not a refusal. The privacy budget
counts every accepted release, including those a newer one replaced: what a release
revealed cannot be taken back.
"""

from __future__ import annotations

import logging
import sqlite3

from observatory.members import Member
from observatory.statistics import plausibility, store
from observatory.statistics.schema import EPS_TOLERANCE, Refusal, StatisticsConfig, check
from protocol.delivery import DeliveryAck
from protocol.envelope import Envelope
from protocol.message import Message
from protocol.statistics import StatisticsRelease

log = logging.getLogger("backup.observatory.statistics")


def _ack(envelope: Envelope, status: str, reason: str | None = None,
         detail: str | None = None) -> DeliveryAck:
    return DeliveryAck(envelope_id=envelope.envelope_id, status=status,  # type: ignore[arg-type]
                       reason=reason, detail=detail)


def budget(conn: sqlite3.Connection, node_id: str, release: StatisticsRelease,
           limit: float) -> Refusal | None:
    """The release's loss, added to what the node already spent here on its period, stays
    within the node's declared budget and the observatory's limit."""
    def above(total: float, bound: float) -> bool:
        return total > bound * (1 + EPS_TOLERANCE)

    if above(release.spent_in_period, release.budget_per_period):
        return Refusal("over_budget", "spent_in_period is above budget_per_period")
    total = store.spent(conn, node_id, release.period) + release.epsilon
    if above(total, release.budget_per_period):
        return Refusal("over_budget", f"accepted releases for {release.period} would spend "
                                      f"{total:.6g}, above the declared budget")
    if above(total, limit):
        return Refusal("over_observatory_budget",
                       f"accepted releases for {release.period} would spend {total:.6g}, "
                       f"above the observatory's limit of {limit:.6g}")
    return None


class ReleaseIngest:
    """The `observatory.federation.StatisticsHook`: verify and store one release."""

    def __init__(self, config: StatisticsConfig) -> None:
        self._config = config

    def __call__(self, conn: sqlite3.Connection, member: Member, envelope: Envelope,
                 message: Message, now: int) -> DeliveryAck:
        if not isinstance(message, StatisticsRelease):  # matched by type name upstream
            return _ack(envelope, "rejected", "malformed")
        release_digest = store.digest(message)
        known = store.find(conn, message.release_id)
        if known is not None:
            if known == store.Known(member.node_id, release_digest):
                log.info("statistics release %s from node %s: already stored",
                         message.release_id, member.node_id)
                return _ack(envelope, "duplicate")
            return self._refuse(envelope, member, message, Refusal(
                "release_id_conflict", "this release id was already used for other content"))
        refusal = (check(message, self._config, now)
                   or budget(conn, member.node_id, message,
                             self._config.max_epsilon_per_period))
        if refusal is not None:
            return self._refuse(envelope, member, message, refusal)
        findings = plausibility.check(message)
        store.insert(conn, member.node_id, member.country, message, release_digest, now,
                     "; ".join(f.describe() for f in findings) or None)
        if findings:
            log.warning("statistics release %s from node %s: noise smaller than declared in "
                        "%d test(s); flagged for the admin", message.release_id,
                        member.node_id, len(findings))
        log.info("statistics release %s from node %s accepted: period %s, %d tables, "
                 "epsilon %.6g", message.release_id, member.node_id, message.period,
                 len(message.tables), message.epsilon)
        return _ack(envelope, "accepted")

    @staticmethod
    def _refuse(envelope: Envelope, member: Member, release: StatisticsRelease,
                refusal: Refusal) -> DeliveryAck:
        log.info("statistics release %s from node %s refused: %s", release.release_id,
                 member.node_id, refusal.reason)
        return _ack(envelope, "rejected", refusal.reason, refusal.detail)
