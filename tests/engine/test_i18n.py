"""Every word the engine shows goes through the translation hook: a pseudo-locale test.

With a "pseudo-locale" installed (`pseudo`: every letter of a marked string turned into its
full-width twin, placeholders kept), a reason, description or validation message that still holds
an ASCII word holds English nobody can translate. The only ASCII words allowed are the values the
test itself inserted (`DATA`: a timezone, language tags, a domain, a trait's key...).

Covered: every built-in condition type, matched, not matched and unknown (the test fails when a
new built-in type has no case), the conditions' validation messages, the decision reasons of every
policy, and the wording helpers of `rules.engine.i18n`.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from rules.engine import ConditionError, Context, i18n, registry
from rules.engine.campaign import QUERY_OPERATORS
from rules.engine.journey import JOURNEY_METRICS, StageResult, simulated_summary
from rules.engine.prediction import Likelihood, NextSection
from rules.engine.traits import TRAIT_OPERATORS
from rules.engine.vocabulary import DEVICE_CLASSES, EMOTION_LABELS, WEATHER_CONDITIONS
from tests.pseudo_locale import pseudo, unmarked_words
from variants.engine.decide import Slot, Variant, decide

# --- the pseudo-locale ---------------------------------------------------------------------------

#: the values the cases below insert into reasons (data, not wording)
DATA = frozenset(
    {
        "Asia",
        "Seoul",
        "ko",
        "KR",
        "en",
        "GB",
        "JP",
        "utm_source",
        "utm_medium",
        "nl",
        "xq",
        "naver",
        "com",
        "daum",
        "net",
        "promo",
        "zz",
        "plan",
        "pro",
        "age",
        "vip",
        "segment_vip",
        # country names: pycountry's own catalogues translate them (see `geo`)
        "South",
        "Korea",
        "Japan",
        "xqz",
        "ja",
        "de",
        # journeys: section names and an editor's stage names
        "shop",
        "pricing",
        "Decide",
        "Consider",
    }
)


@pytest.fixture
def pseudo_locale(monkeypatch):
    """The pseudo-locale as the engine's translator, for one test (the previous one comes back after)."""
    for name in ("_translator", "_plural_translator", "_context_translator", "_language"):
        monkeypatch.setattr(i18n, name, getattr(i18n, name))
    i18n.set_translator(pseudo)


def assert_translated(text: str, data: frozenset[str] = DATA) -> None:
    assert text, "empty text"
    assert unmarked_words(text, data) == [], f"unmarked English in {text!r}"


# --- contexts ------------------------------------------------------------------------------------

UNKNOWN = Context()


def seoul(local: str, **facts) -> Context:
    """A visitor in Seoul at the wall-clock time `local` ('2026-11-30T20:30', a Monday)."""
    return Context.build(now=datetime.fromisoformat(local), timezone="Asia/Seoul", **facts)


MONDAY_EVENING = "2026-11-30T20:30"
SATURDAY_NOON = "2026-12-05T12:00"

#: condition type -> [(spec, contexts)]; together a type's contexts must match, fail and be unknown
CASES: dict[str, list[tuple[dict, list[Context]]]] = {
    "time_of_day": [
        (
            {"start": "18:00", "end": "23:00"},
            [seoul(MONDAY_EVENING), seoul(SATURDAY_NOON), UNKNOWN, Context.build(now=datetime(2026, 1, 1))],
        ),
        ({"start": "22:00", "end": "02:00"}, [seoul(MONDAY_EVENING)]),
    ],
    "day_of_week": [
        ({"days": ["mon", "fri"]}, [seoul(MONDAY_EVENING), seoul(SATURDAY_NOON), UNKNOWN]),
        ({"days": [0, 1, 2, 3, 4]}, [seoul(MONDAY_EVENING)]),
        ({"days": [5, 6]}, [seoul(SATURDAY_NOON)]),
        ({"days": list(range(7))}, [seoul(SATURDAY_NOON)]),
        ({"days": ["wed"]}, [seoul(SATURDAY_NOON)]),
    ],
    "date_range": [
        ({"start": "2026-11-01", "end": "2026-11-30"}, [seoul(MONDAY_EVENING), seoul(SATURDAY_NOON), UNKNOWN]),
        ({"start": "2026-12-01"}, [seoul(SATURDAY_NOON)]),
        ({"end": "2026-12-01"}, [seoul(SATURDAY_NOON)]),
    ],
    "weather": [
        (
            {"conditions": ["rain", "snow"], "min_temperature": 0, "max_temperature": 15},
            [
                Context.build(weather={"condition": "rain", "temperature_c": 12}, city="서울"),
                Context.build(weather={"condition": "clear", "temperature_c": 12}, city="서울"),
                Context.build(weather={"condition": None, "temperature_c": 12}),
                Context.build(weather={"condition": "rain", "temperature_c": None}),
                UNKNOWN,
            ],
        ),
        ({"conditions": ["fog"]}, [Context.build(weather={"condition": "thunderstorm"})]),
        ({"min_temperature": 25}, [Context.build(weather={"temperature_c": 12.5})]),
        ({"max_temperature": 5}, [Context.build(weather={"temperature_c": 12.5})]),
    ],
    "emotion": [
        (
            {"labels": ["joy", "surprise"], "min_confidence": 0.6},
            [
                Context.build(emotion={"label": "joy", "confidence": 0.9}),
                Context.build(emotion={"label": "joy", "confidence": 0.3}),
                Context.build(emotion={"label": "anger", "confidence": 0.9}),
                Context.build(emotion={"label": "joy"}),
                UNKNOWN,
            ],
        ),
    ],
    "in_segment": [
        (
            {"segment": "vip", "name": "단골"},
            [Context.build(segments=frozenset({"vip"})), Context.build(segments=frozenset()), UNKNOWN],
        ),
        ({"segment": "segment_vip"}, [Context.build(segments=frozenset())]),
    ],
    "device": [
        ({"devices": ["mobile", "tablet"]}, [Context.build(device="mobile"), Context.build(device="bot"), UNKNOWN]),
    ],
    "country": [
        ({"countries": ["KR"]}, [Context.build(country="KR"), Context.build(country="JP"), UNKNOWN]),
    ],
    "city": [
        (
            {"cities": ["서울"]},
            [Context.build(city="서울"), Context.build(city="서울시"), Context.build(city="부산"), UNKNOWN],
        ),
    ],
    "utm": [
        (
            {"source": "nl", "medium": "xq*"},
            [
                Context.build(utm={"source": "nl", "medium": "xqz"}),
                Context.build(utm={"source": "zz"}),
                Context.build(utm={}),
                UNKNOWN,
            ],
        ),
    ],
    "referrer": [
        (
            {"pattern": "naver.com"},
            [
                Context.build(referrer="https://m.naver.com/"),
                Context.build(referrer="https://daum.net/"),
                Context.build(referrer=""),
                Context.build(referrer="?"),
                UNKNOWN,
            ],
        ),
        ({"pattern": "*.naver.com"}, [Context.build(referrer="daum.net")]),
    ],
    "query_param": [
        (
            {"name": "promo", "value": "zz"},
            [
                Context.build(query={"promo": "zz"}),
                Context.build(query={"promo": "xq"}),
                Context.build(query={}),
                UNKNOWN,
            ],
        ),
        ({"name": "promo"}, [Context.build(query={"promo": ""})]),
        ({"name": "promo", "operator": "contains", "value": "zz"}, [Context.build(query={"promo": "xq"})]),
    ],
    "visit_count": [
        ({"min": 3}, [Context.build(visit_count=5), Context.build(visit_count=1), UNKNOWN]),
        ({"max": 1}, [Context.build(visit_count=2)]),
        ({"min": 2, "max": 4}, [Context.build(visit_count=21)]),
        ({"min": 3, "max": 3}, [Context.build(visit_count=2), Context.build(visit_count=3)]),
        ({"max": 3}, [Context.build(visit_count=12)]),
    ],
    "journey": [
        (
            {"metric": "product_pages", "min": 3},
            [Context.build(journey=simulated_summary(5, 4.0)), Context.build(journey=simulated_summary(1)), UNKNOWN],
        ),
        ({"metric": "minutes", "max": 2}, [Context.build(journey=simulated_summary(3, 8.5))]),
        ({"metric": "section_pages", "section": "shop", "min": 1}, [Context.build(journey=simulated_summary(2))]),
        ({"metric": "conversions", "min": 1, "max": 3}, [Context.build(journey=simulated_summary(2, 1, 1))]),
    ],
    "journey_stage": [
        (
            {"stage": "decide", "name": "Decide"},
            [
                Context.build(journey_stage=StageResult("decide", "Decide", 3, "Decide: xqz")),
                Context.build(journey_stage=StageResult("consider", "Consider", 2, "Consider: xqz")),
                Context.build(journey_stage=StageResult(None, None, None, "xqz")),
                UNKNOWN,
            ],
        ),
    ],
    "likely_to_convert": [
        (
            {"threshold": 0.5},
            [
                Context.build(conversion_likelihood=Likelihood(0.8, ("xqz",))),
                Context.build(conversion_likelihood=Likelihood(0.1, ())),
                UNKNOWN,
            ],
        ),
    ],
    "likely_next_section": [
        (
            {"section": "pricing", "min_probability": 0.3},
            [
                Context.build(next_section=NextSection("shop", (("pricing", 0.6), ("", 0.4)))),
                Context.build(next_section=NextSection("shop", (("", 0.9), ("pricing", 0.1)))),
                UNKNOWN,
            ],
        ),
    ],
    "returning_visitor": [
        ({"returning": True}, [Context.build(returning=True), Context.build(returning=False), UNKNOWN]),
        ({"returning": False}, [Context.build(returning=True), Context.build(returning=False)]),
    ],
    "language": [
        ({"languages": "ko"}, [Context.build(language=("ko-KR",)), Context.build(language=("en-GB", "ko")), UNKNOWN]),
        (
            {"languages": "ko, ja", "any_preferred": True},
            [Context.build(language=("en-GB", "ko")), Context.build(language=("en", "en-GB", "de", "fr"))],
        ),
    ],
    "trait": [
        (
            {"key": "plan", "operator": "equals", "value": "pro"},
            [
                Context.build(traits={"plan": "pro"}),
                Context.build(traits={"plan": "zz"}),
                Context.build(traits={}),
                UNKNOWN,
            ],
        ),
        ({"key": "plan", "operator": "not_equals", "value": "pro"}, [Context.build(traits={"plan": "pro"})]),
        ({"key": "plan", "operator": "contains", "value": "pro"}, [Context.build(traits={"plan": "zz"})]),
        ({"key": "plan", "operator": "equals", "value": True}, [Context.build(traits={"plan": True})]),
        ({"key": "plan", "operator": "exists"}, [Context.build(traits={}), Context.build(traits={"plan": 1})]),
        ({"key": "age", "operator": "gte", "value": 18}, [Context.build(traits={"age": 12})]),
        ({"key": "age", "operator": "lt", "value": 18}, [Context.build(traits={"age": "zz"})]),
    ],
    "all": [
        (
            {
                "type": "all",
                "conditions": [{"type": "device", "devices": ["mobile"]}, {"type": "visit_count", "min": 2}],
            },
            [
                Context.build(device="mobile", visit_count=3),
                Context.build(device="desktop", visit_count=3),
                Context.build(device="mobile"),
            ],
        ),
    ],
    "any": [
        (
            {
                "type": "any",
                "conditions": [{"type": "device", "devices": ["mobile"]}, {"type": "visit_count", "min": 2}],
            },
            [
                Context.build(device="desktop", visit_count=3),
                Context.build(device="desktop", visit_count=1),
                Context.build(device="desktop"),
            ],
        ),
    ],
    "not": [
        (
            {"type": "not", "condition": {"type": "device", "devices": ["mobile"]}},
            [Context.build(device="desktop"), Context.build(device="mobile"), UNKNOWN],
        ),
    ],
}


def built_in_types() -> set[str]:
    """The condition types Tailor ships (a site's own, added by a hook in the Django tests, are not ours)."""
    return {cls.type for cls in registry if cls.__module__.startswith("rules.engine.")}


def spec_of(type_name: str, spec: dict) -> dict:
    return spec if "type" in spec else {"type": type_name, **spec}


def case_ids():
    for type_name, cases in CASES.items():
        for i, (spec, contexts) in enumerate(cases):
            for j, ctx in enumerate(contexts):
                yield pytest.param(spec_of(type_name, spec), ctx, id=f"{type_name}-{i}-{j}")


def test_every_built_in_condition_type_has_cases_that_match_fail_and_are_unknown():
    assert set(CASES) == built_in_types()
    for type_name, cases in CASES.items():
        outcomes = {registry.build(spec_of(type_name, spec)).evaluate(ctx).value for spec, cxs in cases for ctx in cxs}
        assert outcomes == {True, False, None}, type_name


@pytest.mark.parametrize(("spec", "ctx"), list(case_ids()))
def test_reasons_and_descriptions_are_all_marked_for_translation(pseudo_locale, spec, ctx):
    condition = registry.build(spec)
    assert_translated(condition.describe())
    assert_translated(condition.evaluate(ctx).reason)


#: specs the engine refuses, each with the message an editor reads at the field
INVALID = [
    {"type": "nope"},
    {"type": "time_of_day", "start": "25:00", "end": "08:00"},
    {"type": "time_of_day", "start": "08:00", "end": "08:00"},
    {"type": "day_of_week", "days": []},
    {"type": "day_of_week", "days": ["someday"]},
    {"type": "day_of_week", "days": {"mon": 1}},
    {"type": "date_range"},
    {"type": "date_range", "start": "2026-12-31", "end": "2026-01-01"},
    {"type": "date_range", "start": "31/12/2026"},
    {"type": "weather"},
    {"type": "weather", "conditions": ["hail"]},
    {"type": "weather", "conditions": 7},
    {"type": "weather", "conditions": ["rain"], "min_temperature": 10, "max_temperature": 0},
    {"type": "weather", "min_temperature": 100},
    {"type": "weather", "min_temperature": "warm"},
    {"type": "emotion", "labels": ["joy"], "min_confidence": 2},
    {"type": "emotion", "labels": [1]},
    {"type": "in_segment"},
    {"type": "in_segment", "segment": "no spaces"},
    {"type": "utm"},
    {"type": "utm", "source": "n*l"},
    {"type": "utm", "source": 7},
    {"type": "utm", "source": "x" * 201},
    {"type": "referrer"},
    {"type": "referrer", "pattern": "naver com"},
    {"type": "referrer", "pattern": "naver"},
    {"type": "referrer", "pattern": "*.na ver"},
    {"type": "query_param"},
    {"type": "query_param", "name": "promo", "operator": "like", "value": "zz"},
    {"type": "query_param", "name": "promo", "operator": "equals"},
    {"type": "query_param", "name": "promo", "operator": "contains"},
    {"type": "visit_count"},
    {"type": "journey", "metric": "bogus", "min": 1},
    {"type": "journey", "metric": "pages"},
    {"type": "journey", "metric": "section_pages", "min": 1},
    {"type": "journey_stage"},
    {"type": "likely_to_convert", "threshold": 2},
    {"type": "likely_next_section"},
    {"type": "visit_count", "min": 4, "max": 2},
    {"type": "visit_count", "min": 1.5},
    {"type": "returning_visitor", "returning": "maybe"},
    {"type": "language", "languages": "123"},
    {"type": "language", "languages": ["ko" * 20]},
    {"type": "language", "languages": ["ko"] * 0 + [str(i) for i in range(0)]},
    {"type": "trait"},
    {"type": "trait", "key": "p lan", "value": "pro"},
    {"type": "trait", "key": "plan", "operator": "like", "value": "pro"},
    {"type": "trait", "key": "plan"},
    {"type": "trait", "key": "plan", "operator": "contains", "value": True},
    {"type": "trait", "key": "plan", "value": {"a": 1}},
    {"type": "all", "conditions": []},
    {"type": "all", "conditions": "device"},
    {"type": "not"},
    {"type": "any", "conditions": [{"type": "device", "devices": ["mobile"]}] * 51},
]


#: what a spec must spell as it is, listed in messages about specs ("choose from clear, clouds, ...")
CODES = frozenset(
    {*WEATHER_CONDITIONS, *EMOTION_LABELS, *DEVICE_CLASSES, *QUERY_OPERATORS, *TRAIT_OPERATORS, *JOURNEY_METRICS}
    | {"int", "dict"}
)


@pytest.mark.parametrize("spec", INVALID, ids=lambda spec: spec["type"])
def test_validation_messages_are_marked_for_translation(pseudo_locale, spec):
    with pytest.raises(ConditionError) as caught:
        registry.build(spec)
    # Quoted values the editor typed come back as they were; the rest is wording.
    message = re.sub(r"'[^']*'", "", caught.value.message)
    assert_translated(message, DATA | CODES | {cls.type for cls in registry})


# --- decisions -----------------------------------------------------------------------------------


def variant(variant_id: str, name: str, spec: dict | None = None) -> Variant:
    return Variant(variant_id, name, registry.build(spec) if spec else None)


MOBILE = {"type": "device", "devices": ["mobile"]}
EVENING = {"type": "time_of_day", "start": "18:00", "end": "23:00"}


def decisions() -> list:
    """A decision of every policy and every kind of reason."""
    phone = seoul(MONDAY_EVENING, device="mobile", segments=frozenset({"vip"}))
    desktop = seoul(SATURDAY_NOON, device="desktop")
    three = (variant("a", "저녁", EVENING), variant("b", "모바일", MOBILE), variant("c", "모두"))
    learning = {"split_by": ["segment", "device", "daypart", "weekday"]}

    def slot(policy: str, variants=three, **options) -> Slot:
        return Slot("s", "hero", variants, policy, options)

    made = [
        decide(slot("RULES"), phone),
        decide(slot("RULES", three[:2]), desktop),
        decide(slot("RULES", ()), phone),
        decide(slot("RULES", three[2:]), phone),
        decide(slot("AB"), phone, unit="v1"),
        decide(slot("AB", three[:2]), phone, unit="v1"),
        decide(slot("BANDIT", algorithm="thompson"), phone, unit="v1"),
        decide(slot("BANDIT", algorithm="ucb1"), phone, allocation={"a": 1, "b": 0, "c": 0}),
        decide(slot("CONTEXTUAL", **learning), phone, unit="v1", bucket="segment=vip"),
        decide(slot("CONTEXTUAL", **learning), phone, unit="v1"),
        decide(slot("CONTEXTUAL", **learning), desktop, unit="v1", bucket="device=desktop"),
        decide(slot("CONTEXTUAL", **learning), desktop, unit="v1", bucket="daypart=afternoon"),
        decide(slot("CONTEXTUAL", **learning), desktop, unit="v1", bucket="weekday=weekend"),
        decide(slot("CONTEXTUAL", split_by=["segment"]), seoul(MONDAY_EVENING, segments=frozenset()), unit="v1"),
    ]
    # Best so far, and exploring an arm that is not the best, by each algorithm.
    for algorithm in ("thompson", "top_two", "ucb1", "epsilon_greedy"):
        allocation = {"a": 0.5, "b": 0.3, "c": 0.2}
        made += [
            decide(slot("BANDIT", algorithm=algorithm), phone, allocation=allocation, unit=f"v{i}") for i in range(12)
        ]
    return made


def test_decision_reasons_of_every_policy_are_marked_for_translation(pseudo_locale):
    made = decisions()
    assert {d.policy for d in made} == {"DEFAULT", "RULES", "AB", "BANDIT", "CONTEXTUAL"}
    for d in made:
        for reason in d.reasons:
            assert_translated(reason)
    assert_translated(made[1].variant_name)  # the default content's name


def test_the_bandit_reasons_all_appear():
    """The decisions above include every kind of reason (so the test above checks them all)."""
    reasons = [r for d in decisions() for r in d.reasons]
    for start in (
        "Evening",
        "No variant matched",
        "The slot has no variants",
        "A/B split:",
        "The only matching variant",
        "Everyone (no conditions)",
        "Exploring:",
        "Best so far:",
        "Audience: segment vip",
        "Audience: all visitors (",
        "Audience: device desktop",
        "Audience: daypart afternoon",
        "Audience: weekday weekend",
    ):
        assert any(r.startswith(start) for r in reasons), start
    assert any("(no results yet, Thompson sampling)" in r for r in reasons)
    for method in ("Thompson sampling", "top-two Thompson sampling", "UCB1", "ε-greedy"):
        assert any(r.startswith("Exploring:") and r.endswith(f" share ({method})") for r in reasons), method
        assert any(r.startswith("Best so far:") and r.endswith(f" share ({method})") for r in reasons), method
    assert "Audience: all visitors (segment (none): still learning)" in reasons


# --- the wording helpers -------------------------------------------------------------------------


def test_helpers_keep_their_english_without_a_translator():
    assert [i18n.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "101st",
        "111th",
        "112th",
    ]
    assert [i18n.join_or(list("abc")[:n]) for n in range(4)] == ["", "a", "a or b", "a, b or c"]
    assert i18n.join_or(list("abcdefgh")) == "a, b, c, d, e or 3 more"
    assert i18n.join_or(list("abcdef")) == "a, b, c, d, e or 1 more"
    assert i18n.join_and(list("abc")) == "a, b and c"
    assert i18n.chain_or(["x", "y", "z"]) == "x or y or z"
    assert i18n.chain_and(["x", "y", "z"]) == "x and y and z"
    assert i18n.quoted("단골") == "“단골”"


def test_helpers_word_lists_through_the_translator(pseudo_locale):
    assert i18n.ordinal(3) == "3ｒｄ"
    assert i18n.join_or(["a", "b", "c"]) == "a, b ｏｒ c"
    assert i18n.join_or(list("abcdefgh")) == "a, b, c, d, e ｏｒ 3 ｍｏｒｅ"
    assert i18n.join_and(["a", "b"]) == "a ａｎｄ b"
    assert i18n.ngettext("%(n)d day", "%(n)d days", 2) % {"n": 2} == "2 ｄａｙｓ"
    assert i18n.pgettext("weather", "clear") == "ｃｌｅａｒ"


def test_a_translator_gets_the_context_and_the_count_when_it_takes_them(monkeypatch):
    for name in ("_translator", "_plural_translator", "_context_translator", "_language"):
        monkeypatch.setattr(i18n, name, getattr(i18n, name))
    i18n.set_translator(lambda s: f"[{s}]", lambda s, p, n: f"[{s}|{p}|{n}]", lambda context, s: f"[{context}:{s}]")
    assert i18n.ngettext("a", "b", 3) == "[a|b|3]"
    assert i18n.pgettext("weather", "clear") == "[weather:clear]"
    i18n.set_translator(None)
    assert (i18n.gettext("a"), i18n.ngettext("a", "b", 2), i18n.pgettext("c", "d")) == ("a", "b", "d")


def test_remembering_translates_each_string_once_per_language(monkeypatch):
    for name in ("_translator", "_plural_translator", "_context_translator", "_language"):
        monkeypatch.setattr(i18n, name, getattr(i18n, name))
    calls, language = [], ["ko"]

    def translate(message):
        calls.append(message)
        return f"{language[0]}:{message}"

    i18n.set_translator(translate, language=lambda: language[0])
    with i18n.remembering():
        assert [i18n.gettext("Rainy") for _ in range(3)] == ["ko:Rainy"] * 3
        with i18n.remembering():  # nested: the same table
            assert i18n.pgettext("weather", "rain") == "ko:rain"
    with i18n.remembering():
        assert i18n.gettext("Rainy") == "ko:Rainy"
    assert calls == ["Rainy", "rain"]

    language[0] = "en"
    with i18n.remembering():
        assert i18n.gettext("Rainy") == "en:Rainy"
    assert i18n.gettext("Rainy") == "en:Rainy"  # outside a block: asked every time
    assert calls == ["Rainy", "rain", "Rainy", "Rainy"]

    i18n.clear_memo()
    language[0] = "ko"
    with i18n.remembering():
        i18n.gettext("Rainy")
    assert calls[-1] == "Rainy" and len(calls) == 5


def test_decide_words_its_reasons_in_the_language_active_when_it_is_called(monkeypatch):
    for name in ("_translator", "_plural_translator", "_context_translator", "_language"):
        monkeypatch.setattr(i18n, name, getattr(i18n, name))
    language = ["pseudo"]
    i18n.set_translator(lambda m: pseudo(m) if language[0] == "pseudo" else m, language=lambda: language[0])
    slot = Slot("s", "hero", (variant("a", "저녁", EVENING),), "RULES")
    ctx = seoul(MONDAY_EVENING)
    assert_translated(decide(slot, ctx).reasons[0])
    language[0] = "en"
    assert decide(slot, ctx).reasons == ("Evening 18:00–23:00 (Asia/Seoul)",)
