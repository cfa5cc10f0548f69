"""Experiment statistics (`variants.engine.statistics`): each number against scipy on the same
counts, then the properties that must hold for any counts, then the behaviour over time that makes
them honest (peeking at the always-valid test, a bandit's adaptive allocation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from rules.engine import Context
from variants.engine.decide import Slot, Variant, decide
from variants.engine.policies import AllocationTable
from variants.engine.statistics import (
    ArmCounts,
    Evidence,
    analyse,
    beta_posteriors,
    chi2_sf,
    evidence_of,
    holm_adjust,
    ipw_rate,
    msprt,
    normal_ppf,
    sample_ratio_mismatch,
    sequential,
    two_proportion_p_value,
    uplift,
    wilson_interval,
)
from variants.engine.stats_store import ArmStats

#: (successes, trials) pairs
counts = st.integers(0, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))

COUNTS = [(0, 10), (3, 40), (15, 100), (60, 400), (250, 1000), (999, 1000), (7, 7), (1234, 56789)]


# --- against scipy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [1e-9, 0.001, 0.02, 0.025, 0.3, 0.5, 0.8, 0.975, 0.99, 1 - 1e-9])
def test_normal_quantile_matches_scipy(q):
    assert normal_ppf(q) == pytest.approx(stats.norm.ppf(q), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("x", [0.0, 0.01, 0.5, 1.0, 3.84, 7.5, 10.83, 30.0, 150.0])
@pytest.mark.parametrize("df", [1, 2, 3, 7, 20])
def test_chi_squared_tail_matches_scipy(x, df):
    assert chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("successes", "trials"), COUNTS)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_scipy(successes, trials, confidence):
    ci = stats.binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    assert wilson_interval(successes, trials, confidence) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("a", "b"), [((60, 400), (30, 400)), ((3, 40), (15, 100)), ((250, 1000), (1234, 56789))])
def test_uplift_interval_is_scipys_relative_risk_minus_one(a, b):
    rr = stats.contingency.relative_risk(a[0], a[1], b[0], b[1])
    ci = rr.confidence_interval(0.95)
    u = uplift(a[0], a[1], b[0], b[1])
    assert (u.value, u.low, u.high) == pytest.approx((rr.relative_risk - 1, ci.low - 1, ci.high - 1), rel=1e-9)


def test_uplift_is_undefined_without_conversions():
    assert uplift(0, 100, 5, 100) is None
    assert uplift(5, 100, 0, 100) is None


@pytest.mark.parametrize(
    ("a", "b"), [((60, 400), (30, 400)), ((3, 40), (15, 100)), ((250, 1000), (1234, 56789)), ((5, 50), (5, 50))]
)
def test_p_value_matches_scipys_chi_squared_without_continuity_correction(a, b):
    table = [[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]]
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert two_proportion_p_value(*a, *b) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("observed", "weights"), [([5000, 5000], [1, 1]), ([5200, 4800], [1, 1]), ([310, 290, 420], [1, 1, 1.5])]
)
def test_sample_ratio_check_matches_scipys_chisquare(observed, weights):
    total = sum(observed)
    expected = [total * w / sum(weights) for w in weights]
    ref = stats.chisquare(observed, expected)
    srm = sample_ratio_mismatch(observed, weights)
    assert (srm.statistic, srm.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-9)
    assert srm.mismatch == (ref.pvalue < 0.001)


def test_sample_ratio_mismatch_is_flagged_for_a_skewed_fifty_fifty_split():
    assert sample_ratio_mismatch([5300, 4700], [0.5, 0.5]).mismatch
    assert not sample_ratio_mismatch([5030, 4970], [0.5, 0.5]).mismatch
    assert sample_ratio_mismatch([100, 3], [1, 0]).mismatch  # traffic where none should go


def test_probability_of_best_and_expected_loss_match_numerical_integration():
    (s0, n0), (s1, n1) = (40, 400), (55, 420)
    f0 = stats.beta(1 + s0, 1 + n0 - s0)
    f1 = stats.beta(1 + s1, 1 + n1 - s1)
    p1_best, _ = integrate.quad(lambda x: f1.pdf(x) * f0.cdf(x), 0, 1, points=[0.1, 0.13], limit=200)
    # E[max - theta_0] = E[(theta_1 - theta_0)+] = integral over x of P(theta_1 - theta_0 > x)
    loss0, _ = integrate.quad(
        lambda t: integrate.quad(lambda x: f0.pdf(x) * f1.sf(x + t), 0, 1, points=[0.1])[0], 0, 0.2, limit=100
    )
    post = beta_posteriors([s0, s1], [n0, n1], draws=400_000)
    assert post.p_best[1] == pytest.approx(p1_best, abs=0.004)
    assert post.expected_loss[0] == pytest.approx(loss0, rel=0.02)


def test_msprt_mixture_likelihood_ratio_matches_numerical_integration():
    s, n, cs, cn = 70, 500, 50, 500
    d = s / n - cs / cn
    pooled = (s + cs) / (n + cn)
    v = pooled * (1 - pooled) * (1 / n + 1 / cn)  # the variance of d under the null
    tau2 = 0.0009
    # Lambda = integral of the likelihood ratio of effect theta against 0, over N(0, tau2)
    lam, _ = integrate.quad(
        lambda th: (
            stats.norm.pdf(d, th, math.sqrt(v))
            / stats.norm.pdf(d, 0, math.sqrt(v))
            * stats.norm.pdf(th, 0, math.sqrt(tau2))
        ),
        -1,
        1,
        points=[0, d],
    )
    assert msprt(s, n, cs, cn, tau2=tau2).p_value == pytest.approx(min(1, 1 / lam), rel=1e-7)


@given(counts, counts)
def test_the_always_valid_p_value_is_never_below_the_fixed_sample_one(a, b):
    """Peeking-safe costs power: at any single look the mSPRT is at least as conservative."""
    assert msprt(*a, *b).p_value >= two_proportion_p_value(*a, *b) - 1e-12


# --- properties ------------------------------------------------------------------------------------


@given(counts, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_interval_contains_the_rate_within_zero_and_one(c, confidence):
    s, n = c
    low, high = wilson_interval(s, n, confidence)
    assert 0 <= low <= high <= 1
    if n:
        assert low - 1e-12 <= s / n <= high + 1e-12


@given(st.lists(counts, min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_probability_of_best_sums_to_one_and_loss_is_never_negative(arms):
    post = beta_posteriors([s for s, _ in arms], [n for _, n in arms], draws=2_000)
    assert post.p_best.sum() == pytest.approx(1.0)
    assert (post.expected_loss >= 0).all()
    # expected loss is E[max] - E[rate_i]: two arms' losses differ by the difference of their
    # posterior means, within Monte Carlo noise. (The arm most often best need not lose the least: a
    # wide posterior wins often yet gives up more. Hypothesis found such counts.)
    means = [(1 + s) / (2 + n) for s, n in arms]
    for i in range(len(arms)):
        for j in range(len(arms)):
            assert post.expected_loss[i] - post.expected_loss[j] == pytest.approx(means[j] - means[i], abs=0.04)


@given(st.lists(counts, min_size=2, max_size=6))
@settings(max_examples=30, deadline=None)
def test_a_clear_leader_is_most_often_best_and_gives_up_the_least(arms):
    leader = (900, 1000)  # a rate near 0.9 on 1,000 trials: above every other arm's posterior
    post = beta_posteriors(*zip(*[leader, *[(min(s, n // 2), n) for s, n in arms]], strict=True), draws=2_000)
    assert post.p_best.argmax() == 0 and post.expected_loss.argmin() == 0


@given(st.lists(st.floats(0, 1), max_size=12))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(ps):
    adj = holm_adjust(ps)
    assert all(p <= a <= 1 for p, a in zip(ps, adj, strict=True))
    for i in range(len(ps)):
        for j in range(len(ps)):
            if ps[i] < ps[j]:
                assert adj[i] <= adj[j]


@given(st.lists(st.floats(0, 1), min_size=1, max_size=10), st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_rejects_what_the_step_down_procedure_rejects(ps, alpha):
    # Holm (1979): sort, reject while p_(k) <= alpha / (m - k + 1), stop at the first that is not
    m = len(ps)
    rejected = set()
    for k, i in enumerate(sorted(range(m), key=lambda i: ps[i])):
        if ps[i] > alpha / (m - k):
            break
        rejected.add(i)
    assert {i for i, a in enumerate(holm_adjust(ps)) if a <= alpha} == rejected


@given(counts, counts)
def test_uplift_interval_contains_the_uplift(a, b):
    u = uplift(*a, *b)
    if u is not None:
        assert u.low <= u.value <= u.high
        assert u.low >= -1


@given(st.lists(st.tuples(counts, counts), min_size=1, max_size=8))
@settings(deadline=None)
def test_sequential_p_value_never_rises_and_its_interval_only_narrows(looks):
    flat = [(*a, *b) for a, b in looks]
    previous = None
    for k in range(1, len(flat) + 1):
        now = sequential(flat[:k], tau2=0.001)
        assert 0 <= now.p_value <= 1
        assert now.low <= now.high
        if previous is not None:
            assert now.p_value <= previous.p_value
        previous = now


@given(counts, st.floats(0.05, 1))
def test_ipw_with_a_constant_propensity_is_the_plain_rate(c, p):
    s, n = c
    w = 1 / p
    est = ipw_rate(s * w, s * w * w, n * w, n * w * w)
    if n == 0:
        assert est is None
    else:
        assert est.rate == pytest.approx(s / n)
        assert est.low <= est.rate <= est.high


def test_bad_counts_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="more successes than trials"):
        wilson_interval(5, 3)
    with pytest.raises(ValueError, match="negative"):
        two_proportion_p_value(-1, 3, 1, 3)
    with pytest.raises(ValueError, match="one expected weight per arm"):
        sample_ratio_mismatch([1, 2], [1])
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 3, 1.5)


# --- honest over time ------------------------------------------------------------------------------


def test_peeking_at_the_always_valid_test_keeps_false_positives_under_alpha():
    """200 A/A tests at 10%, looked at every 100 visitors per arm up to 5,000: the naive z-test,
    stopped at its first p < 0.05, cries wolf far more often than 5%; the mSPRT does not."""
    rng = np.random.default_rng(7)
    runs, looks, step, rate = 200, 50, 100, 0.10
    naive = always_valid = 0
    for _ in range(runs):
        a = np.cumsum(rng.binomial(step, rate, size=looks))
        b = np.cumsum(rng.binomial(step, rate, size=looks))
        n = step * np.arange(1, looks + 1)
        history = list(zip(a, n, b, n, strict=True))
        naive += any(two_proportion_p_value(*h) < 0.05 for h in history)
        always_valid += sequential(history).p_value < 0.05
    assert naive / runs > 0.15
    assert always_valid / runs <= 0.05


def test_the_always_valid_test_finds_a_real_difference():
    rng = np.random.default_rng(3)
    n = 100 * np.arange(1, 41)
    a = np.cumsum(rng.binomial(100, 0.15, size=40))
    b = np.cumsum(rng.binomial(100, 0.10, size=40))
    result = sequential(list(zip(a, n, b, n, strict=True)))
    assert result.p_value < 0.05
    assert result.low > 0


def test_inverse_propensity_weighting_undoes_a_bandits_adaptive_allocation():
    """Arm A converts at 20% in the first half of the traffic and 5% in the second (its true rate
    over the whole experiment is 12.5%); a bandit that shows it to 90% of visitors early and 10% late
    makes its naive rate look like 18.5%. The logged propensities recover the truth."""
    rng = np.random.default_rng(11)
    half = 20_000
    conv_w = conv_w2 = imp_w = imp_w2 = 0.0
    shown = converted = 0
    for p, rate in ((0.9, 0.20), (0.1, 0.05)):
        k = rng.binomial(half, p)  # visitors who saw A
        c = rng.binomial(k, rate)
        shown, converted = shown + k, converted + c
        imp_w, imp_w2 = imp_w + k / p, imp_w2 + k / p**2
        conv_w, conv_w2 = conv_w + c / p, conv_w2 + c / p**2
    naive = wilson_interval(converted, shown)
    corrected = ipw_rate(conv_w, conv_w2, imp_w, imp_w2)
    assert not naive[0] <= 0.125 <= naive[1]
    assert corrected.low <= 0.125 <= corrected.high
    assert corrected.rate == pytest.approx(0.125, abs=0.01)


# --- the whole review -------------------------------------------------------------------------------


def cta(impressions=(200, 400, 150), conversions=(4, 60, 3), **kw):
    names = ("Learn more", "Start free trial", "Book a demo")
    return [
        ArmCounts(f"v{i}", names[i], n, c, **kw) for i, (n, c) in enumerate(zip(impressions, conversions, strict=True))
    ]


def test_analysis_names_a_winner_only_when_the_evidence_is_decisive():
    result = analyse(cta(), "v0")
    assert result.ready and result.leader.id == "v1" and result.winner.id == "v1"
    rows = {r.id: r for r in result.arms}
    assert rows["v0"].p_value is None and rows["v0"].uplift is None
    # Holm over two comparisons doubles the smaller p-value
    assert rows["v1"].p_value == pytest.approx(2 * rows["v1"].p_value_unadjusted)
    assert sum(r.p_best for r in result.arms) == pytest.approx(1)


def test_no_best_before_the_minimum_sample():
    result = analyse(cta((30, 40, 20), (1, 8, 0)), "v0")
    assert not result.ready and result.leader is None and result.winner is None
    # a bandit's leader with plenty of data, but one arm barely shown: still too early
    result = analyse(cta((15, 500, 40), (0, 70, 2)), "v0")
    assert not result.ready and result.leader is None
    # before any traffic nothing is best, though P(best) is an even split
    result = analyse(cta((0, 0, 0), (0, 0, 0)), "v0")
    assert not result.ready and result.leader is None
    assert [round(r.p_best, 1) for r in result.arms] == [0.3, 0.3, 0.3]
    result = analyse(cta((300, 300, 300), (10, 12, 11)), "v0")
    assert result.ready and result.winner is None  # enough data, no decisive difference


def test_a_sample_ratio_mismatch_blocks_a_winner():
    result = analyse(cta((2000, 2600, 2000), (40, 400, 40), expected_share=1 / 3), "v0")
    assert result.srm.mismatch and result.winner is None and result.leader.id == "v1"


def test_analysis_refuses_duplicate_arms():
    with pytest.raises(ValueError, match="unique"):
        analyse([ArmCounts("a", "A", 1, 0), ArmCounts("a", "A", 1, 0)], "a")


# --- what a decision's reason may claim (`evidence_of`) and how `decide` words it ------------------


def test_evidence_names_no_leader_without_data_or_on_a_tie():
    assert evidence_of({}) == Evidence(None, False)
    assert evidence_of({"a": (0, 0), "b": (0, 0)}) == Evidence(None, False)
    assert evidence_of({"a": (50, 5), "b": (50, 5)}) == Evidence(None, False)
    assert evidence_of({"a": (500, 50)}) == Evidence(None, False)  # one arm is not a comparison


@pytest.mark.parametrize(
    ("counts", "ready"),
    [
        ({"a": (100, 10), "b": (20, 1)}, True),  # exactly the review's minimum sample
        ({"a": (99, 10), "b": (20, 1)}, False),  # the leader lacks an impression
        ({"a": (100, 9), "b": (20, 0)}, False),  # the leader lacks a conversion
        ({"a": (100, 10), "b": (19, 1)}, False),  # another arm lacks an impression
    ],
)
def test_evidence_is_ready_at_the_reviews_minimum_sample(counts, ready):
    assert evidence_of(counts) == Evidence("a", ready)
    # the same bar as the review's
    arms = [ArmCounts(k, k, n, c) for k, (n, c) in counts.items()]
    assert analyse(arms, "b", draws=2_000).ready is ready


def _bandit():
    return Slot("s", "cta", (Variant("a", "A"), Variant("b", "B")), "BANDIT", {})


def _reasons(evidence, allocation=None, arm="a"):
    allocation = allocation or {"a": 0.7, "b": 0.3}
    for i in range(400):
        d = decide(_bandit(), Context.build(), allocation=allocation, unit=f"v{i}", evidence=evidence)
        if d.variant_id == arm:
            return d.reasons
    raise AssertionError(f"{arm} was never chosen")


def test_a_reason_says_best_so_far_only_past_the_minimum_sample():
    assert _reasons(Evidence("a", True)) == ("Best so far: 70% share (Thompson sampling)",)
    assert _reasons(Evidence("a", False)) == (
        "Leading so far: 70% share (Thompson sampling, too early to call it best)",
    )
    assert _reasons(Evidence(None, False)) == ("Exploring: 70% share (Thompson sampling)",)
    assert _reasons(Evidence("a", True), arm="b") == ("Exploring: 30% share (Thompson sampling)",)
    # without evidence (a caller that has none), the largest weight is "best so far" as before
    assert _reasons(None) == ("Best so far: 70% share (Thompson sampling)",)


def test_the_allocation_table_publishes_the_evidence_with_the_weights():
    table = AllocationTable()
    slot = _bandit()
    assert table.evidence("s", "*") is None  # before the first refresh
    table.refresh([slot], {"s": {}})
    assert table.evidence("s", "*") == Evidence(None, False)  # no results yet: nobody leads
    few = {"s": {"*": {"a": ArmStats(impressions=40, conversions=6), "b": ArmStats(impressions=40, conversions=2)}}}
    table.refresh([slot], few)
    assert table.evidence("s", "*") == Evidence("a", False)
    enough = {
        "s": {"*": {"a": ArmStats(impressions=400, conversions=60), "b": ArmStats(impressions=60, conversions=2)}}
    }
    table.refresh([slot], enough)
    assert table.evidence("s", "*") == Evidence("a", True)
