"""The CONTEXTUAL policy: a bandit per context bucket, with the slot-wide bandit while a bucket is thin.

Which buckets a visitor belongs to, and which attribute is worth splitting by, are decided by the
bucket functions in `variants.engine.contextual`; this module holds the learner that uses them. It
meets the `Policy` contract; it is the only policy whose ``allocate`` publishes weights for buckets
besides ``"*"``. Each bucket's bandit is built by `make_bandit` from one spec (the slot's learning
options) with a seed derived from the slot's seed and the bucket, so seeded runs stay reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rules.engine.i18n import _

from ..contextual import choose_split, group_buckets
from ..stats_store import ArmStats
from ..vocabulary import GLOBAL_BUCKET, KIND_CONVERSION
from .bandits import make_bandit
from .base import Policy, PolicyError, _derive_seed, _unique, policy_from_state, register_policy
from .counting import CountingPolicy

DEFAULT_MIN_IMPRESSIONS = 200


@register_policy
class ContextualBandit(Policy):
    """CONTEXTUAL: one bandit per context bucket, falling back to the slot-wide bandit while thin.

    `bandit` is the per-bucket bandit's spec (``{"algorithm": "thompson", "floor": 0.01, ...}``,
    see `make_bandit`). A bucket gets its own weights once it has `min_impressions` impressions;
    until then its visitors use the slot-wide (``"*"``) weights. `split_by` limits the candidate
    attributes (None: every attribute found in the stats); with several, the one whose split is
    worth most is learned on each refresh (`contextual.choose_split`). At most `max_buckets` buckets
    per attribute (the busiest) are learned.

    Learned state: ``policies_`` (bucket -> bandit), ``split_`` (attribute split by at the last
    refresh), ``gains_`` (each candidate's estimated gain), ``impressions_`` (bucket -> impressions).
    """

    kind = "contextual"

    def __init__(
        self,
        bandit: Mapping[str, Any] | None = None,
        *,
        min_impressions: int = DEFAULT_MIN_IMPRESSIONS,
        split_by: Sequence[str] | None = None,
        max_buckets: int = 64,
        seed: int | None = None,
    ):
        super().__init__(seed=seed)
        if isinstance(min_impressions, bool) or not isinstance(min_impressions, int) or min_impressions < 0:
            raise PolicyError("min_impressions", _("must be an int >= 0, not %(value)r") % {"value": min_impressions})
        if isinstance(max_buckets, bool) or not isinstance(max_buckets, int) or max_buckets < 1:
            raise PolicyError("max_buckets", _("must be an int >= 1, not %(value)r") % {"value": max_buckets})
        if isinstance(split_by, str):
            split_by = [split_by]
        self.bandit = dict(bandit or {})
        self.min_impressions = min_impressions
        self.split_by = list(split_by) if split_by is not None else None
        self.max_buckets = max_buckets
        make_bandit(**self.bandit)  # validate now, not on the first refresh
        self.policies_: dict[str, CountingPolicy] = {}
        self.split_: str | None = None
        self.gains_: dict[str, float] = {}
        self.impressions_: dict[str, int] = {}

    @property
    def min_weight_share(self) -> float:
        return self._sub(GLOBAL_BUCKET).min_weight_share

    @property
    def reward(self) -> str:
        return self.bandit.get("reward", KIND_CONVERSION)

    def _sub(self, bucket: str) -> CountingPolicy:
        policy = self.policies_.get(bucket)
        if policy is None:
            policy = self.policies_[bucket] = make_bandit(**self.bandit, seed=_derive_seed(self.seed, bucket))
        return policy

    def _learned_enough(self, bucket: str) -> bool:
        return bucket != GLOBAL_BUCKET and self.impressions_.get(bucket, 0) >= self.min_impressions

    def pull(self, arms: Sequence[str], bucket: str = GLOBAL_BUCKET) -> str:
        return self._sub(bucket if self._learned_enough(bucket) else GLOBAL_BUCKET).pull(arms)

    def update(self, arm: str, reward: float, bucket: str = GLOBAL_BUCKET) -> ContextualBandit:
        self._sub(GLOBAL_BUCKET).update(arm, reward)
        self.impressions_[GLOBAL_BUCKET] = self.impressions_.get(GLOBAL_BUCKET, 0) + 1
        if bucket != GLOBAL_BUCKET:
            self._sub(bucket).update(arm, reward)
            self.impressions_[bucket] = self.impressions_.get(bucket, 0) + 1
        return self

    def observe(self, stats: Mapping[str, ArmStats]) -> ContextualBandit:
        self._sub(GLOBAL_BUCKET).observe(stats)
        return self

    def weights(self, arms: Sequence[str], stats: Mapping[str, ArmStats] | None = None) -> dict[str, float]:
        """The slot-wide weights (per-bucket weights come from `allocate`)."""
        return self._sub(GLOBAL_BUCKET).weights(arms, stats)

    def allocate(
        self, arms: Sequence[str], slot_stats: Mapping[str, Mapping[str, ArmStats]]
    ) -> dict[str, dict[str, float]]:
        arms = _unique(arms)
        out = {GLOBAL_BUCKET: self.weights(arms, slot_stats.get(GLOBAL_BUCKET, {}))}
        grouped = group_buckets(slot_stats, self.split_by)
        kept: dict[str, Mapping[str, ArmStats]] = {}
        for buckets in grouped.values():
            busiest = sorted(buckets, key=lambda b: (-sum(s.impressions for s in buckets[b].values()), b))
            kept.update({b: buckets[b] for b in busiest[: self.max_buckets]})
        self.split_, self.gains_ = choose_split(
            {GLOBAL_BUCKET: slot_stats.get(GLOBAL_BUCKET, {}), **kept},
            arms,
            self.split_by,
            reward=self.reward,
            min_impressions=self.min_impressions,
        )
        self.impressions_ = {GLOBAL_BUCKET: sum(s.impressions for s in slot_stats.get(GLOBAL_BUCKET, {}).values())}
        for bucket in list(self.policies_):
            if bucket != GLOBAL_BUCKET and bucket not in kept:
                del self.policies_[bucket]  # reset, or no longer among the busiest
        for bucket, stats in sorted(kept.items()):
            self.impressions_[bucket] = sum(stats.get(a, ArmStats()).impressions for a in arms)
            sub = self._sub(bucket)
            if bucket.split("=", 1)[0] == self.split_ and self._learned_enough(bucket):
                out[bucket] = sub.weights(arms, stats)
            else:
                sub.observe(stats)  # keep discounting in step even while unpublished
        return out

    def _learned(self) -> dict[str, Any]:
        return {
            "policies": {b: p.to_state() for b, p in self.policies_.items()},
            "split": self.split_,
            "gains": dict(self.gains_),
            "impressions": dict(self.impressions_),
        }

    def _restore(self, learned: Mapping[str, Any]) -> None:
        self.policies_ = {b: policy_from_state(s) for b, s in learned["policies"].items()}  # type: ignore[misc]
        self.split_ = learned["split"]
        self.gains_ = dict(learned["gains"])
        self.impressions_ = {b: int(n) for b, n in learned["impressions"].items()}
