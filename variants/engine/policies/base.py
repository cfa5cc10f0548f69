"""The interface every learning policy has, its option error, and the JSON state round-trip.

Every policy has the same small interface (river / scikit-learn style):

- hyperparameters are the ``__init__`` arguments, stored as-is and never changed by learning
  (`params()`); learned state lives in attributes ending ``_``; ``seed`` seeds a private
  ``random.Random`` (and numpy generators), so seeded runs are reproducible;
- ``pull(arms, bucket="*") -> arm`` and ``update(arm, reward, bucket="*") -> self`` learn one
  visitor at a time (the simulator, offline replays); rewards are in [0, 1];
- ``observe(stats) -> self`` folds a cumulative per-arm stats snapshot (``{arm: ArmStats}``) into the
  learned state, and ``weights(arms, stats=None) -> {arm: weight}`` returns allocation weights over
  `arms` (summing to 1, each at least ``floor / len(arms)``) after observing `stats` if given. This
  is what production uses: on every stats refresh, not per request;
- ``allocate(arms, slot_stats) -> {bucket: {arm: weight}}`` does the same for a whole slot snapshot
  (``{bucket: {arm: ArmStats}}``); only the contextual bandit publishes buckets besides ``"*"``;
- ``to_state()`` / ``policy_from_state(state)`` round-trip everything (hyperparameters, learned
  state, random state) through JSON-safe dicts. A concrete policy class registers its ``kind`` with
  `register_policy` so `policy_from_state` can rebuild it; importing the package registers them all.

A `PolicyError` names the option it refuses; its message is marked for translation because the
editor sees it next to the slot's learning options.
"""

from __future__ import annotations

import hashlib
import inspect
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from rules.engine.i18n import _

from ..stats_store import ArmStats
from ..vocabulary import GLOBAL_BUCKET

STATE_VERSION = 1

_REGISTRY: dict[str, type[Policy]] = {}


class PolicyError(ValueError):
    """A policy option that cannot be used; `field` names it, `message` says why (translated)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def register_policy(cls: type[Policy]) -> type[Policy]:
    """Class decorator: `policy_from_state` rebuilds states whose ``policy`` is ``cls.kind``."""
    _REGISTRY[cls.kind] = cls
    return cls


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _derive_seed(seed: int | None, label: str) -> int | None:
    if seed is None:
        return None
    return int.from_bytes(hashlib.blake2b(f"{seed}:{label}".encode(), digest_size=8).digest(), "big")


def _unique(arms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(arms))


class Policy:
    """Base class; see the module docstring for the contract."""

    kind: ClassVar[str] = ""

    def __init__(self, *, seed: int | None = None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise PolicyError("seed", _("must be an int or None, not %(value)r") % {"value": seed})
        self.seed = seed
        self._rng = random.Random(seed)

    # -- hyperparameters -------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        """The ``__init__`` arguments (JSON-safe)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: _jsonable(getattr(self, name)) for name in names}

    def clone(self) -> Policy:
        """A fresh, unfitted policy with the same hyperparameters."""
        return type(self)(**self.params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # -- learning ---------------------------------------------------------------------------------

    def pull(self, arms: Sequence[str], bucket: str = GLOBAL_BUCKET) -> str:
        raise NotImplementedError  # pragma: no cover - abstract

    def update(self, arm: str, reward: float, bucket: str = GLOBAL_BUCKET) -> Policy:
        raise NotImplementedError  # pragma: no cover - abstract

    def observe(self, stats: Mapping[str, ArmStats]) -> Policy:
        raise NotImplementedError  # pragma: no cover - abstract

    def weights(self, arms: Sequence[str], stats: Mapping[str, ArmStats] | None = None) -> dict[str, float]:
        raise NotImplementedError  # pragma: no cover - abstract

    def allocate(
        self, arms: Sequence[str], slot_stats: Mapping[str, Mapping[str, ArmStats]]
    ) -> dict[str, dict[str, float]]:
        """``{bucket: weights}`` for a slot snapshot; only ``"*"`` unless the policy is contextual."""
        return {GLOBAL_BUCKET: self.weights(arms, slot_stats.get(GLOBAL_BUCKET, {}))}

    @property
    def min_weight_share(self) -> float:
        """The exploration floor: every arm's weight is at least this divided by the number of arms."""
        return 0.0

    # -- state ------------------------------------------------------------------------------------

    def _learned(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _restore(self, learned: Mapping[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def to_state(self) -> dict[str, Any]:
        """Hyperparameters, learned state and random state as a JSON-safe dict."""
        version, internal, gauss = self._rng.getstate()
        return {
            "policy": self.kind,
            "version": STATE_VERSION,
            "params": self.params(),
            "learned": self._learned(),
            "rng": [version, list(internal), gauss],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Policy:
        if state.get("policy") != cls.kind:
            raise ValueError(f"state of a {state.get('policy')!r} policy, not {cls.kind!r}")
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported policy state version {state.get('version')!r}")
        policy = cls(**state["params"])
        policy._restore(state["learned"])
        version, internal, gauss = state["rng"]
        policy._rng.setstate((version, tuple(internal), gauss))
        return policy


def policy_from_state(state: Mapping[str, Any]) -> Policy:
    """Rebuild any policy from `Policy.to_state()`."""
    try:
        cls = _REGISTRY[state["policy"]]
    except (KeyError, TypeError):
        raise ValueError(f"not a policy state: unknown policy {state.get('policy')!r}") from None
    return cls.from_state(state)
