"""The Tailor area of the admin: one menu group (Overview, Segments, Experiments, Simulator, Themes),
the Overview of every personalized region, the Segments listing's reach and usage, and the Snippets
index for the superuser."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from wagtail.admin.menu import admin_menu

from rules.models import Segment

SEGMENTS = "/admin/snippets/tailor_rules/segment/"


@pytest.fixture
def editor(client, home_page):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def _menu_html(editor) -> str:
    return editor.get("/admin/").content.decode()


def test_one_tailor_menu_holds_overview_segments_experiments_simulator_and_themes(editor, rf):
    assert editor.get("/admin/").status_code == 200  # loads the admin's URLs, which register the view sets
    request = rf.get("/admin/")
    request.user = get_user_model().objects.get(username="admin")
    items = {item.name: item for item in admin_menu.menu_items_for_request(request)}

    assert "tailor" in items
    assert "tailor-segments" not in items  # no longer a top-level item of its own
    children = [child.name for child in items["tailor"].menu.menu_items_for_request(request)]
    ours = ["tailor-overview", "tailor-segments", "tailor-experiments", "tailor-simulator", "tailor-themes"]
    # other Tailor pages may sit between them; these come in this order
    assert [name for name in children if name in ours] == ours
    from wagtail.admin.menu import reports_menu

    assert "tailor-experiments" not in [i.name for i in reports_menu.menu_items_for_request(request)]


def test_the_snippets_index_answers_the_superuser(editor):
    response = editor.get("/admin/snippets/")

    assert response.status_code == 200
    assert SEGMENTS in response.content.decode()


def test_the_overview_lists_every_region_with_policy_variants_and_status(editor, home_page, make_page):
    from sample_site.home.demo import condition, heading, personalized, variant

    draft = make_page("drafty", personalized("promo", default=[heading("Hi", "d")], variants=[]))
    draft.unpublish()
    html = editor.get("/admin/tailor/overview/").content.decode()

    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in rows]
    hero = next(t for t in text if " hero " in f" {t} ")
    assert "Rules" in hero and "Morning" in hero and "Evening" in hero and "Live" in hero
    cta = next(t for t in text if " cta " in f" {t} ")
    assert "Bandit" in cta or "BANDIT" in cta
    reading = next(t for t in text if " reading " in f" {t} ")
    assert "Mobile evening readers" in reading
    promo = next(t for t in text if " promo " in f" {t} ")
    assert "Draft" in promo
    assert f"/admin/pages/{home_page.pk}/edit/" in html
    assert f"/admin/pages/{draft.pk}/edit/" in html
    del condition, variant


def test_a_draft_change_to_a_live_region_is_flagged(editor, home_page):
    page = home_page.specific
    raw = list(page.body.raw_data)
    for block in raw:
        if block["type"] == "personalized" and block["value"].get("slot") == "hero":
            block["value"]["variants"][0]["value"]["name"] = "Early birds"
    page.body = raw
    page.save_revision(log_action=False)

    html = editor.get("/admin/tailor/overview/").content.decode()
    row = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S) if ">hero<" in r or " hero" in r)
    assert "Early birds" in row
    assert "Live, with draft changes" in row


def test_segments_listing_shows_icons_usage_and_reach(editor, home_page):
    from django.utils import timezone

    from variants.models import EventAggregate

    page = home_page.specific
    raw = list(page.body.raw_data)
    reading = next(b for b in raw if b["type"] == "personalized" and b["value"].get("slot") == "reading")
    variant_item = reading["value"]["variants"][0]
    variant_id = variant_item.get("id")
    EventAggregate.objects.create(
        hour=timezone.now().replace(minute=0, second=0, microsecond=0),
        page_id=page.pk,
        slot_id=reading["id"],
        variant_id=variant_id,
        bucket="*",
        policy="RULES",
        kind="impression",
        count=42,
    )

    html = editor.get(SEGMENTS).content.decode()

    enabled_cell = re.search(r'<use href="#icon-(check|cross)"', html)
    assert enabled_cell, "Enabled is shown as an icon"
    assert "42 impressions in 30 days" in html
    assert f'href="/admin/pages/{page.pk}/edit/"' in html and "reading" in html


def test_the_kind_filter_separates_rules_and_discovered(editor, home_page):
    Segment.objects.create(
        name="Found group",
        slug="found-group",
        kind=Segment.KIND_DISCOVERED,
        enabled=False,
        summary="mobile, evenings",
        cluster={"run": "r", "features": [], "mean": [], "scale": [], "centers": [[0.0]], "index": 0},
        size=12,
    )

    discovered = editor.get(SEGMENTS + "?kind=discovered").content.decode()
    rules = editor.get(SEGMENTS + "?kind=rules").content.decode()

    assert "Found group" in discovered and "Mobile evening readers" not in discovered
    assert "Mobile evening readers" in rules and "Found group" not in rules
    assert "12 visitors when found" in discovered


def test_a_segment_is_created_without_typing_a_slug(editor, home_page):
    data = {
        "name": "Rainy Seoul evenings",
        "slug": "",
        "description": "",
        "enabled": "on",
        "match": "all",
        "conditions-count": "1",
        "conditions-0-type": "device",
        "conditions-0-deleted": "",
        "conditions-0-order": "0",
        "conditions-0-id": "c1",
        "conditions-0-value-negate": "",
        "conditions-0-value-devices": ["mobile"],
    }
    response = editor.post(SEGMENTS + "add/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Segment.objects.get(name="Rainy Seoul evenings").slug == "rainy-seoul-evenings"

    data["name"] = "Rainy Seoul Evenings!"
    editor.post(SEGMENTS + "add/", data)
    assert Segment.objects.get(name="Rainy Seoul Evenings!").slug == "rainy-seoul-evenings-2"


# --- the simulator -------------------------------------------------------------------------------

SIMULATOR = "/admin/tailor/simulator/"


def test_a_lone_page_is_preselected_and_empty_fields_look_empty(editor, home_page):
    from sample_site.home.models import HomePage

    for other in HomePage.objects.exclude(pk=home_page.pk).filter(depth__gte=2).order_by("-depth"):
        other.delete()

    html = editor.get(SIMULATOR).content.decode()

    select = re.search(r'<select name="page"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert "---------" not in select
    assert re.search(rf'<option value="{home_page.pk}"[^>]*selected', select)
    traits = re.search(r'<textarea name="traits"[^>]*>(.*?)</textarea>', html, re.S)
    assert traits.group(1).strip() == ""
    assert 'placeholder="e.g. Asia/Seoul"' in html
    assert re.search(r'<input type="text" name="timezone"(?![^>]*value=)', html)


def test_several_pages_start_with_a_blank_choice(editor, home_page):
    html = editor.get(SIMULATOR).content.decode()
    assert "---------" in re.search(r'<select name="page"[^>]*>(.*?)</select>', html, re.S).group(1)


def test_reset_forgets_the_last_context(editor, home_page):
    stored = re.compile(r'<input type="text" name="timezone" value="Asia/Seoul"')
    editor.post(SIMULATOR, {"page": home_page.pk, "revision": "latest", "timezone": "Asia/Seoul", "traits": ""})
    assert stored.search(editor.get(SIMULATOR).content.decode())

    response = editor.post(
        SIMULATOR, {"page": home_page.pk, "revision": "latest", "timezone": "Asia/Seoul", "reset": "1"}
    )

    assert response.status_code == 302 and response["Location"].endswith(f"?page={home_page.pk}")
    html = editor.get(response["Location"]).content.decode()
    assert not stored.search(html)
    assert "data-tailor-reset" in html


def test_an_invalid_form_says_what_is_wrong_at_the_top(editor, home_page):
    html = editor.post(
        SIMULATOR, {"page": home_page.pk, "revision": "latest", "visit_count": "0", "traits": "{bad json"}
    ).content.decode()

    summary = re.search(r"data-tailor-error-summary>(.*?)</div>", html, re.S).group(1)
    assert "2 problems" in summary
    assert 'href="#id_traits"' in summary and 'href="#id_visit_count"' in summary
    assert "Enter a valid JSON" in summary
    assert html.index("data-tailor-error-summary") < html.index('name="page"')


def test_learning_slots_show_every_variants_current_share(editor, home_page):
    html = editor.post(
        SIMULATOR, {"page": home_page.pk, "revision": "latest", "timezone": "Asia/Seoul"}
    ).content.decode()

    cta = html[html.index('data-slot="cta"') :]
    cta = cta[: cta.index("</section>")]
    shares = [float(s) for s in re.findall(r'data-share="([0-9.]+)"', cta)]
    assert len(shares) == 3 and abs(sum(shares) - 1) < 1e-4
    assert "Share now" in cta
    hero = html[html.index('data-slot="hero"') :]
    assert "Share now" not in hero[: hero.index("</section>")]  # a RULES slot has no shares


def test_reasons_read_plainly(editor, home_page):
    html = editor.post(
        SIMULATOR,
        {"page": home_page.pk, "revision": "latest", "timezone": "Asia/Seoul", "weather": "clouds"},
    ).content.decode()

    assert "wants weather is" not in html
    assert "Cloudy; needed: Weather is rain" in html


# --- the preview and the sample site's pages ------------------------------------------------------


def test_the_personalization_preview_shows_the_page_with_the_decisions_beside_it(editor, home_page):
    from django.test import RequestFactory

    from cms.models import PREVIEW_MODE

    request = RequestFactory().get("/", HTTP_COOKIE=f"sessionid={editor.cookies['sessionid'].value}")
    response = home_page.make_preview_request(request, PREVIEW_MODE)
    html = response.content.decode()

    assert response.status_code == 200
    page_view = html[html.index("data-tailor-page-view") : html.index('class="tailor-preview__panel"')]
    assert "Welcome to the Tailor demo" in page_view
    assert 'href="/signup/"' in page_view or "tt-button" in page_view
    panel = html[html.index('class="tailor-preview__panel"') :]
    assert 'data-slot="hero"' in panel and "tailor-change" in panel


def test_the_sample_sites_pages_render_the_button_block_as_a_link(client, home_page):
    html = client.get("/?timezone=Asia/Seoul").content.decode()

    button = re.search(r'<a [^>]*href="(/[a-z-]+/)"[^>]*>([^<]+)</a>', html)
    assert button and button.group(2).strip() in {"Learn more", "Start free trial", "Book a demo"}
    assert "label" not in re.sub(r"<[^>]+>", " ", html).split()


def test_a_bad_timezone_is_in_the_summary_too(editor, home_page):
    html = editor.post(
        SIMULATOR, {"page": home_page.pk, "revision": "latest", "timezone": "Mars/Base"}
    ).content.decode()

    summary = re.search(r"data-tailor-error-summary>(.*?)</div>", html, re.S).group(1)
    assert 'href="#id_timezone"' in summary and "Mars/Base" in summary
