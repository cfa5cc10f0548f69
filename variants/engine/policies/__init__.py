"""Learning policies: fixed split (AB), Thompson sampling, UCB1, ε-greedy, and a contextual bandit.

One module per concept, each importing only those above it in this list:

- `base`: the `Policy` interface every policy meets, `PolicyError`, and the JSON state round-trip
  (`policy_from_state` and the registry the concrete classes join);
- `counting`: `CountingPolicy` (learning from per-arm counts, forgetting by ``half_life``) and
  `FixedSplit` (AB);
- `bandits`: `ThompsonSampling` (and top-two), `UCB1`, `EpsilonGreedy`, built by name with
  `make_bandit` (`ALGORITHM_CLASSES`);
- `contextual_bandit`: `ContextualBandit`, a bandit per context bucket (the buckets themselves are
  `variants.engine.contextual`);
- `factory`: `make_policy`, a compiled slot's policy from its options;
- `table`: `AllocationTable`, one process's policies and the weights they published.

Importing this package registers every policy class, so `policy_from_state` can rebuild any of them.
"""

from .bandits import ALGORITHM_CLASSES, UCB1, EpsilonGreedy, ThompsonSampling, make_bandit
from .base import STATE_VERSION, Policy, PolicyError, policy_from_state, register_policy
from .contextual_bandit import DEFAULT_MIN_IMPRESSIONS, ContextualBandit
from .counting import DEFAULT_FLOOR, CountingPolicy, FixedSplit
from .factory import BANDIT_OPTIONS, bandit_options, make_policy
from .table import AllocationTable

__all__ = [
    "ALGORITHM_CLASSES",
    "BANDIT_OPTIONS",
    "DEFAULT_FLOOR",
    "DEFAULT_MIN_IMPRESSIONS",
    "STATE_VERSION",
    "UCB1",
    "AllocationTable",
    "ContextualBandit",
    "CountingPolicy",
    "EpsilonGreedy",
    "FixedSplit",
    "Policy",
    "PolicyError",
    "ThompsonSampling",
    "bandit_options",
    "make_bandit",
    "make_policy",
    "policy_from_state",
    "register_policy",
]
