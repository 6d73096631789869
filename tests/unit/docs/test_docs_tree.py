"""`docs/` is checked against the code: every file or folder it names exists, every link
between its pages resolves, and no comment, docstring or document in the repository points
at design documents outside it (the design lives in `docs/`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

# `node/server.py`, `protocol/`, `verifier/backup_evidence/verify.py`, `tests/fixtures/` ...
PATH = re.compile(r"`((?:[a-z_]+/)+(?:[a-z_0-9]+\.(?:py|toml|md|js|example))?)(?:::[A-Za-z_.]+)?`")
LINK = re.compile(r"\]\(([^)#:]+)(?:#[^)]*)?\)")
OUTSIDE = re.compile(r"STYLE\.md|ARCHITECTURE\.md|shared/notes|\.\./shared/")


def test_there_are_pages() -> None:
    assert {p.name for p in DOCS.glob("*.md")} >= {
        "README.md", "architecture.md", "data-flows.md", "federation.md", "storage.md",
        "invariants.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_named_path_exists(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    missing = sorted({m for m in PATH.findall(text) if not (ROOT / m).exists()})
    assert not missing, f"{page.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_link_resolves(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = sorted({m for m in LINK.findall(text) if not (page.parent / m).exists()})
    assert not broken, f"{page.name} links to missing pages: {broken}"


def test_nothing_points_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    here = Path(__file__).relative_to(ROOT).as_posix()
    found = []
    for name in tracked:
        if name == here or not name.endswith((".py", ".md", ".toml", ".js", ".html", ".cfg",
                                              ".example", "Makefile", ".txt")):
            continue
        path = ROOT / name
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{name}:{number}")
    assert not found, f"pointers to documents outside the repository: {found}"
