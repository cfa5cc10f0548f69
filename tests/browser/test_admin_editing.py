"""An editor adds a time-targeted variant in the real Wagtail admin; the API then serves it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from sample_site.home.models import HomePage
from tests.browser.admin import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUERY = """query ($ctx: ContextInput) { personalizedPage(urlPath: "/", inSite: true, context: $ctx) {
  page { ... on HomePage { body { ... on PersonalizedBlock { slot variantName content { ... on CharBlock { value } } } } } }
  decisions { slot variantName policy reasons } } }"""


def after(field_id: str) -> str:
    """The first '+' (insert block) button after the element with this id, in document order."""
    return f'xpath=//*[@id="{field_id}"]/following::button[contains(@class, "c-sf-add-button")][1]'


def hero(answer: dict) -> dict:
    return next(d for d in answer["decisions"] if d["slot"] == "hero")


def ask(page, live_server, now: str) -> dict:
    response = page.request.post(
        f"{live_server.url}/graphql/",
        data={"query": QUERY, "variables": {"ctx": {"timezone": "Asia/Seoul", "now": now}}},
        headers={"Host": "localhost"},
    )
    assert response.ok, response.text()
    return response.json()["data"]["personalizedPage"]


def test_editor_adds_a_lunchtime_variant_and_graphql_serves_it(page, live_server):
    call_command("tailor_demo", stdout=open("/dev/null", "w"))
    home = HomePage.objects.get(depth=2)
    assert hero(ask(page, live_server, "2026-11-30T12:30:00+09:00"))["variantName"] == "Default"

    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/pages/{home.pk}/edit/")
    prefix = "body-1-value-variants"
    count = page.locator(f'[id^="{prefix}-"][id$="-value-name"]').count()
    assert count >= 2
    page.click(after(f"{prefix}-{count - 1}-value-weight"))  # append a variant after the last one
    new = f"{prefix}-{count}-value"
    page.fill(f"#{new}-name", "Lunch")

    page.click(after(f"{new}-name"))  # the variant's content
    page.get_by_role("option", name="Heading", exact=True).click()
    page.fill(f"#{new}-content-0-value", "Lunch break? Read this")

    page.click(after(f"{new}-match"))  # its conditions
    page.get_by_role("option", name="Time of day", exact=True).click()
    page.fill(f"#{new}-conditions-0-value-start", "12:00")
    page.fill(f"#{new}-conditions-0-value-end", "14:00")
    page.keyboard.press("Escape")

    page.click("footer .w-dropdown-button .w-dropdown__toggle")
    page.click("button[name=action-publish]")
    page.wait_for_selector(".messages .success, .w-message--success, .messages")
    assert "has been published" in page.content()

    lunch = ask(page, live_server, "2026-11-30T12:30:00+09:00")
    decision = next(d for d in lunch["decisions"] if d["slot"] == "hero")
    assert decision["variantName"] == "Lunch"
    assert decision["reasons"] == ["Afternoon 12:00–14:00 (Asia/Seoul)"]
    block = next(b for b in lunch["page"]["body"] if b.get("slot") == "hero")
    assert block["content"] == [{"value": "Lunch break? Read this"}]
    # The variants that were there keep working.
    assert hero(ask(page, live_server, "2026-11-30T08:00:00+09:00"))["variantName"] == "Morning"
