"""Simulate visitors with known conversion rates through the real decision path and print the regret.

    manage.py tailor_traffic                                  # the demo's call to action, 5,000 visitors
    manage.py tailor_traffic --scenario stationary --algorithm ucb1 --seeds 3
    manage.py tailor_traffic --scenario segmented             # CONTEXTUAL: a best arm per segment
    manage.py tailor_traffic --scenario drift                 # the best arm changes; forgetting
    manage.py tailor_traffic --rates '{"A": 0.03, "B": 0.04}' --visitors 20000
    manage.py tailor_traffic --page / --slot cta              # a published slot's own variants

Every visitor is decided by `personalize_compiled` and its events recorded by `record_event` (the
functions behind personalizedPage and recordEvent), against the configured stats store in a sandbox
that is discarded afterwards. Regret is in expected conversions (from the true rates of the arms
shown): against the oracle (the best arm for each visitor's segment at that moment) and against an
even split over all arms.
"""

from __future__ import annotations

import json
import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from grapple.types.pages import get_specific_page
from wagtail.models import Site

from variants.compiler import compiled_page
from variants.engine.decide import algorithm_label
from variants.engine.traffic import (
    DRIFT_AFTER,
    DRIFT_AT,
    DRIFT_BEFORE,
    SEGMENTED_RATES,
    STATIONARY_RATES,
    Population,
)
from variants.engine.vocabulary import ALGORITHMS
from variants.traffic import run_traffic

#: the demo's call to action (sample_site: the `cta` slot)
CTA_RATES = {"Learn more": 0.02, "Start free trial": 0.10, "Book a demo": 0.02}

SCENARIOS = {
    # name: (rates, policy, default visitors, extra options, drift)
    "cta": (CTA_RATES, "BANDIT", 5_000, {}, None),
    "stationary": (STATIONARY_RATES, "BANDIT", 20_000, {}, None),
    "segmented": (SEGMENTED_RATES, "CONTEXTUAL", 30_000, {"split_by": ["segment"]}, None),
    "drift": (DRIFT_BEFORE, "BANDIT", 2 * DRIFT_AT, {"half_life": 1000}, (DRIFT_AT, DRIFT_AFTER)),
}


def _json_arg(name: str, text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        raise CommandError(f"--{name}: not JSON ({e})") from None


def _pct(x: float) -> str:
    return f"{x:.1%}" if x < 0.1 else f"{x:.0%}"


class Command(BaseCommand):
    help = "Run a synthetic population through the real engine and service layer; print regret."

    def add_arguments(self, parser):
        parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="cta")
        parser.add_argument("--rates", help="JSON {arm: rate} or {segment: {arm: rate}} (overrides the scenario)")
        parser.add_argument("--shares", help="JSON {segment: share} (default: even)")
        parser.add_argument("--drift-at", type=int, help="from this visitor on, --drift-rates apply")
        parser.add_argument("--drift-rates", help="JSON, same shape as --rates")
        parser.add_argument("--policy", choices=["AB", "BANDIT", "CONTEXTUAL"])
        parser.add_argument("--algorithm", choices=ALGORITHMS)
        parser.add_argument("--half-life", type=int, help="forget: impressions after which evidence counts half")
        parser.add_argument("--split-by", help="CONTEXTUAL: comma-separated attributes (default: segment)")
        parser.add_argument("--min-impressions", type=int, help="CONTEXTUAL: impressions before a bucket is trusted")
        parser.add_argument("--visitors", type=int)
        parser.add_argument("--refresh-every", type=int, default=250, help="visitors between weight refreshes")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--seeds", type=int, default=1, help="runs, with seeds --seed, --seed+1, ...")
        parser.add_argument("--page", help="simulate a published page's slot (URL path, e.g. /) ...")
        parser.add_argument("--slot", help="... named so (rates keyed by variant name)")
        parser.add_argument("--json", action="store_true", help="one JSON object per run instead of text")

    def handle(self, *args, **opts):
        rates, policy, visitors, extra, drift = SCENARIOS[opts["scenario"]]
        rates = _json_arg("rates", opts["rates"]) or rates
        if opts["drift_at"] is not None or opts["drift_rates"] is not None:
            if opts["drift_at"] is None or opts["drift_rates"] is None:
                raise CommandError("--drift-at and --drift-rates go together")
            drift = (opts["drift_at"], _json_arg("drift-rates", opts["drift_rates"]))
        policy = opts["policy"] or policy
        visitors = opts["visitors"] if opts["visitors"] is not None else visitors
        if visitors < 1 or opts["refresh_every"] < 1 or opts["seeds"] < 1:
            raise CommandError("--visitors, --refresh-every and --seeds must be at least 1")
        options = {"algorithm": opts["algorithm"] or "thompson", **extra}
        if opts["half_life"] is not None:
            options["half_life"] = opts["half_life"]
        if opts["split_by"]:
            options["split_by"] = [s.strip() for s in opts["split_by"].split(",") if s.strip()]
        if opts["min_impressions"] is not None:
            options["min_impressions"] = opts["min_impressions"]
        target = self._page_slot(opts) if opts["page"] or opts["slot"] else None

        runs = []
        for seed in range(opts["seed"], opts["seed"] + opts["seeds"]):
            try:
                population = Population(
                    rates,
                    shares=_json_arg("shares", opts["shares"]),
                    changes=[drift] if drift else [],
                    seed=seed,
                )
            except (ValueError, TypeError, AttributeError) as e:
                raise CommandError(f"rates: {e}") from None
            kwargs = {}
            if target is not None:
                compiled, slot = target
                by_name = {v.name: v.id for v in slot.variants}
                missing = sorted(set(population.arms) - set(by_name))
                if missing:
                    raise CommandError(
                        f"no variant named {', '.join(missing)} in slot {slot.name!r} "
                        f"(its variants: {', '.join(by_name)}); key --rates by variant name"
                    )
                kwargs = {
                    "compiled": compiled,
                    "slot_id": slot.id,
                    "arm_of": {by_name[a]: a for a in population.arms},
                }
            started = time.perf_counter()
            try:
                run = run_traffic(
                    population,
                    policy=policy,
                    options=options,
                    visitors=visitors,
                    refresh_every=opts["refresh_every"],
                    seed=seed,
                    **kwargs,
                )
            except ValueError as e:
                raise CommandError(str(e)) from None
            seconds = time.perf_counter() - started
            runs.append(run)
            self._report(run, population, opts, seed, seconds, drift)
        if len(runs) > 1 and not opts["json"]:
            ratios = [r.result.regret_ratio for r in runs]
            gains = [r.result.expected_conversions - r.result.uniform_conversions for r in runs]
            self.stdout.write(
                f"\n{len(runs)} runs: regret / uniform split's regret: median {statistics.median(ratios):.3f}, "
                f"worst {max(ratios):.3f}; conversions gained over the uniform split: median "
                f"{statistics.median(gains):.1f}, worst {min(gains):.1f}"
            )

    def _page_slot(self, opts):
        if not (opts["page"] and opts["slot"]):
            raise CommandError("--page and --slot go together")
        # the page personalizedPage(urlPath, inSite: true) would serve on the default site
        site = Site.objects.filter(is_default_site=True).first()
        page = get_specific_page(url_path=opts["page"], site=site) if site else None
        if page is None:
            raise CommandError(f"no live page at {opts['page']!r} on the default site")
        path = opts["page"]
        compiled = compiled_page(page)
        slot = next((s for s in compiled.slots if s.name == opts["slot"]), None)
        if slot is None:
            raise CommandError(
                f"page {path} has no slot {opts['slot']!r} (slots: {', '.join(s.name for s in compiled.slots) or 'none'})"
            )
        return compiled, slot

    def _report(self, run, population, opts, seed, seconds, drift) -> None:
        r = run.result
        n = r.visitors
        tail = max(1, n // 10)
        share = {a: r.traffic_share(a) for a in r.arms}
        late = {a: r.traffic_share(a, start=n - tail) for a in r.arms}
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "scenario": opts["scenario"],
                        "seed": seed,
                        "policy": run.slot.policy,
                        "options": dict(run.slot.options),
                        "store": run.store,
                        "refresh_every": opts["refresh_every"],
                        **r.summary(),
                        "regret_vs_uniform": round(r.uniform_conversions - r.expected_conversions, 1),
                        "traffic_share": {a: round(s, 4) for a, s in share.items()},
                        "traffic_share_last_10pct": {a: round(s, 4) for a, s in late.items()},
                        "final_weights": {
                            b: {a: round(w, 4) for a, w in weights.items()} for b, weights in run.final_weights.items()
                        },
                        "seconds": round(seconds, 2),
                    }
                )
            )
            return
        method = (
            run.slot.policy if run.slot.policy == "AB" else f"{run.slot.policy}, {algorithm_label(run.slot.options)}"
        )
        w = self.stdout.write
        w(
            f"Simulated {n:,} visitors: scenario {opts['scenario']}, {method}, weights refreshed every "
            f"{opts['refresh_every']} visitors, seed {seed}"
        )
        w(
            f"  path: personalize_compiled -> record_event -> feedback refresh; store: {run.store} "
            "(sandboxed, discarded afterwards)"
        )
        for segment, arms in population.rates_at(0).items():
            label = "" if segment == "all" else f" [{segment}]"
            w(f"  true rates{label}: " + ", ".join(f"{a} {_pct(x)}" for a, x in arms.items()))
        if drift:
            w(f"  from visitor {drift[0]:,}: " + json.dumps(drift[1]))
        w(
            f"  expected conversions: this policy {r.expected_conversions:.1f} | oracle {r.oracle_conversions:.1f} | "
            f"uniform split {r.uniform_conversions:.1f}   (sampled: {r.conversions})"
        )
        w(
            f"  regret vs oracle: {r.regret:.1f} conversions = {r.regret_ratio:.3f} x the uniform split's "
            f"({r.uniform_regret:.1f}); {r.oracle_fraction:.1%} of the oracle's conversions"
        )
        gained = r.expected_conversions - r.uniform_conversions
        w(
            f"  regret vs uniform split: {-gained:.1f} conversions "
            f"({'gained' if gained >= 0 else 'lost'} {abs(gained):.1f} over showing every arm equally)"
        )
        w("  traffic share (all / last 10%): " + ", ".join(f"{a} {_pct(share[a])} / {_pct(late[a])}" for a in r.arms))
        for bucket, weights in run.final_weights.items():
            where = "" if bucket == "*" else f" [{bucket}]"
            w(f"  final weights{where}: " + ", ".join(f"{a} {_pct(x)}" for a, x in weights.items()))
        w(f"  {seconds:.1f}s ({seconds / n * 1000:.2f} ms per visitor)")
