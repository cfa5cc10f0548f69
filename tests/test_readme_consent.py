"""README, *Consent*: what decides whether the profile, segments and emotion-from-text are used.

    `context.consent {personalization, analytics}` (or `setConsent(visitorToken, …)`, stored) decides
    whether the profile (visit count, history), segments and emotion-from-text are used. `Sec-GPC: 1`
    or `DNT: 1` means no optional consent whatever else says. The default is
    `TAILOR["DEFAULT_CONSENT"]` (no optional consent). Never stored: IP address, raw User-Agent, the text.

Everything goes through the public interfaces: `personalizedPage` and `setConsent` over GraphQL, the
beacon and `manage.py tailor_flush_events`. Whether a profile was stored is read back through the API
itself: a later request for the same visitor (more than a visit gap later) reports its `visitCount`.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.core.management import call_command
from django.db import connection
from freezegun import freeze_time

QUERY = """
query ($ctx: ContextInput, $visitor: String) {
  personalizedPage(urlPath: "/", inSite: true, context: $ctx, visitorToken: $visitor) {
    visitorToken
    decisions { slot variantName reasons token }
    context {
      segments visitCount emotion { label }
      consent { personalization analytics source }
      facts { name source }
    }
  }
}
"""
SET_CONSENT = """
mutation ($visitor: String, $personalization: Boolean!, $analytics: Boolean!) {
  setConsent(visitorToken: $visitor, personalization: $personalization, analytics: $analytics) {
    ok visitorToken consent { personalization analytics source } errors { field message }
  }
}
"""
RECORD = """
mutation ($token: String!) { recordEvent(token: $token, kind: IMPRESSION) { ok counted errors { message } } }
"""

YES = {"personalization": True, "analytics": True}
NO = {"personalization": False, "analytics": False}
SAD = "I feel so sad and lonely today, I really miss her"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
#: 20:00 in Seoul on a phone, with a sad text: with consent the demo shows "Cheer up" (emotion from the
#: text) and the "Evening reading list" (segment "Mobile evening readers"); without it "Evening" and
#: the reading slot's default
EVENING_PHONE = {"timezone": "Asia/Seoul", "now": "2026-11-30T20:00:00+09:00", "device": "MOBILE", "text": SAD}
OPT_OUTS = [
    pytest.param({"HTTP_DNT": "1"}, "DNT", id="DNT-1-alone"),
    pytest.param({"HTTP_SEC_GPC": "1"}, "SEC_GPC", id="Sec-GPC-1-alone"),
]


def personalized(gql, ctx: dict | None = None, visitor: str | None = None, **headers) -> dict:
    result = gql(QUERY, {"ctx": ctx, "visitor": visitor}, **headers)
    assert "errors" not in result, result
    return result["data"]["personalizedPage"]


def variant(page: dict, slot: str) -> str:
    return next(d["variantName"] for d in page["decisions"] if d["slot"] == slot)


def set_consent(gql, visitor: str | None = None, **consent) -> dict:
    result = gql(SET_CONSENT, {"visitor": visitor, **consent})
    assert "errors" not in result, result
    payload = result["data"]["setConsent"]
    assert payload["ok"] is True, payload
    return payload


def assert_nothing_optional_was_used(page: dict, source: str) -> None:
    context = page["context"]
    assert context["consent"] == {"personalization": False, "analytics": False, "source": source}
    # no segments: the reading slot shows its default and says the segments were unknown
    assert context["segments"] is None
    assert variant(page, "reading") == "Default"
    reading = next(d for d in page["decisions"] if d["slot"] == "reading")
    assert any("segments unknown" in r for r in reading["reasons"]), reading["reasons"]
    # no emotion from the text: the hero is the evening one, not "Cheer up"
    assert context["emotion"] is None
    assert variant(page, "hero") == "Evening"
    # no profile facts (visit count, returning, first seen) and no segment facts
    assert context["visitCount"] is None
    assert not {f["source"] for f in context["facts"]} & {"profile", "segments"}, context["facts"]


def later_visit(gql, clock, visitor: str) -> dict:
    """The same visitor, an hour later (a new visit), with consent: reports the visits stored so far."""
    clock.tick(3600)
    return personalized(gql, {**EVENING_PHONE, "consent": YES}, visitor)


# --- Sec-GPC: 1 / DNT: 1 win over every other source of consent ---------------------------------


@pytest.mark.parametrize(("headers", "source"), OPT_OUTS)
def test_an_opt_out_header_overrides_consent_given_in_the_context(home_page, gql, state_backend, headers, source):
    with freeze_time("2026-11-30T11:00:00Z") as clock:
        opted_out = personalized(gql, {**EVENING_PHONE, "consent": YES}, **headers)
        again = later_visit(gql, clock, opted_out["visitorToken"])

    assert_nothing_optional_was_used(opted_out, source)
    # the opted-out request stored no profile: the visitor's first stored visit is the later one
    assert again["context"]["visitCount"] == 1
    # and the same request without the header does use what the consent allows
    assert again["context"]["consent"] == {**YES, "source": "INPUT"}
    assert (variant(again, "hero"), variant(again, "reading")) == ("Cheer up", "Evening reading list")


@pytest.mark.parametrize(("headers", "source"), OPT_OUTS)
def test_an_opt_out_header_overrides_consent_stored_with_set_consent(home_page, gql, state_backend, headers, source):
    with freeze_time("2026-11-30T11:00:00Z") as clock:
        token = set_consent(gql, personalization=True, analytics=True)["visitorToken"]
        opted_out = personalized(gql, EVENING_PHONE, token, **headers)
        clock.tick(3600)
        again = personalized(gql, EVENING_PHONE, token)

    assert_nothing_optional_was_used(opted_out, source)
    assert again["context"]["consent"] == {**YES, "source": "STORED"}
    assert again["context"]["visitCount"] == 1
    assert (variant(again, "hero"), variant(again, "reading")) == ("Cheer up", "Evening reading list")


@pytest.mark.parametrize(("headers", "source"), OPT_OUTS)
def test_an_opt_out_header_overrides_a_default_consent_that_says_yes(home_page, gql, settings, headers, source):
    settings.TAILOR = {**settings.TAILOR, "DEFAULT_CONSENT": YES}

    with freeze_time("2026-11-30T11:00:00Z") as clock:
        opted_out = personalized(gql, EVENING_PHONE, **headers)
        clock.tick(3600)
        again = personalized(gql, EVENING_PHONE, opted_out["visitorToken"])

    assert_nothing_optional_was_used(opted_out, source)
    assert again["context"]["consent"] == {**YES, "source": "DEFAULT"}
    assert again["context"]["visitCount"] == 1


@pytest.mark.parametrize(("headers", "source"), OPT_OUTS)
def test_an_opt_out_header_keeps_the_visitor_id_out_of_the_event_log(home_page, gql, headers, source):
    from variants.models import Event

    def record_cta(**request_headers) -> None:
        page = personalized(gql, {"consent": YES}, **request_headers)
        token = next(d["token"] for d in page["decisions"] if d["slot"] == "cta")
        assert gql(RECORD, {"token": token})["data"]["recordEvent"]["counted"] is True

    record_cta(**headers)
    assert Event.objects.get().visitor_id is None  # analytics consent was overridden
    record_cta()
    assert Event.objects.exclude(visitor_id=None).count() == 1  # without the header it is kept


def test_no_profile_row_is_written_under_an_opt_out_header(home_page, gql):
    from rules.models import VisitorProfile

    for headers in ({"HTTP_DNT": "1"}, {"HTTP_SEC_GPC": "1"}):
        personalized(gql, {**EVENING_PHONE, "consent": YES}, **headers)

    assert not VisitorProfile.objects.exists()


# --- context.consent, setConsent and the default ------------------------------------------------------


@pytest.mark.parametrize(
    ("tailor", "expected"),
    [
        pytest.param({}, {**NO, "source": "DEFAULT"}, id="shipped-default-is-no-optional-consent"),
        pytest.param({"DEFAULT_CONSENT": YES}, {**YES, "source": "DEFAULT"}, id="site-default-says-yes"),
    ],
)
def test_without_any_consent_signal_the_default_consent_applies(home_page, gql, settings, tailor, expected):
    settings.TAILOR = {**settings.TAILOR, **tailor}

    with freeze_time("2026-11-30T11:00:00Z") as clock:
        first = personalized(gql, EVENING_PHONE)
        clock.tick(3600)
        second = personalized(gql, EVENING_PHONE, first["visitorToken"])

    assert first["context"]["consent"] == expected
    if expected["personalization"]:
        assert (variant(first, "hero"), variant(first, "reading")) == ("Cheer up", "Evening reading list")
        assert second["context"]["visitCount"] == 2
    else:
        assert (variant(first, "hero"), variant(first, "reading")) == ("Evening", "Default")
        assert second["context"]["visitCount"] is None and second["context"]["segments"] is None


def test_consent_stored_with_set_consent_decides_later_requests(home_page, gql, state_backend):
    with freeze_time("2026-11-30T11:00:00Z") as clock:
        given = set_consent(gql, personalization=True, analytics=False)
        token = given["visitorToken"]
        first = personalized(gql, EVENING_PHONE, token)
        clock.tick(3600)
        second = personalized(gql, EVENING_PHONE, token)
        withdrawn = set_consent(gql, token, personalization=False, analytics=False)
        clock.tick(3600)
        after = personalized(gql, EVENING_PHONE, token)

    assert given["consent"] == {"personalization": True, "analytics": False, "source": "STORED"}
    assert first["context"]["consent"] == {"personalization": True, "analytics": False, "source": "STORED"}
    assert (variant(first, "hero"), variant(first, "reading")) == ("Cheer up", "Evening reading list")
    assert (first["context"]["visitCount"], second["context"]["visitCount"]) == (1, 2)
    assert withdrawn["visitorToken"] == token
    assert after["context"]["consent"] == {**NO, "source": "STORED"}
    assert (variant(after, "hero"), variant(after, "reading")) == ("Evening", "Default")
    assert after["context"]["visitCount"] is None and after["context"]["emotion"] is None


# --- never stored: IP address, raw User-Agent, the text ---------------------------------------------------

CANARY_IP = "203.0.113.77"
CANARY_FORWARDED_IP = "198.51.100.23"
CANARY_UA = IPHONE + " TailorCanaryAgent/9.9"
CANARY_INPUT_UA = IPHONE + " TailorCanaryInputAgent/1.2"
CANARY_TEXT = "I feel so sad and lonely today, I really miss her, zebracanary"
CANARIES = (CANARY_IP, CANARY_FORWARDED_IP, "TailorCanaryAgent", "TailorCanaryInputAgent", "zebracanary", "lonely")


def everything_stored(state_backend: str) -> str:
    """Every row of every table, and every Redis value under Tailor's prefix, as one text."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump.append(repr(cursor.fetchall()))
    if state_backend == "redis":
        from tailor.redis import get_redis
        from tailor.settings import tailor_settings

        client = get_redis()
        for key in client.scan_iter(match=tailor_settings.REDIS_PREFIX + "*"):
            kind = client.type(key).decode()
            value = {
                "string": lambda k: client.get(k),
                "hash": lambda k: client.hgetall(k),
                "stream": lambda k: client.xrange(k),
                "list": lambda k: client.lrange(k, 0, -1),
                "set": lambda k: client.smembers(k),
                "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            }[kind](key)
            dump.append(repr((key, value)))
    return "\n".join(dump)


def test_the_ip_address_the_raw_user_agent_and_the_text_are_never_stored(home_page, gql, client, state_backend, caplog):
    caplog.set_level(logging.DEBUG)
    request = {"REMOTE_ADDR": CANARY_IP, "HTTP_X_FORWARDED_FOR": CANARY_FORWARDED_IP, "HTTP_USER_AGENT": CANARY_UA}
    ctx = {**EVENING_PHONE, "device": None, "text": CANARY_TEXT, "consent": YES}

    token = set_consent(gql, personalization=True, analytics=True)["visitorToken"]
    with_header_ua = personalized(gql, ctx, token, **request)
    with_input_ua = personalized(gql, {**ctx, "userAgent": CANARY_INPUT_UA}, token, **request)
    # what was used: the device class from the User-Agent, the emotion read from the text
    assert variant(with_header_ua, "hero") == "Cheer up" and with_header_ua["context"]["emotion"]["label"] == "SADNESS"
    assert variant(with_input_ua, "reading") == "Evening reading list"
    for page in (with_header_ua, with_input_ua):
        for d in page["decisions"]:
            assert gql(RECORD, {"token": d["token"]}, **request)["data"]["recordEvent"]["counted"] is True
        cta = next(d["token"] for d in page["decisions"] if d["slot"] == "cta")
        beacon = {"token": cta, "kind": "CONVERSION", "goal": "signup", "value": 5}
        assert (
            client.post("/tailor/events/", json.dumps(beacon), content_type="text/plain", **request).status_code == 200
        )
    call_command("tailor_flush_events", stdout=open("/dev/null", "w"))

    stored = everything_stored(state_backend)
    assert "sadness" in stored or "mobile" in stored  # the dump does see what Tailor keeps
    for canary in CANARIES:
        assert canary not in stored, f"{canary!r} was stored"
        assert canary not in caplog.text, f"{canary!r} was logged"
