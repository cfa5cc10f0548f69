"""From a compiled slot to its policy: `make_policy` reads the slot's policy and learning options.

RULES has no policy object (the first matching variant wins, see `decide`); AB is a `FixedSplit`
over the variants' weights; BANDIT is the bandit `make_bandit` builds from the options;
CONTEXTUAL is a `ContextualBandit` over the slot's split attributes. Bad options raise
`PolicyError` naming the option, which the block shows the editor at the learning options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..contextual import split_attributes
from ..decide import Slot
from ..vocabulary import DEFAULT_ALGORITHM, POLICY_AB, POLICY_BANDIT, POLICY_CONTEXTUAL
from .bandits import make_bandit
from .base import Policy
from .contextual_bandit import DEFAULT_MIN_IMPRESSIONS, ContextualBandit
from .counting import FixedSplit

#: the options of a BANDIT / CONTEXTUAL slot that configure its bandit (a test keeps them in step
#: with the hyperparameters of `ALGORITHM_CLASSES`)
BANDIT_OPTIONS = (
    "algorithm",
    "floor",
    "half_life",
    "reward",
    "prior_alpha",
    "prior_beta",
    "top_two",
    "temperature",
    "draws",
    "c",
    "epsilon",
)


def bandit_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The bandit spec in a slot's options (only the keys `make_bandit` understands)."""
    spec = {k: options[k] for k in BANDIT_OPTIONS if options.get(k) is not None}
    spec.setdefault("algorithm", DEFAULT_ALGORITHM)
    return spec


def make_policy(slot: Slot, *, seed: int | None = None) -> Policy | None:
    """The policy object for a compiled slot (None for RULES); raises PolicyError on bad options.

    Options read from ``slot.options``: ``algorithm`` and the bandit hyperparameters
    (`BANDIT_OPTIONS`), ``min_impressions``, ``split_by``, ``segments``, ``seed``; AB uses each
    variant's ``weight``.
    """
    options = slot.options or {}
    if seed is None:
        seed = options.get("seed")
    if slot.policy == POLICY_AB:
        return FixedSplit({v.id: v.weight for v in slot.variants}, floor=options.get("floor", 0.0), seed=seed)
    if slot.policy == POLICY_BANDIT:
        return make_bandit(**bandit_options(options), seed=seed)
    if slot.policy == POLICY_CONTEXTUAL:
        return ContextualBandit(
            bandit_options(options),
            min_impressions=options.get("min_impressions", DEFAULT_MIN_IMPRESSIONS),
            split_by=list(split_attributes(slot)),
            seed=seed,
        )
    return None
