"""The reference figures of the learning policies, from the command line (plain Python, no Django)::

    python -m variants.engine.traffic_report --seeds 10

Runs the reference scenarios of `variants.engine.traffic` through the real engine (`EngineDriver`)
for several seeds and prints, per scenario: (a) each bandit algorithm's regret against an even
split's, (b) the contextual bandit's share of the per-segment oracle's conversions, (c) how many
visitors it takes forgetting to follow a change of best arm. `make bench` prints the same three
goals on fewer seeds (`benchmarks.bandits`); ``manage.py tailor_traffic`` runs scenarios through the
service layer instead.
"""

from __future__ import annotations

import argparse
import math
import statistics as pystats
from collections.abc import Sequence

from .traffic import DRIFT_AT, EngineDriver, drift_scenario, segmented_scenario, simulate_traffic, stationary_scenario


def main(argv: Sequence[str] | None = None) -> None:
    """Print the reference figures: ``python -m variants.engine.traffic_report --seeds 10``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="runs per scenario (seeds 0..N-1)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--refresh-every", type=int, default=250, help="visitors between weight refreshes")
    args = parser.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)

    def describe(name: str, values: list[float], fmt: str, worst=max) -> None:
        print(
            f"{name}: median {fmt.format(pystats.median(values))}, mean {fmt.format(pystats.mean(values))}, "
            f"worst {fmt.format(worst(values))}, all: {', '.join(fmt.format(v) for v in sorted(values))}"
        )

    configurations = [
        ("Thompson sampling (default)", {}),
        ("Thompson sampling, textbook posterior (temperature 1)", {"temperature": 1.0}),
        ("top-two Thompson sampling", {"algorithm": "top_two"}),
        ("UCB1", {"algorithm": "ucb1"}),
        ("epsilon-greedy (0.1)", {"algorithm": "epsilon_greedy"}),
    ]
    for label, options in configurations:
        ratios = []
        for seed in seeds:
            population, slot = stationary_scenario(seed, **options)
            result = simulate_traffic(
                population, EngineDriver(slot), visitors=20_000, refresh_every=args.refresh_every, seed=seed
            )
            ratios.append(result.regret_ratio)
        describe(f"(a) 5 arms at 2-5%, 20,000 visitors, {label}: regret / even-split regret", ratios, "{:.3f}")

    fractions, blind = [], []
    for seed in seeds:
        population, slot = segmented_scenario(seed)
        result = simulate_traffic(
            population, EngineDriver(slot), visitors=50_000, refresh_every=args.refresh_every, seed=seed
        )
        fractions.append(result.oracle_fraction)
        blind.append(result.best_arm_conversions / result.oracle_conversions)
    describe(
        "(b) contextual, 3 segments, 50,000 visitors: share of the per-segment oracle's conversions",
        fractions,
        "{:.3f}",
        worst=min,
    )
    print(f"    (the best single arm for everyone would reach {pystats.mean(blind):.3f})")

    delays = []
    for seed in seeds:
        population, slot = drift_scenario(seed)
        result = simulate_traffic(
            population, EngineDriver(slot), visitors=2 * DRIFT_AT, refresh_every=args.refresh_every, seed=seed
        )
        delay = result.visitors_until_share("c", 0.5, after=DRIFT_AT)
        delays.append(float(delay) if delay is not None else math.inf)
    describe("(c) drift: visitors after the change until the new best arm has > 50% of the weight", delays, "{:.0f}")


if __name__ == "__main__":
    main()
