"""Domain errors of differentially private releases: no HTTP here; the web edge
(`node.web.failures`) maps them to a status and renders `message` in the person's language."""

from __future__ import annotations

from node.errors import Forbidden, NodeError
from node.i18n import N_


class StatisticsError(NodeError):
    pass


class BudgetExceeded(StatisticsError):
    """Refused before any noise was drawn; nothing was computed or stored."""

    message = N_("This release would spend %(requested)s of the privacy budget for "
                 "%(period)s, but only %(remaining)s of %(budget)s is left. Nothing was "
                 "computed. Release fewer tables, or wait for the next period.")


class DraftPending(StatisticsError):
    message = N_("A draft release for %(period)s is waiting for review. Approve or discard "
                 "it before computing another.")


class ReleaseNotFound(StatisticsError):
    message = N_("This statistics release does not exist or was already reviewed.")


class PlanNotReleasable(StatisticsError):
    """A table name not in the plan, or a table larger than a message may carry."""

    message = N_("This release does not match the node's statistics plan. Check the "
                 "[statistics] section of the configuration.")


class SecondPersonNeeded(StatisticsError, Forbidden):
    """Four eyes (`node.statistics.four_eyes`): the person who drafted a release asked to
    approve it. A `Forbidden`, so the web edge answers 403 with this message."""

    message = N_("You drafted this release, so another person must approve it: another "
                 "analyst or a coordinator (four eyes). Ask one of them to open this release "
                 "and review it.")


class SendingHeld(StatisticsError):
    """The node was restored from a backup older than what its witnesses cosigned, and
    sends nothing to the federation until an admin has started its successor log (issue 21,
    `node.evidence.succession`)."""

    message = N_("This node was restored from a backup and sends nothing to the observatory "
                 "until an administrator has finished the restore procedure (see the "
                 "federation page). The release was not approved; approve it once that is done.")
