"""The Tailor area in a real Chromium: one menu with Overview, Segments, Experiments, Simulator and
Themes; the Overview of personalized regions; the Snippets index; the simulator's polish (a lone page
preselected, empty fields that look empty, Reset, the error summary). Screenshots of the simulator
are saved outside the repository (/tmp/tailor/shots/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command

from sample_site.home.models import HomePage
from tests.browser.admin import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/tailor/shots")


def open_tailor_menu(page) -> list[str]:
    page.click("#wagtail-sidebar button:has-text('Tailor')")
    page.locator("#wagtail-sidebar a:has-text('Overview')").wait_for()
    return [
        t.strip() for t in page.locator("#wagtail-sidebar [role='menu'] a, #wagtail-sidebar ul a").all_inner_texts()
    ]


def test_one_tailor_menu_leads_everywhere(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    home = HomePage.objects.get(depth=2)
    log_in(page, live_server)

    sidebar = page.locator("#wagtail-sidebar")
    # Segments is no longer a top-level item of its own
    assert (
        sidebar.locator(":scope > * a:has-text('Segments')").count() == 0
        or not sidebar.locator("a:has-text('Segments')").first.is_visible()
    )
    labels = open_tailor_menu(page)
    for label in ("Overview", "Segments", "Experiments", "Simulator", "Themes"):
        assert any(label == text or text.startswith(label) for text in labels), (label, labels)
    order = [
        next(i for i, t in enumerate(labels) if t.startswith(label))
        for label in ("Overview", "Segments", "Experiments", "Simulator", "Themes")
    ]
    assert order == sorted(order)

    # Overview: every region, its policy and status, linking to the page editor
    page.click("#wagtail-sidebar a:has-text('Overview')")
    page.wait_for_url("**/admin/tailor/overview/")
    table = page.locator("table.listing")
    table.wait_for()
    hero = table.locator("tr", has_text="hero").filter(has_text="Tailor demo").first
    text = hero.inner_text()
    assert "Rules" in text and "Morning" in text and "Live" in text
    cta = table.locator("tr", has_text="cta").filter(has_text="Tailor demo").first
    assert "Bandit" in cta.inner_text()
    hero.locator("a", has_text="Tailor demo").click()
    page.wait_for_url(f"**/admin/pages/{home.pk}/edit/")

    # each other item of the group opens its page
    for label, url in (
        ("Segments", "**/admin/snippets/tailor_rules/segment/"),
        ("Experiments", "**/admin/tailor/experiments/"),
        ("Themes", "**/admin/tailor/themes/"),
        ("Simulator", "**/admin/tailor/simulator/"),
    ):
        open_tailor_menu(page)
        page.click(f"#wagtail-sidebar a:has-text('{label}')")
        page.wait_for_url(url)

    # the Snippets index answers the superuser and lists Segments
    page.goto(f"{live_server.url}/admin/snippets/")
    assert "do not have permission" not in page.content()
    page.locator("table.listing a", has_text="Segments").first.wait_for()


def test_the_simulator_preselects_a_lone_page_resets_and_summarises_errors(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    home = HomePage.objects.get(depth=2)
    for other in HomePage.objects.exclude(pk=home.pk).filter(depth__gte=2).order_by("-depth"):
        other.delete()
    log_in(page, live_server)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/admin/tailor/simulator/")
    assert page.input_value("#id_page") == str(home.pk)  # a lone page: already chosen
    assert page.locator("#id_page option", has_text="---------").count() == 0
    assert page.input_value("#id_traits") == ""  # not `null`
    assert page.input_value("#id_timezone") == ""
    assert page.get_attribute("#id_timezone", "placeholder") == "e.g. Asia/Seoul"
    # a placeholder is styled as a hint: italic, not the colour of a value
    assert page.eval_on_selector("#id_timezone", "el => getComputedStyle(el, '::placeholder').fontStyle") == "italic"

    # a valid simulation, with every arm's share for the bandit slot
    page.fill("#id_date", "2026-11-30")
    page.fill("#id_time", "20:00")
    page.fill("#id_timezone", "Asia/Seoul")
    page.click(".tailor-sim__actions button[type=submit]:has-text('Simulate')")
    page.locator('[data-slot="hero"] [data-chosen]').wait_for()
    assert page.inner_text('[data-slot="hero"] [data-chosen]') == "Evening"
    shares = page.locator('[data-slot="cta"] [data-share]').all_inner_texts()
    assert len(shares) == 3 and all(s.endswith("%") for s in shares)
    page.screenshot(path=str(SHOTS / "simulator-after.png"), full_page=True)

    # invalid Traits JSON: a summary at the top says what is wrong and links to the field
    page.fill("#id_traits", "{bad json")
    page.fill("#id_visit_count", "0")
    page.click(".tailor-sim__actions button[type=submit]:has-text('Simulate')")
    summary = page.locator("[data-tailor-error-summary]")
    summary.wait_for()
    assert summary.is_visible()
    text = summary.inner_text()
    assert "2 problems" in text and "Traits" in text and "Enter a valid JSON" in text and "Visit count" in text
    box = summary.bounding_box()
    assert box["y"] < page.locator("#id_page").bounding_box()["y"]  # above the form's first field
    assert page.evaluate("document.activeElement.id") == "tailor-error-summary"
    assert "Correct the problems" in page.inner_text("#tailor-results")
    page.screenshot(path=str(SHOTS / "simulator-after-invalid.png"), full_page=True)
    summary.locator("a", has_text="Traits").click()
    assert page.evaluate("location.hash") == "#id_traits"

    # Reset: every field back to empty, the lone page still chosen
    page.click("[data-tailor-reset]")
    page.wait_for_load_state()
    page.locator("#id_timezone").wait_for()
    assert page.input_value("#id_timezone") == ""
    assert page.input_value("#id_traits") == ""
    assert page.input_value("#id_date") == ""
    assert page.input_value("#id_page") == str(home.pk)
    assert page.locator("[data-tailor-error-summary]").count() == 0
