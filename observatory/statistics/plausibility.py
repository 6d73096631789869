"""Is a release's noise plausible for its declared scale? Cheap checks at ingest. Pure.

The observatory cannot know that a node added noise: exact counts sent with a declared
scale pass every check of `observatory.statistics.schema`. Nodes are trusted to add it.
These checks catch the plain failures of that trust -- counts sent without noise, or with
much less noise than declared -- from the noisy values alone, without knowing the true
counts, thanks to a property of discrete Laplace noise (a two-sided geometric law):

For a true count x >= 0 and noise e with P(e = j) = (1 - p) / (1 + p) * p^|j|,
p = exp(-1 / scale), the noisy value y = x + e satisfies, whatever x is,

    P(y < 0 | y <= 0) = p,   and   -y given y <= 0 is geometric: P(-y = j) = (1 - p) p^j,

because the noise's lower tail is memoryless: P(e <= -m) = p^m / (1 + p) for m >= 0. At a
true zero the share of negative values is p / (1 + p), as the review put it; conditioning
on y <= 0 removes the unknown true counts altogether. So among the cells of a table whose
noisy value is at most zero, M of them:

* **negatives**: the number below zero is Binomial(M, p);
* **dispersion**: the sum of their magnitudes -y is negative binomial, the sum of M
  geometric variables (mean M p / (1 - p)).

Too few negatives, or too small a dispersion of the smallest counts, means less noise than
declared. Only that side is tested: more noise than declared is harmless to privacy. Each
table gives two one-sided p-values, and a release is flagged when one is below
`ALPHA / (2 * tables)` (Bonferroni), so an honest release is flagged with probability at
most `ALPHA` (1 %), whatever its true counts; tests/unit/observatory/test_plausibility.py
measures it, and the detection rate on exact counts.

What they cannot catch: a release whose cells are all far above zero (M is small: nothing
to test -- e.g. a table of a few large counts); noise drawn at a scale a little smaller than
declared; noise added only to the small cells; counts that are noisy but false. A flag is a
reason for the admin to ask the organisation, not a proof: it is shown on the admin page and
the release still counts until the admin decides (e.g. revokes the member for misbehaviour).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from protocol.statistics import StatisticsRelease

ALPHA = 0.01  # the most an honest release is flagged, per release
_WINDOW_SDS = 12.0  # terms of a lower tail summed: this many standard deviations below s
_MAX_TERMS = 50_000  # beyond (huge scales or tables), the normal approximation instead


@dataclass(frozen=True)
class Finding:
    """One table whose noise looks smaller than declared."""

    table: str
    test: str            # "negatives" or "dispersion"
    cells: int           # M: cells at or below zero
    observed: int        # negatives, or the sum of magnitudes
    expected: float      # under the declared scale
    p_value: float

    def describe(self) -> str:
        return (f"{self.table}: {self.test} {self.observed} among {self.cells} cells at or "
                f"below zero, {self.expected:.3g} expected (p = {self.p_value:.2g})")


def _log_binomial_pmf(j: npt.NDArray[np.float64], n: int, p: float) -> npt.NDArray[np.float64]:
    lg = np.vectorize(math.lgamma, otypes=[np.float64])
    return np.asarray(lg(n + 1.0) - lg(j + 1.0) - lg(n - j + 1.0)
                      + j * math.log(p) + (n - j) * math.log1p(-p), dtype=np.float64)


def _log_negbin_pmf(j: npt.NDArray[np.float64], m: int, p: float) -> npt.NDArray[np.float64]:
    """P(sum of m geometric (1 - p) p^j variables = j)."""
    lg = np.vectorize(math.lgamma, otypes=[np.float64])
    return np.asarray(lg(j + m) - lg(j + 1.0) - lg(float(m))
                      + m * math.log1p(-p) + j * math.log(p), dtype=np.float64)


def _lower_tail(log_pmf: npt.NDArray[np.float64]) -> float:
    if not len(log_pmf):
        return 0.0
    top = float(log_pmf.max())
    return float(min(1.0, math.exp(top) * float(np.exp(log_pmf - top).sum())))


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) <= k); exact for the lower tail (k below the mean), else 1 when
    that is a fair bound for a one-sided test of "too few"."""
    if k >= n:
        return 1.0
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    if k >= mean:
        return 1.0
    start = max(0, int(k - _WINDOW_SDS * sd) - 10)
    return _lower_tail(_log_binomial_pmf(np.arange(start, k + 1, dtype=np.float64), n, p))


def negbin_cdf(s: int, m: int, p: float) -> float:
    """P(sum of m geometric variables <= s), each P(j) = (1 - p) p^j; exact below the mean
    (the terms left out are negligible), else 1. A window of more than `_MAX_TERMS` terms
    (a huge declared scale) uses the normal approximation, so that a release cannot make the
    check expensive."""
    mean, sd = m * p / (1 - p), math.sqrt(m * p) / (1 - p)
    if s >= mean:
        return 1.0
    start = max(0, int(s - _WINDOW_SDS * sd) - 10)
    if s + 1 - start > _MAX_TERMS:
        return 0.5 * math.erfc((mean - (s + 0.5)) / (sd * math.sqrt(2.0)))
    return _lower_tail(_log_negbin_pmf(np.arange(start, s + 1, dtype=np.float64), m, p))


def table_p_values(counts: npt.ArrayLike, scale: float
                   ) -> tuple[int, tuple[int, float, float], tuple[int, float, float]]:
    """(M, (negatives, expected, p-value), (dispersion, expected, p-value)) of one table."""
    low = [int(c) for c in np.asarray(counts).ravel().tolist() if int(c) <= 0]
    m = len(low)
    p = math.exp(-1.0 / scale)
    if m == 0 or p <= 0.0:
        return m, (0, 0.0, 1.0), (0, 0.0, 1.0)
    negatives = sum(1 for c in low if c < 0)
    spread = -sum(low)  # Python integers: any count a member sends, no overflow
    return (m, (negatives, m * p, binomial_cdf(negatives, m, p)),
            (spread, m * p / (1 - p), negbin_cdf(spread, m, p)))


def check(release: StatisticsRelease, alpha: float = ALPHA) -> list[Finding]:
    """The tables whose noise is implausibly small for their declared scale."""
    tables = [t for t in release.tables if t.mechanism == "discrete_laplace" and t.scale > 0]
    if not tables:
        return []
    level = alpha / (2 * len(tables))
    findings = []
    for t in tables:
        m, (neg, neg_expected, neg_p), (spread, spread_expected, spread_p) = table_p_values(
            t.counts, t.scale)
        if neg_p < level:
            findings.append(Finding(t.name, "negatives", m, neg, neg_expected, neg_p))
        if spread_p < level:
            findings.append(Finding(t.name, "dispersion", m, spread, spread_expected, spread_p))
    return findings
