"""`rules.engine.implication`: "every context matching B also matches A", proven or not claimed.

The property: whenever `implies(b, a)` says yes, no generated context matches `b` without matching
`a` (the engine's own evaluator decides what matches). Conditions are generated from small pools of
values so that related conditions (narrower windows, subsets of days, nested language tags, a
condition joined with another) are common and the claim is often made, not vacuously safe.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import Context, registry
from rules.engine.implication import canonical, implies, never_matches

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOURS = ["00:00", "06:00", "09:00", "12:00", "18:00", "20:00", "23:00"]
SKIES = ["clear", "clouds", "rain", "snow"]
DEVICES = ["mobile", "tablet", "desktop", "bot"]
COUNTRIES = ["KR", "JP", "DE", "US"]
LANGUAGES = ["en", "en-GB", "ko", "ko-KR", "de"]
SEGMENTS = ["a", "b"]
EMOTIONS = ["joy", "sadness", "fear"]
TEMPERATURES = [-5, 0, 5, 12, 25, 30]


def pick(values, min_size=1):
    return st.lists(st.sampled_from(values), min_size=min_size, max_size=len(values), unique=True)


def leaves():
    return st.one_of(
        st.builds(
            lambda s, e: {"type": "time_of_day", "start": s, "end": e},
            st.sampled_from(HOURS),
            st.sampled_from(HOURS),
        ).filter(lambda c: c["start"] != c["end"]),
        st.builds(lambda d: {"type": "day_of_week", "days": d}, pick(range(7))),
        st.builds(
            lambda s, n: {"type": "date_range", "start": s, "end": n},
            st.sampled_from([None, "2026-11-01", "2026-12-01"]),
            st.sampled_from([None, "2026-12-15", "2027-01-31"]),
        ).filter(lambda c: c["start"] or c["end"]),
        st.builds(
            lambda sky, lo, hi: {"type": "weather", "conditions": sky, "min_temperature": lo, "max_temperature": hi},
            pick(SKIES, 0),
            st.sampled_from([None, *TEMPERATURES]),
            st.sampled_from([None, *TEMPERATURES]),
        ).filter(
            lambda c: (
                (c["conditions"] or c["min_temperature"] is not None or c["max_temperature"] is not None)
                and not (
                    c["min_temperature"] is not None
                    and c["max_temperature"] is not None
                    and c["max_temperature"] < c["min_temperature"]
                )
            )
        ),
        st.builds(lambda d: {"type": "device", "devices": d}, pick(DEVICES)),
        st.builds(lambda c: {"type": "country", "countries": c}, pick(COUNTRIES)),
        st.builds(
            lambda tags, anyp: {"type": "language", "languages": tags, "any_preferred": anyp},
            pick(LANGUAGES),
            st.booleans(),
        ),
        st.builds(
            lambda lo, hi: {"type": "visit_count", "min": lo, "max": hi},
            st.sampled_from([None, 1, 2, 3, 5]),
            st.sampled_from([None, 1, 2, 4, 6]),
        ).filter(lambda c: (c["min"] or c["max"]) and not (c["min"] and c["max"] and c["max"] < c["min"])),
        st.builds(lambda r: {"type": "returning_visitor", "returning": r}, st.booleans()),
        st.builds(lambda s: {"type": "in_segment", "segment": s}, st.sampled_from(SEGMENTS)),
        st.builds(
            lambda labels, m: {"type": "emotion", "labels": labels, "min_confidence": m},
            pick(EMOTIONS),
            st.sampled_from([0.0, 0.5, 0.8]),
        ),
        st.builds(lambda v: {"type": "utm", "source": v}, st.sampled_from(["news", "mail"])),
    )


def trees():
    return st.recursive(
        leaves(),
        lambda kids: st.one_of(
            st.builds(lambda c: {"type": "not", "condition": c}, kids),
            st.builds(lambda cs: {"type": "all", "conditions": cs}, st.lists(kids, min_size=1, max_size=3)),
            st.builds(lambda cs: {"type": "any", "conditions": cs}, st.lists(kids, min_size=1, max_size=3)),
        ),
        max_leaves=5,
    )


@st.composite
def related_pairs(draw):
    """(a, b): b is often a narrowing of a, so that implication holds for many pairs."""
    a = draw(trees())
    how = draw(st.sampled_from(["random", "and", "or", "same", "reordered"]))
    if how == "random":
        b = draw(trees())
    elif how == "and":  # b = a and something: implies a
        b = {"type": "all", "conditions": [draw(trees()), a]}
    elif how == "or":  # a = b or something: b implies it
        b, a = a, {"type": "any", "conditions": [draw(trees()), a]}
    elif how == "same":
        b = a
    else:
        b = {"type": "all", "conditions": [a, a]}
    return a, b


def _opt(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def contexts(draw):
    start = datetime(2026, 10, 25, tzinfo=UTC)
    now = start + timedelta(minutes=draw(st.integers(0, 60 * 24 * 120)))
    weather = draw(
        _opt(
            st.fixed_dictionaries(
                {
                    "condition": _opt(st.sampled_from([*SKIES, "fog"])),
                    "temperature_c": _opt(st.sampled_from([-10.0, -5.0, 0.0, 3.0, 5.0, 12.0, 25.0, 25.5, 31.0])),
                }
            )
        )
    )
    emotion = draw(
        _opt(
            st.fixed_dictionaries(
                {
                    "label": st.sampled_from([*EMOTIONS, "neutral"]),
                    "confidence": _opt(st.sampled_from([0.0, 0.3, 0.5, 0.8, 0.95])),
                }
            )
        )
    )
    return Context.build(
        now=draw(st.one_of(st.just(now), st.just(now), st.none())),
        timezone=draw(_opt(st.sampled_from(["UTC", "Asia/Seoul", "America/St_Johns"]))),
        weather=weather,
        device=draw(_opt(st.sampled_from(DEVICES))),
        country=draw(_opt(st.sampled_from([*COUNTRIES, "FR"]))),
        language=draw(_opt(st.lists(st.sampled_from([*LANGUAGES, "en-US", "fr"]), min_size=1, max_size=3).map(tuple))),
        visit_count=draw(_opt(st.integers(1, 8))),
        returning=draw(_opt(st.booleans())),
        segments=draw(_opt(st.frozensets(st.sampled_from(SEGMENTS)))),
        emotion=emotion,
        utm=draw(_opt(st.sampled_from([{}, {"source": "news"}, {"source": "mail"}]))),
    )


def matches(condition, ctx) -> bool:
    return condition.evaluate(ctx).value is True


@SETTINGS
@given(related_pairs(), st.lists(contexts(), min_size=1, max_size=15))
def test_a_proven_implication_holds_in_every_context(pair, ctxs):
    a, b = (registry.build(spec) for spec in pair)
    if implies(b, a):
        for ctx in ctxs:
            assert not matches(b, ctx) or matches(a, ctx), (pair, dict(ctx))


@SETTINGS
@given(trees(), st.lists(contexts(), min_size=1, max_size=15))
def test_a_condition_proven_to_never_match_never_matches(spec, ctxs):
    condition = registry.build(spec)
    if never_matches(condition):
        assert not any(matches(condition, ctx) for ctx in ctxs)


def test_the_property_is_not_vacuous():
    """Over generated related pairs, implication is claimed often (and for non-identical pairs)."""
    claimed, different = 0, 0

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(related_pairs())
    def run(pair):
        nonlocal claimed, different
        a, b = (registry.build(spec) for spec in pair)
        if implies(b, a):
            claimed += 1
            different += canonical(a) != canonical(b)

    run()
    assert claimed >= 60 and different >= 30, (claimed, different)


def build(spec):
    return registry.build(spec)


RAIN = {"type": "weather", "conditions": ["rain"]}
EVENING = {"type": "time_of_day", "start": "18:00", "end": "23:00"}
MOBILE = {"type": "device", "devices": ["mobile"]}


@pytest.mark.parametrize(
    ("b", "a", "expected"),
    [
        # the case: "Rainy evening" after "Rainy day"
        ({"type": "all", "conditions": [RAIN, EVENING]}, RAIN, True),
        (RAIN, {"type": "all", "conditions": [RAIN, EVENING]}, False),
        # weather sets and temperature ranges
        ({"type": "weather", "conditions": ["rain"], "min_temperature": 5, "max_temperature": 25}, RAIN, True),
        ({"type": "weather", "conditions": ["rain", "snow"]}, RAIN, False),
        (
            {"type": "weather", "min_temperature": 10, "max_temperature": 20},
            {"type": "weather", "min_temperature": 5},
            True,
        ),
        ({"type": "weather", "min_temperature": 0}, {"type": "weather", "min_temperature": 5}, False),
        # time windows, overnight windows, windows that add up
        ({"type": "time_of_day", "start": "19:00", "end": "21:00"}, EVENING, True),
        (
            {"type": "time_of_day", "start": "23:00", "end": "01:00"},
            {"type": "time_of_day", "start": "22:00", "end": "02:00"},
            True,
        ),
        (
            EVENING,
            {
                "type": "any",
                "conditions": [
                    {"type": "time_of_day", "start": "18:00", "end": "20:00"},
                    {"type": "time_of_day", "start": "20:00", "end": "23:00"},
                ],
            },
            True,
        ),
        (EVENING, {"type": "time_of_day", "start": "18:00", "end": "22:00"}, False),
        # days
        ({"type": "day_of_week", "days": [5]}, {"type": "day_of_week", "days": [5, 6]}, True),
        ({"type": "day_of_week", "days": [5, 6]}, {"type": "day_of_week", "days": [5]}, False),
        # device, negated
        (MOBILE, {"type": "not", "condition": {"type": "device", "devices": ["desktop"]}}, True),
        (
            {"type": "not", "condition": {"type": "device", "devices": ["desktop", "bot"]}},
            {"type": "device", "devices": ["mobile", "tablet"]},
            True,
        ),
        # an unknown device matches neither "mobile" nor "not mobile": "not desktop" does not imply "anything but desktop known"
        ({"type": "not", "condition": MOBILE}, MOBILE, False),
        # countries, languages, visits, segments by identity
        ({"type": "country", "countries": ["KR"]}, {"type": "country", "countries": ["KR", "JP"]}, True),
        ({"type": "language", "languages": ["en-GB"]}, {"type": "language", "languages": ["en"]}, True),
        ({"type": "language", "languages": ["en"]}, {"type": "language", "languages": ["en-GB"]}, False),
        ({"type": "visit_count", "min": 3, "max": 5}, {"type": "visit_count", "min": 2}, True),
        ({"type": "in_segment", "segment": "vip", "name": "VIPs"}, {"type": "in_segment", "segment": "vip"}, True),
        ({"type": "in_segment", "segment": "vip"}, {"type": "in_segment", "segment": "fans"}, False),
        # negated languages, any-preferred languages (not modelled: only itself)
        (
            {"type": "not", "condition": {"type": "language", "languages": ["en"]}},
            {"type": "not", "condition": {"type": "language", "languages": ["en-GB"]}},
            True,
        ),
        (
            {"type": "not", "condition": {"type": "language", "languages": ["en-GB"]}},
            {"type": "not", "condition": {"type": "language", "languages": ["en"]}},
            False,
        ),
        (
            {"type": "language", "languages": ["en-GB"]},
            {"type": "not", "condition": {"type": "language", "languages": ["de"]}},
            True,
        ),
        (
            {"type": "language", "languages": ["en-GB"], "any_preferred": True},
            {"type": "language", "languages": ["en"], "any_preferred": True},
            False,
        ),
        # dates, emotions
        (
            {"type": "date_range", "start": "2026-12-01", "end": "2026-12-24"},
            {"type": "date_range", "start": "2026-11-01"},
            True,
        ),
        (
            {"type": "emotion", "labels": ["joy"], "min_confidence": 0.8},
            {"type": "emotion", "labels": ["joy", "fear"], "min_confidence": 0.5},
            True,
        ),
        (
            {"type": "emotion", "labels": ["joy"], "min_confidence": 0.5},
            {"type": "emotion", "labels": ["joy"], "min_confidence": 0.8},
            False,
        ),
        # not modelled types imply only themselves
        ({"type": "utm", "source": "news"}, {"type": "utm", "source": "news"}, True),
        ({"type": "utm", "source": "news"}, {"type": "utm", "source": "mail"}, False),
    ],
)
def test_known_implications(b, a, expected):
    assert implies(build(b), build(a)) is expected


def test_no_conditions_is_everyone():
    assert implies(build(RAIN), None)  # an earlier variant for everyone wins first
    assert not implies(None, build(RAIN))  # everyone is not a rainy-day audience
    assert implies(None, None)


def test_contradictions_never_match():
    assert never_matches(build({"type": "all", "conditions": [RAIN, {"type": "not", "condition": RAIN}]}))
    assert not never_matches(build(RAIN))


def test_canonical_ignores_order():
    one = build({"type": "all", "conditions": [RAIN, MOBILE]})
    two = build({"type": "all", "conditions": [MOBILE, RAIN]})
    assert canonical(one) == canonical(two)
