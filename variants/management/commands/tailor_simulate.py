"""Run a simulated experiment on a published slot, for real, and print its review.

    manage.py tailor_simulate                       # the demo's cta: 600 visitors over 48 hours
    manage.py tailor_simulate --page / --slot cta --visitors 2000 --hours 72 --seed 3
    manage.py tailor_simulate --rates '{"Learn more": 0.02, "Start free trial": 0.15, "Book a demo": 0.02}'

Unlike `tailor_traffic` (a sandbox that is thrown away), the visitors' decisions and events go into
the real stats store and event log, exactly as `personalizedPage` and `recordEvent` would put them,
spread evenly over the last `--hours` hours (so the review has a time series), and are folded into
the hourly aggregates at the end. It is for demos, training and tests: every simulated event counts,
so do not run it against a site whose experiments matter (the command asks unless `--yes`).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from grapple.types.pages import get_specific_page
from wagtail.models import Site

from variants.aggregation import flush_events
from variants.compiler import compiled_page
from variants.engine.traffic import Population, simulate_traffic
from variants.events import record_event
from variants.experiments import review, sync_experiments
from variants.feedback import Feedback
from variants.journey_traffic import simulate_journeys
from variants.models import Experiment
from variants.traffic import ServiceDriver

#: the demo's call to action, as the issue's reviewer saw it ("Start free trial" converting at 15%)
CTA_RATES = {"Learn more": 0.02, "Start free trial": 0.15, "Book a demo": 0.02}


#: the simulated visitors' devices, in turn (mostly phones, as on most sites): the review's breakdowns
DEVICE_MIX = ("mobile", "desktop", "mobile", "mobile", "desktop", "tablet", "mobile", "desktop")


class TimedDriver(ServiceDriver):
    """Records each visitor's events at its own moment of the simulated period; each visitor comes
    from a device of `DEVICE_MIX` at that moment (the site's timezone), for the review's breakdowns."""

    def __init__(self, *args, start, step, **kwargs):
        super().__init__(*args, **kwargs)
        self.start = start
        self.step = step

    def decide(self, visitor):
        at = self.start + self.step * visitor.index
        facts = {
            "device": DEVICE_MIX[visitor.index % len(DEVICE_MIX)],
            "now": at,
            "timezone": timezone.get_default_timezone_name(),
            **visitor.facts,
        }
        return super().decide(dataclasses.replace(visitor, facts=facts))

    def record(self, visitor, choice, converted) -> None:
        token = self._tokens.pop(visitor.index)
        at = self.start + self.step * visitor.index
        record_event(token, "impression", now=at)
        if converted:
            record_event(token, "conversion", now=at)


class Command(BaseCommand):
    help = "Simulate visitors on a published slot, recording real events, then print the experiment's review."

    def add_arguments(self, parser):
        parser.add_argument("--page", default="/", help="the page's URL path on the default site (default /)")
        parser.add_argument("--slot", default="cta", help="the slot's name (default cta)")
        parser.add_argument("--rates", help="JSON {variant name: conversion rate} (default: the demo cta's)")
        parser.add_argument("--visitors", type=int, default=600)
        parser.add_argument("--hours", type=float, default=48.0, help="spread the visitors over this many past hours")
        parser.add_argument("--refresh-every", type=int, default=50, help="visitors between weight refreshes")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--yes", action="store_true", help="do not ask before writing events")
        parser.add_argument(
            "--scenario",
            choices=["bandit", "journeys"],
            default="bandit",
            help="journeys: consented shoppers and readers browse the demo shop, the model is trained on the "
            "first --history of them, then the pricing page's 'Ready to start?' goes to likely buyers",
        )
        parser.add_argument("--history", type=int, default=400, help="with --scenario journeys: visitors to train on")

    def handle(self, *args, **opts):
        if opts["visitors"] < 1 or opts["hours"] <= 0 or opts["refresh_every"] < 1:
            raise CommandError("--visitors, --hours and --refresh-every must be positive")
        if opts["scenario"] == "journeys":
            return self.simulate_journeys(opts)
        site = Site.objects.filter(is_default_site=True).first()
        page = get_specific_page(url_path=opts["page"], site=site) if site else None
        if page is None:
            raise CommandError(f"no live page at {opts['page']!r} on the default site")
        compiled = compiled_page(page)
        slot = next((s for s in compiled.slots if s.name == opts["slot"]), None)
        if slot is None:
            names = ", ".join(s.name for s in compiled.slots) or "none"
            raise CommandError(f"page {opts['page']} has no slot {opts['slot']!r} (slots: {names})")
        try:
            rates = json.loads(opts["rates"]) if opts["rates"] else CTA_RATES
        except ValueError as e:
            raise CommandError(f"--rates: not JSON ({e})") from None
        by_name = {v.name: v.id for v in slot.variants}
        if not isinstance(rates, dict) or set(rates) != set(by_name):
            raise CommandError(f"--rates must give a rate for each variant of {slot.name!r}: {', '.join(by_name)}")
        if not all(isinstance(r, (int, float)) and 0 <= r <= 1 for r in rates.values()):
            raise CommandError("--rates: each rate must be a number between 0 and 1")
        if not opts["yes"]:
            answer = input(f"Record {opts['visitors']} simulated visitors' events on {slot.name!r} for real? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("cancelled")

        population = Population(rates, seed=opts["seed"])
        now = timezone.now()
        start = now - timedelta(hours=opts["hours"])
        step = timedelta(hours=opts["hours"]) / opts["visitors"]
        loop = Feedback(refresh_seconds=float("inf"))  # refreshed every --refresh-every visitors
        driver = TimedDriver(compiled, slot, loop, {by_name[n]: n for n in rates}, start=start, step=step)
        result = simulate_traffic(
            population, driver, visitors=opts["visitors"], refresh_every=opts["refresh_every"], seed=opts["seed"]
        )
        flushed = flush_events()
        sync_experiments([page])
        experiment = Experiment.objects.get(slot_id=slot.id)
        self.stdout.write(
            f"{result.visitors} visitors on {page.url_path} · {slot.name} ({slot.policy}) over {opts['hours']:g} h: "
            f"{result.conversions} conversions"
        )
        self.stdout.write(str(flushed))
        self.print_review(experiment)

    def simulate_journeys(self, opts) -> None:
        site = Site.objects.filter(is_default_site=True).first()
        root = site.root_page if site else None
        pages = {p.slug: p for p in root.get_children().live().specific()} if root else {}
        products = [p for slug, p in sorted(pages.items()) if slug.startswith("products-")]
        if "pricing" not in pages or not products or "about" not in pages:
            raise CommandError("the journeys scenario needs the demo shop: run `manage.py tailor_demo` first")
        if opts["history"] < 50:
            raise CommandError("--history must be at least 50")
        if not opts["yes"]:
            answer = input(f"Record {opts['history'] + opts['visitors']} simulated visitors' journeys for real? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("cancelled")
        report = simulate_journeys(
            products,
            [pages["about"]],
            pages["pricing"],
            history=opts["history"],
            visitors=opts["visitors"],
            seed=opts["seed"],
            log=self.stderr.write,
        )
        for line in report.lines():
            self.stdout.write(line)

    def print_review(self, experiment: Experiment) -> None:
        r = review(experiment)
        a = r.analysis
        if a is None:
            self.stdout.write("no impressions recorded")
            return
        head = ("variant", "impr", "conv", "rate", "95% CI", "uplift", "P(best)", "exp.loss", "p (Holm)", "seq. p")
        rows = [head]
        for arm in a.arms:
            rows.append(
                (
                    arm.counts.name,
                    str(arm.counts.impressions),
                    str(arm.counts.conversions),
                    "—" if arm.rate is None else f"{arm.rate:.1%}",
                    f"{arm.ci_low:.1%}–{arm.ci_high:.1%}",
                    "baseline"
                    if arm.id == a.control_id
                    else ("—" if arm.uplift is None else f"{arm.uplift.value:+.0%}"),
                    f"{arm.p_best:.1%}" if a.ready else "—",
                    f"{arm.expected_loss:.2%}" if a.ready else "—",
                    "—" if arm.p_value is None else f"{arm.p_value:.2g}",
                    "—" if arm.sequential is None else f"{arm.sequential.p_value:.2g}",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if a.winner:
            verdict = f"winner: {a.winner.counts.name}"
        elif a.leader:
            verdict = f"leading: {a.leader.counts.name} (P(best) {a.leader.p_best:.1%}); not decisive yet"
        else:
            verdict = f"too early: every variant needs {a.min_impressions} impressions"
        self.stdout.write(verdict)
        if a.srm:
            self.stdout.write(f"sample ratio check: p = {a.srm.p_value:.3g}{' MISMATCH' if a.srm.mismatch else ''}")
