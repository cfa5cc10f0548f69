"""Policies that learn from counts of trials and successes per arm, and the fixed split (AB).

`CountingPolicy` is the base of every bandit (see `bandits`) and of `FixedSplit`: arms are
Bernoulli (a visitor converts or not, by the slot's ``reward`` event kind), the learned state is the
effective number of trials and successes per arm, and ``weights`` applies the exploration ``floor``
to whatever allocation the subclass computes from those counts (`_allocation`).

Forgetting (``half_life``): by default the policies learn from all-time counts, which is right for a
stationary audience but makes them slow to notice that the best arm changed. With ``half_life=H``,
evidence is discounted exponentially by traffic: after H further impressions of the slot (or
bucket), an old impression weighs half as much. ``update`` discounts on every call; ``observe``
discounts by the number of impressions between two snapshots, so old evidence fades at the same
pace whatever the refresh interval (impressions within one interval count as equally fresh), and
processes fed the same snapshots agree. The discounted counts are learned state:
a new process starts from the cumulative counts seen in its first snapshot (weighted as fresh), so
persist `to_state()` between restarts where forgetting must survive them. Discounting keeps the
effective sample size near ``H / ln 2``, which keeps exploration alive at the cost of some regret
when nothing changes; leave it off for a stationary slot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rules.engine.i18n import _

from ..statistics import apply_floor, normalize
from ..stats_store import ArmStats
from ..vocabulary import GLOBAL_BUCKET, KIND_CONVERSION, REWARDS
from .base import Policy, PolicyError, _jsonable, _unique, register_policy

DEFAULT_FLOOR = 0.01


class CountingPolicy(Policy):
    """A policy over Bernoulli arms that learns effective (possibly discounted) trials and successes.

    Learned state: ``n_`` / ``s_`` effective trials / successes per arm, ``seen_`` the last
    cumulative ``[impressions, successes]`` observed per arm (to discount by difference), and
    ``impressions_`` the raw number of impressions learned from.
    """

    def __init__(
        self,
        *,
        floor: float = DEFAULT_FLOOR,
        half_life: float | None = None,
        reward: str = KIND_CONVERSION,
        seed: int | None = None,
    ):
        super().__init__(seed=seed)
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
            raise PolicyError("floor", _("must be a share between 0 and 1, not %(value)r") % {"value": floor})
        if half_life is not None and (
            isinstance(half_life, bool) or not isinstance(half_life, (int, float)) or not half_life > 0
        ):
            raise PolicyError(
                "half_life", _("must be a number of impressions > 0 or None, not %(value)r") % {"value": half_life}
            )
        if reward not in REWARDS:
            raise PolicyError(
                "reward",
                _("must be one of %(known)s, not %(value)r")
                % {"known": ", ".join(map(repr, REWARDS)), "value": reward},
            )
        self.floor = floor
        self.half_life = half_life
        self.reward = reward
        self.n_: dict[str, float] = {}
        self.s_: dict[str, float] = {}
        self.seen_: dict[str, list[int]] = {}
        self.impressions_ = 0

    @property
    def min_weight_share(self) -> float:
        return float(self.floor)

    def _discount(self, impressions: float) -> float:
        return 1.0 if self.half_life is None else 0.5 ** (impressions / self.half_life)

    def update(self, arm: str, reward: float, bucket: str = GLOBAL_BUCKET) -> CountingPolicy:
        if isinstance(reward, bool):
            reward = float(reward)
        if not isinstance(reward, (int, float)) or not 0 <= reward <= 1:
            raise ValueError(f"reward must be in [0, 1], not {reward!r}")
        if self.half_life is not None:
            d = self._discount(1)
            for a in self.n_:
                self.n_[a] *= d
                self.s_[a] *= d
        self.n_[arm] = self.n_.get(arm, 0.0) + 1.0
        self.s_[arm] = self.s_.get(arm, 0.0) + float(reward)
        self.impressions_ += 1
        return self

    def observe(self, stats: Mapping[str, ArmStats]) -> CountingPolicy:
        current = {arm: [s.impressions, min(s.successes(self.reward), s.impressions)] for arm, s in stats.items()}
        if self.half_life is None:
            self.n_ = {arm: float(c[0]) for arm, c in current.items()}
            self.s_ = {arm: float(c[1]) for arm, c in current.items()}
        else:
            if any(current.get(arm, [0, 0])[0] < c[0] for arm, c in self.seen_.items()):
                # counts went down: the slot's stats were reset; start over
                self.n_, self.s_, self.seen_ = {}, {}, {}
            delta = {
                arm: (c[0] - self.seen_.get(arm, [0, 0])[0], max(0, c[1] - self.seen_.get(arm, [0, 0])[1]))
                for arm, c in current.items()
            }
            d = self._discount(sum(dn for dn, _ds in delta.values()))
            for arm in set(self.n_) | set(delta):
                dn, ds = delta.get(arm, (0, 0))
                self.n_[arm] = self.n_.get(arm, 0.0) * d + dn
                self.s_[arm] = self.s_.get(arm, 0.0) * d + ds
        self.seen_ = current
        self.impressions_ = sum(c[0] for c in current.values())
        return self

    def weights(self, arms: Sequence[str], stats: Mapping[str, ArmStats] | None = None) -> dict[str, float]:
        if stats is not None:
            self.observe(stats)
        arms = _unique(arms)
        if not arms:
            return {}
        return apply_floor(self._allocation(arms), self.floor)

    def _counts(self, arms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        n = np.array([self.n_.get(a, 0.0) for a in arms], dtype=float)
        s = np.minimum(np.array([self.s_.get(a, 0.0) for a in arms], dtype=float), n)
        return n, s

    def _allocation(self, arms: list[str]) -> dict[str, float]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _argmax(self, values: Mapping[str, float]) -> str:
        top = max(values.values())
        return self._rng.choice([a for a, v in values.items() if v == top])

    def _learned(self) -> dict[str, Any]:
        return {"n": dict(self.n_), "s": dict(self.s_), "seen": _jsonable(self.seen_), "impressions": self.impressions_}

    def _restore(self, learned: Mapping[str, Any]) -> None:
        self.n_ = {a: float(v) for a, v in learned["n"].items()}
        self.s_ = {a: float(v) for a, v in learned["s"].items()}
        self.seen_ = {a: [int(c[0]), int(c[1])] for a, c in learned["seen"].items()}
        self.impressions_ = learned["impressions"]


@register_policy
class FixedSplit(CountingPolicy):
    """AB: traffic split by fixed weights (each variant's ``weight``; arms not listed weigh 1).

    It learns nothing that changes its weights; it keeps counts for reporting.
    """

    kind = "fixed_split"

    def __init__(self, weights: Mapping[str, float] | None = None, *, floor: float = 0.0, seed: int | None = None):
        super().__init__(floor=floor, seed=seed)
        for arm, w in (weights or {}).items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not (w >= 0 and math.isfinite(w)):
                raise PolicyError(
                    "weights",
                    _("weight of %(arm)r must be a finite number >= 0, not %(value)r") % {"arm": arm, "value": w},
                )
        # kept private: `weights` is the method every policy has
        self._weights = {arm: float(w) for arm, w in (weights or {}).items()}

    def params(self) -> dict[str, Any]:
        return {"weights": dict(self._weights), "floor": self.floor, "seed": self.seed}

    def _allocation(self, arms: list[str]) -> dict[str, float]:
        return normalize({a: float(self._weights.get(a, 1.0)) for a in arms})

    def pull(self, arms: Sequence[str], bucket: str = GLOBAL_BUCKET) -> str:
        arms = _unique(arms)
        w = self.weights(arms)
        return self._rng.choices(arms, weights=[w[a] for a in arms])[0]
