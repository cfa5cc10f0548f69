"""Issue 10 A in real Chromium: an editor sees what every variant targets, is warned while editing,
and sees the fields of the policy they chose (the demo page's hero region)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from sample_site.home.models import HomePage
from tests.browser.admin import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HERO = "body-1-value"
VARIANTS = f"{HERO}-variants"
PASSWORD = "variant-editor-test-3141"


def after(field_id: str) -> str:
    """The first '+' (insert block) button after the element with this id, in document order."""
    return f'xpath=//*[@id="{field_id}"]/following::button[contains(@class, "c-sf-add-button")][1]'


def section(page, field_id: str):
    """The panel (a variant or a condition) that holds the field with this id."""
    return page.locator(f'xpath=//*[@id="{field_id}"]/ancestor::section[contains(@class, "w-panel")][1]')


def header(page, field_id: str):
    return section(page, field_id).locator(":scope > .w-panel__header")


@pytest.fixture
def editor(page, live_server):
    call_command("tailor_demo", stdout=open("/dev/null", "w"))
    home = HomePage.objects.get(depth=2)
    admin = get_user_model().objects.get(username="admin")
    admin.set_password(PASSWORD)  # the demo's own password is random
    admin.save()
    log_in(page, live_server, PASSWORD)
    page.goto(f"{live_server.url}/admin/pages/{home.pk}/edit/")
    page.wait_for_selector(".tailor-badges")
    return page


def variant_count(page) -> int:
    return page.locator(f'[id^="{VARIANTS}-"][id$="-value-name"]').count()


def test_collapsed_variants_and_conditions_say_what_they_target(editor):
    page = editor
    rainy = f"{VARIANTS}-0-value"
    # collapse the "Rainy day" variant: its header keeps its name, its conditions and its priority
    head = header(page, f"{rainy}-name")
    head.locator("[data-panel-toggle]").click()
    expect(section(page, f"{rainy}-name").locator(":scope > .w-panel__content")).to_be_hidden()
    expect(head.locator("[data-panel-heading-text]")).to_have_text("Rainy day — Rain")
    expect(head.locator(".tailor-badge--priority")).to_have_text("#1")
    head.locator("[data-panel-toggle]").click()

    # its Weather condition reads "Rain", and so does the minimap; nothing reads "No" any more
    weather = header(page, f"{rainy}-conditions-0-value-min_temperature")
    expect(weather.locator("[data-panel-heading-text]")).to_have_text("Rain")
    minimap = page.locator(".w-minimap-item__text")
    expect(minimap.filter(has_text=re.compile(r"^Rain$"))).to_have_count(1)
    assert "No" not in minimap.all_text_contents()
    # the field inside says what it is, and its choices are checkboxes (pills), not a listbox
    label = page.locator('label.w-field__label:has-text("Weather")').first
    expect(label).to_be_visible()
    expect(page.locator(f'input[type=checkbox][name="{rainy}-conditions-0-value-conditions"]')).to_have_count(7)

    # a temperature range shows up in the header as it is typed
    page.fill(f"#{rainy}-conditions-0-value-min_temperature", "5")
    page.fill(f"#{rainy}-conditions-0-value-max_temperature", "25")
    expect(weather.locator("[data-panel-heading-text]")).to_have_text("Rain, 5–25 °C")
    expect(head.locator("[data-panel-heading-text]")).to_have_text("Rainy day — Rain, 5–25 °C")
    expect(minimap.filter(has_text=re.compile(r"^Rain, 5–25 °C$"))).to_have_count(1)

    # a negated Device condition added to "Morning"
    morning = f"{VARIANTS}-2-value"
    page.click(after(f"{morning}-conditions-0-value-negate"))
    page.get_by_role("option", name="Device", exact=True).click()
    page.check(f'input[name="{morning}-conditions-1-value-devices"][value="mobile"]')
    page.check(f"#{morning}-conditions-1-value-negate")
    device = header(page, f"{morning}-conditions-1-value-negate")
    expect(device.locator("[data-panel-heading-text]")).to_have_text("Not: Mobile")
    expect(header(page, f"{morning}-name").locator("[data-panel-heading-text]")).to_have_text(
        "Morning — 06:00–11:00 · Not: Mobile"
    )

    # the cta region's variants have no conditions: "Everyone"
    expect(header(page, "body-3-value-variants-0-value-name").locator(".tailor-badge--everyone")).to_have_text(
        "Everyone"
    )


def test_a_variant_that_can_never_win_is_flagged_while_editing(editor):
    page = editor
    count = variant_count(page)
    page.click(after(f"{VARIANTS}-{count - 1}-value-weight"))  # append after "Evening"
    new = f"{VARIANTS}-{count}-value"
    page.fill(f"#{new}-name", "Rainy evening")
    page.click(after(f"{new}-name"))  # its content
    page.get_by_role("option", name="Heading", exact=True).click()
    page.fill(f"#{new}-content-0-value", "A rainy evening? Stay in")
    page.click(after(f"{new}-match"))  # its conditions: rain, in the evening
    page.get_by_role("option", name="Weather", exact=True).click()
    page.check(f'input[name="{new}-conditions-0-value-conditions"][value="rain"]')
    page.click(after(f"{new}-conditions-0-value-negate"))
    page.get_by_role("option", name="Time of day", exact=True).click()
    page.fill(f"#{new}-conditions-1-value-start", "18:00")
    page.fill(f"#{new}-conditions-1-value-end", "23:00")
    page.keyboard.press("Escape")

    variant = section(page, f"{new}-name")
    warning = variant.locator(".tailor-warning--shadowed")
    expect(warning).to_have_text(
        "May never win: every visitor it targets also matches “Rainy day” (#1: Rain), which comes first under Rules."
    )
    expect(header(page, f"{new}-name").locator(".tailor-badge--warning")).to_have_text("May never win")
    expect(header(page, f"{new}-name").locator("[data-panel-heading-text]")).to_have_text(
        "Rainy evening — Rain · 18:00–23:00"
    )

    # moved first, it wins when it rains in the evening, and the warning goes away
    move_up = header(page, f"{new}-name").locator('[data-streamfield-action="MOVE_UP"]')
    for _ in range(count):
        move_up.click()
    expect(warning).to_have_count(0)
    expect(header(page, f"{new}-name").locator(".tailor-badge--priority")).to_have_text("#1")
    expect(page.locator(".tailor-warning--shadowed")).to_have_count(0)


def test_the_fields_follow_the_policy_at_once(editor):
    page = editor
    policy = f"#{HERO}-policy"
    options = page.locator('[data-contentpath="options"]').first
    weight = page.locator(f"#{VARIANTS}-0-value-weight")
    split_by = page.locator(f'[name="{HERO}-options-split_by"]').first

    # Rules: no learning options, no weights; priorities
    expect(options).to_be_hidden()
    expect(weight).to_be_hidden()
    expect(header(page, f"{VARIANTS}-1-value-name").locator(".tailor-badge--priority")).to_have_text("#2")

    page.select_option(policy, "AB")
    expect(options).to_be_hidden()
    expect(weight).to_be_visible()
    share = header(page, f"{VARIANTS}-0-value-name").locator(".tailor-badge--share")
    expect(share).to_have_text("25%")
    page.fill(f"#{VARIANTS}-0-value-weight", "2")
    expect(share).to_have_text("40%")
    expect(section(page, f"{VARIANTS}-0-value-name").locator(".tailor-share")).to_have_text("= 40% of visitors")
    hero = page.locator(f'xpath=//*[@id="{HERO}-slot"]/ancestor::div[contains(@class, "struct-block")][1]')
    expect(hero.locator(".tailor-badge--share")).to_have_count(4)
    expect(hero.locator(".tailor-badge--priority")).to_have_count(0)

    # the minimap lists the learning options of the regions that have them: the cta (a bandit) only
    learning = page.locator(".w-minimap-item__text", has_text="Thompson sampling")
    expect(learning).to_have_count(1)
    page.select_option(policy, "BANDIT")
    expect(options).to_be_visible()
    expect(learning).to_have_count(2)
    expect(weight).to_be_hidden()
    expect(split_by).to_be_hidden()

    page.select_option(policy, "CONTEXTUAL")
    options.locator("[data-panel-toggle]").first.click()
    expect(split_by).to_be_visible()
    expect(page.locator(f'input[type=checkbox][name="{HERO}-options-split_by"]')).to_have_count(5)

    page.select_option(policy, "RULES")
    expect(options).to_be_hidden()
    expect(weight).to_be_hidden()
    expect(header(page, f"{VARIANTS}-0-value-name").locator(".tailor-badge--priority")).to_have_text("#1")
