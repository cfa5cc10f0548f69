"""Segments: rule-defined snippets editors manage, discovered ones proposed by clustering, and
decisions that follow segment changes without SQL per request."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rules.models import RulesVersion, Segment
from rules.profiles import DatabaseProfileStore, Profile
from tests.test_conditions_api import CONSENT, EVENING_SEOUL, QUERY

READING = {**EVENING_SEOUL, "device": "MOBILE", "consent": CONSENT}


def reading(gql, ctx=READING, **variables) -> dict:
    result = gql(QUERY, {"path": "/", "ctx": ctx, **variables})
    assert "errors" not in result, result
    return next(d for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == "reading")


def test_a_segment_change_reaches_decisions_immediately_in_this_process(
    home_page, gql, django_capture_on_commit_callbacks
):
    assert reading(gql)["variantName"] == "Evening reading list"

    segment = Segment.objects.get(slug="mobile-evening-readers")
    raw = list(segment.conditions.raw_data)
    raw[0]["value"]["devices"] = ["tablet"]
    segment.conditions = raw
    with django_capture_on_commit_callbacks(execute=True):
        segment.save()

    decision = reading(gql)
    assert decision["variantName"] == "Default"
    assert "Not in segment “Mobile evening readers”" in decision["reasons"][1]


def test_other_processes_notice_a_segment_change_within_the_refresh_interval(home_page, gql):
    """Another process saved the segment: it bumped the shared version; ours polls it."""
    from freezegun import freeze_time

    with freeze_time("2026-11-30T11:00:00Z") as clock:
        assert reading(gql)["variantName"] == "Evening reading list"
        # what the other process wrote: the row and the version, not our in-process caches
        Segment.objects.filter(slug="mobile-evening-readers").update(enabled=False)
        RulesVersion.objects.update_or_create(pk=1, defaults={"version": 999})

        clock.tick(2)  # STATS_REFRESH_SECONDS is 3: still within the interval, still cached
        assert reading(gql)["variantName"] == "Evening reading list"
        clock.tick(2)
        assert reading(gql)["variantName"] == "Default"


def test_deciding_with_segments_runs_no_sql_once_warm(home_page):
    from rules.context_builder import build_request_context
    from variants.services import personalize_page

    class Request:
        META: dict = {}
        GET: dict = {}

    data = {
        "timezone": "Asia/Seoul",
        "now": datetime(2026, 11, 30, 20, tzinfo=UTC) + timedelta(hours=-9),
        "device": "mobile",
        "consent": {"personalization": True, "analytics": False},
    }
    personalize_page(home_page, build_request_context(Request(), data))

    with CaptureQueriesContext(connection) as queries:
        result = personalize_page(home_page, build_request_context(Request(), data))

    assert len(queries) == 0
    assert result.context["segments"] == frozenset({"mobile-evening-readers"})


def test_a_segment_cannot_contain_a_segment_or_invalid_conditions(db):
    nested = Segment(
        name="Nested",
        slug="nested",
        conditions=json.dumps([{"type": "in_segment", "value": {"negate": False, "segment": "x"}, "id": "a"}]),
    )
    broken = Segment(
        name="Broken",
        slug="broken",
        conditions=json.dumps(
            [{"type": "time_of_day", "value": {"negate": False, "start": "10:00:00", "end": "10:00:00"}, "id": "b"}]
        ),
    )
    empty = Segment(name="Empty", slug="empty")

    for segment, message in [
        (nested, "cannot contain another segment"),
        (broken, "start and end must differ"),
        (empty, "needs at least one condition"),
    ]:
        with pytest.raises(Exception) as exc:
            segment.full_clean()
        assert message in str(exc.value)


def test_editors_manage_segments_in_the_snippet_admin(home_page, admin_client):
    listing = admin_client.get("/admin/snippets/tailor_rules/segment/")
    assert listing.status_code == 200
    assert "Mobile evening readers" in listing.content.decode()

    segment = Segment.objects.get(slug="mobile-evening-readers")
    edit = admin_client.get(f"/admin/snippets/tailor_rules/segment/edit/{segment.pk}/")
    assert edit.status_code == 200
    assert "Time of day" in edit.content.decode()


# --- discovered segments ----------------------------------------------------------------------


def synthetic_profiles(n_per_group: int = 40, seed: int = 7) -> list[Profile]:
    rng = random.Random(seed)
    groups = [
        ("mobile", "evening", "offers", (3, 6)),
        ("desktop", "morning", "blog", (1, 1)),
        ("tablet", "afternoon", "docs", (2, 2)),
    ]
    profiles = []
    for g, (device, part, section, visits) in enumerate(groups):
        for i in range(n_per_group):
            p = Profile(f"visitor-{g}-{i:03d}", consent_personalization=True)
            p.visit_count = rng.randint(*visits)
            p.page_views = 10
            p.devices = {device: 9, "desktop" if device != "desktop" else "mobile": 1}
            p.dayparts = {part: 8, "night": 2}
            p.sections = {section: 7, "home": 3}
            profiles.append(p)
    return profiles


def test_discovered_segments_are_proposed_with_plain_language_summaries(db):
    store = DatabaseProfileStore()
    for p in synthetic_profiles():
        store.save(p)

    call_command("tailor_discover_segments", clusters=3, min_profiles=10, stdout=open("/dev/null", "w"))

    proposals = Segment.objects.filter(kind=Segment.KIND_DISCOVERED)
    summaries = sorted(s.summary for s in proposals)
    assert summaries == [
        "desktop, mornings, first visit, reads Blog",
        "mobile, evenings, 3–6 visits, reads Offers",
        "tablet, afternoons, returning, reads Docs",
    ]
    assert not any(s.enabled for s in proposals)
    assert sorted(s.size for s in proposals) == [40, 40, 40]


def test_an_enabled_discovered_segment_matches_visitors_who_behave_like_it(db, gql, make_page):
    from sample_site.home.demo import condition, heading, personalized, variant

    store = DatabaseProfileStore()
    for p in synthetic_profiles():
        store.save(p)
    call_command("tailor_discover_segments", clusters=3, min_profiles=10, stdout=open("/dev/null", "w"))
    offers = Segment.objects.get(summary__startswith="mobile, evenings")
    offers.name, offers.enabled = "Evening deal hunters", True
    offers.save()
    make_page(
        "deals",
        personalized(
            "hero",
            default=[heading("Hello", "deals")],
            variants=[
                variant(
                    "deals",
                    "Deals",
                    [heading("Tonight's deals", "deals", "v")],
                    [condition("in_segment", {"segment": offers.slug}, "deals")],
                )
            ],
        ),
    )
    hunter = Profile(
        "hunter-visitor-0001",
        visit_count=4,
        page_views=12,
        consent_personalization=True,
        devices={"mobile": 12},
        dayparts={"evening": 10, "night": 2},
        sections={"offers": 9, "home": 3},
        last_seen=datetime.now(UTC).isoformat(),
    )
    reader = Profile(
        "reader-visitor-0001",
        visit_count=1,
        page_views=5,
        consent_personalization=True,
        devices={"desktop": 5},
        dayparts={"morning": 5},
        sections={"blog": 5},
        last_seen=datetime.now(UTC).isoformat(),
    )
    store.save(hunter)
    store.save(reader)
    from variants.tokens import sign_visitor

    def decision(profile):
        result = gql(
            QUERY, {"path": "/deals/", "ctx": {"consent": CONSENT}, "visitor": sign_visitor(profile.visitor_id)}
        )
        return result["data"]["personalizedPage"]["decisions"][0]

    assert decision(hunter)["variantName"] == "Deals"
    assert decision(hunter)["reasons"] == ["In segment “Evening deal hunters”"]
    assert decision(reader)["variantName"] == "Default"


def test_discovery_refuses_too_few_profiles(db):
    with pytest.raises(CommandError, match="Only 0 consented profiles"):
        call_command("tailor_discover_segments", stdout=open("/dev/null", "w"))
