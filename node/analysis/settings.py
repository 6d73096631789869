"""`[analysis]` in node.toml (issue 17): the node's own lists for entities.

    [analysis]
    gazetteer = "places.csv"          # places -> ISO 3166-2 region codes
    armed_groups = "armed_groups.csv" # groups -> affiliation codes, added to the shipped list

Paths are relative to the data directory (or absolute). The files' format is in
`node/analysis/gazetteer.py` and `node/node.toml.example`. The files are read where
suggestions are made (`places(root)`, `groups(root)`); a malformed line raises `ListError`
naming the file and the line, and nothing is guessed.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from node.analysis.gazetteer import NameList, load_groups, load_places


class AnalysisConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gazetteer: Path | None = None
    armed_groups: Path | None = None

    def _path(self, value: Path, root: Path) -> Path:
        return value if value.is_absolute() else root / value

    def places(self, root: Path) -> NameList | None:
        """The gazetteer, read from the data directory `root`; None when none is named."""
        return load_places(self._path(self.gazetteer, root)) if self.gazetteer else None

    def groups(self, root: Path) -> NameList | None:
        """The node's armed groups (the shipped list is always used too)."""
        return load_groups(self._path(self.armed_groups, root)) if self.armed_groups else None
