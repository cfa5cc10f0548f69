"""An editor simulates a visitor's context in the real admin, then previews the page in that context."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from sample_site.home.models import HomePage
from tests.browser.admin import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/simulator.png"
PREVIEW_LOADED = """() => {
    const frames = document.querySelectorAll("iframe.w-preview__iframe");
    return frames.length === 1 && frames[0].id === "w-preview-iframe" && frames[0].src.includes("in_preview_panel");
}"""


def test_editor_simulates_a_seoul_evening_and_previews_unsaved_edits_in_it(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    home = HomePage.objects.get(depth=2)
    log_in(page, live_server)

    # The Tailor menu leads to the simulator.
    page.click("#wagtail-sidebar button:has-text('Tailor')")
    page.click("#wagtail-sidebar a:has-text('Simulator')")
    page.wait_for_url("**/admin/tailor/simulator/")

    page.select_option("#id_page", str(home.pk))
    page.fill("#id_date", "2026-11-30")
    page.fill("#id_time", "20:00")
    page.fill("#id_timezone", "Asia/Seoul")
    page.click(".tailor-sim__actions button[type=submit]")

    hero = page.locator('[data-slot="hero"]')
    hero.wait_for()
    assert hero.locator("[data-chosen]").inner_text() == "Evening"
    assert hero.locator('[data-variant="Evening"]').get_attribute("data-status") == "chosen"
    morning = hero.locator('[data-variant="Morning"]')
    assert morning.get_attribute("data-status") == "not-matched"
    assert "it is 20:00 there" in morning.inner_text()
    assert "Mon 30 Nov 2026, 20:00 (Asia/Seoul)" in page.inner_text(".tailor-context")
    # The form keeps what was entered.
    assert page.input_value("#id_timezone") == "Asia/Seoul"
    page.screenshot(path=SCREENSHOT, full_page=True)

    # In the page editor, rename the Evening variant without saving, then preview in the
    # Personalization mode: it explains the unsaved page in the context just simulated.
    page.goto(f"{live_server.url}/admin/pages/{home.pk}/edit/")
    page.wait_for_selector("input[id^='body-'][id$='-value-name']")
    # The variant fields are built by JS: read their values rather than match an attribute.
    names = page.locator("input[id^='body-'][id$='-value-name']").element_handles()
    evening = next(el for el in names if el.input_value() == "Evening")
    evening.fill("Night owls")
    page.click('[data-side-panel-toggle="preview"]')
    # Switch modes once the panel's first load is done: a switch during it is folded into it.
    page.wait_for_function(PREVIEW_LOADED)
    page.select_option("#id_preview_mode", "tailor")
    frame = page.frame_locator("#w-preview-iframe")
    chosen = frame.locator('[data-slot="hero"] [data-status="chosen"]')
    chosen.wait_for()
    assert chosen.get_attribute("data-variant") == "Night owls"
    assert "it is 20:00 there" in frame.locator('[data-variant="Morning"]').inner_text()
    assert frame.locator("a.tailor-change").get_attribute("href").endswith(f"/admin/tailor/simulator/?page={home.pk}")
