"""The simulator, and the learning goals it verifies on the real engine (fixed seeds, wide margins).

The figures are printed (``pytest -s``); ``python -m variants.engine.traffic_report --seeds 20``
prints them over many seeds.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from variants.engine.policies import ThompsonSampling
from variants.engine.stats_store import ArmStats, MemoryStatsStore
from variants.engine.traffic import (
    DRIFT_AT,
    Choice,
    EngineDriver,
    PolicyDriver,
    Population,
    drift_scenario,
    make_slot,
    segmented_scenario,
    simulate_traffic,
    stationary_scenario,
)

# -- the goals ---------------------------------------------------------------------------------------


def test_thompson_regret_is_a_small_fraction_of_an_even_splits():
    # five arms at 2-5%, 20,000 visitors; goal 0.15x the even split's regret, asserted with margin
    ratios = []
    for seed in (0, 1, 2):
        population, slot = stationary_scenario(seed)
        result = simulate_traffic(population, EngineDriver(slot), visitors=20_000, refresh_every=250, seed=seed)
        ratios.append(result.regret_ratio)
        print(f"seed {seed}: {result.summary()}")
    print(f"Thompson regret / even-split regret: {', '.join(f'{r:.3f}' for r in ratios)}")
    assert sum(ratios) / len(ratios) <= 0.25
    assert max(ratios) <= 0.35


def test_contextual_bandit_nearly_matches_the_per_segment_oracle():
    population, slot = segmented_scenario(seed=0)
    result = simulate_traffic(population, EngineDriver(slot), visitors=50_000, refresh_every=250, seed=0)
    blind = result.best_arm_conversions / result.oracle_conversions
    print(f"contextual: {result.oracle_fraction:.4f} of the oracle (best single arm: {blind:.4f}); {result.summary()}")
    assert result.oracle_fraction >= 0.95
    assert blind < 0.8  # the scenario really needs the split


def test_forgetting_follows_a_new_best_arm_within_3000_visitors():
    # at DRIFT_AT the best arm "a" falls from 5% to 2% and "c" rises from 3% to 6%
    shares = {}
    for half_life in (1000, None):
        for seed in (0, 1, 2):
            population, slot = drift_scenario(seed=seed, half_life=half_life)
            result = simulate_traffic(
                population, EngineDriver(slot), visitors=DRIFT_AT + 5000, refresh_every=250, seed=seed
            )
            delay = result.visitors_until_share("c", 0.5, after=DRIFT_AT)
            shares[half_life, seed] = result.traffic_share("c", DRIFT_AT)
            print(f"drift, half-life {half_life}, seed {seed}: c passed 50% of the weight after {delay} visitors")
            if half_life is not None:
                assert delay is not None and delay <= 3000
    forgetting = sum(shares[1000, s] for s in (0, 1, 2)) / 3
    remembering = sum(shares[None, s] for s in (0, 1, 2)) / 3
    print(f"share of c in the 5,000 visitors after the change: {forgetting:.2f} forgetting, {remembering:.2f} not")
    assert forgetting > remembering + 0.15


# -- the simulator itself ------------------------------------------------------------------------------


def test_an_even_split_has_a_regret_ratio_near_one():
    population, slot = stationary_scenario(seed=4)
    slot = make_slot(population.arms, "AB")
    result = simulate_traffic(population, EngineDriver(slot), visitors=5000, seed=4)
    assert 0.9 < result.regret_ratio < 1.1
    assert all(0.17 < result.traffic_share(arm) < 0.23 for arm in population.arms)


def test_simulations_are_reproducible_under_a_seed():
    def run():
        population, slot = stationary_scenario(seed=11)
        return simulate_traffic(population, EngineDriver(slot), visitors=3000, refresh_every=500, seed=11)

    first, second = run(), run()
    assert first.summary() == second.summary()
    assert np.array_equal(first.choices, second.choices)


class Always:
    """A driver that shows one arm to everyone and tallies conversions per segment."""

    def __init__(self, arm):
        self.arm = arm
        self.conversions = {}

    def decide(self, visitor):
        return Choice(self.arm, 1.0)

    def record(self, visitor, choice, converted):
        self.conversions[visitor.segment] = self.conversions.get(visitor.segment, 0) + converted

    def refresh(self):
        return None


def test_segments_and_outcomes_are_independent_streams():
    # a generator shared by segments and outcomes once made every conversion land in one segment
    driver = Always("a")
    simulate_traffic(Population({"x": {"a": 0.5}, "y": {"a": 0.5}}, seed=3), driver, visitors=4000, seed=3)
    assert 900 < driver.conversions["x"] < 1100 and 900 < driver.conversions["y"] < 1100


def test_regret_counts_expected_conversions_against_the_best_arm_at_each_moment():
    population = Population({"a": 0.1, "b": 0.2}, changes=[(100, {"a": 0.3, "b": 0.2})], seed=0)
    result = simulate_traffic(population, Always("a"), visitors=200, refresh_every=50, seed=0)
    assert result.oracle_conversions == pytest.approx(100 * 0.2 + 100 * 0.3)
    assert result.expected_conversions == pytest.approx(100 * 0.1 + 100 * 0.3)
    assert result.regret == pytest.approx(10.0)
    assert result.uniform_regret == pytest.approx(100 * 0.05 + 100 * 0.05)
    assert len(result.timeline) == 4


def test_the_engine_driver_counts_impressions_and_conversions_in_every_bucket():
    store = MemoryStatsStore()
    population, slot = segmented_scenario(seed=1, min_impressions=10**9)
    driver = EngineDriver(slot, store=store)
    result = simulate_traffic(population, driver, visitors=600, refresh_every=100, seed=1)
    stats = store.slot_stats(slot.id)
    total = sum((s for s in stats["*"].values()), ArmStats())
    assert total.impressions == 600 and total.conversions == result.conversions
    per_segment = sum(
        sum(stats[f"segment={s}"][a].impressions for a in stats[f"segment={s}"]) for s in population.segments
    )
    assert per_segment == 600
    assert all(set(allocs) == {"*"} for _, allocs in result.timeline)  # buckets never had enough data


def test_a_bare_policy_runs_through_pull_and_update():
    population = Population({"a": 0.02, "b": 0.1}, seed=2)
    policy = ThompsonSampling(seed=2)
    result = simulate_traffic(
        population, PolicyDriver(policy, population.arms), visitors=3000, refresh_every=1000, seed=2
    )
    assert result.traffic_share("b", 1500) > 0.8
    assert math.isnan(Choice("a").probability)


def test_population_refuses_inconsistent_rates():
    with pytest.raises(ValueError):
        Population({"x": {"a": 0.1}, "y": {"b": 0.1}})
    with pytest.raises(ValueError):
        Population({"a": 1.5})
    with pytest.raises(ValueError):
        Population({"a": 0.1}, changes=[(10, {"b": 0.1})])


# -- the report ------------------------------------------------------------------------------------


def test_the_report_runs_as_documented_without_django():
    code = (
        "import runpy, sys\n"
        "sys.argv = ['traffic_report', '--help']\n"
        "try:\n"
        "    runpy.run_module('variants.engine.traffic_report', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'wagtail', 'graphene')))\n"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "--seeds" in run.stdout and "reference figures" in run.stdout
    assert run.stdout.strip().endswith("[]")
