"""Conditions remember their outcomes by the facts those depend on (`conditions.outcome_by`): a
remembered outcome must always equal what a fresh condition answers, in every language."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import Context, i18n, registry

SPECS = [
    {"type": "time_of_day", "start": "22:00", "end": "02:00"},
    {"type": "day_of_week", "days": [5, 6]},
    {"type": "device", "devices": ["mobile", "tablet"]},
    {"type": "country", "countries": ["KR", "JP"]},
    {"type": "city", "cities": ["Seoul", "Busan"]},
    {"type": "weather", "conditions": ["rain", "drizzle"], "min_temperature": 5},
    {"type": "language", "languages": ["ko"], "any_preferred": True},
]

contexts = st.builds(
    lambda minutes, tz, device, country, city, sky, temp, language: Context.build(
        now=datetime(2026, 12, 2, tzinfo=UTC) + timedelta(minutes=minutes),
        timezone=tz,
        device=device,
        country=country,
        city=city,
        weather=None if sky is None and temp is None else {"condition": sky, "temperature_c": temp},
        language=language,
    ),
    st.integers(0, 7 * 1440),
    st.sampled_from([None, "Asia/Seoul", "America/New_York", "UTC"]),
    st.sampled_from([None, "mobile", "desktop", "tablet", "bot", "toaster"]),
    st.sampled_from([None, "KR", "jp", "XX", "South Korea"]),
    st.sampled_from([None, "Seoul", "seoul-si", "Tokyo", "서울"]),
    st.sampled_from([None, "rain", "clear", "drizzle"]),
    st.sampled_from([None, 3.5, 12, 30.25]),
    st.sampled_from([None, "ko-KR", ("en", "ko"), ("fr",)]),
)

remembered = [registry.build(spec) for spec in SPECS]


@settings(max_examples=300, deadline=None)
@given(contexts)
def test_a_remembered_outcome_equals_a_fresh_evaluation(ctx):
    for condition, spec in zip(remembered, SPECS, strict=True):
        assert condition.evaluate(ctx) == registry.build(spec).evaluate(ctx)


def test_remembered_outcomes_follow_the_installed_translations():
    ctx = Context.build(device="desktop")
    condition = registry.build({"type": "device", "devices": ["mobile"]})
    # whatever is installed now (Django's gettext, when the suite runs with Django) comes back after
    installed = (i18n._translator, i18n._plural_translator, i18n._context_translator, i18n._language)
    i18n.set_translator(None)
    try:
        english = condition.evaluate(ctx).reason
        i18n.set_translator(lambda message: "«" + message + "»")
        translated = condition.evaluate(ctx).reason
        assert translated != english and translated.startswith("«")
        i18n.set_translator(None)
        assert condition.evaluate(ctx).reason == english
    finally:
        i18n.set_translator(*installed)
