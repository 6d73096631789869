"""The plausibility checks of a release's noise at ingest (issue 14,
`observatory.statistics.plausibility`): statistical tests with fixed seeds, no timing.

* the false-alarm rate on honest releases (discrete Laplace noise of the declared scale,
  any true counts) stays at or below 1 %;
* exact counts, and noise much smaller than declared, are detected;
* what cannot be detected (every cell far above zero) is not flagged, as the methodology
  says;
* through the federation endpoint, an exact-count release is accepted, flagged, and shown to
  the admin.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.context import ObservatoryContext
from observatory.federation import Federation
from observatory.statistics import plausibility, store
from observatory.statistics.plausibility import binomial_cdf, check, negbin_cdf
from protocol.delivery import DeliveryAck
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from tests.unit.observatory.releases import PLAN, discrete_laplace, make_release
from transport.identity import peer_id_from_public_key


def test_the_tail_formulas_match_simulation() -> None:
    """Binomial and negative binomial lower tails against exact sums and a simulation."""
    assert binomial_cdf(3, 10, 0.5) == pytest.approx(
        sum(math.comb(10, j) for j in range(4)) / 2**10)
    rng = np.random.default_rng(11)
    p, m = math.exp(-1 / 10), 40
    sums = (rng.geometric(1 - p, (200_000, m)) - 1).sum(axis=1)
    for s in (100, 200, 300):
        assert negbin_cdf(s, m, p) == pytest.approx(float((sums <= s).mean()), abs=0.003)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-2**62, 2**62), min_size=1, max_size=300),
       st.floats(min_value=1e-6, max_value=1e9))
def test_any_counts_and_scale_give_p_values_cheaply(counts: list[int], scale: float) -> None:
    """Whatever a member sends (the check runs on network input): p-values in [0, 1], no
    error, and no sum longer than the bounded window."""
    m, (_, _, p_negatives), (_, _, p_dispersion) = plausibility.table_p_values(counts, scale)
    assert m == sum(c <= 0 for c in counts)
    assert 0.0 <= p_negatives <= 1.0 and 0.0 <= p_dispersion <= 1.0


def test_the_conditional_law_holds_whatever_the_true_counts() -> None:
    """P(y < 0 | y <= 0) = p for discrete Laplace, at a true zero and above it."""
    rng = np.random.default_rng(3)
    scale = 4.0
    p = math.exp(-1 / scale)
    for truth in (0, 1, 5):
        y = truth + discrete_laplace(rng, scale, 400_000)
        low = y[y <= 0]
        assert float((low < 0).mean()) == pytest.approx(p, abs=0.01)
        assert float((-low).mean()) == pytest.approx(p / (1 - p), rel=0.03)


@pytest.mark.parametrize("epsilon", [0.2, 1.0, 2.0])
def test_honest_releases_are_rarely_flagged(epsilon: float) -> None:
    """2,000 honest releases of the default plan (five tables), true counts 0..4 or a mix of
    zeros and large counts: at most 1 % flagged."""
    rng = np.random.default_rng(2026)
    flagged = 0
    trials = 2000
    for i in range(trials):
        truth = None
        if i % 2:  # half the releases: mostly zeros, some large counts
            truth = {name: np.where(rng.random(size) < 0.7, 0, rng.integers(20, 200, size))
                     for name, size in zip([n for n, _ in PLAN], (108, 108, 144, 24, 36),
                                           strict=True)}
        flagged += bool(check(make_release(rng=rng, epsilon=epsilon, truth=truth)))
    assert flagged / trials <= plausibility.ALPHA


@pytest.mark.parametrize("epsilon", [0.2, 1.0, 2.0])
def test_exact_counts_are_detected(epsilon: float) -> None:
    """Exact counts sent with a declared scale: every release with cells at zero is
    flagged (the default plan's tables have dozens)."""
    rng = np.random.default_rng(5)
    detected = sum(bool(check(make_release(rng=rng, epsilon=epsilon, noise=False)))
                   for _ in range(200))
    assert detected == 200


def test_much_less_noise_than_declared_is_detected() -> None:
    """Noise drawn at a fifth of the declared scale: flagged in most releases."""
    rng = np.random.default_rng(9)
    detected = 0
    for _ in range(200):
        honest = make_release(rng=rng, epsilon=0.2, noise=False)
        tables = tuple(t.model_copy(update={"counts": tuple(
            int(c) + int(e) for c, e in zip(t.counts, discrete_laplace(rng, t.scale / 5,
                                                                       len(t.counts)),
                                            strict=True))}) for t in honest.tables)
        detected += bool(check(honest.model_copy(update={"tables": tables})))
    assert detected >= 190


def test_large_counts_cannot_be_checked_and_are_not_flagged() -> None:
    """What the checks cannot see: every cell far above zero leaves nothing to test."""
    rng = np.random.default_rng(1)
    truth = {name: np.full(size, 1000) for name, size in
             zip([n for n, _ in PLAN], (108, 108, 144, 24, 36), strict=True)}
    assert check(make_release(rng=rng, truth=truth, noise=False)) == []


def test_an_exact_count_release_is_accepted_flagged_and_shown_to_the_admin(
        ctx: ObservatoryContext) -> None:
    obs = ObservatoryAddress(ctx.identity.node_id, ctx.identity.verify_key, ())
    node = FakeNode(country="CD", organisation_name="Org CD")
    peer = peer_id_from_public_key(node.key.verify_key.raw())

    def ask(message: object) -> object:
        frame = node.seal(message, obs).to_frame()  # type: ignore[arg-type]
        return node.open_response(Federation(ctx).answer(frame, peer), obs)

    ask(node.membership_request())
    ctx.members.approve(node.node_id, int(time.time()))
    honest = make_release(rng=np.random.default_rng(4))
    exact = make_release(rng=np.random.default_rng(4), noise=False, period="2024")
    for release in (honest, exact):
        answer = ask(release)
        assert isinstance(answer, DeliveryAck) and answer.status == "accepted", answer
    [flag] = store.flagged(ctx.db.read())
    assert (flag.release_id, flag.node_id, flag.period) == (exact.release_id, node.node_id,
                                                            "2024")
    assert "negatives 0 among" in flag.findings
