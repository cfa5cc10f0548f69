"""The demo home page, server-rendered through each bundled theme, in a real Chromium."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from sample_site.home.models import HomePage
from tests.browser.admin import log_in
from themes.theme import themes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.mark.parametrize("name", ["daylight", "midnight"])
def test_demo_home_page_in_each_theme_is_screenshotted_and_responsive(name, page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    palette = themes.get(name).palette
    page.goto(f"{live_server.url}/?timezone=Asia/Seoul&theme={name}")
    root = page.locator("[data-tailor-theme]")
    assert root.get_attribute("data-tailor-theme") == name
    assert root.evaluate("el => getComputedStyle(el).backgroundColor") == rgb(palette["background"])
    title = page.locator(".tt-title")
    assert title.inner_text() == "Tailor demo"
    assert title.evaluate("el => getComputedStyle(el).color") == rgb(palette["text"])
    button = page.locator('[data-tailor-slot="cta"] a.tt-button')
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") == rgb(palette["accent"])
    assert button.inner_text() in {"Learn more", "Start free trial", "Book a demo"}
    page.screenshot(path=f"/tmp/theme-{name}.png", full_page=True)

    # On a phone the content fits the screen and the button spans the column.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    slot_width = page.locator('[data-tailor-slot="cta"]').evaluate("el => el.clientWidth")
    button_width = button.evaluate("el => el.getBoundingClientRect().width")
    assert button_width > slot_width * 0.8
    page.screenshot(path=f"/tmp/theme-{name}-phone.png", full_page=True)


def test_admin_theme_list_shows_drawn_thumbnails(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    log_in(page, live_server)
    page.click("#wagtail-sidebar button:has-text('Tailor')")
    page.click("#wagtail-sidebar a:has-text('Themes')")
    page.wait_for_url("**/admin/tailor/themes/")
    for name in ("daylight", "midnight"):
        img = page.locator(f'[data-theme="{name}"] img')
        img.wait_for()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
        assert img.evaluate("img => img.naturalWidth") == 480
    page.screenshot(path="/tmp/theme-admin.png", full_page=True)


def test_an_editor_pins_the_home_page_to_midnight_with_the_theme_picker(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    home = HomePage.objects.get(depth=2)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/pages/{home.pk}/edit/")
    page.locator("header [aria-label='Actions'], header button:has-text('Actions'), .w-dropdown__toggle").first.click()
    page.click(f"a[href='/admin/tailor/themes/page/{home.pk}/']")
    page.wait_for_url(f"**/admin/tailor/themes/page/{home.pk}/")
    page.click('label[data-theme="midnight"]')
    page.click("button:has-text('Save')")
    page.wait_for_selector(".messages")
    assert page.locator('label[data-theme="midnight"] input').is_checked()

    page.goto(f"{live_server.url}/")  # no timezone: only the pinned theme can make it midnight
    root = page.locator("[data-tailor-theme]")
    assert root.get_attribute("data-tailor-theme") == "midnight"
    assert root.get_attribute("data-tailor-theme-reason") == "Theme Midnight: chosen for this page"
