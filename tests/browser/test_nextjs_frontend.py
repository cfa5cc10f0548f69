"""The example Next.js frontend end to end: Django under gunicorn, `next build && next start`, driven
by Debian's Chromium. The CDN headers a real deployment would add (X-Vercel-IP-Timezone) are sent by
the browser here; the frontend forwards them like any other visitor header.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.browser.frontend_stack import Stack

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture(scope="module")
def stack():
    stack = Stack()
    try:
        yield stack.start()
    finally:
        print("\n[e2e] " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in stack.timings.items()))
        stack.stop()


def zone_at(local_hour: int) -> str:
    """An IANA zone where it is now `local_hour` o'clock (Etc/GMT-9 is UTC+9: the sign is inverted)."""
    offset = (local_hour - datetime.now(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def visitor(browser, stack: Stack, *, timezone: str | None = None, **headers: str):
    # The browser's own timezone agrees with the CDN's header (the example sends it too, as context).
    context = browser.new_context(
        user_agent=DESKTOP,
        extra_http_headers=headers,
        viewport={"width": 1200, "height": 1400},
        timezone_id=timezone or headers.get("X-Vercel-IP-Timezone"),
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def region(page, slot: str):
    return page.locator(f'[data-slot="{slot}"]')


def wait_until(check, timeout: float = 20.0, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def test_two_visitors_in_different_timezones_see_different_hero_variants_rendered_by_next(browser, stack):
    evening_ctx, evening = visitor(browser, stack, **{"X-Vercel-IP-Timezone": zone_at(20)})
    morning_ctx, morning = visitor(browser, stack, **{"X-Vercel-IP-Timezone": zone_at(8)})
    try:
        evening.goto(stack.next_url + "/")
        morning.goto(stack.next_url + "/")

        assert region(evening, "hero").get_attribute("data-variant-name") == "Evening"
        assert "Good evening" in region(evening, "hero").inner_text()
        assert region(morning, "hero").get_attribute("data-variant-name") == "Morning"
        assert "Good morning" in region(morning, "hero").inner_text()
        # "Why am I seeing this?" shows the decision's reasons
        evening.get_by_text("Why am I seeing this?").first.click()
        assert "18:00" in region(evening, "hero").inner_text()
    finally:
        evening_ctx.close()
        morning_ctx.close()


def test_a_cta_click_reaches_the_slots_stats(browser, stack):
    context, page = visitor(browser, stack)
    try:
        page.goto(stack.next_url + "/")
        cta = region(page, "cta")
        cta.scroll_into_view_if_needed()
        slot_id, variant = cta.get_attribute("data-slot-id"), cta.get_attribute("data-variant")

        def stats():
            return stack.shell(
                "import json; from variants.models import ArmStat; "
                f"print(json.dumps([[s.impressions, s.conversions] for s in ArmStat.objects.filter("
                f"slot_id={slot_id!r}, arm_id={variant!r})]))"
            )

        before = wait_until(lambda: (s := stats()) and s[0][0] >= 1 and s)  # the impression, once visible
        with page.expect_request(lambda r: "/tailor/events/" in r.url):
            cta.locator("a").first.click()
        after = wait_until(lambda: (s := stats()) and s[0][1] > before[0][1] and s)

        assert before and before[0][0] >= 1
        assert after and after[0][1] == before[0][1] + 1
    finally:
        context.close()


def test_a_visitor_with_global_privacy_control_gets_non_personal_decisions_and_leaves_no_data(browser, stack):
    context, page = visitor(browser, stack, **{"Sec-GPC": "1"})
    try:
        page.goto(stack.next_url + "/")
        cta = region(page, "cta")
        cta.scroll_into_view_if_needed()
        banner = page.locator("[data-consent-banner]")

        assert "Global Privacy Control" in banner.inner_text()
        assert banner.get_by_role("button", name="Accept").count() == 0
        assert region(page, "reading").get_attribute("data-variant") == "default"  # no segments without consent
        # no visitor token is issued under GPC, so the frontend keeps no visitor cookie
        assert [c["name"] for c in context.cookies() if c["name"] == "tailor_visitor"] == []
        time.sleep(2)  # give an impression beacon time to arrive
        stored = stack.shell(
            "import json; from rules.models import VisitorProfile; from variants.models import Event; "
            "print(json.dumps({'profiles': VisitorProfile.objects.count(), "
            "'events with a visitor id': Event.objects.exclude(visitor_id=None).count()}))"
        )
        assert stored == {"profiles": 0, "events with a visitor id": 0}
    finally:
        context.close()


def test_a_korean_visitor_tells_the_korean_page_how_they_feel_and_the_hero_answers(browser, stack):
    """The demo's Korean page (/ko/) through Next: "How are you today?" sends the visitor's words as
    `context.text`; with consent the Korean model reads sadness and the hero cheers them up."""
    afternoon = zone_at(14)  # neither the morning nor the evening variant

    def tell(page, words: str) -> None:
        form = page.locator("[data-feeling-form]")
        assert "오늘 기분이 어떠세요?" in form.inner_text()
        form.locator("input").fill(words)
        with page.expect_navigation():
            form.get_by_role("button").click()

    context, page = visitor(browser, stack, **{"X-Vercel-IP-Timezone": afternoon, "Accept-Language": "ko-KR"})
    try:
        page.goto(stack.next_url + "/ko/")
        assert region(page, "hero").get_attribute("data-variant") == "default"
        assert "지금 이 순간에 꼭 맞는 콘텐츠" in region(page, "hero").inner_text()
        page.locator("[data-consent-accept]").click()
        page.locator("[data-consent-banner]").wait_for(state="detached")
        tell(page, "오늘 너무 우울해요")

        assert "feeling=" in page.url
        assert region(page, "hero").get_attribute("data-variant-name") == "힘내요"
        assert "힘든 하루인가요?" in region(page, "hero").inner_text()
        page.get_by_text("Why am I seeing this?").first.click()
        assert "슬픔" in region(page, "hero").inner_text()  # the reason, in the visitor's language
    finally:
        context.close()

    # Without consent the words are not read: the same sentence leaves the default in place.
    context, page = visitor(browser, stack, **{"X-Vercel-IP-Timezone": afternoon, "Accept-Language": "ko-KR"})
    try:
        page.goto(stack.next_url + "/ko/")
        tell(page, "오늘 너무 우울해요")
        assert region(page, "hero").get_attribute("data-variant") == "default"
    finally:
        context.close()
