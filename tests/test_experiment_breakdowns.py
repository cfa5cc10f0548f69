"""Per-device, per-daypart and per-segment breakdowns of an experiment's review: recorded from the
decision (its token carries the coarse dimensions), folded into `EventBreakdown` (bounded: one row per
value of each dimension, never per combination), analysed with the same statistics as the whole review
(Wilson intervals, the minimum sample before any call) corrected for the number of audiences compared,
and shown on the detail page."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth import get_user_model

from rules.context_builder import Consent, RequestContext
from rules.engine import Context
from sample_site.home.demo import heading, personalized, variant
from variants.aggregation import flush_events
from variants.events import record_event
from variants.experiments import breakdowns, pause_experiment, review, sync_experiments
from variants.models import EventBreakdown, Experiment
from variants.services import personalize_page

REPORT = "/admin/tailor/experiments/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
SEOUL_MORNING = dt.datetime(2026, 11, 30, 9, 0)
SEOUL_EVENING = dt.datetime(2026, 11, 30, 20, 0)
#: every how many impressions of (device, variant) one converts: mobile 5% vs 20%, desktop 10% vs 10%
PERIOD = {("mobile", "A"): 20, ("mobile", "B"): 5, ("desktop", "A"): 10, ("desktop", "B"): 10}


@pytest.fixture
def offer(make_page):
    page = make_page(
        "offer",
        personalized(
            "offer",
            [heading("Our bakery", "offer", "default")],
            [
                variant("offer", "A", [heading("Fresh bread daily", "offer", "a")], []),
                variant("offer", "B", [heading("Free croissant with every coffee", "offer", "b")], []),
            ],
            policy="AB",
        ),
    )
    sync_experiments([page])
    return page, Experiment.objects.get(page=page, slot_name="offer")


def visit(page, *, device: str, now: dt.datetime, segments=None, n: int) -> tuple[str, str]:
    """One visitor through the service functions; returns (variant name, decision token)."""
    facts = {"device": device, "now": now, "timezone": "Asia/Seoul"}
    if segments is not None:
        facts["segments"] = frozenset(segments)
    consent = Consent(personalization=segments is not None, analytics=segments is not None, source="test")
    result = personalize_page(page, RequestContext(Context.build(**facts), consent, visitor_id=f"visitor-{n}"))
    decision = next(d for d in result.decisions if d.slot_name == "offer")
    return decision.variant_name, result.tokens[decision.slot_id]


def run_traffic(page, visitors: int = 1600) -> Counter:
    seen: Counter = Counter()
    for n in range(visitors):
        device = "mobile" if n % 2 else "desktop"
        now = SEOUL_MORNING if n % 4 < 2 else SEOUL_EVENING
        # two thirds allowed personalization and analytics: some in "vip", a few in the thin "rare"
        segments = None if n % 3 == 0 else ({"vip"} if n % 3 == 1 else set())
        if n % 97 == 0:
            segments = {"rare", "vip"}
        name, token = visit(page, device=device, now=now, segments=segments, n=n)
        seen[(device, name)] += 1
        record_event(token, "impression")
        if seen[(device, name)] % PERIOD[(device, name)] == 0:
            record_event(token, "conversion")
    flush_events()
    return seen


@pytest.fixture
def traffic(offer):
    page, experiment = offer
    return page, experiment, run_traffic(page)


def by_value(part) -> dict:
    return {c.value: c for c in part.cells}


def test_each_dimension_is_analysed_per_audience_with_a_correction(traffic):
    page, experiment, seen = traffic
    r = review(experiment, draws=20_000)
    parts = {p.dimension: p for p in breakdowns(r)}
    assert list(parts) == ["device", "daypart", "segment"]

    device = by_value(parts["device"])
    assert set(device) == {"mobile", "desktop"}
    assert parts["device"].comparisons == 2 and parts["device"].confidence == pytest.approx(0.975)
    mobile = device["mobile"].analysis
    assert {a.counts.name: a.counts.impressions for a in mobile.arms} == {
        "A": seen[("mobile", "A")],
        "B": seen[("mobile", "B")],
    }
    assert mobile.winner is not None and mobile.winner.counts.name == "B"
    # Wilson intervals at the corrected level: wider than the 95% ones of the same counts
    b = next(a for a in mobile.arms if a.counts.name == "B")
    assert b.ci_low < b.rate < b.ci_high
    desktop = device["desktop"].analysis
    assert desktop.ready and desktop.winner is None  # 10% against 10%: nothing to call

    assert set(by_value(parts["daypart"])) == {"morning", "evening"}
    # the impressions of each dimension add up to the whole review's
    assert sum(c.analysis.impressions for c in parts["device"].cells) == r.analysis.impressions
    assert sum(c.analysis.impressions for c in parts["daypart"].cells) == r.analysis.impressions


def test_a_thin_segment_gets_no_winner_and_unknown_segments_stay_unknown(traffic):
    page, experiment, seen = traffic
    segments = by_value(next(p for p in breakdowns(review(experiment, draws=4_000)) if p.dimension == "segment"))
    assert {"vip", "rare", "", "?"} <= set(segments)
    rare = segments["rare"].analysis
    assert rare.impressions < 40 and not rare.ready and rare.leader is None and rare.winner is None
    # a visitor in two segments counts in both
    assert segments["vip"].analysis.impressions > segments["rare"].analysis.impressions


def test_breakdown_rows_grow_with_the_sum_of_values_not_their_product(traffic):
    page, experiment, seen = traffic
    rows = EventBreakdown.objects.filter(slot_id=experiment.slot_id)
    values = {(d, v) for d, v in rows.values_list("dimension", "value")}
    # 2 devices + 2 dayparts + 4 segment values, each per variant and kind, in at most a few hours
    assert len(values) == 8
    hours = rows.values("hour").distinct().count()
    assert rows.count() <= len(values) * 2 * 2 * hours


def test_the_detail_page_shows_the_breakdowns_and_warns_about_multiple_comparisons(client, traffic):
    page, experiment, seen = traffic
    client.force_login(get_user_model().objects.get(username="admin"))
    html = client.get(f"{REPORT}{experiment.pk}/").content.decode()
    assert "data-multiple-comparisons" in html and "Bonferroni" in html
    for dimension in ("device", "daypart", "segment"):
        assert f'data-breakdown="{dimension}"' in html
    mobile = html.split('data-value="mobile"', 1)[1].split("</tr>", 1)[0]
    assert "B wins here" in mobile
    desktop = html.split('data-value="desktop"', 1)[1].split("</tr>", 1)[0]
    assert "wins here" not in desktop and "not clearly best" in desktop
    rare = html.split('data-value="rare"', 1)[1].split("</tr>", 1)[0]
    assert "Too little data to tell" in rare
    assert "97.5% Wilson intervals" in html


def test_decisions_made_while_paused_add_nothing_to_the_breakdowns(offer, django_capture_on_commit_callbacks):
    page, experiment = offer
    with django_capture_on_commit_callbacks(execute=True):
        pause_experiment(experiment)
    for n in range(20):
        name, token = visit(page, device="mobile", now=SEOUL_MORNING, n=n)
        assert name == "Default"
        record_event(token, "impression")
    flush_events()
    assert not EventBreakdown.objects.filter(slot_id=experiment.slot_id).exists()


DECIDE = """query ($c: ContextInput) { personalizedPage(urlPath: "/offer/", inSite: true, context: $c) {
  decisions { slot token } } }"""
RECORD = "mutation ($t: String!) { recordEvent(token: $t, kind: IMPRESSION) { ok counted } }"


def test_the_dimensions_travel_from_the_api_through_the_token(offer, gql):
    page, experiment = offer
    context = {"device": "MOBILE", "timezone": "Asia/Seoul", "now": "2026-11-30T20:30:00"}
    for _ in range(3):
        body = gql(DECIDE, {"c": context}, HTTP_USER_AGENT=BROWSER)
        token = next(d["token"] for d in body["data"]["personalizedPage"]["decisions"] if d["slot"] == "offer")
        assert gql(RECORD, {"t": token}, HTTP_USER_AGENT=BROWSER)["data"]["recordEvent"]["counted"]
    flush_events()
    totals: Counter = Counter()
    for d, v, n in EventBreakdown.objects.filter(slot_id=experiment.slot_id).values_list("dimension", "value", "count"):
        totals[(d, v)] += n
    assert totals[("device", "mobile")] == 3 and totals[("daypart", "evening")] == 3
    # without consent, segments are not known (and never guessed)
    assert totals[("segment", "?")] == 3


def test_segments_are_kept_for_the_breakdown_only_with_analytics_consent(offer):
    page, experiment = offer
    for n, analytics in enumerate((False, True)):
        consent = Consent(personalization=True, analytics=analytics, source="test")
        facts = {"device": "mobile", "segments": frozenset({"vip"})}
        result = personalize_page(page, RequestContext(Context.build(**facts), consent, visitor_id=f"v{n}"))
        record_event(next(t for s, t in result.tokens.items() if s == experiment.slot_id), "impression")
    flush_events()
    segments = dict(
        EventBreakdown.objects.filter(slot_id=experiment.slot_id, dimension="segment").values_list("value", "count")
    )
    assert segments == {"?": 1, "vip": 1}
