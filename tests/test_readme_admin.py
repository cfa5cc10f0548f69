"""README promises about the Wagtail admin: the demo's *Personalized region*, the *Segments* menu,
the simulator for place and campaign, and segment changes reaching other processes (with Redis too)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from sample_site.home.demo import condition, heading, personalized, variant

SIMULATOR = "/admin/tailor/simulator/"
SEGMENTS = "/admin/snippets/tailor_rules/segment/"


@pytest.fixture
def editor(client, home_page):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def test_the_demo_home_page_editor_shows_its_personalized_region(editor, home_page):
    html = editor.get(f"/admin/pages/{home_page.pk}/edit/").content.decode()

    assert "Personalized region" in html
    assert "Good morning! Start your day with us" in html


def test_segments_have_their_own_admin_menu_item(editor):
    html = editor.get("/admin/").content.decode()

    assert "Segments" in html and SEGMENTS in html
    assert "Mobile evening readers" in editor.get(SEGMENTS).content.decode()


def test_the_simulator_explains_place_and_campaign_variants(editor, make_page):
    page = make_page(
        "place",
        personalized(
            "hero",
            default=[heading("Hello", "place")],
            variants=[
                variant(
                    "place",
                    "Newsletter readers",
                    [heading("Thanks for reading", "place", "n")],
                    [condition("utm", {"source": "newsletter", "medium": "", "campaign": ""}, "place", "n")],
                ),
                variant(
                    "place",
                    "Seoul",
                    [heading("안녕하세요", "place", "s")],
                    [
                        condition("country", {"countries": "KR"}, "place", "s1"),
                        condition("city", {"cities": "Seoul", "threshold": 85}, "place", "s2"),
                    ],
                ),
            ],
        ),
    )

    def simulate(**fields):
        response = editor.post(SIMULATOR, {"page": page.pk, "revision": "latest", **fields})
        assert response.status_code == 200, response.content[:500]
        hero = next(s for s in response.context["simulation"].slots if s.name == "hero")
        return hero, {r.name: r for r in hero.rows}

    campaign, rows = simulate(country="KR", city="Seoul", utm_source="newsletter")
    assert campaign.decision.variant_name == "Newsletter readers"
    assert rows["Seoul"].status == "matched"
    assert rows["Seoul"].lost_because == "Matched, but Newsletter readers comes first"

    place, rows = simulate(country="KR", city="seoul-si")
    assert place.decision.variant_name == "Seoul"
    assert rows["Newsletter readers"].status == "unknown" and "unknown" in rows["Newsletter readers"].lost_because

    elsewhere, rows = simulate(country="JP", city="Tokyo", utm_source="ads")
    assert elsewhere.default_chosen
    assert {rows["Seoul"].status, rows["Newsletter readers"].status} == {"not-matched"}


# --- a segment saved in one process reaches the others within STATS_REFRESH_SECONDS (Redis) --------------

READING = """
query ($ctx: ContextInput) { personalizedPage(urlPath: "/", inSite: true, context: $ctx) {
  decisions { slot variantName } } }
"""
EVENING_PHONE = {
    "timezone": "Asia/Seoul",
    "now": "2026-11-30T20:00:00+09:00",
    "device": "MOBILE",
    "consent": {"personalization": True, "analytics": False},
}


@pytest.mark.redis
def test_with_redis_other_processes_notice_a_segment_change_within_the_refresh_interval(home_page, gql, settings):
    import uuid

    from freezegun import freeze_time

    from rules.models import Segment
    from tests.services import redis_url, require_redis

    redis = require_redis()
    prefix = f"tailor-test-seg-{uuid.uuid4().hex[:8]}:"
    settings.TAILOR = {"REDIS_URL": redis_url(), "REDIS_PREFIX": prefix}

    def reading() -> str:
        result = gql(READING, {"ctx": EVENING_PHONE})
        assert "errors" not in result, result
        return next(d["variantName"] for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == "reading")

    try:
        with freeze_time("2026-11-30T11:00:00Z") as clock:
            assert reading() == "Evening reading list"
            # what another process does when an editor saves: the row, and the shared version in Redis
            Segment.objects.filter(slug="mobile-evening-readers").update(enabled=False)
            redis.incr(prefix + "rules-version")

            clock.tick(2)  # STATS_REFRESH_SECONDS is 3: still the index this process has
            assert reading() == "Evening reading list"
            clock.tick(2)
            assert reading() == "Default"
    finally:
        for key in redis.scan_iter(match=prefix + "*"):
            redis.delete(key)
