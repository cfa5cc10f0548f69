"""Rate limits (issue 12, "Trust"): events (recordEvent, the beacon) and consent (setConsent), per
visitor and per client address, `TAILOR["RATE_LIMITS"]`, in memory or in Redis (`tailor.ratelimit`).

The defaults are high (600 events a minute per visitor, 6,000 per address; 60 consent changes per
visitor, 1,200 per address): these tests set low ones.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from tests.services import redis_url, require_redis
from variants.models import Event

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
DECISIONS = """query ($v: String) { personalizedPage(urlPath: "/", inSite: true, visitorToken: $v) {
  visitorToken decisions { slot token } } }"""
RECORD = "mutation ($t: String!) { recordEvent(token: $t, kind: CLICK) { ok counted errors { field message } } }"
CONSENT = """mutation ($v: String) { setConsent(visitorToken: $v, personalization: true, analytics: false) {
  ok visitorToken } }"""


def post(client, query: str, variables: dict | None = None, **extra):
    body = json.dumps({"query": query, "variables": variables or {}})
    return client.post("/graphql/", body, content_type="application/json", HTTP_USER_AGENT=FIREFOX, **extra)


def tokens(client, visitor: str | None = None) -> tuple[str, list[str]]:
    """A visitor's token and the decision tokens of one page view (three slots)."""
    page = post(client, DECISIONS, {"v": visitor}).json()["data"]["personalizedPage"]
    return page["visitorToken"], [d["token"] for d in page["decisions"]]


def limits(**rates) -> dict:
    return {"RATE_LIMITS": rates}


def rate_limited(response) -> dict:
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED", error
    return error


def test_record_event_is_limited_per_visitor(client, home_page):
    with override_settings(TAILOR=limits(EVENTS_PER_VISITOR="4/minute")):
        visitor, first = tokens(client)
        _same, second = tokens(client, visitor)  # the same visitor's next page view
        _other, others = tokens(client)  # another visitor

        answers = [post(client, RECORD, {"t": t}) for t in first + second[:1]]
        refused = post(client, RECORD, {"t": second[1]})
        other = post(client, RECORD, {"t": others[0]})

    assert all(a.json()["data"]["recordEvent"]["ok"] for a in answers)
    error = rate_limited(refused)
    assert error["extensions"]["limit"] == "RATE_LIMITS.EVENTS_PER_VISITOR"
    assert "4/minute" in error["message"] and error["extensions"]["retryAfter"] >= 1
    assert refused.json()["data"] == {"recordEvent": None}
    assert int(refused["Retry-After"]) >= 1
    assert other.json()["data"]["recordEvent"]["ok"]  # another visitor is not held back
    assert Event.objects.count() == 5


def test_the_beacon_is_limited_per_client_address_with_a_429(client, home_page):
    with override_settings(TAILOR=limits(EVENTS_PER_ADDRESS="3/minute")):
        _v, decision_tokens = tokens(client)
        batch = json.dumps({"events": [{"token": t, "kind": "impression"} for t in decision_tokens[:2]]})
        first = client.post("/tailor/events/", batch, content_type="text/plain", HTTP_USER_AGENT=FIREFOX)
        second = client.post("/tailor/events/", batch, content_type="text/plain", HTTP_USER_AGENT=FIREFOX)
        elsewhere = client.post(
            "/tailor/events/", batch, content_type="text/plain", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="10.1.2.3"
        )

    assert first.status_code == 200 and first.json()["counted"] == 2
    assert second.status_code == 429
    assert int(second["Retry-After"]) >= 1
    body = second.json()
    assert body["received"] == 2 and body["counted"] == 0
    assert "RATE_LIMITS.EVENTS_PER_ADDRESS" in body["errors"][0]["message"]
    assert elsewhere.status_code == 200  # another address (the events were counted already: not again)
    assert elsewhere.json()["counted"] == 0


def test_set_consent_is_limited_per_address_and_per_visitor(client, db):
    with override_settings(TAILOR=limits(CONSENT_PER_ADDRESS="3/minute", CONSENT_PER_VISITOR="1/minute")):
        created = [post(client, CONSENT) for _ in range(3)]
        fourth = post(client, CONSENT)
    assert all(r.json()["data"]["setConsent"]["ok"] for r in created)
    assert rate_limited(fourth)["extensions"]["limit"] == "RATE_LIMITS.CONSENT_PER_ADDRESS"

    with override_settings(TAILOR=limits(CONSENT_PER_VISITOR="1/minute")):
        token = post(client, CONSENT).json()["data"]["setConsent"]["visitorToken"]  # new: address only
        assert post(client, CONSENT, {"v": token}).json()["data"]["setConsent"]["ok"]
        again = post(client, CONSENT, {"v": token})
    assert rate_limited(again)["extensions"]["limit"] == "RATE_LIMITS.CONSENT_PER_VISITOR"


def test_one_request_of_5000_aliased_set_consents_cannot_create_5000_profiles(client, db):
    document = (
        "mutation { "
        + " ".join(f"c{i}: setConsent(personalization: true, analytics: true) {{ ok }}" for i in range(5000))
        + " }"
    )

    with override_settings(TAILOR={"GRAPHQL_LIMITS": {"MAX_BODY_BYTES": 1_000_000}}):
        response = post(client, document)

    assert response.status_code == 400  # MAX_TOKENS, before anything runs
    from rules.models import VisitorProfile

    assert VisitorProfile.objects.count() == 0
    # Within the document limits, the consent rate limit still bounds what a client creates.
    with override_settings(TAILOR=limits(CONSENT_PER_ADDRESS="5/minute")):
        many = (
            "mutation { "
            + " ".join(f"c{i}: setConsent(personalization: true, analytics: true) {{ ok }}" for i in range(20))
            + " }"
        )
        data = post(client, many).json()["data"]
    assert sum(1 for value in data.values() if value) == 5


def test_the_limits_are_validated_settings(settings):
    from django.core.exceptions import ImproperlyConfigured

    from tailor.settings import tailor_settings

    settings.TAILOR = limits(EVENTS_PER_VISITOR="lots")
    with pytest.raises(ImproperlyConfigured, match='RATE_LIMITS.*EVENTS_PER_VISITOR must be like "600/minute"'):
        tailor_settings.RATE_LIMITS  # noqa: B018
    settings.TAILOR = limits(EVENTS_PER_VISITR="1/minute")
    with pytest.raises(ImproperlyConfigured, match="unknown key"):
        tailor_settings.RATE_LIMITS  # noqa: B018
    settings.TAILOR = limits(EVENTS_PER_VISITOR=None)
    assert tailor_settings.RATE_LIMITS["EVENTS_PER_VISITOR"] is None
    assert tailor_settings.RATE_LIMITS["CONSENT_PER_VISITOR"] == "60/minute"  # the others keep their defaults


def test_in_redis_the_limit_is_shared_and_keeps_no_address(client, db):
    redis = require_redis()
    prefix = f"tailor-test-{uuid.uuid4().hex[:8]}:"
    try:
        with override_settings(
            TAILOR={"REDIS_URL": redis_url(), "REDIS_PREFIX": prefix, **limits(CONSENT_PER_ADDRESS="2/minute")}
        ):
            answers = [post(client, CONSENT, REMOTE_ADDR="192.0.2.77") for _ in range(3)]
            keys = [k.decode() for k in redis.scan_iter(match=f"{prefix}*")]
        with override_settings(
            TAILOR={"REDIS_URL": redis_url(), "REDIS_PREFIX": prefix, **limits(CONSENT_PER_ADDRESS="2/minute")}
        ):
            # a fresh limiter (another process, say) sees the same counts
            after = post(client, CONSENT, REMOTE_ADDR="192.0.2.77")
    finally:
        for key in redis.scan_iter(match=f"{prefix}*"):
            redis.delete(key)
    assert [("errors" in a.json()) for a in answers] == [False, False, True]
    assert "errors" in after.json()
    counters = [k for k in keys if k.startswith(f"{prefix}ratelimit:")]
    assert counters and all("consent/address" in k for k in counters)
    assert not any("192.0.2.77" in k for k in keys)


def test_a_rate_limit_store_that_is_down_lets_requests_through_quickly(caplog):
    import time

    from tailor.ratelimit import hit

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    with override_settings(
        TAILOR={"REDIS_URL": f"redis://127.0.0.1:{port}/0", **limits(CONSENT_PER_ADDRESS="1/minute")}
    ):
        with caplog.at_level(logging.WARNING, logger="tailor.ratelimit"):
            start = time.perf_counter()
            answers = [hit("CONSENT", address="192.0.2.1") for _ in range(2)]
            seconds = time.perf_counter() - start
    assert answers == [None, None]
    assert seconds < 2
    assert any("rate limit storage unavailable" in r.getMessage() for r in caplog.records)


def test_the_sample_site_turns_rate_limits_off_for_load_benchmarks():
    script = "import django; django.setup(); from tailor.settings import tailor_settings as t; print(t.RATE_LIMITS)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sample_site.settings", "DJANGO_SECRET_KEY": "k" * 60}
    root = Path(__file__).resolve().parents[1]
    on = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    off = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env={**env, "TAILOR_RATE_LIMITS": "off"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "'EVENTS_PER_VISITOR': '600/minute'" in on.stdout, on.stderr[-1000:]
    assert "'EVENTS_PER_VISITOR': None" in off.stdout and "'CONSENT_PER_ADDRESS': None" in off.stdout
