"""Import boundaries, read from the source: the verifier's distribution (``verifier/``:
`crypto`, `backup_evidence`) imports nothing of the node, the observatory, a web framework,
libp2p or SQLite; the node's evidence log (`node.evidence`) imports nothing of the
federation (court-bundle export, which shows the witnesses' cosignatures, is
`node.bundles`)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT


def imported(package: Path) -> dict[str, set[str]]:
    """The absolute module names each file under `package` imports."""
    out: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def offending(package: Path, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """The forbidden imports of each file under `package` that has any."""
    found = {path: sorted(n for n in names if _within(n, forbidden))
             for path, names in imported(package).items()}
    return {path: names for path, names in found.items() if names}


def test_the_verifier_needs_nothing_of_the_node() -> None:
    forbidden = ("node", "observatory", "transport", "protocol", "runtime", "demo", "aiohttp",
                 "libp2p", "trio", "multiaddr", "sqlite3", "sqlite_utils", "asyncio")
    for package in ("crypto", "backup_evidence"):
        assert offending(ROOT / "verifier" / package, forbidden) == {}, package


def test_the_evidence_log_does_not_import_the_federation() -> None:
    assert offending(ROOT / "node" / "evidence", ("node.federation",)) == {}
