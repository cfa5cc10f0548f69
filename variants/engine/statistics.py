"""Posterior helpers for the learning policies (numpy, vectorised; no I/O, no Django)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
