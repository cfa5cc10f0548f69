"""Posterior helpers for the learning policies (numpy, vectorised; no I/O, no Django)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Monte Carlo draws per probability-of-best estimate: standard error <= 0.5 percentage points
DEFAULT_DRAWS = 10_000


def probability_of_best(
    alpha: Sequence[float] | np.ndarray,
    beta: Sequence[float] | np.ndarray,
    *,
    draws: int = DEFAULT_DRAWS,
    rng: np.random.Generator,
) -> np.ndarray:
    """P(arm i has the highest rate) under independent Beta(alpha_i, beta_i) posteriors.

    Estimated from `draws` joint posterior draws, all arms at once.
    """
    a = np.asarray(alpha, dtype=float)
    b = np.asarray(beta, dtype=float)
    k = a.shape[0]
    if k == 0:
        return np.zeros(0)
    if k == 1:
        return np.ones(1)
    samples = rng.beta(a, b, size=(draws, k))
    return np.bincount(samples.argmax(axis=1), minlength=k) / draws


def top_two_allocation(p: np.ndarray, beta: float) -> np.ndarray:
    """Top-two Thompson sampling (Russo 2016) as allocation probabilities.

    With probability `beta` the posterior draw's best arm is played; otherwise the draw is repeated
    until another arm comes out best (the *challenger*), which is played. Given leader j, the
    challenger is i with probability p_i / (1 - p_j), so
    ``psi_i = beta * p_i + (1 - beta) * sum_{j != i} p_j * p_i / (1 - p_j)``.
    """
    p = np.asarray(p, dtype=float)
    k = p.shape[0]
    if k < 2:
        return p.copy()
    rest = 1.0 - p
    psi = beta * p
    for j in range(k):
        if p[j] == 0.0:
            continue
        if rest[j] <= 1e-12:  # the leader always wins: its challenger is unknowable, spread evenly
            challenger = np.full(k, 1.0 / (k - 1))
        else:
            challenger = p / rest[j]
        challenger[j] = 0.0
        psi = psi + (1.0 - beta) * p[j] * challenger
    return psi / psi.sum()


def apply_floor(weights: Mapping[str, float], floor: float) -> dict[str, float]:
    """Mix `weights` with the uniform split so every arm gets at least ``floor / k``.

    `floor` is the share of traffic reserved for uniform exploration (0 disables it). The result
    sums to 1 when `weights` does.
    """
    k = len(weights)
    if not k or floor <= 0:
        return dict(weights)
    floor = min(floor, 1.0)
    return {arm: floor / k + (1.0 - floor) * w for arm, w in weights.items()}


def normalize(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights scaled to sum to 1; the uniform split when they sum to 0."""
    total = float(sum(weights.values()))
    if total <= 0:
        return uniform(weights)
    return {arm: w / total for arm, w in weights.items()}


def uniform(arms) -> dict[str, float]:
    arms = list(arms)
    return {arm: 1.0 / len(arms) for arm in arms} if arms else {}


def share_of_best(values: Mapping[str, float]) -> dict[str, float]:
    """All weight to the arm(s) with the highest value, ties split evenly."""
    top = max(values.values())
    best = [arm for arm, v in values.items() if v == top]
    return {arm: (1.0 / len(best) if arm in best else 0.0) for arm in values}


def shrunk_rate(successes: float, trials: float, prior_rate: float, strength: float) -> float:
    """A rate pulled toward `prior_rate` as if `strength` trials at that rate had been seen."""
    return (successes + strength * prior_rate) / (trials + strength) if trials + strength > 0 else prior_rate


# --- experiment statistics (the review of an A/B test or bandit) --------------------------------
#
# Everything below takes plain counts and returns plain numbers, so the admin, a command or a
# notebook can call it; tests compare it with scipy on the same counts. No scipy at run time: the
# few special functions needed (normal quantile, chi-squared tail) are written out here.

#: below these counts no arm is called "best" or a "winner": the leader needs this many impressions
#: and conversions, and every arm at least `MIN_IMPRESSIONS_ANY_ARM` impressions (a bandit starves
#: its losers, so demanding the leader's sample of them would never let it be read)
MIN_IMPRESSIONS_PER_ARM = 100
MIN_CONVERSIONS_PER_ARM = 10
MIN_IMPRESSIONS_ANY_ARM = 20
#: a sample ratio mismatch is flagged below this p-value (GrowthBook's and Optimizely's threshold)
SRM_THRESHOLD = 0.001
#: the Bayesian bar for "probably best" and the frequentist bar for significance
P_BEST_THRESHOLD = 0.95
ALPHA = 0.05


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_sf(x: float) -> float:
    """P(Z > x), accurate far into the tail."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def normal_ppf(q: float) -> float:
    """The standard normal quantile (Acklam's rational approximation, refined by a Halley step)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile must be in (0, 1), not {q!r}")
    if q > 0.5:  # by symmetry, where the refinement below is accurate (1 - q is exact here)
        return -normal_ppf(1.0 - q)
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)  # fmt: skip
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    low = 0.02425
    if q < low:
        r = math.sqrt(-2 * math.log(q))
        x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1
        )
    elif q > 1 - low:
        r = math.sqrt(-2 * math.log(1 - q))
        x = -(((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1
        )
    else:
        s = q - 0.5
        r = s * s
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * s
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    e = normal_cdf(x) - q
    u = e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    return normal_ppf(0.5 + confidence / 2)


def _check_counts(successes: float, trials: float) -> None:
    if trials < 0 or successes < 0:
        raise ValueError(f"counts cannot be negative ({successes!r} of {trials!r})")
    if successes > trials:
        raise ValueError(f"more successes than trials ({successes!r} of {trials!r})")


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for a chi-squared variable with `df` degrees of freedom (regularized upper gamma)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {df!r}")
    if x <= 0:
        return 1.0
    a, t = df / 2.0, x / 2.0
    log_front = a * math.log(t) - t - math.lgamma(a)
    if t < a + 1:  # the series for the lower gamma converges fast here
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1
            term *= t / n
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # Lentz's continued fraction for the upper gamma
    tiny = 1e-300
    bb = t + 1 - a
    cc = 1 / tiny
    dd = 1 / bb
    h = dd
    for i in range(1, 10_000):
        an = -i * (i - a)
        bb += 2
        dd = an * dd + bb
        dd = tiny if abs(dd) < tiny else dd
        cc = bb + an / cc
        cc = tiny if abs(cc) < tiny else cc
        dd = 1 / dd
        delta = dd * cc
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return min(1.0, math.exp(log_front) * h)


def wilson_interval(successes: float, trials: float, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a rate; (0, 1) before any trial."""
    _check_counts(successes, trials)
    if trials == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Uplift:
    """Relative uplift of a variant's rate over the control's (0.1 = 10% better), with its interval."""

    value: float
    low: float
    high: float


def uplift(
    successes: float, trials: float, control_successes: float, control_trials: float, confidence: float = 0.95
) -> Uplift | None:
    """Relative uplift ``rate / control_rate - 1`` with the log-ratio (Katz) interval; None while
    either arm has no conversion (the ratio or its interval is undefined then)."""
    _check_counts(successes, trials)
    _check_counts(control_successes, control_trials)
    if min(successes, trials, control_successes, control_trials) <= 0:
        return None
    ratio = (successes / trials) / (control_successes / control_trials)
    se = math.sqrt(1 / successes - 1 / trials + 1 / control_successes - 1 / control_trials)
    z = _z(confidence)
    return Uplift(ratio - 1, ratio * math.exp(-z * se) - 1, ratio * math.exp(z * se) - 1)


def two_proportion_p_value(successes: float, trials: float, control_successes: float, control_trials: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (the 2x2 chi-squared test without
    continuity correction); 1 when there is nothing to compare."""
    _check_counts(successes, trials)
    _check_counts(control_successes, control_trials)
    if trials == 0 or control_trials == 0:
        return 1.0
    pooled = (successes + control_successes) / (trials + control_trials)
    var = pooled * (1 - pooled) * (1 / trials + 1 / control_trials)
    if var <= 0:
        return 1.0
    z = (successes / trials - control_successes / control_trials) / math.sqrt(var)
    return min(1.0, 2 * normal_sf(abs(z)))


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (family-wise error), in the order given."""
    p = [float(v) for v in p_values]
    if any(not 0.0 <= v <= 1.0 for v in p):
        raise ValueError("p-values must lie between 0 and 1")
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Posterior:
    """Beta posteriors of every arm: P(best) and the expected loss of choosing each."""

    p_best: np.ndarray
    expected_loss: np.ndarray


def beta_posteriors(
    successes: Sequence[float],
    trials: Sequence[float],
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    draws: int = 100_000,
    seed: int = 0,
) -> Posterior:
    """Beta(prior + successes, prior + failures) per arm; P(arm is best) and expected loss
    ``E[max_j rate_j - rate_i]`` (the conversion rate given up by choosing arm i), from `draws`
    seeded joint draws (the same counts always give the same answer)."""
    s = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if s.shape != n.shape or s.ndim != 1:
        raise ValueError("successes and trials must be two lists of the same length")
    for si, ni in zip(s, n, strict=True):
        _check_counts(si, ni)
    k = s.shape[0]
    if k == 0:
        return Posterior(np.zeros(0), np.zeros(0))
    rng = np.random.default_rng(seed)
    samples = rng.beta(prior[0] + s, prior[1] + n - s, size=(draws, k))
    best = samples.max(axis=1)
    p_best = np.bincount(samples.argmax(axis=1), minlength=k) / draws
    return Posterior(p_best, (best[:, None] - samples).mean(axis=0))


# --- always-valid inference (mSPRT) ---------------------------------------------------------------


@dataclass(frozen=True)
class Sequential:
    """An always-valid result for the difference of two rates: `p_value` may be read at every look
    (daily, hourly) without inflating false positives; `low`/`high` bound the absolute difference."""

    p_value: float
    low: float
    high: float
    difference: float


def msprt_mixing_variance(rate: float) -> float:
    """The prior variance of the difference the mixture is tuned for, from the rate both arms
    share: a standard deviation of half that rate (at least half a percentage point). Johari et al.
    tune it to the effects one hopes to detect; a broad mixture loses little power on large effects
    and still detects relative effects of 20-30% given the traffic."""
    return max(0.5 * max(rate, 0.0), 0.005) ** 2


def _rate_variance(rate: float, trials: float) -> float:
    """The variance of an observed rate, floored at one success's worth so that 0 of n does not look
    certain."""
    floor = (1 / trials) * (1 - 1 / trials) if trials > 1 else 0.25
    return max(rate * (1 - rate), floor) / trials


def msprt(
    successes: float,
    trials: float,
    control_successes: float,
    control_trials: float,
    *,
    alpha: float = ALPHA,
    tau2: float | None = None,
) -> Sequential:
    """One look of the mixture sequential probability ratio test (Johari, Pekelis & Walsh 2017)
    for ``rate - control_rate``, normal approximation with a N(0, tau2) mixture over the effect:
    ``Lambda = sqrt(V / (V + tau2)) * exp(tau2 * d^2 / (2 V (V + tau2)))`` with d the observed
    difference and V its variance under the null (the pooled rate, as in the z-test). ``p = min(1, 1 / Lambda)``; the (1 - alpha) confidence sequence
    is ``d ± sqrt(V (V + tau2) / tau2 * (2 log(1/alpha) + log((V + tau2) / V)))``, there with V
    from each arm's own rate.

    A single look is valid on its own; `sequential` carries it over time (the running minimum of p,
    the running intersection of intervals), which is what keeps peeking safe."""
    _check_counts(successes, trials)
    _check_counts(control_successes, control_trials)
    if trials == 0 or control_trials == 0:
        return Sequential(1.0, -1.0, 1.0, 0.0)
    p1, p0 = successes / trials, control_successes / control_trials
    d = p1 - p0
    pooled = (successes + control_successes) / (trials + control_trials)
    # the test uses the variance under the null (both arms at the pooled rate), as the z-test does;
    # the interval each arm's own, floored so that a 0-of-n arm does not look certain
    v_null = max(pooled * (1 - pooled), 1 / (trials + control_trials)) * (1 / trials + 1 / control_trials)
    v = _rate_variance(p1, trials) + _rate_variance(p0, control_trials)
    t2 = msprt_mixing_variance(pooled) if tau2 is None else float(tau2)
    if t2 <= 0:
        raise ValueError(f"the mixing variance must be positive, not {tau2!r}")
    log_lambda = 0.5 * math.log(v_null / (v_null + t2)) + t2 * d * d / (2 * v_null * (v_null + t2))
    p_value = 1.0 if log_lambda <= 0 else math.exp(-log_lambda)
    half = math.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / alpha) + math.log((v + t2) / v)))
    return Sequential(p_value, max(-1.0, d - half), min(1.0, d + half), d)


def sequential(
    looks: Sequence[tuple[float, float, float, float]], *, alpha: float = ALPHA, tau2: float | None = None
) -> Sequential:
    """The always-valid result after a series of looks at cumulative counts
    ``(successes, trials, control_successes, control_trials)``, oldest first (e.g. one per hour):
    p is the smallest seen so far and the interval the intersection of every look's.

    `tau2` is fixed over the looks (None: tuned once, on the first look with a conversion, so the
    test does not change its mind about what it is looking for)."""
    if not looks:
        return Sequential(1.0, -1.0, 1.0, 0.0)
    p_value, low, high = 1.0, -1.0, 1.0
    last = None
    for s, n, cs, cn in looks:
        if tau2 is None and n and cn and (s or cs):
            tau2 = msprt_mixing_variance((s + cs) / (n + cn))
        last = msprt(s, n, cs, cn, alpha=alpha, tau2=tau2 if tau2 is not None else msprt_mixing_variance(0.0))
        p_value = min(p_value, last.p_value)
        low, high = max(low, last.low), min(high, last.high)
    if low > high:  # intervals that stopped overlapping: keep the latest look's (rare, at small n)
        low, high = last.low, last.high
    return Sequential(p_value, low, high, last.difference)


# --- allocation health and adaptive allocation ----------------------------------------------------


@dataclass(frozen=True)
class SampleRatio:
    statistic: float
    p_value: float
    mismatch: bool


def sample_ratio_mismatch(
    observed: Sequence[float], expected_weights: Sequence[float], *, threshold: float = SRM_THRESHOLD
) -> SampleRatio:
    """Pearson's chi-squared goodness of fit of the arms' impressions to the configured split;
    a mismatch (p < `threshold`) means the split is not what was set, so the results are suspect."""
    obs = [float(o) for o in observed]
    w = [float(x) for x in expected_weights]
    if len(obs) != len(w):
        raise ValueError("one expected weight per arm")
    if any(o < 0 for o in obs) or any(x < 0 for x in w):
        raise ValueError("counts and weights cannot be negative")
    total, wsum = sum(obs), sum(w)
    arms = [(o, x / wsum) for o, x in zip(obs, w, strict=True) if x > 0] if wsum > 0 else []
    if wsum > 0 and any(o > 0 for o, x in zip(obs, w, strict=True) if x == 0):
        return SampleRatio(math.inf, 0.0, True)  # traffic to an arm that should get none
    if total == 0 or len(arms) < 2:
        return SampleRatio(0.0, 1.0, False)
    stat = sum((o - total * share) ** 2 / (total * share) for o, share in arms)
    p = chi2_sf(stat, len(arms) - 1)
    return SampleRatio(stat, p, p < threshold)


@dataclass(frozen=True)
class WeightedRate:
    """An arm's conversion rate corrected for adaptive allocation (self-normalised inverse
    propensity weighting), with a normal-approximation interval."""

    rate: float
    low: float
    high: float


def ipw_rate(
    conversion_weight: float,
    conversion_weight_sq: float,
    impression_weight: float,
    impression_weight_sq: float,
    confidence: float = 0.95,
) -> WeightedRate | None:
    """The self-normalised IPW estimate of an arm's rate from its events' inverse propensities.

    Every impression t of the arm carries w_t = 1 / p_t (p_t: the probability the decision had of
    choosing the arm, logged with it); a conversion carries its decision's w_t. Then
    ``rate = sum_conv w / sum_impr w``: the rate the arm would have had shown to every visitor of
    the experiment, undoing the bandit's habit of showing an arm more while it looked good (and so
    to the visitors and hours it happened to do well with).
    The variance is the delta-method one, ``sum w_t^2 (r_t - rate)^2 / (sum w_t)^2``, which with
    binary r needs only the sums of w and w^2 over conversions and over impressions.
    None without weighted impressions.
    """
    if impression_weight <= 0:
        return None
    if min(conversion_weight, conversion_weight_sq, impression_weight_sq) < 0:
        raise ValueError("weights cannot be negative")
    rate = min(1.0, conversion_weight / impression_weight)
    non_conv_sq = max(0.0, impression_weight_sq - conversion_weight_sq)
    var = (conversion_weight_sq * (1 - rate) ** 2 + non_conv_sq * rate**2) / impression_weight**2
    half = _z(confidence) * math.sqrt(var)
    return WeightedRate(rate, max(0.0, rate - half), min(1.0, rate + half))


# --- one experiment, every arm --------------------------------------------------------------------


@dataclass(frozen=True)
class ArmCounts:
    """What is known about one arm. `share` is its current allocation share; `expected_share` the
    configured split (A/B) the sample-ratio check compares with; the ``*_weight`` sums are those of
    `ipw_rate` (0 when the events carry no propensity)."""

    id: str
    name: str
    impressions: int
    conversions: int
    share: float | None = None
    expected_share: float | None = None
    conversion_weight: float = 0.0
    conversion_weight_sq: float = 0.0
    impression_weight: float = 0.0
    impression_weight_sq: float = 0.0


@dataclass(frozen=True)
class ArmResult:
    counts: ArmCounts
    rate: float | None
    ci_low: float
    ci_high: float
    uplift: Uplift | None
    p_best: float
    expected_loss: float
    #: against the control, Holm-adjusted over the variants (None for the control itself)
    p_value: float | None
    p_value_unadjusted: float | None
    #: always-valid, against the control (None for the control), p Holm-adjusted like `p_value`
    sequential: Sequential | None
    ipw: WeightedRate | None
    enough_data: bool

    @property
    def id(self) -> str:
        return self.counts.id


@dataclass(frozen=True)
class Analysis:
    arms: tuple[ArmResult, ...]
    control_id: str
    #: None unless the arms have a configured split to compare with
    srm: SampleRatio | None
    #: the arm with the highest P(best); None before the minimum sample
    leader: ArmResult | None
    #: the minimum sample is reached (so "best" may be said): the leader's, and every arm's smaller one
    ready: bool
    #: the leader when the evidence is decisive: P(best) over the bar and the always-valid test
    #: against the control (or, for a leading control, against every variant) significant
    winner: ArmResult | None
    min_impressions: int
    min_conversions: int
    min_impressions_any: int = MIN_IMPRESSIONS_ANY_ARM

    @property
    def impressions(self) -> int:
        return sum(a.counts.impressions for a in self.arms)

    @property
    def conversions(self) -> int:
        return sum(a.counts.conversions for a in self.arms)


def analyse(
    arms: Sequence[ArmCounts],
    control_id: str,
    *,
    history: Sequence[Mapping[str, tuple[float, float]]] = (),
    confidence: float = 0.95,
    min_impressions: int = MIN_IMPRESSIONS_PER_ARM,
    min_conversions: int = MIN_CONVERSIONS_PER_ARM,
    min_impressions_any: int = MIN_IMPRESSIONS_ANY_ARM,
    p_best_threshold: float = P_BEST_THRESHOLD,
    draws: int = 100_000,
    seed: int = 0,
) -> Analysis:
    """Every statistic of the review for arms `arms`, the one with id `control_id` as the baseline
    (the slot's default, else the first arm).

    `history` holds cumulative ``{arm id: (impressions, conversions)}`` snapshots, oldest first (one
    per hour of the aggregates); the always-valid result runs over them, then over the final counts.
    """
    if not arms:
        raise ValueError("an experiment needs at least one arm")
    ids = [a.id for a in arms]
    if len(set(ids)) != len(ids):
        raise ValueError("arm ids must be unique")
    if control_id not in ids:
        control_id = ids[0]
    control = arms[ids.index(control_id)]
    alpha = 1 - confidence
    posterior = beta_posteriors([a.conversions for a in arms], [a.impressions for a in arms], draws=draws, seed=seed)
    others = [a for a in arms if a.id != control_id]
    raw = {
        a.id: two_proportion_p_value(a.conversions, a.impressions, control.conversions, control.impressions)
        for a in others
    }
    adjusted = dict(zip(raw, holm_adjust(list(raw.values())), strict=True))
    seq: dict[str, Sequential] = {}
    for a in others:
        looks = [
            (*reversed(snap.get(a.id, (0, 0))), *reversed(snap.get(control_id, (0, 0))))
            for snap in history
            if a.id in snap or control_id in snap
        ]
        looks.append((a.conversions, a.impressions, control.conversions, control.impressions))
        seq[a.id] = sequential(looks, alpha=alpha)
    seq_adjusted = dict(zip(seq, holm_adjust([s.p_value for s in seq.values()]), strict=True))

    results = []
    for i, a in enumerate(arms):
        _check_counts(a.conversions, a.impressions)
        low, high = wilson_interval(a.conversions, a.impressions, confidence)
        s = seq.get(a.id)
        results.append(
            ArmResult(
                counts=a,
                rate=a.conversions / a.impressions if a.impressions else None,
                ci_low=low,
                ci_high=high,
                uplift=None
                if a.id == control_id
                else uplift(a.conversions, a.impressions, control.conversions, control.impressions, confidence),
                p_best=float(posterior.p_best[i]),
                expected_loss=float(posterior.expected_loss[i]),
                p_value=adjusted.get(a.id),
                p_value_unadjusted=raw.get(a.id),
                sequential=None if s is None else Sequential(seq_adjusted[a.id], s.low, s.high, s.difference),
                ipw=ipw_rate(
                    a.conversion_weight,
                    a.conversion_weight_sq,
                    a.impression_weight,
                    a.impression_weight_sq,
                    confidence,
                ),
                enough_data=a.impressions >= min_impressions and a.conversions >= min_conversions,
            )
        )
    srm = None
    if len(arms) > 1 and all(a.expected_share is not None for a in arms):
        srm = sample_ratio_mismatch([a.impressions for a in arms], [a.expected_share or 0.0 for a in arms])
    best = max(results, key=lambda r: r.p_best)
    ready = (
        len(arms) > 1
        and all(r.counts.impressions >= min_impressions_any for r in results)
        and best.counts.impressions >= min_impressions
        and best.counts.conversions >= min_conversions
    )
    leader = best if ready else None
    winner = None
    if leader is not None and leader.p_best >= p_best_threshold and not (srm and srm.mismatch):
        if leader.id != control_id:
            decisive = leader.sequential is not None and leader.sequential.p_value < alpha
        else:
            decisive = all(
                r.sequential is not None and r.sequential.p_value < alpha for r in results if r is not leader
            )
        winner = leader if decisive else None
    return Analysis(
        tuple(results), control_id, srm, leader, ready, winner, min_impressions, min_conversions, min_impressions_any
    )


# --- how far the evidence goes (what a decision's reason may claim) ------------------------------


@dataclass(frozen=True)
class Evidence:
    """What an allocation's counts allow a visitor-facing reason to say about one bucket of a slot.

    `leader`: the arm with the strictly highest observed rate (None without data or on a tie);
    `ready`: the same minimum sample as the review's (`analyse`) is reached: the leader has
    `MIN_IMPRESSIONS_PER_ARM` impressions and `MIN_CONVERSIONS_PER_ARM` successes, and every arm
    `MIN_IMPRESSIONS_ANY_ARM` impressions. Before that a reason may say "leading so far", never "best".
    """

    leader: str | None
    ready: bool


def evidence_of(
    counts: Mapping[str, tuple[float, float]],
    *,
    min_impressions: int = MIN_IMPRESSIONS_PER_ARM,
    min_conversions: int = MIN_CONVERSIONS_PER_ARM,
    min_impressions_any: int = MIN_IMPRESSIONS_ANY_ARM,
) -> Evidence:
    """`counts` is ``{arm: (impressions, successes)}`` for every arm of the slot (missing arms: none)."""
    rates = {arm: s / n for arm, (n, s) in counts.items() if n > 0}
    if not rates:
        return Evidence(None, False)
    top = max(rates.values())
    leaders = [arm for arm, r in rates.items() if r == top]
    if len(leaders) != 1 or len(counts) < 2:
        return Evidence(None, False)
    leader = leaders[0]
    n, s = counts[leader]
    ready = n >= min_impressions and s >= min_conversions and all(c[0] >= min_impressions_any for c in counts.values())
    return Evidence(leader, ready)
