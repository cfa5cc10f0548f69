"""Segments in a real Chromium: a new segment gets its slug from its name (no typing), discovery
runs from the admin with a status page (identical profiles: a clear sentence, no crash), and a
proposal explains how it picks members and is approved from the listing."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from rules.models import Segment
from rules.profiles import DatabaseProfileStore
from tests.browser.admin import log_in
from tests.test_segment_discovery_admin import identical_profiles
from tests.test_segments import synthetic_profiles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEGMENTS = "/admin/snippets/tailor_rules/segment/"


def test_a_new_segment_takes_its_slug_from_its_name(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    log_in(page, live_server)

    page.goto(f"{live_server.url}{SEGMENTS}")
    # Enabled is an icon, not the words True/False
    enabled_cell = page.locator("table.listing tbody tr", has_text="Mobile evening readers").locator("svg.icon-check")
    assert enabled_cell.count() == 1
    page.goto(f"{live_server.url}{SEGMENTS}add/")
    page.click("#id_name")
    page.keyboard.type("Rainy Seoul evenings")  # typed, as an editor would
    page.locator("#id_description").click()
    # the slug follows the name (Wagtail's title/slug sync, debounced)
    page.wait_for_function("document.querySelector('#id_slug').value === 'rainy-seoul-evenings'")
    page.uncheck("#id_enabled")  # a disabled segment may be saved before its conditions are written
    page.click("button[type=submit]:has-text('Save')")
    page.wait_for_url(f"**{SEGMENTS}")
    assert Segment.objects.get(name="Rainy Seoul evenings").slug == "rainy-seoul-evenings"
    assert "This field is required" not in page.content()


def test_an_emptied_slug_is_made_from_the_name_on_save(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    log_in(page, live_server)

    page.goto(f"{live_server.url}{SEGMENTS}add/")
    page.fill("#id_name", "Late readers")
    page.fill("#id_slug", "")
    page.uncheck("#id_enabled")
    page.click("button[type=submit]:has-text('Save')")
    page.wait_for_url(f"**{SEGMENTS}")
    assert Segment.objects.get(name="Late readers").slug == "late-readers"


def test_discovery_on_identical_profiles_says_why_nothing_was_proposed(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    store = DatabaseProfileStore()
    for p in identical_profiles(600):
        store.save(p)
    log_in(page, live_server)

    page.goto(f"{live_server.url}{SEGMENTS}")
    page.click("a:has-text('Run discovery')")
    page.wait_for_url(f"**{SEGMENTS}discover/")
    page.click("[data-tailor-start-discovery]")
    page.wait_for_url(f"**{SEGMENTS}discover/*/")
    message = page.locator("[data-tailor-discovery-message]")
    message.wait_for()
    assert "All 600 profiles behave the same" in message.inner_text()
    assert page.get_attribute("[data-tailor-discovery]", "data-status") == "SUCCESSFUL"
    assert not Segment.objects.filter(kind=Segment.KIND_DISCOVERED).exists()


def test_discovered_proposals_are_explained_and_approved(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    store = DatabaseProfileStore()
    for p in synthetic_profiles():
        store.save(p)
    log_in(page, live_server)

    page.goto(f"{live_server.url}{SEGMENTS}discover/")
    page.fill("#id_clusters", "3")
    page.fill("#id_min_profiles", "10")
    page.click("[data-tailor-start-discovery]")
    summary = page.locator("[data-tailor-discovery-summary]")
    summary.wait_for()
    assert "120 profiles gave 3 proposals" in summary.inner_text()
    assert "mobile, evenings, 3–6 visits, reads Offers (40 visitors)" in page.inner_text(".tailor-discovery__proposals")
    page.click("a:has-text('Review the proposals')")
    row = page.locator("table.listing tbody tr", has_text="3–6 visits")
    row.wait_for()
    assert "40 visitors when found" in row.inner_text()

    # the proposal's own page says how members are chosen
    row.locator("a", has_text="Discovered").first.click()
    explanation = page.locator("[data-tailor-membership]")
    explanation.wait_for()
    assert "closer to this group's typical visitor than to the 2 other groups" in explanation.inner_text()

    page.goto(f"{live_server.url}{SEGMENTS}?kind=discovered")
    page.locator("table.listing tbody tr", has_text="3–6 visits").locator("[data-tailor-approve]").click()
    page.fill("#id_name", "Evening deal hunters")
    page.click("[data-tailor-confirm-approve]")
    page.wait_for_url(f"**{SEGMENTS}")
    assert "Evening deal hunters" in page.inner_text(".messages")
    approved = Segment.objects.get(name="Evening deal hunters")
    assert approved.enabled and approved.slug == "evening-deal-hunters"
