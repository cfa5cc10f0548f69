"""README, *Targeting: conditions, context, segments*: how variants are matched, the context's
precedence, which providers run, and the blocks a region's content may hold."""

from __future__ import annotations

import json

import pytest

from sample_site.home.demo import condition, heading, personalized, variant

QUERY = """
query ($path: String!, $ctx: ContextInput) {
  personalizedPage(urlPath: $path, context: $ctx) {
    decisions { slot variantName policy reasons }
    context { emotion { label } facts { name source } }
  }
}
"""
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
SAD = "I feel so sad and lonely today, I really miss her"
CONSENT = {"personalization": True, "analytics": False}


def decide(gql, path: str, ctx: dict | None = None, **headers) -> dict:
    result = gql(QUERY, {"path": path, "ctx": ctx}, **headers)
    assert "errors" not in result, result
    return result["data"]["personalizedPage"]


def chosen(page: dict) -> tuple[str, str]:
    decision = page["decisions"][0]
    return decision["variantName"], decision["policy"]


def one_slot_page(make_page, slug: str, *variants: dict) -> str:
    make_page(slug, personalized("hero", default=[heading("Default", slug)], variants=list(variants)))
    return f"/{slug}/"


KOREA = condition("country", {"countries": "KR"}, "order", "korea")
PHONE = condition("device", {"devices": ["mobile"]}, "order", "phone")


# --- all / any, first match in the editor's order -----------------------------------------------------


def test_the_first_matching_variant_in_the_editors_order_wins(make_page, gql):
    both = {"country": "KR", "device": "MOBILE"}
    korea_first = one_slot_page(
        make_page,
        "korea-first",
        variant("korea-first", "Korea", [heading("K", "kf", "k")], [KOREA]),
        variant("korea-first", "Phone", [heading("P", "kf", "p")], [PHONE]),
    )
    phone_first = one_slot_page(
        make_page,
        "phone-first",
        variant("phone-first", "Phone", [heading("P", "pf", "p")], [PHONE]),
        variant("phone-first", "Korea", [heading("K", "pf", "k")], [KOREA]),
    )

    assert chosen(decide(gql, korea_first, both)) == ("Korea", "RULES")
    assert chosen(decide(gql, phone_first, both)) == ("Phone", "RULES")
    # a later variant wins when the earlier one does not match
    assert chosen(decide(gql, korea_first, {"country": "DE", "device": "MOBILE"})) == ("Phone", "RULES")
    assert chosen(decide(gql, korea_first, {"country": "DE", "device": "DESKTOP"})) == ("Default", "DEFAULT")


def test_conditions_joined_by_all_must_every_one_match(make_page, gql):
    path = one_slot_page(
        make_page, "all-of", variant("all-of", "Korean phones", [heading("KP", "all")], [KOREA, PHONE], match="all")
    )

    assert chosen(decide(gql, path, {"country": "KR", "device": "MOBILE"})) == ("Korean phones", "RULES")
    assert chosen(decide(gql, path, {"country": "KR", "device": "DESKTOP"})) == ("Default", "DEFAULT")
    assert chosen(decide(gql, path, {"country": "DE", "device": "MOBILE"})) == ("Default", "DEFAULT")


# --- Device: mobile / tablet / desktop / bot, from the input, `userAgent` or the User-Agent header -------

IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
DEVICES = {"mobile": IPHONE, "tablet": IPAD, "desktop": DESKTOP, "bot": GOOGLEBOT}


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_each_device_class_is_read_from_the_input_the_user_agent_input_and_the_header(make_page, gql, device):
    path = one_slot_page(
        make_page,
        f"device-{device}",
        variant(
            f"device-{device}", "Targeted", [heading("T", device)], [condition("device", {"devices": [device]}, device)]
        ),
    )
    others = [d for d in DEVICES if d != device]

    assert chosen(decide(gql, path, {"device": device.upper()})) == ("Targeted", "RULES")
    assert chosen(decide(gql, path, {"userAgent": DEVICES[device]})) == ("Targeted", "RULES")
    assert chosen(decide(gql, path, {}, HTTP_USER_AGENT=DEVICES[device])) == ("Targeted", "RULES")
    for other in others:
        assert chosen(decide(gql, path, {}, HTTP_USER_AGENT=DEVICES[other])) == ("Default", "DEFAULT"), other


# --- context precedence: input, then headers, then providers, then the profile, then the server clock ----

TZ_COND = condition("time_of_day", {"start": "06:00:00", "end": "11:00:00"}, "prec", "morning")

# condition, what the `context` input says (matches), what the request says (does not match), the fact
PRECEDENCE = [
    pytest.param(
        condition("device", {"devices": ["desktop"]}, "prec", "device"),
        {"userAgent": DESKTOP},
        {"HTTP_USER_AGENT": IPHONE},
        "device",
        id="userAgent-input-over-User-Agent",
    ),
    pytest.param(
        condition("device", {"devices": ["desktop"]}, "prec", "device"),
        {"device": "DESKTOP"},
        {"HTTP_SEC_CH_UA_MOBILE": "?1"},
        "device",
        id="device-input-over-client-hints",
    ),
    pytest.param(
        condition("language", {"languages": "en", "any_preferred": False}, "prec", "language"),
        {"language": "en-US"},
        {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9"},
        "language",
        id="language-input-over-Accept-Language",
    ),
    pytest.param(
        condition("city", {"cities": "Busan", "threshold": 85}, "prec", "city"),
        {"city": "Busan"},
        {"HTTP_X_VERCEL_IP_CITY": "Seoul"},
        "city",
        id="city-input-over-X-Vercel-IP-City",
    ),
    pytest.param(
        condition("country", {"countries": "JP"}, "prec", "country"),
        {"country": "JP"},
        {"HTTP_CLOUDFRONT_VIEWER_COUNTRY": "KR", "HTTP_X_VERCEL_IP_COUNTRY": "KR"},
        "country",
        id="country-input-over-CDN-headers",
    ),
    pytest.param(
        condition("utm", {"source": "newsletter", "medium": "", "campaign": ""}, "prec", "utm"),
        {"utm": {"source": "newsletter"}},
        {"QUERY_STRING": "utm_source=google"},
        "utm",
        id="utm-input-over-utm-in-the-query-string",
    ),
    pytest.param(
        TZ_COND,
        {"now": "2026-11-30T08:00:00+09:00", "timezone": "Asia/Seoul"},
        {},
        "now",
        id="now-input-over-the-server-clock",
    ),
]


@pytest.mark.parametrize(("cond", "given", "headers", "fact"), PRECEDENCE)
def test_the_context_input_wins_over_request_headers_and_the_server_clock(
    make_page, gql, settings, cond, given, headers, fact
):
    from freezegun import freeze_time

    settings.TAILOR = {**settings.TAILOR, "DEFAULT_TIMEZONE": "America/New_York"}
    path = one_slot_page(make_page, "prec", variant("prec", "Targeted", [heading("T", "prec")], [cond]))

    with freeze_time("2026-11-30T19:00:00Z"):  # 14:00 in New York, 04:00 in Seoul: no morning anywhere
        from_headers = decide(gql, path, {}, **headers)
        from_input = decide(gql, path, given, **headers)

    # The default's name is worded in the visitor's language (Accept-Language: ko gives "기본").
    assert chosen(from_headers)[1] == "DEFAULT"
    assert chosen(from_input) == ("Targeted", "RULES")
    assert {"name": fact, "source": "INPUT"} in from_input["context"]["facts"]


def test_utm_parameters_in_the_request_query_string_feed_the_context(make_page, client):
    path = one_slot_page(
        make_page,
        "campaign",
        variant(
            "campaign",
            "Newsletter",
            [heading("N", "campaign")],
            [condition("utm", {"source": "newsletter", "medium": "email", "campaign": ""}, "campaign")],
        ),
    )
    body = json.dumps({"query": QUERY, "variables": {"path": path, "ctx": {}}})

    response = client.post("/graphql/?utm_source=Newsletter&utm_medium=email", body, content_type="application/json")

    page = response.json()["data"]["personalizedPage"]
    assert chosen(page) == ("Newsletter", "RULES")
    assert {"name": "utm", "source": "HEADER"} in page["context"]["facts"]


# --- providers run only when the page's conditions read their fact ---------------------------------------


def test_the_emotion_classifier_runs_only_for_pages_that_read_emotion(make_page, gql):
    path = one_slot_page(make_page, "no-emotion", variant("no-emotion", "Phone", [heading("P", "ne")], [PHONE]))
    ctx = {"text": SAD, "consent": CONSENT}

    reads_emotion = decide(gql, "/", ctx)  # the demo's hero has a "Cheer up" variant for sad visitors
    does_not = decide(gql, path, ctx)

    assert reads_emotion["context"]["emotion"] == {"label": "SADNESS"}
    assert does_not["context"]["emotion"] is None
    assert "emotion" not in {f["name"] for f in does_not["context"]["facts"]}


# --- PersonalizedBlock(content_blocks=[...]) ------------------------------------------------------------------


def content_child_blocks(block) -> dict[str, dict]:
    variant_content = block.child_blocks["variants"].child_block.child_blocks["content"]
    return {
        "default": {name: type(b).__name__ for name, b in block.child_blocks["default"].child_blocks.items()},
        "variant": {name: type(b).__name__ for name, b in variant_content.child_blocks.items()},
    }


def test_a_regions_content_defaults_to_heading_rich_text_image_and_button():
    from cms.blocks import PersonalizedBlock

    blocks = content_child_blocks(PersonalizedBlock())

    expected = {"heading": "CharBlock", "paragraph": "RichTextBlock", "image": "ImageChooserBlock"}
    expected["button"] = "ButtonBlock"
    assert blocks == {"default": expected, "variant": expected}


def test_content_blocks_choose_what_a_variants_content_may_hold():
    from wagtail import blocks

    from cms.blocks import PersonalizedBlock

    block = PersonalizedBlock(content_blocks=[("quote", blocks.BlockQuoteBlock()), ("text", blocks.TextBlock())])

    expected = {"quote": "BlockQuoteBlock", "text": "TextBlock"}
    assert content_child_blocks(block) == {"default": expected, "variant": expected}


# --- the weather provider's defaults: 300 ms timeout, cached per 0.1° cell for 15 minutes ---------------------

WEATHER = """query ($ctx: ContextInput) { personalizedPage(urlPath: "/", inSite: true, context: $ctx) {
  decisions { slot variantName } context { weather { condition } } } }"""
SEOUL_AFTERNOON = {
    "latitude": 37.5665,
    "longitude": 126.978,
    "timezone": "Asia/Seoul",
    "now": "2026-11-30T14:00:00+09:00",
}


@pytest.fixture
def open_meteo():
    """An Open-Meteo-shaped server on 127.0.0.1; Tailor's settings name only its URL (every other key default)."""
    import uuid

    from django.test import override_settings

    from tests.openmeteo_server import FakeOpenMeteo

    prefix = f"tailor-test-{uuid.uuid4().hex[:8]}:"  # the default cache outlives the test: keys of its own
    with FakeOpenMeteo(weather_code=63, temperature=7.5) as server:
        with override_settings(TAILOR={"WEATHER_URL": server.base_url, "REDIS_PREFIX": prefix}):
            yield server


def weather_hero(gql, ctx: dict) -> tuple[str, dict | None]:
    result = gql(WEATHER, {"ctx": ctx})
    assert "errors" not in result, result
    page = result["data"]["personalizedPage"]
    return next(d["variantName"] for d in page["decisions"] if d["slot"] == "hero"), page["context"]["weather"]


def test_provider_weather_is_cached_per_cell_for_15_minutes_by_default(home_page, gql, open_meteo):
    from freezegun import freeze_time

    with freeze_time("2026-11-30T05:00:00Z") as clock:
        assert weather_hero(gql, SEOUL_AFTERNOON) == ("Rainy day", {"condition": "RAIN"})
        clock.tick(14 * 60)
        same_cell = {**SEOUL_AFTERNOON, "latitude": 37.5601, "longitude": 126.9712}
        assert weather_hero(gql, same_cell)[0] == "Rainy day"
        assert open_meteo.request_count == 1
        clock.tick(2 * 60)  # 16 minutes after the first answer: asked again
        assert weather_hero(gql, SEOUL_AFTERNOON)[0] == "Rainy day"
        assert open_meteo.request_count == 2


def test_a_slow_provider_costs_about_300_ms_by_default_and_weather_stays_unknown(home_page, gql, open_meteo):
    import time

    open_meteo.mode = "slow"
    open_meteo.delay = 3.0

    started = time.monotonic()
    hero, weather = weather_hero(gql, SEOUL_AFTERNOON)
    elapsed = time.monotonic() - started

    assert (hero, weather) == ("Default", None)
    assert elapsed < 1.5  # 0.3 s for the provider, the rest is the request itself
