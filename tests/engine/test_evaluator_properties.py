"""Properties of the evaluator, checked on generated condition trees and contexts (hypothesis).

The engine's three-valued logic is compared with a deliberately plain reference interpreter written
here, from the leaf definitions up, so a shortcut in `All` / `AnyOf` / `Not` cannot hide.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rules.engine import ConditionError, Context, registry
from rules.engine.geo import COUNTRY_NAMES

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZONES = [
    "UTC",
    "Asia/Seoul",
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",  # -03:30 / -02:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Kiritimati",  # +14
    "Pacific/Pago_Pago",  # -11
]
DEVICES = ("mobile", "tablet", "desktop", "bot")
SEGMENTS = ("a", "b", "c")
PLANS = ("free", "gold")

# --- the reference: leaf meanings and Kleene logic, written independently of the engine ------------


def kleene_all(values):
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def kleene_any(values):
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def kleene_not(value):
    return None if value is None else not value


def minute_in_window(minute: int, start: int, end: int) -> bool:
    """[start, end) on a 24-hour clock face; a window with end < start wraps past midnight."""
    return (minute - start) % 1440 < (end - start) % 1440


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def local_minute(now: datetime, zone: str) -> int:
    local = now.astimezone(ZoneInfo(zone))
    return local.hour * 60 + local.minute


# A leaf is (spec, reference function over the plain facts dict).
def _returning(r):
    return (
        {"type": "returning_visitor", "returning": r},
        lambda f: None if "returning" not in f else f["returning"] == r,
    )


def _device(devices):
    return (
        {"type": "device", "devices": sorted(devices)},
        lambda f: None if "device" not in f else f["device"] in devices,
    )


def _visits(lo, hi):
    return (
        {"type": "visit_count", "min": lo, "max": hi},
        lambda f: (
            None
            if "visit_count" not in f
            else (lo is None or f["visit_count"] >= lo) and (hi is None or f["visit_count"] <= hi)
        ),
    )


def _segment(slug):
    return (
        {"type": "in_segment", "segment": slug},
        lambda f: None if "segments" not in f else slug in f["segments"],
    )


def _plan(value):
    def ref(f):
        if "traits" not in f or "plan" not in f["traits"]:
            return None
        return f["traits"]["plan"] == value

    return {"type": "trait", "key": "plan", "value": value}, ref


def _time_window(start, end):
    def ref(f):
        if "now" not in f or "timezone" not in f:
            return None
        return minute_in_window(local_minute(f["now"], f["timezone"]), start, end)

    return {"type": "time_of_day", "start": hhmm(start), "end": hhmm(end)}, ref


minutes = st.integers(0, 1439)
windows = st.tuples(minutes, minutes).filter(lambda w: w[0] != w[1])

leaves = st.one_of(
    st.booleans().map(_returning),
    st.sets(st.sampled_from(DEVICES), min_size=1).map(_device),
    st.tuples(st.none() | st.integers(1, 5), st.none() | st.integers(1, 5))
    .filter(lambda b: b != (None, None) and (None in b or b[0] <= b[1]))
    .map(lambda b: _visits(*b)),
    st.sampled_from(SEGMENTS).map(_segment),
    st.sampled_from(PLANS).map(_plan),
    windows.map(lambda w: _time_window(*w)),
)


# A tree is ("leaf", spec, ref) | ("all" | "any", [trees]) | ("not", tree); depth stays within MAX_DEPTH.
def trees(depth: int = 4):
    leaf = leaves.map(lambda pair: ("leaf", *pair))
    if depth == 0:
        return leaf
    sub = trees(depth - 1)
    return st.one_of(
        leaf,
        st.lists(sub, min_size=1, max_size=3).map(lambda cs: ("all", cs)),
        st.lists(sub, min_size=1, max_size=3).map(lambda cs: ("any", cs)),
        sub.map(lambda c: ("not", c)),
    )


TREES = trees()


def to_spec(tree) -> dict:
    kind = tree[0]
    if kind == "leaf":
        return tree[1]
    if kind == "not":
        return {"type": "not", "condition": to_spec(tree[1])}
    return {"type": kind, "conditions": [to_spec(c) for c in tree[1]]}


def reference(tree, facts: dict):
    kind = tree[0]
    if kind == "leaf":
        return tree[2](facts)
    if kind == "not":
        return kleene_not(reference(tree[1], facts))
    values = [reference(c, facts) for c in tree[1]]
    return kleene_all(values) if kind == "all" else kleene_any(values)


instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC))


@st.composite
def fact_sets(draw) -> dict:
    """A random subset of the facts the leaves read, each with a random value."""
    options = {
        "returning": st.booleans(),
        "device": st.sampled_from(DEVICES),
        "visit_count": st.integers(1, 6),
        "segments": st.frozensets(st.sampled_from(SEGMENTS)),
        "traits": st.dictionaries(st.just("plan"), st.sampled_from(PLANS)),
        "now": instants,
        "timezone": st.sampled_from(ZONES),
    }
    present = draw(st.sets(st.sampled_from(sorted(options))))
    return {name: draw(options[name]) for name in sorted(present)}


def context(facts: dict) -> Context:
    return Context.build(**facts)


# --- properties ----------------------------------------------------------------------------------


@SETTINGS
@given(TREES, fact_sets())
def test_engine_agrees_with_the_reference_three_valued_interpreter(tree, facts):
    out = registry.build(to_spec(tree)).evaluate(context(facts))
    assert out.value is reference(tree, facts)
    assert isinstance(out.reason, str) and out.reason


@SETTINGS
@given(TREES)
def test_a_tree_over_only_unknown_facts_is_never_true(tree):
    out = registry.build(to_spec(tree)).evaluate(Context.build())
    assert out.value is None
    assert "unknown" in out.reason


@SETTINGS
@given(TREES, fact_sets(), st.data())
def test_learning_more_facts_never_flips_a_known_outcome(tree, facts, data):
    """Kleene monotonicity: what is True (eligible) with some facts unknown stays True once they are known.

    So an unknown fact can never be what makes a variant eligible.
    """
    condition = registry.build(to_spec(tree))
    full = condition.evaluate(context(facts)).value
    hidden_sets = [{name} for name in facts]  # each fact alone ...
    if facts:  # ... and a random handful at once
        hidden_sets.append(data.draw(st.sets(st.sampled_from(sorted(facts)))))
    for hidden in hidden_sets:
        partial = condition.evaluate(context({k: v for k, v in facts.items() if k not in hidden})).value
        if partial is not None:
            assert full is partial, hidden


@SETTINGS
@given(TREES, fact_sets())
def test_double_negation_is_the_identity(tree, facts):
    spec = to_spec(tree)
    ctx = context(facts)
    twice = registry.build({"type": "not", "condition": {"type": "not", "condition": spec}})
    assert twice.evaluate(ctx).value is registry.build(spec).evaluate(ctx).value


@SETTINGS
@given(st.lists(TREES, min_size=1, max_size=3), fact_sets())
def test_de_morgan_holds_under_kleene_logic(children, facts):
    specs = [to_spec(c) for c in children]
    negated = [{"type": "not", "condition": s} for s in specs]
    ctx = context(facts)

    def value(spec):
        return registry.build(spec).evaluate(ctx).value

    assert value({"type": "not", "condition": {"type": "all", "conditions": specs}}) is value(
        {"type": "any", "conditions": negated}
    )
    assert value({"type": "not", "condition": {"type": "any", "conditions": specs}}) is value(
        {"type": "all", "conditions": negated}
    )


@SETTINGS
@given(TREES)
def test_tree_specs_round_trip(tree):
    condition = registry.build(to_spec(tree))
    stored = json.loads(json.dumps(condition.to_spec()))
    assert registry.build(stored) == condition
    assert condition.fact_names() == registry.build(stored).fact_names()


# --- every leaf type: random valid params round-trip; malformed facts never raise -----------------

words = st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=12)
slugs = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)
temperatures = st.none() | st.floats(-90, 60, allow_nan=False) | st.integers(-90, 60)


def _weather(draw):
    conditions = draw(st.lists(st.sampled_from(["clear", "clouds", "fog", "drizzle", "rain", "snow", "thunderstorm"])))
    lo, hi = draw(temperatures), draw(temperatures)
    assume(conditions or lo is not None or hi is not None)
    if lo is not None and hi is not None and hi < lo:
        lo, hi = hi, lo
    return {"conditions": conditions, "min_temperature": lo, "max_temperature": hi}


def _trait(draw):
    operator = draw(st.sampled_from(["equals", "not_equals", "contains", "gt", "gte", "lt", "lte", "exists"]))
    params = {"key": draw(st.from_regex(r"[a-z][a-z0-9_.:-]{0,30}", fullmatch=True)), "operator": operator}
    if operator in ("gt", "gte", "lt", "lte"):
        params["value"] = draw(st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False))
    elif operator == "contains":
        params["value"] = draw(words)
    elif operator != "exists":
        params["value"] = draw(words | st.booleans() | st.integers(-1000, 1000))
    return params


LEAF_PARAMS = {
    "weather": _weather,
    "emotion": lambda d: {
        "labels": d(st.lists(st.sampled_from(["anger", "joy", "neutral", "sadness"]), min_size=1)),
        "min_confidence": d(st.floats(0, 1)),
    },
    "in_segment": lambda d: {"segment": d(slugs), **d(st.sampled_from([{}, {"name": "Rainy-day readers"}]))},
    "device": lambda d: {"devices": d(st.lists(st.sampled_from(DEVICES), min_size=1))},
    "country": lambda d: {
        "countries": d(st.lists(st.sampled_from(sorted(COUNTRY_NAMES)) | st.sampled_from(["Korea", "UK"]), min_size=1))
    },
    "city": lambda d: {"cities": d(st.lists(words, min_size=1, max_size=4)), "threshold": d(st.integers(0, 100))},
    "utm": lambda d: d(
        st.fixed_dictionaries(
            {},
            optional={
                k: st.from_regex(r"[a-z0-9_-]{1,10}\*?", fullmatch=True)
                for k in ("source", "medium", "campaign", "term", "content")
            },
        ).filter(bool)
    ),
    "referrer": lambda d: {
        "pattern": d(
            st.sampled_from(["google.com", "*.example.com", "google.*", "https://t.co/*", "news.ycombinator.com"])
        )
    },
    "query_param": lambda d: {
        "name": d(slugs),
        **d(st.sampled_from([{}, {"operator": "equals", "value": "x"}, {"operator": "contains", "value": "Y"}])),
    },
    "visit_count": lambda d: d(
        st.tuples(st.none() | st.integers(1, 50), st.none() | st.integers(1, 50))
        .filter(lambda b: b != (None, None) and (None in b or b[0] <= b[1]))
        .map(lambda b: {"min": b[0], "max": b[1]})
    ),
    "returning_visitor": lambda d: {"returning": d(st.booleans())},
    "language": lambda d: {
        "languages": d(st.lists(st.sampled_from(["ko", "en", "en-GB", "zh-Hant", "pt-BR", "de"]), min_size=1)),
        "any_preferred": d(st.booleans()),
    },
    "trait": _trait,
    "time_of_day": lambda d: dict(zip(("start", "end"), map(hhmm, d(windows)), strict=True)),
    "day_of_week": lambda d: {"days": d(st.lists(st.integers(0, 6), min_size=1))},
    "date_range": lambda d: {"start": "2026-01-01", "end": d(st.sampled_from([None, "2026-12-31"]))},
}


@st.composite
def leaf_specs(draw):
    kind = draw(st.sampled_from(sorted(LEAF_PARAMS)))
    return {"type": kind, **LEAF_PARAMS[kind](draw)}


@settings(max_examples=300, deadline=None)
@given(leaf_specs())
def test_every_leaf_type_round_trips_through_json_and_the_registry(spec):
    try:
        condition = registry.build(spec)
    except ConditionError as e:
        # Random city text may normalise to nothing ("市"): the only generated spec allowed to fail.
        assert spec["type"] == "city" and e.field == "cities", e
        return
    stored = json.loads(json.dumps(condition.to_spec(), ensure_ascii=False))
    rebuilt = registry.build(stored)
    assert rebuilt == condition
    assert rebuilt.describe() == condition.describe()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
FACT_NAMES = (
    "weather",
    "emotion",
    "segments",
    "device",
    "country",
    "city",
    "utm",
    "referrer",
    "query",
    "visit_count",
    "returning",
    "language",
    "traits",
)


@settings(max_examples=200, deadline=None)
@given(leaf_specs(), st.dictionaries(st.sampled_from(FACT_NAMES), json_values))
def test_malformed_facts_never_raise_and_never_match_by_accident(spec, facts):
    assume(spec["type"] not in ("time_of_day", "day_of_week", "date_range"))
    try:
        condition = registry.build(spec)
    except ConditionError:
        return
    out = condition.evaluate(Context.build(**facts))
    assert out.value in (True, False, None)
    assert isinstance(out.reason, str) and out.reason


# --- time of day ---------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(windows, minutes)
def test_time_of_day_contains_matches_the_clock_face_definition(window, minute):
    start, end = window
    condition = registry.build({"type": "time_of_day", "start": hhmm(start), "end": hhmm(end)})
    assert condition.contains(minute) is minute_in_window(minute, start, end)
    # an overnight window is exactly the complement of the daytime window with the ends swapped
    swapped = registry.build({"type": "time_of_day", "start": hhmm(end), "end": hhmm(start)})
    assert swapped.contains(minute) is not condition.contains(minute)


@SETTINGS
@given(windows, instants, st.sampled_from(ZONES), st.sampled_from(ZONES))
def test_the_same_instant_is_judged_on_each_visitors_own_wall_clock(window, instant, visitor_zone, other_zone):
    start, end = window
    condition = registry.build({"type": "time_of_day", "start": hhmm(start), "end": hhmm(end)})
    expected = minute_in_window(local_minute(instant, visitor_zone), start, end)
    # however the instant is expressed (UTC, or another zone's offset), only the visitor's zone counts
    for now in (instant, instant.astimezone(ZoneInfo(other_zone))):
        out = condition.evaluate(Context.build(now=now, timezone=visitor_zone))
        assert out.value is expected, out
        assert visitor_zone in out.reason


@SETTINGS
@given(instants, st.sampled_from(ZONES), st.sets(st.integers(0, 6), min_size=1))
def test_day_of_week_follows_the_visitors_local_date(instant, zone, days):
    condition = registry.build({"type": "day_of_week", "days": sorted(days)})
    out = condition.evaluate(Context.build(now=instant, timezone=zone))
    assert out.value is (instant.astimezone(ZoneInfo(zone)).weekday() in days)
