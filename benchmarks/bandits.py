"""Bandit figures for `make bench`: the three goals of the decision-engine issue, on fixed seeds."""

from __future__ import annotations

import statistics

from variants.engine.traffic import (
    DRIFT_AT,
    EngineDriver,
    drift_scenario,
    segmented_scenario,
    simulate_traffic,
    stationary_scenario,
)

SEEDS = range(3)


def bench_bandits() -> list[tuple[str, str, str, str]]:
    ratios = []
    for seed in SEEDS:
        population, slot = stationary_scenario(seed)
        ratios.append(simulate_traffic(population, EngineDriver(slot), visitors=20_000, seed=seed).regret_ratio)
    population, slot = segmented_scenario(0)
    contextual = simulate_traffic(population, EngineDriver(slot), visitors=50_000, seed=0).oracle_fraction
    delays = []
    for seed in SEEDS:
        population, slot = drift_scenario(seed)
        result = simulate_traffic(population, EngineDriver(slot), visitors=2 * DRIFT_AT, seed=seed)
        delays.append(result.visitors_until_share("c", 0.5, after=DRIFT_AT))
    drift = ", ".join("never" if d is None else f"{d:,}" for d in delays)
    return [
        (
            "Thompson regret ÷ uniform split (5 arms 2-5%, 20k)",
            f"{statistics.median(ratios):.3f} median",
            f"worst {max(ratios):.3f} ({len(SEEDS)} seeds)",
            "goal ≤ 0.15",
        ),
        ("contextual share of per-segment oracle (50k)", f"{contextual:.1%}", "seed 0", "goal ≥ 95%"),
        ("drift: visitors until new best arm > 50%", drift, f"{len(SEEDS)} seeds", "goal ≤ 3,000"),
    ]
