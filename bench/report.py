"""What a benchmark module hands back, and how it is written as markdown."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """One measured figure, with its target when the issue sets one.

    `passed` is None when there is no target (the figure is reported for information).
    """

    name: str
    measured: str
    target: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "—"
        return "pass" if self.passed else "**FAIL**"


@dataclass
class Section:
    """One benchmark module's part of BENCHMARKS.md."""

    title: str
    command: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Supporting tables: (subheading, markdown table).
    details: list[tuple[str, str]] = field(default_factory=list)
    # Filled in by bench/run.py.
    name: str = ""
    measured_on: str = ""

    def heading(self) -> str:
        return f"## {self.title} (bench_{self.name})"

    def figures_table(self) -> str:
        return table(("Figure", "Target", "Measured", "Result"),
                     [(f.name, f.target or "—", f.measured, f.verdict) for f in self.figures])

    def to_markdown(self) -> str:
        out = [self.heading(), ""]
        if self.measured_on:
            out += [self.measured_on, ""]
        out += [f"Reproduce: `{self.command}`", "", self.figures_table(), ""]
        for subheading, body in self.details:
            out += [f"### {subheading}", "", body, ""]
        if self.notes:
            out += ["### Notes", ""]
            out += [f"- {n}" for n in self.notes]
            out.append("")
        return "\n".join(out).rstrip() + "\n"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]],
          align_right: Iterable[int] = ()) -> str:
    right = set(align_right)
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_bytes(n: int) -> str:
    return f"{n:,} B ({n / 1000:.1f} KB)"


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms"
