"""Matching the configured service directory to a reporter's needs and region."""

from __future__ import annotations

from collections.abc import Iterable

from node.config import NodeConfig, Service


def matching(config: NodeConfig, needs: Iterable[str] = (), region: str | None = None
             ) -> list[Service]:
    wanted = {n for n in needs if n != "none"}
    out = []
    for s in config.services:
        if wanted and not wanted.intersection(s.kinds):
            continue
        if region and s.regions and region not in s.regions:
            continue
        out.append(s)
    return out
