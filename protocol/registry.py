"""The message registry: (type name, version) → model class.

A receiver learns an envelope's payload model only from here. An unknown type and a known
type at an unknown version are different errors, so a node running an older release logs
"unknown version of membership.list" rather than "garbage" when the observatory upgrades.
Versions are integers and never reused; a changed shape is a new version registered beside
the old one for as long as peers may still send it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from protocol.delivery import DeliveryAck, FrameRefusal
from protocol.engagements import (
    ExpertDecline,
    ExpertEngagement,
    ExpertNeed,
    ExpertOffer,
    ExpertRevocation,
    SealedShare,
    ThreadMessage,
)
from protocol.errors import UnknownMessageType, UnknownVersion
from protocol.experts import (
    ExpertAvailability,
    ExpertCredentialIssued,
    ExpertDirectory,
    ExpertDirectoryQuery,
    ExpertVouch,
)
from protocol.matching import (
    IntroductionQuery,
    IntroductionRequest,
    Introductions,
    MatchNotice,
    MatchNoticeQuery,
    MatchNotices,
    OprfEvaluation,
    OprfEvaluationRequest,
    TokenSubmission,
)
from protocol.membership import (
    MembershipDecision,
    MembershipList,
    MembershipListQuery,
    MembershipRequest,
)
from protocol.message import Message
from protocol.opinions import ExpertOpinion
from protocol.statistics import StatisticsRelease
from protocol.witness import (
    CheckpointPush,
    CosignatureResponse,
    LogSuccession,
    WitnessedCheckpoint,
    WitnessedQuery,
)


class MessageRegistry:
    """An immutable mapping of (type name, version) to message model."""

    def __init__(self, models: Iterable[type[Message]]) -> None:
        table: dict[tuple[str, int], type[Message]] = {}
        for model in models:
            key = (model.TYPE, model.VERSION)
            if key in table:
                raise ValueError(f"message {model.TYPE} v{model.VERSION} registered twice")
            table[key] = model
        self._table = table
        self._types = frozenset(name for name, _ in table)

    def model_for(self, type_name: str, version: int) -> type[Message]:
        """The model for this type and version; `UnknownMessageType`/`UnknownVersion` if none."""
        model = self._table.get((type_name, version))
        if model is not None:
            return model
        if type_name not in self._types:
            raise UnknownMessageType(f"unknown message type {type_name}")
        raise UnknownVersion(
            f"unknown version {version} of message type {type_name} "
            f"(supported: {', '.join(str(v) for v in self.versions(type_name))})"
        )

    def versions(self, type_name: str) -> tuple[int, ...]:
        return tuple(sorted(v for name, v in self._table if name == type_name))

    def __contains__(self, model: object) -> bool:
        if not (isinstance(model, type) and issubclass(model, Message)):
            return False
        key = (getattr(model, "TYPE", ""), getattr(model, "VERSION", 0))
        return self._table.get(key) is model

    def __iter__(self) -> Iterator[type[Message]]:
        return iter(self._table.values())

    def __len__(self) -> int:
        return len(self._table)


REGISTRY = MessageRegistry(
    [
        MembershipRequest,
        MembershipDecision,
        MembershipListQuery,
        MembershipList,
        CheckpointPush,
        CosignatureResponse,
        # after a restore (issue 21): protocol/witness.py
        WitnessedQuery,
        WitnessedCheckpoint,
        LogSuccession,
        DeliveryAck,
        FrameRefusal,
        StatisticsRelease,
        # the expert network (issue 16): protocol/experts.py, protocol/engagements.py
        ExpertVouch,
        ExpertCredentialIssued,
        ExpertAvailability,
        ExpertDirectoryQuery,
        ExpertDirectory,
        ExpertNeed,
        ExpertOffer,
        ExpertDecline,
        ExpertEngagement,
        SealedShare,
        ExpertRevocation,
        ThreadMessage,
        ExpertOpinion,  # protocol/opinions.py
        # perpetrator tokens (issue 18): protocol/matching.py
        OprfEvaluationRequest,
        OprfEvaluation,
        TokenSubmission,
        MatchNotice,
        MatchNoticeQuery,
        MatchNotices,
        IntroductionRequest,
        IntroductionQuery,
        Introductions,
    ]
)
