"""Tailor's slot decision beside GrowthBook's Python SDK deciding the equivalent targeted flag, in the
same process and the same run (`vs_growthbook`).

    python -m benchmarks.growthbook [--quick]     # prints the table, then the figures as JSON

The workload is `decision_figures`' heavy page: 5 slots × 8 variants × 4 conditions (match all), the
RULES policy (the first matching variant, else the default). Each slot becomes one GrowthBook feature
with 8 force rules, one per variant in the editor's order, each with the variant's 4 conditions as
one targeting condition (in the same order: both stop at the first failing one), and the default as
the feature's default value. That is exactly GrowthBook's "first matching rule wins" model, so both
must pick the same variant for every visitor; the run checks that on every measured context, and
each of the 160 conditions one by one on 500 of them, and reports any mismatch in the figure's note.

Where GrowthBook has no operator for what a Tailor condition does, its attributes carry the value in
the form its operators need, worked out from Tailor's context before the clock starts (the cost of
that conversion is reported beside, not counted):

- time of day / day of week: the visitor's local minute and weekday (Tailor works them out from
  ``now`` and ``timezone`` inside its timed decision);
- city: the normalised name (`rules.engine.geo.normalize_city`) matched with ``$in`` — GrowthBook
  has no fuzzy matching, so Tailor's fuzzy fallback has no counterpart (it changes no choice here);
- a trait's value lower-cased (Tailor's ``equals`` ignores case).

Languages (``$elemMatch`` of ``$regexi`` on whole subtags) and the referrer (``$regexi`` on the raw
URL, the host or its subdomains) are matched by GrowthBook itself.

GrowthBook is used the way its README says a Python web app should: a `GrowthBook` instance per
request, sharing the features payload (the dict `load_features` would ingest from its cache), its 5
features evaluated with `eval_feature`, then `destroy()`. `vs_growthbook` compares one evaluation with
one slot decision (the instance's creation apart); `growthbook_request_us` is the whole request's
cost, instance included, beside Tailor's 5-slot page. The same flag with an 8-way experiment rule
after the force rules (hashing on the visitor's id when no rule matches, where Tailor's RULES slot
shows its default) is timed too and given in a note.

Batches alternate: for each visitor's context, Tailor's 5 decisions and GrowthBook's request run one
after the other, the order swapped from one context to the next, so drift hits both alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import time
from dataclasses import asdict
from typing import Any

from benchmarks.report import Figure, spread, table
from benchmarks.workloads import heavy_slots, visitor_context
from rules.engine import City, Context, Country, Device, Language, Referrer, Trait, Utm, Weather
from rules.engine.geo import normalize_city
from rules.engine.language import canonical_language
from rules.engine.time import DayOfWeek, TimeOfDay
from variants.engine import DEFAULT_VARIANT, Slot, decide

GROWTHBOOK_VERSION = "4.0.0"  # the pin in pyproject.toml's `bench` extra
WARMUP = 200


# --- Tailor's conditions as GrowthBook targeting ---------------------------------------------------


class NoEquivalent(ValueError):
    """A Tailor condition GrowthBook's targeting cannot express the same way (the heavy page's
    workload has none; a workload that did would stop the comparison here rather than compare
    unlike flags)."""


def _referrer_regex(condition: Referrer) -> str:
    """A case-insensitive regex over the raw referrer URL (or bare domain) for a domain or a
    ``*.domain`` pattern: that host or any subdomain, whatever the scheme, port and path."""
    pattern = condition.pattern
    if condition.kind == "host" and pattern.startswith("*.") and not any(c in pattern[2:] for c in "*?["):
        domain = pattern[2:]  # Tailor: "*.example.org" matches example.org itself too
    elif condition.kind == "domain":
        domain = pattern
    else:
        raise NoEquivalent(f"no GrowthBook regex for referrer pattern {pattern!r}")
    return (
        r"^(?:[a-z][a-z0-9+.-]*:)?(?://)?(?:[^/?#@]*@)?(?:[^/?#@:]*\.)?" + re.escape(domain) + r"(?::\d*)?(?:[/?#]|$)"
    )


def growthbook_condition(condition: Any) -> dict[str, Any]:
    """One Tailor condition as a GrowthBook condition (a MongoDB-style query over the attributes)."""
    if isinstance(condition, TimeOfDay):
        if condition.overnight:
            return {"$or": [{"minute": {"$gte": condition.start}}, {"minute": {"$lt": condition.end}}]}
        return {"minute": {"$gte": condition.start, "$lt": condition.end}}
    if isinstance(condition, DayOfWeek):
        return {"weekday": {"$in": sorted(condition.days)}}
    if isinstance(condition, Device):
        return {"device": {"$in": list(condition.devices)}}
    if isinstance(condition, Country):
        return {"country": {"$in": list(condition.countries)}}
    if isinstance(condition, City):
        return {"city": {"$in": list(dict.fromkeys(normalize_city(c) for c in condition.cities))}}
    if isinstance(condition, Weather):
        out: dict[str, Any] = {}
        if condition.conditions:
            out["weather"] = {"$in": list(condition.conditions)}
        bounds = {}
        if condition.min_temperature is not None:
            bounds["$gte"] = condition.min_temperature
        if condition.max_temperature is not None:
            bounds["$lte"] = condition.max_temperature
        if bounds:
            out["temperature_c"] = bounds
        return out
    if isinstance(condition, Language):
        # whole subtags: "en" matches "en-US" and "en", not "eng"
        regex = "^(?:" + "|".join(re.escape(t) for t in condition.languages) + ")(?:-|$)"
        if condition.any_preferred:
            return {"languages": {"$elemMatch": {"$regexi": regex}}}
        return {"languages.0": {"$regexi": regex}}
    if isinstance(condition, Utm):
        out = {}
        for key, want in condition.wanted.items():
            if want == "*":
                out[f"utm_{key}"] = {"$exists": True}
            elif want.endswith("*"):
                out[f"utm_{key}"] = {"$regex": "^" + re.escape(want[:-1])}
            else:
                out[f"utm_{key}"] = want
        return out
    if isinstance(condition, Trait):
        if condition.operator != "equals" or not isinstance(condition.value, str):
            raise NoEquivalent(f"no GrowthBook condition for trait operator {condition.operator!r}")
        return {condition.key: condition.value.casefold()}
    if isinstance(condition, Referrer):
        return {"referrer": {"$regexi": _referrer_regex(condition)}}
    raise NoEquivalent(f"no GrowthBook condition for {type(condition).__name__}")


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The parts as one condition, in their order: a flat dict (what GrowthBook's editor writes) when
    no attribute repeats, else an explicit ``$and``."""
    out: dict[str, Any] = {}
    for part in parts:
        if out.keys() & part.keys():
            return {"$and": parts}
        out.update(part)
    return out


def slot_feature(slot: Slot, experiment: bool = False) -> dict[str, Any]:
    """The slot as a GrowthBook feature (payload form): a force rule per variant, in order; with
    `experiment`, an even 8-way experiment over the variants after them."""
    rules: list[dict[str, Any]] = []
    for variant in slot.variants:
        children = getattr(variant.condition, "children", None)
        if children is None:
            raise NoEquivalent("each benchmark variant has an `all` condition")
        rules.append(
            {
                "id": f"fr_{variant.id}",
                "condition": merged([growthbook_condition(c) for c in children]),
                "force": variant.id,
            }
        )
    if experiment:
        n = len(slot.variants)
        rules.append(
            {
                "id": f"exp_{slot.id}",
                "key": f"exp-{slot.id}",
                "variations": [v.id for v in slot.variants],
                "weights": [1 / n] * n,
                "coverage": 1.0,
                "hashAttribute": "id",
                "hashVersion": 2,
                "seed": f"exp-{slot.id}",
                "meta": [{"key": str(i), "name": v.name} for i, v in enumerate(slot.variants)],
                "phase": "0",
            }
        )
    return {"defaultValue": DEFAULT_VARIANT, "rules": rules}


def attributes(ctx: Context, visitor: str) -> dict[str, Any]:
    """Tailor's context as GrowthBook attributes (done before the clock starts)."""
    local = ctx.local_now()
    weather = ctx.get("weather") or {}
    utm = ctx.get("utm") or {}
    attrs: dict[str, Any] = {
        "id": visitor,
        "minute": local.hour * 60 + local.minute if local is not None else None,
        "weekday": local.weekday() if local is not None else None,
        "device": ctx.get("device"),
        "country": ctx.get("country"),
        "city": normalize_city(ctx["city"]) if isinstance(ctx.get("city"), str) else None,
        "weather": weather.get("condition"),
        "temperature_c": weather.get("temperature_c"),
        "languages": [t for t in (canonical_language(x) for x in ctx.get("language") or ()) if t],
        "referrer": ctx.get("referrer"),
    }
    attrs.update({f"utm_{k}": v for k, v in utm.items()})
    attrs.update({k: v.casefold() if isinstance(v, str) else v for k, v in (ctx.get("traits") or {}).items()})
    return attrs


# --- the measurement -------------------------------------------------------------------------------


def condition_mismatches(slots: list[Slot], pairs: list[tuple[Context, dict]]) -> tuple[int, int, list[str]]:
    """Each condition of each variant, Tailor's and GrowthBook's, on each (context, attributes) pair:
    (conditions compared, how many differ, the first few). The decisions stop at a variant's first
    failing condition; this reaches every one."""
    from growthbook.core import evalCondition

    compared, differ, first = 0, 0, []
    for slot in slots:
        for variant in slot.variants:
            for condition in variant.condition.children:  # type: ignore[union-attr]
                query = growthbook_condition(condition)
                for ctx, attrs in pairs:
                    compared += 1
                    ours = condition.evaluate(ctx).value is True
                    if ours != evalCondition(attrs, query):
                        differ += 1
                        if len(first) < 3:
                            first.append(f"{condition.to_spec()} on {attrs}: Tailor {ours}")
    return compared, differ, first


def not_measured(why: str) -> list[Figure]:
    return [Figure("vs_growthbook", None, "", "report", None, note=why)]


def growthbook_figures(quick: bool) -> list[Figure]:
    """`vs_growthbook` (Tailor's per-slot decision p50 / GrowthBook's per-evaluation p50), the
    GrowthBook evaluation itself, and a whole request each way."""
    try:
        from growthbook import GrowthBook
        from growthbook import __version__ as gb_version
    except ImportError:
        return not_measured(
            "not measured: GrowthBook's Python SDK is not installed (pip install -e '.[bench]' pins "
            f"growthbook=={GROWTHBOOK_VERSION})"
        )
    import logging

    # GrowthBook logs each skipped rule at DEBUG: on a server logging at INFO or above that is a
    # cheap isEnabledFor() check, as here whatever the run's own logging says
    logger = logging.getLogger("growthbook")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        return _measure(GrowthBook, gb_version, 1000 if quick else 5000)
    finally:
        logger.setLevel(level)


def _measure(GrowthBook: Any, gb_version: str, pages: int) -> list[Figure]:  # noqa: N803
    slots = heavy_slots()
    keys = [s.id for s in slots]
    payload = {s.id: slot_feature(s) for s in slots}
    payload_exp = {s.id: slot_feature(s, experiment=True) for s in slots}

    def tailor_page(ctx: Context, times: list[float]) -> list[str]:
        chosen = []
        for slot in slots:
            t = clock()
            d = decide(slot, ctx)
            times.append((clock() - t) / 1000)
            chosen.append(d.variant_id)
        return chosen

    def growthbook_request(attrs: dict, features: dict, evals: list[float], extra: list[float] | None) -> list:
        attrs = dict(attrs)  # destroy() clears the dict it was given
        t0 = clock()
        gb = GrowthBook(attributes=attrs, features=features)
        t1 = clock()
        chosen = []
        for key in keys:
            t = clock()
            res = gb.eval_feature(key)
            evals.append((clock() - t) / 1000)
            chosen.append((res.value, res.source))
        t2 = clock()
        gb.destroy()
        t3 = clock()
        if extra is not None:
            # the instance's cost (creation with the shared payload, destroy) and the whole request
            extra.append(((t1 - t0) + (t3 - t2)) / 1000)
            extra.append((t3 - t0) / 1000)
        return chosen

    clock = time.perf_counter_ns
    # fresh contexts for the measurement; the warm-up reads other objects built from the same seeds
    for i in range(WARMUP):
        ctx = visitor_context(i)
        tailor_page(ctx, [])
        a = attributes(ctx, f"visitor-{i}")
        growthbook_request(a, payload, [], None)
        growthbook_request(a, payload_exp, [], None)

    contexts = [visitor_context(i) for i in range(pages)]
    convert_us = []
    attrs_list = []
    for i in range(pages):  # on contexts of their own: the conversion fills a context's caches
        spare = visitor_context(i)
        t = clock()
        attrs_list.append(attributes(spare, f"visitor-{i}"))
        convert_us.append((clock() - t) / 1000)

    tailor_slot, tailor_page_us = [], []
    gb_eval, gb_instance, gb_request = [], [], []
    gb_exp_eval = []
    mismatches: list[str] = []
    defaults = fell_to_experiment = exp_mismatches = 0
    gc.collect()
    for i, (ctx, attrs) in enumerate(zip(contexts, attrs_list, strict=True)):
        extra: list[float] = []
        slot_times: list[float] = []
        if i % 2 == 0:
            ours = tailor_page(ctx, slot_times)
            theirs = growthbook_request(attrs, payload, gb_eval, extra)
            with_exp = growthbook_request(attrs, payload_exp, gb_exp_eval, None)
        else:
            with_exp = growthbook_request(attrs, payload_exp, gb_exp_eval, None)
            theirs = growthbook_request(attrs, payload, gb_eval, extra)
            ours = tailor_page(ctx, slot_times)
        tailor_slot += slot_times
        tailor_page_us.append(sum(slot_times))
        gb_instance.append(extra[0])
        gb_request.append(extra[1])
        for key, mine, (value, _source), (exp_value, exp_source) in zip(keys, ours, theirs, with_exp, strict=True):
            if mine != value and len(mismatches) < 5:
                mismatches.append(f"visitor {i} {key}: Tailor {mine}, GrowthBook {value}")
            elif mine != value:
                mismatches.append("")
            if mine == DEFAULT_VARIANT:
                defaults += 1
                fell_to_experiment += exp_source == "experiment"
            elif exp_value != mine:
                exp_mismatches += 1

    decisions = pages * len(slots)
    compared, differ, first = condition_mismatches(slots, list(zip(contexts, attrs_list, strict=True))[:500])
    ours, theirs = spread(tailor_slot), spread(gb_eval)
    their_exp = spread(gb_exp_eval)
    ratio = ours["p50"] / theirs["p50"]
    page_ratio = spread(tailor_page_us)["p50"] / spread(gb_request)["p50"]
    checked = (
        f"same choice on all {decisions:,} (visitor, slot) pairs"
        if not any(mismatches)
        else f"{len(mismatches):,} MISMATCHES of {decisions:,} choices: " + "; ".join(m for m in mismatches if m)
    )
    checked += (
        f", and each of the {compared // min(500, pages):,} conditions alike on {min(500, pages)} contexts"
        if not differ
        else f"; {differ:,} of {compared:,} CONDITION RESULTS DIFFER: " + "; ".join(first)
    )
    convert = spread(convert_us)
    return [
        Figure(
            "vs_growthbook",
            round(ratio, 4),
            "× GrowthBook's time per slot (p50 / p50)",
            "report",
            None,
            {
                "tailor_p50_us": ours["p50"],
                "tailor_p99_us": ours["p99"],
                "growthbook_p50_us": theirs["p50"],
                "growthbook_p99_us": theirs["p99"],
                "p99_ratio": round(ours["p99"] / theirs["p99"], 4),
                "n": ours["n"],
            },
            f"Tailor's decide per slot ÷ growthbook {gb_version} eval_feature per equivalent feature (8 force rules "
            f"× 4 conditions, default), {pages:,} visitors' contexts × 5 slots, alternating in one process",
            note=(
                f"< 1: Tailor is faster. Tailor p50 {ours['p50']:.2f} µs / p99 {ours['p99']:.2f} µs; GrowthBook "
                f"p50 {theirs['p50']:.2f} µs / p99 {theirs['p99']:.2f} µs (p99 ratio "
                f"{ours['p99'] / theirs['p99']:.3f}). Evaluation only: GrowthBook's per-request instance is in "
                f"growthbook_request_us. {checked}; GrowthBook is given its attributes ready (local minute and "
                f"weekday, normalised city), converted outside the clock in p50 {convert['p50']:.1f} µs per "
                f"visitor; Tailor works those out inside its timed decisions."
            ),
        ),
        Figure(
            "growthbook_decision_us",
            theirs["p50"],
            "µs per feature evaluation (p50)",
            "",
            None,
            theirs,
            f"growthbook {gb_version} GrowthBook.eval_feature, the same 5 slots as features, same contexts",
            note=(
                f"the same flags with an 8-way experiment rule after the force rules: p50 {their_exp['p50']:.2f} µs "
                f"/ p99 {their_exp['p99']:.2f} µs per evaluation ({fell_to_experiment:,} of {defaults:,} "
                f"no-match cases went to the experiment, where Tailor's RULES slot shows its default; "
                f"{exp_mismatches} differences where a rule matched)"
            ),
        ),
        Figure(
            "growthbook_request_us",
            spread(gb_request)["p50"],
            "µs per request of 5 features (p50)",
            "",
            None,
            spread(gb_request),
            "GrowthBook(attributes, features=shared payload) + 5 × eval_feature + destroy(), as its README "
            "advises for web apps",
            note=(
                f"of which the instance (creation from the shared payload, destroy) p50 "
                f"{spread(gb_instance)['p50']:.1f} µs / p99 {spread(gb_instance)['p99']:.1f} µs; Tailor's page of "
                f"5 decisions p50 {spread(tailor_page_us)['p50']:.1f} µs / p99 {spread(tailor_page_us)['p99']:.1f} µs "
                f"(ratio {page_ratio:.3f}); vs_growthbook compares evaluations only"
            ),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.growthbook", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 visitors' contexts instead of 5,000")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = growthbook_figures(args.quick)
    print(table(figures))
    print(f"\n{time.perf_counter() - started:.1f} s")
    print(json.dumps([asdict(f) for f in figures], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
