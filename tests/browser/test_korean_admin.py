"""An editor whose Wagtail admin is in Korean sees Tailor in Korean: its menu, the simulator and the
reasons it gives."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from wagtail.users.models import UserProfile

from sample_site.home.models import HomePage
from tests.browser.admin import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/korean-admin.png"


def log_in_as_korean_editor(page, live_server) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="admin")
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "ko"
    profile.save()
    log_in(page, live_server)


def test_a_korean_editor_sees_tailors_menu_and_simulator_in_korean(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    home = HomePage.objects.get(depth=2)
    log_in_as_korean_editor(page, live_server)
    assert page.get_attribute("html", "lang") == "ko"

    sidebar = page.locator("#wagtail-sidebar")
    # Tailor's own menu items, in Korean.
    assert sidebar.locator("a:has-text('세그먼트')").count() == 1
    assert sidebar.locator("a:has-text('Segments')").count() == 0
    page.click("#wagtail-sidebar button:has-text('Tailor')")
    simulator = sidebar.locator("a:has-text('시뮬레이터')")
    simulator.wait_for()
    assert sidebar.locator("a:has-text('Simulator')").count() == 0
    simulator.click()
    page.wait_for_url("**/admin/tailor/simulator/")

    # The simulator's form and its reasons are in Korean too.
    assert page.locator("label[for=id_timezone]").inner_text().strip().startswith("시간대")
    page.select_option("#id_page", str(home.pk))
    page.fill("#id_date", "2026-11-30")
    page.fill("#id_time", "14:00")
    page.fill("#id_timezone", "Asia/Seoul")
    page.click(".tailor-sim__actions button[type=submit]")
    hero = page.locator('[data-slot="hero"]')
    hero.wait_for()
    morning = hero.locator('[data-variant="Morning"]')
    assert morning.get_attribute("data-status") == "not-matched"
    assert "그곳은 지금 14:00" in morning.inner_text()
    page.screenshot(path=SCREENSHOT, full_page=True)
