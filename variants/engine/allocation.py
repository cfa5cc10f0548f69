"""From allocation weights to one visitor's arm, with stickiness and an exact propensity.

Weights are computed by a policy when stats refresh (not per request). Per request, the weights are
restricted to the eligible arms and renormalised (`restrict`), then the visitor's stable hash picks
the arm (`pick`): ``u = blake2b(salt, unit)`` mapped to [0, 1), walked along the cumulative weights
in sorted arm-id order. The same visitor therefore keeps their arm while the weights are stable,
different slots (different salts) are independent, and the probability returned is exactly the
chosen arm's share of the renormalised weights, i.e. the propensity of the choice.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Mapping

_SCALE = float(1 << 64)


def unit_interval(salt: str, unit: str) -> float:
    """A uniform number in [0, 1) that depends only on (salt, unit)."""
    digest = hashlib.blake2b(f"{salt}\x1f{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def restrict(weights: Mapping[str, float] | None, eligible: Iterable[str]) -> dict[str, float]:
    """`weights` limited to the `eligible` arms and renormalised to sum to 1.

    An eligible arm missing from `weights` gets 0 (e.g. a variant added since the last refresh); when
    no eligible arm has weight (or there are no weights yet), the eligible arms split evenly.
    """
    arms = list(dict.fromkeys(eligible))
    if not arms:
        return {}
    chosen = {arm: float(weights.get(arm, 0.0)) for arm in arms} if weights else {}
    for arm, w in chosen.items():
        if not (w >= 0 and math.isfinite(w)):
            raise ValueError(f"weight of {arm!r} must be a finite number >= 0, not {w!r}")
    total = sum(chosen.values())
    if total <= 0:
        return {arm: 1.0 / len(arms) for arm in arms}
    return {arm: w / total for arm, w in chosen.items()}


def pick(
    weights: Mapping[str, float],
    unit: str | None,
    salt: str,
    rng: random.Random | None = None,
) -> tuple[str, float]:
    """Choose an arm from `weights` for the visitor `unit`; returns ``(arm, probability)``.

    `weights` need not be normalised (`probability` is the arm's weight over the total). With a
    `unit` the choice is a pure function of (weights, unit, salt); with ``unit=None`` (no visitor
    token) it is a fresh draw from `rng` (the module's generator when None). Arms with weight 0
    are never chosen.
    """
    arms = sorted(arm for arm, w in weights.items() if w > 0)
    for arm, w in weights.items():
        if not (w >= 0 and math.isfinite(w)):
            raise ValueError(f"weight of {arm!r} must be a finite number >= 0, not {w!r}")
    if not arms:
        raise ValueError("no arm has a positive weight")
    total = math.fsum(weights[arm] for arm in arms)
    u = unit_interval(salt, unit) if unit is not None else (rng or random).random()
    target = u * total
    cumulative = 0.0
    for arm in arms:
        cumulative += weights[arm]
        if target < cumulative:
            break
    # (falling off the end by float rounding leaves `arm` as the last positive arm)
    return arm, weights[arm] / total
