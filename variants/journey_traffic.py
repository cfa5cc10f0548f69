"""Simulated shoppers with journeys: what `manage.py tailor_simulate --scenario journeys` runs.

Every simulated visitor gives personalization consent and goes through what the API does for a real
one: `personalize_page` for each page they view (recording their journey on their profile), then the
page with the slot that targets likely buyers, whose decision is recorded as an impression, and as a
conversion (`record_event`, which also counts it in the journey) when the visitor converts.

Two kinds of visitor, with known conversion rates per variant shown: *shoppers* compare several
product pages; *readers* read one or two informational pages. First `history` visitors build the
site's logged sessions and `rules.journeys.train_from_site` learns from them; then `visitors` more
are decided by the trained model, and the report compares the expected conversions of what the slot
did with showing everyone the default or everyone the targeted variant.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from rules.context_builder import Consent, RequestContext
from rules.engine import Context
from rules.journeys import train_from_site
from tailor.signing import new_visitor_id
from variants.events import record_event
from variants.services import personalize_page

CONSENTED = Consent(personalization=True, analytics=True, source="simulation")
#: conversion rates by (visitor kind, variant shown): a pushy "Ready to start?" helps shoppers and
#: puts readers off a little, so showing it to everyone is worse than targeting it
JOURNEY_RATES = {
    ("shopper", "Ready to start?"): 0.55,
    ("shopper", "Default"): 0.40,
    ("reader", "Ready to start?"): 0.01,
    ("reader", "Default"): 0.03,
}


@dataclass
class JourneyReport:
    visitors: int = 0
    shown: Counter = field(default_factory=Counter)  # (kind, variant) -> visitors
    converted: Counter = field(default_factory=Counter)
    model: dict = field(default_factory=dict)

    def expected(self, policy) -> float:
        """Expected conversions if each visitor had been shown `policy(kind, variant_shown)`."""
        return sum(n * JOURNEY_RATES[(kind, policy(kind, variant))] for (kind, variant), n in self.shown.items())

    def lines(self) -> list[str]:
        kinds = sorted({k for k, _v in self.shown})
        out = [f"{self.visitors} consented visitors after training on the site's sessions ({self.model})"]
        for kind in kinds:
            total = sum(n for (k, _v), n in self.shown.items() if k == kind)
            ready = self.shown[(kind, "Ready to start?")]
            conv = sum(n for (k, _v), n in self.converted.items() if k == kind)
            out.append(
                f"  {kind}s: {total}, shown 'Ready to start?' {ready} ({ready / max(1, total):.0%}), converted {conv}"
            )
        targeted = self.expected(lambda k, v: v)
        default = self.expected(lambda k, v: "Default")
        everyone = self.expected(lambda k, v: "Ready to start?")
        out.append(
            f"  expected conversions: targeted by likelihood {targeted:.1f} | everyone the default {default:.1f} | "
            f"everyone 'Ready to start?' {everyone:.1f}   (sampled: {sum(self.converted.values())})"
        )
        out.append(
            f"  targeting gained {targeted - default:+.1f} over the default and {targeted - everyone:+.1f} over showing it to all"
        )
        return out


def _visitor_paths(rng: random.Random, kind: str, products: list, readings: list) -> list:
    if kind == "shopper":
        return [rng.choice(products) for _ in range(rng.randint(4, 10))]
    return [rng.choice(readings) for _ in range(rng.randint(1, 2))]


def _one_visitor(rng, kind, products, readings, target_page, slot_name):
    visitor_id = new_visitor_id()
    for page in _visitor_paths(rng, kind, products, readings):
        rc = RequestContext(Context(), CONSENTED, visitor_id, page.url_path)
        personalize_page(page, rc)
    rc = RequestContext(Context(), CONSENTED, visitor_id, target_page.url_path)
    result = personalize_page(target_page, rc)
    decision = next(d for d in result.decisions if d.slot_name == slot_name)
    variant = decision.variant_name if (kind, decision.variant_name) in JOURNEY_RATES else "Default"
    token = result.tokens[decision.slot_id]
    record_event(token, "impression")
    converted = rng.random() < JOURNEY_RATES[(kind, variant)]
    if converted:
        record_event(token, "conversion", "signup", 49)
    return variant, converted


def simulate_journeys(
    products: list,
    readings: list,
    target_page,
    *,
    slot_name: str = "next-step",
    history: int = 400,
    visitors: int = 300,
    shoppers: float = 0.35,
    seed: int | None = None,
    log=lambda _m: None,
) -> JourneyReport:
    rng = random.Random(seed)
    for i in range(history):
        _one_visitor(
            rng, "shopper" if rng.random() < shoppers else "reader", products, readings, target_page, slot_name
        )
        if (i + 1) % 100 == 0:
            log(f"history: {i + 1}/{history} visitors")
    row = train_from_site(min_sessions=min(500, history), min_conversions=10, log=log)
    report = JourneyReport(model={k: row.meta[k] for k in ("trees_from", "sessions", "conversions")})
    for _i in range(visitors):
        kind = "shopper" if rng.random() < shoppers else "reader"
        variant, converted = _one_visitor(rng, kind, products, readings, target_page, slot_name)
        report.visitors += 1
        report.shown[(kind, variant)] += 1
        report.converted[(kind, variant)] += int(converted)
    return report
