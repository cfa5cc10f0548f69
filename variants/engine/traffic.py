"""Simulated traffic for the learning policies: a synthetic population with known conversion rates.

The core is shared by the tests, the benchmarks and the ``tailor_traffic`` command:

- `Population`: arms with known conversion rates, optionally different per segment and changing at
  given visitor counts (drift), plus optional extra context facts;
- a `Driver` decides for one visitor, records the outcome and refreshes the weights. `EngineDriver`
  runs the real engine in-process (`AllocationTable` + `decide` + `allocation.pick` + a
  `MemoryStatsStore`); the command can pass its own driver that goes through the service layer
  (decide a page, record the event with the decision token, refresh the per-process snapshot);
  `PolicyDriver` runs a bare policy through ``pull`` / ``update``;
- `simulate_traffic` runs the loop: each visitor is decided, converts with the true rate of the arm shown,
  and every `refresh_every` visitors the driver refreshes (standing in for
  ``STATS_REFRESH_SECONDS``). The `TrafficResult` holds expected (pseudo-)regret against the
  oracle, against an even split, and the weights published at every refresh.

Regret is computed from the true rates of the arms shown (not from the sampled conversions), which
makes comparisons far less noisy for the same number of visitors.

The reference scenarios at the end (`stationary_scenario`, `segmented_scenario`, `drift_scenario`)
are the bandit goals' yardsticks; ``python -m variants.engine.traffic_report`` prints their figures
over several seeds (`variants.engine.traffic_report`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from rules.engine import Context

from .decide import Slot, Variant
from .policies import AllocationTable, Policy
from .stats_store import GLOBAL_BUCKET, KIND_CONVERSION, KIND_IMPRESSION, MemoryStatsStore, StatsStore, event_increments

ALL = "all"


def _stream(seed: int | None, purpose: str) -> np.random.Generator:
    """An independent generator per purpose: the same seed must not correlate segments and outcomes."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([seed, int.from_bytes(purpose.encode()[:8].ljust(8, b"\0"), "big")])


@dataclass(frozen=True)
class Visitor:
    index: int
    unit: str
    segment: str
    facts: Mapping[str, Any]


@dataclass(frozen=True)
class Choice:
    arm: str
    probability: float = math.nan
    bucket: str = GLOBAL_BUCKET
    #: where the outcome is counted ("*" and the visitor's context keys)
    stats_buckets: tuple[str, ...] = (GLOBAL_BUCKET,)


def _rates_by_segment(rates: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    if all(isinstance(v, (int, float)) for v in rates.values()):
        return {ALL: {arm: float(r) for arm, r in rates.items()}}
    return {seg: {arm: float(r) for arm, r in arms.items()} for seg, arms in rates.items()}


class Population:
    """Visitors with known conversion rates.

    `rates` is ``{arm: rate}`` (one segment, ``"all"``) or ``{segment: {arm: rate}}``.
    `shares` weighs the segments (default even). `changes` is a list of ``(visitor_index, rates)``:
    from that visitor on, those rates apply (same shape as `rates`). Each visitor's context holds
    ``segments=(segment,)``, the segment's `segment_facts`, and for every `noise_facts` entry a value
    drawn uniformly (facts unrelated to the rates, to test learned splits).
    """

    def __init__(
        self,
        rates: Mapping[str, Any],
        *,
        shares: Mapping[str, float] | None = None,
        changes: Sequence[tuple[int, Mapping[str, Any]]] = (),
        segment_facts: Mapping[str, Mapping[str, Any]] | None = None,
        noise_facts: Mapping[str, Sequence[Any]] | None = None,
        seed: int | None = None,
    ):
        self.phases: list[tuple[int, dict[str, dict[str, float]]]] = [(0, _rates_by_segment(rates))]
        for at, new in sorted(changes, key=lambda c: c[0]):
            self.phases.append((int(at), _rates_by_segment(new)))
        self.segments = list(self.phases[0][1])
        self.arms = sorted(next(iter(self.phases[0][1].values())))
        for _, phase in self.phases:
            if set(phase) != set(self.segments) or any(sorted(r) != self.arms for r in phase.values()):
                raise ValueError("every phase must give a rate for every segment and arm")
            if any(not 0 <= r <= 1 for r_ in phase.values() for r in r_.values()):
                raise ValueError("rates must be between 0 and 1")
        raw = shares or {s: 1.0 for s in self.segments}
        total = sum(raw.get(s, 0.0) for s in self.segments)
        self.shares = {s: raw.get(s, 0.0) / total for s in self.segments}
        self.segment_facts = {s: dict((segment_facts or {}).get(s, {})) for s in self.segments}
        self.noise_facts = {k: list(v) for k, v in (noise_facts or {}).items()}
        self.seed = seed
        self._rng = _stream(seed, "population")

    def rates_at(self, index: int) -> dict[str, dict[str, float]]:
        current = self.phases[0][1]
        for at, rates in self.phases:
            if index >= at:
                current = rates
        return current

    def rate(self, arm: str, segment: str, index: int) -> float:
        return self.rates_at(index)[segment][arm]

    def visitors(self, n: int):
        """`n` visitors, each new (their own unit), segments drawn by share."""
        segs = self._rng.choice(len(self.segments), size=n, p=[self.shares[s] for s in self.segments])
        noise = {k: self._rng.integers(len(v), size=n) for k, v in self.noise_facts.items()}
        for i in range(n):
            segment = self.segments[segs[i]]
            facts: dict[str, Any] = {"segments": (segment,), **self.segment_facts[segment]}
            for k, values in self.noise_facts.items():
                facts[k] = values[noise[k][i]]
            yield Visitor(i, f"sim-visitor-{i}", segment, facts)


class Driver(Protocol):
    """How the simulator reaches a decision engine (in-process, or through the service layer)."""

    def decide(self, visitor: Visitor) -> Choice: ...

    def record(self, visitor: Visitor, choice: Choice, converted: bool) -> None: ...

    def refresh(self) -> Mapping[str, Mapping[str, float]] | None:
        """Re-read stats and recompute weights; return the published ``{bucket: weights}``."""
        ...


def make_slot(arms: Sequence[str], policy: str = "BANDIT", options: Mapping[str, Any] | None = None) -> Slot:
    """A compiled slot with one unconditional variant per arm (for simulations)."""
    return Slot(
        id="simulated-slot",
        name="Simulated slot",
        variants=tuple(Variant(arm, arm) for arm in arms),
        policy=policy,
        options=dict(options or {}),
    )


class EngineDriver:
    """The real engine, in-process: `AllocationTable` + `decide` + a stats store."""

    def __init__(self, slot: Slot, store: StatsStore | None = None, table: AllocationTable | None = None):
        self.slot = slot
        self.store = store if store is not None else MemoryStatsStore()
        self.table = table if table is not None else AllocationTable()
        self.store.reset(slot.id)

    def decide(self, visitor: Visitor) -> Choice:
        d = self.table.decide(self.slot, Context.build(**visitor.facts), unit=visitor.unit)
        return Choice(d.variant_id, d.probability, d.bucket, d.stats_buckets)

    def record(self, visitor: Visitor, choice: Choice, converted: bool) -> None:
        incs = event_increments(self.slot.id, choice.arm, KIND_IMPRESSION, buckets=choice.stats_buckets)
        if converted:
            incs += event_increments(self.slot.id, choice.arm, KIND_CONVERSION, buckets=choice.stats_buckets)
        self.store.increment_many(incs)

    def refresh(self) -> Mapping[str, Mapping[str, float]] | None:
        self.table.refresh([self.slot], self.store.snapshot([self.slot.id]))
        return self.table.allocations(self.slot.id)


class PolicyDriver:
    """A bare policy, one visitor at a time (``pull`` / ``update``); `bucket_of` maps visitor -> bucket."""

    def __init__(self, policy: Policy, arms: Sequence[str], bucket_of: Callable[[Visitor], str] | None = None):
        self.policy = policy
        self.arms = list(arms)
        self.bucket_of = bucket_of or (lambda v: GLOBAL_BUCKET)

    def decide(self, visitor: Visitor) -> Choice:
        bucket = self.bucket_of(visitor)
        return Choice(self.policy.pull(self.arms, bucket), math.nan, bucket)

    def record(self, visitor: Visitor, choice: Choice, converted: bool) -> None:
        self.policy.update(choice.arm, 1.0 if converted else 0.0, choice.bucket)

    def refresh(self) -> Mapping[str, Mapping[str, float]] | None:
        return {GLOBAL_BUCKET: self.policy.weights(self.arms)}


@dataclass
class TrafficResult:
    arms: list[str]
    visitors: int
    #: sampled conversions of the simulated policy
    conversions: int
    #: sums of true rates: of the arms shown, the per-segment best arm, the best single arm, an even split
    expected_conversions: float
    oracle_conversions: float
    best_arm_conversions: float
    uniform_conversions: float
    #: arm shown to each visitor (index into `arms`) and each visitor's segment
    choices: np.ndarray = field(repr=False)
    segments: list[str] = field(repr=False)
    #: (visitors so far, published {bucket: weights}) after every refresh
    timeline: list[tuple[int, Mapping[str, Mapping[str, float]]]] = field(repr=False, default_factory=list)

    @property
    def regret(self) -> float:
        """Expected conversions lost against the oracle (the best arm per segment, at each moment)."""
        return self.oracle_conversions - self.expected_conversions

    @property
    def uniform_regret(self) -> float:
        """The same for an even split over all arms."""
        return self.oracle_conversions - self.uniform_conversions

    @property
    def regret_ratio(self) -> float:
        return self.regret / self.uniform_regret if self.uniform_regret > 0 else 0.0

    @property
    def oracle_fraction(self) -> float:
        """Expected conversions as a fraction of the oracle's."""
        return self.expected_conversions / self.oracle_conversions if self.oracle_conversions else 1.0

    def traffic_share(self, arm: str, start: int = 0, end: int | None = None) -> float:
        chosen = self.choices[start:end]
        return float(np.mean(chosen == self.arms.index(arm))) if len(chosen) else 0.0

    def weight_timeline(self, arm: str, bucket: str = GLOBAL_BUCKET) -> list[tuple[int, float]]:
        return [(i, float((allocs.get(bucket) or {}).get(arm, 0.0))) for i, allocs in self.timeline]

    def visitors_until_share(
        self, arm: str, threshold: float, *, after: int = 0, bucket: str = GLOBAL_BUCKET
    ) -> int | None:
        """Visitors after `after` until a refresh first published more than `threshold` for `arm`."""
        for i, w in self.weight_timeline(arm, bucket):
            if i > after and w > threshold:
                return i - after
        return None

    def summary(self) -> dict[str, float]:
        return {
            "visitors": self.visitors,
            "conversions": self.conversions,
            "expected_conversions": round(self.expected_conversions, 1),
            "oracle_conversions": round(self.oracle_conversions, 1),
            "uniform_conversions": round(self.uniform_conversions, 1),
            "regret": round(self.regret, 1),
            "uniform_regret": round(self.uniform_regret, 1),
            "regret_ratio": round(self.regret_ratio, 4),
            "oracle_fraction": round(self.oracle_fraction, 4),
        }


def simulate_traffic(
    population: Population,
    driver: Driver,
    *,
    visitors: int,
    refresh_every: int = 250,
    seed: int | None = None,
    on_refresh: Callable[[int, Mapping[str, Mapping[str, float]] | None], None] | None = None,
) -> TrafficResult:
    """Run `visitors` visitors of `population` through `driver`; see the module docstring."""
    if visitors < 0 or refresh_every < 1:
        raise ValueError("visitors must be >= 0 and refresh_every >= 1")
    u = _stream(seed, "outcomes").random(visitors)
    arms = population.arms
    arm_index = {a: i for i, a in enumerate(arms)}
    choices = np.zeros(visitors, dtype=np.int32)
    segments: list[str] = []
    conversions = 0
    expected = oracle = best_single = even = 0.0
    cached_phase: tuple[int, Any] | None = None
    timeline: list[tuple[int, Mapping[str, Mapping[str, float]]]] = []

    allocations = driver.refresh()
    for visitor in population.visitors(visitors):
        i = visitor.index
        rates = population.rates_at(i)
        if cached_phase is None or cached_phase[0] is not rates:
            # per phase: the best arm for each segment, the best single arm, the even split
            overall = {a: sum(population.shares[s] * rates[s][a] for s in rates) for a in arms}
            single = max(arms, key=overall.__getitem__)
            per_segment = {s: (max(r.values()), r[single], sum(r.values()) / len(r)) for s, r in rates.items()}
            cached_phase = (rates, per_segment)  # type: ignore[assignment]
        best, single_rate, mean = cached_phase[1][visitor.segment]  # type: ignore[index]
        choice = driver.decide(visitor)
        if choice.arm not in arm_index:
            raise ValueError(f"the driver chose {choice.arm!r}, which is not an arm of the population")
        rate = rates[visitor.segment][choice.arm]
        converted = bool(u[i] < rate)
        driver.record(visitor, choice, converted)
        choices[i] = arm_index[choice.arm]
        segments.append(visitor.segment)
        conversions += converted
        expected += rate
        oracle += best
        best_single += single_rate
        even += mean
        if (i + 1) % refresh_every == 0:
            allocations = driver.refresh()
            timeline.append((i + 1, dict(allocations or {})))
            if on_refresh is not None:
                on_refresh(i + 1, allocations)
    return TrafficResult(
        arms=list(arms),
        visitors=visitors,
        conversions=conversions,
        expected_conversions=expected,
        oracle_conversions=oracle,
        best_arm_conversions=best_single,
        uniform_conversions=even,
        choices=choices,
        segments=segments,
        timeline=timeline,
    )


# -- the reference scenarios (tests, benchmarks and the command share them) -------------------------

#: five arms, conversion rates evenly spread over 2-5%
STATIONARY_RATES = {"a": 0.02, "b": 0.0275, "c": 0.035, "d": 0.0425, "e": 0.05}

#: a different best arm in each segment
SEGMENTED_RATES = {
    "new": {"a": 0.05, "b": 0.03, "c": 0.02, "d": 0.03},
    "returning": {"a": 0.02, "b": 0.05, "c": 0.03, "d": 0.03},
    "vip": {"a": 0.03, "b": 0.03, "c": 0.02, "d": 0.06},
}

#: the best arm changes: before and after `DRIFT_AT`
DRIFT_BEFORE = {"a": 0.05, "b": 0.03, "c": 0.03}
DRIFT_AFTER = {"a": 0.02, "b": 0.03, "c": 0.06}
DRIFT_AT = 10_000


def stationary_scenario(seed: int | None = None, **options: Any) -> tuple[Population, Slot]:
    """Five arms at 2-5%, one audience; a BANDIT slot (Thompson sampling unless `options` say)."""
    population = Population(STATIONARY_RATES, seed=seed)
    return population, make_slot(population.arms, "BANDIT", {"seed": seed, **options})


def segmented_scenario(seed: int | None = None, **options: Any) -> tuple[Population, Slot]:
    """Three equally large segments, each with its own best arm; a CONTEXTUAL slot split by segment."""
    population = Population(SEGMENTED_RATES, seed=seed)
    return population, make_slot(population.arms, "CONTEXTUAL", {"seed": seed, "split_by": ["segment"], **options})


def drift_scenario(seed: int | None = None, **options: Any) -> tuple[Population, Slot]:
    """Three arms; at visitor `DRIFT_AT` the best arm "a" falls to 2% and "c" rises to 6%.

    A BANDIT slot with forgetting (``half_life`` 1,000 impressions unless `options` say).
    """
    population = Population(DRIFT_BEFORE, changes=[(DRIFT_AT, DRIFT_AFTER)], seed=seed)
    return population, make_slot(population.arms, "BANDIT", {"seed": seed, "half_life": 1000, **options})
