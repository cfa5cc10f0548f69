"""Exactly-once counting (issue 12, "Trust"): a decision moves the arm stats at most once per kind,
whatever the goals; a write that fails counts nothing and says so; the beacon's body limit fits the
largest batch it accepts. Through the public interfaces (GraphQL `recordEvent`, the beacon), on the
embedded default and on Redis (`state_backend`). Faults of a real Redis server: `test_redis_faults.py`.
"""

from __future__ import annotations

import json
import logging
import secrets

import pytest
from django.db import OperationalError, connection

from tailor.signing import MAX_TOKEN_LENGTH
from variants.engine import Decision
from variants.events import MAX_EVENT_JSON_BYTES
from variants.feedback import reset, stats_store
from variants.models import Event, EventReceipt
from variants.tokens import read_decision_token, sign_decision
from variants.views import MAX_BATCH, MAX_BODY_BYTES

DECISIONS = """
query ($context: ContextInput) {
  personalizedPage(urlPath: "/", inSite: true, context: $context) {
    decisions { slot slotId variant policy probability token }
  }
}
"""
RECORD = """
mutation ($token: String!, $kind: EventKind!, $goal: String, $value: Float) {
  recordEvent(token: $token, kind: $kind, goal: $goal, value: $value) { ok counted reason errors { field message } }
}
"""
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(autouse=True)
def _fresh_feedback():
    reset()
    yield
    reset()


@pytest.fixture
def decide(gql, home_page):
    def run() -> dict:
        result = gql(DECISIONS, {}, HTTP_USER_AGENT=FIREFOX)
        assert "errors" not in result, result
        return next(d for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == "cta")

    return run


@pytest.fixture
def record(gql):
    def run(token: str, kind: str, goal: str | None = None, value: float | None = None) -> dict:
        result = gql(RECORD, {"token": token, "kind": kind, "goal": goal, "value": value}, HTTP_USER_AGENT=FIREFOX)
        assert "errors" not in result, result
        return result["data"]["recordEvent"]

    return run


def beacon(client, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body, separators=(",", ":"))
    return client.post("/tailor/events/", data, content_type="text/plain;charset=UTF-8", HTTP_USER_AGENT=FIREFOX)


def counts(decision: dict) -> tuple[int, int, int, float]:
    s = stats_store().snapshot([decision["slotId"]])[decision["slotId"]]["*"][decision["variant"]]
    return (s.impressions, s.clicks, s.conversions, s.value)


# --- one decision, one count per kind ----------------------------------------------------------


def test_400_goals_on_one_decision_move_the_arm_stats_once_per_kind(state_backend, decide, record, client):
    d = decide()
    goals = [f"goal-{i:03d}" for i in range(400)]

    assert record(d["token"], "IMPRESSION")["counted"] is True
    assert record(d["token"], "CLICK", goal="hero-link")["counted"] is True
    first = record(d["token"], "CONVERSION", goal=goals[0], value=10.0)
    # 400 goals: 200 clicks and 200 conversions (one visitor stays under TAILOR["RATE_LIMITS"])
    answers = [
        beacon(client, {"events": [{"token": d["token"], "kind": kind, "goal": goal} for goal in goals[i : i + 20]]})
        for kind, start in (("CLICK", 0), ("CONVERSION", 200))
        for i in range(start, start + 200, 20)
    ]

    assert first == {"ok": True, "counted": True, "reason": None, "errors": []}
    assert {(r.status_code, r.json()["received"], r.json()["counted"]) for r in answers} == {(200, 20, 0)}
    assert record(d["token"], "CONVERSION", goal="yet-another", value=99.0)["reason"] == "DUPLICATE"
    # 1 impression, 1 click, 1 conversion (the first goal's, with its value), not 201 of each
    assert counts(d) == (1, 1, 1, 10.0)
    assert sorted(Event.objects.values_list("kind", "goal")) == [
        ("click", "hero-link"),
        ("conversion", "goal-000"),
        ("impression", ""),
    ]
    assert EventReceipt.objects.count() == 3


def test_the_bandit_is_not_moved_by_repeating_goals_on_one_token(state_backend, home_page, decide, record, client):
    tokens = [decide() for _ in range(10)]
    for d in tokens:
        record(d["token"], "IMPRESSION")
    winner = tokens[0]
    for i in range(0, 300, 20):  # 300 conversions with distinct goals on one decision
        beacon(
            client,
            {"events": [{"token": winner["token"], "kind": "CONVERSION", "goal": f"g{i + j}"} for j in range(20)]},
        )

    # what the bandit learns from: one conversion, not 300
    totals = stats_store().snapshot([winner["slotId"]])[winner["slotId"]]["*"]
    assert sum(s.conversions for s in totals.values()) == 1
    assert sum(s.impressions for s in totals.values()) == 10


def test_an_impression_with_a_goal_is_refused_naming_the_goal(state_backend, decide, record, client):
    d = decide()

    refused = record(d["token"], "IMPRESSION", goal="signup")
    by_beacon = beacon(client, {"token": d["token"], "kind": "impression", "goal": "signup"})

    message = "an IMPRESSION has no goal; only a CLICK or a CONVERSION does"
    assert refused == {"ok": False, "counted": False, "reason": None, "errors": [{"field": "goal", "message": message}]}
    assert by_beacon.status_code == 400
    assert by_beacon.json()["errors"] == [{"index": 0, "field": "goal", "message": message}]
    assert not EventReceipt.objects.exists() and not Event.objects.exists()
    assert record(d["token"], "IMPRESSION")["counted"] is True  # without the goal it counts, once
    assert counts(d)[0] == 1


# --- a write that fails counts nothing, loudly --------------------------------------------------


def test_a_failed_write_counts_nothing_is_logged_and_the_retry_counts_once(state_backend, decide, record, caplog):
    d = decide()

    def fails_at_the_counts(execute, sql, params, many, context):
        # the statement adding to the arm stats (after the mark and the log row, on SQLite; the
        # one statement doing all three, on PostgreSQL) never completes
        if "tailor_variants_armstat" in sql:
            raise OperationalError("database went away mid-transaction")
        return execute(sql, params, many, context)

    with caplog.at_level(logging.ERROR, logger="tailor.events"), connection.execute_wrapper(fails_at_the_counts):
        failed = record(d["token"], "CONVERSION", goal="signup", value=5.0)

    assert failed["ok"] is False and failed["counted"] is False
    assert failed["errors"] == [{"field": None, "message": "The event could not be recorded right now; try again"}]
    assert any("could not record a conversion event" in r.getMessage() for r in caplog.records)
    # the dedupe mark rolled back with the count: the retry is not a false duplicate
    assert not EventReceipt.objects.exists() and not Event.objects.exists()
    assert record(d["token"], "CONVERSION", goal="signup", value=5.0)["counted"] is True
    assert record(d["token"], "CONVERSION", goal="signup", value=5.0)["reason"] == "DUPLICATE"
    assert counts(d) == (0, 0, 1, 5.0)


def test_a_failed_beacon_event_is_a_503_naming_it_and_the_resend_counts_once(decide, client):
    d = decide()

    def down_at_the_counts(execute, sql, params, many, context):
        if "tailor_variants_armstat" in sql:
            raise OperationalError("down")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(down_at_the_counts):
        down = beacon(client, {"token": d["token"], "kind": "impression"})
    again = beacon(client, {"token": d["token"], "kind": "impression"})
    replay = beacon(client, {"token": d["token"], "kind": "impression"})

    assert down.status_code == 503 and down.json()["counted"] == 0
    assert down.json()["errors"][0]["index"] == 0
    assert (again.status_code, again.json()["counted"]) == (200, 1)
    assert (replay.status_code, replay.json()["counted"]) == (200, 0)
    assert counts(d)[0] == 1


# --- the beacon's body limit fits the largest batch it accepts ------------------------------------


def longest_valid_token(decision: dict, page_id: int) -> str:
    """A real, signed decision token (the demo's cta bandit) as close to MAX_TOKEN_LENGTH as reasons
    of random text make it (a token keeps up to 10 reasons; random text does not compress)."""
    claims = read_decision_token(decision["token"])

    def sign(n: int) -> str:
        reasons = tuple(secrets.token_hex(n) for _ in range(10))
        return sign_decision(
            Decision(claims.slot_id, claims.slot_name, claims.variant_id, claims.variant_name, claims.policy,
                     claims.probability, reasons),
            page_id=page_id,
            visitor_id=secrets.token_hex(16),
            analytics=True,
        )  # fmt: skip

    lo, hi = 1, 400
    while lo < hi:  # the most random bytes per reason that keep the token within the limit
        mid = (lo + hi + 1) // 2
        if len(sign(mid)) <= MAX_TOKEN_LENGTH:
            lo = mid
        else:
            hi = mid - 1
    fitting: list[str] = []
    while not fitting:  # compression varies a little with the random text: step down until one fits
        fitting = [t for t in (sign(lo) for _ in range(10)) if len(t) <= MAX_TOKEN_LENGTH]
        lo -= 1
    token = max(fitting, key=len)
    assert MAX_TOKEN_LENGTH - 120 <= len(token), len(token)
    return token


def test_the_body_limit_fits_max_batch_of_the_largest_valid_events(state_backend, home_page, decide, client):
    d = decide()
    events = [
        {
            "token": longest_valid_token(d, home_page.pk),
            "kind": "CONVERSION",
            "goal": "g" * 64,
            "value": 2.2250738585072014e-308,  # the longest JSON a value in range takes
        }
        for _ in range(MAX_BATCH)
    ]
    body = json.dumps({"events": events}, separators=(",", ":"))
    pretty = json.dumps({"events": events}, indent=1)  # clients may send whitespace, too
    largest = max(len(json.dumps(e, separators=(",", ":"))) for e in events)

    assert largest <= MAX_EVENT_JSON_BYTES and largest > MAX_EVENT_JSON_BYTES - 150
    assert 32 * 1024 < len(body) <= len(pretty) <= MAX_BODY_BYTES  # the former 32 KiB refused it
    response = beacon(client, pretty)

    assert response.status_code == 200, response.content[:300]
    assert response.json() == {"received": MAX_BATCH, "counted": MAX_BATCH, "errors": []}
    assert EventReceipt.objects.filter(kind="conversion").count() == MAX_BATCH
    # one byte over the limit is refused, whole
    too_big = beacon(client, pretty + " " * (MAX_BODY_BYTES - len(pretty.encode()) + 1))
    assert too_big.status_code == 400 and too_big.json()["counted"] == 0
    assert f"larger than {MAX_BODY_BYTES} bytes" in too_big.json()["errors"][0]["message"]


def test_the_body_limit_is_max_batch_times_the_largest_valid_event():
    envelope = len('{"events":[]}')
    largest = json.dumps(
        {"token": "t" * MAX_TOKEN_LENGTH, "kind": "CONVERSION", "goal": "g" * 64, "value": -2.2250738585072014e-308},
        separators=(",", ":"),
    )
    assert MAX_EVENT_JSON_BYTES == len(largest)  # a negative value is refused, but the bound may be generous
    assert MAX_BODY_BYTES >= envelope + MAX_BATCH * (MAX_EVENT_JSON_BYTES + 1) + MAX_BATCH * 64
    assert MAX_BODY_BYTES % 1024 == 0 and MAX_BODY_BYTES - 1024 < envelope + MAX_BATCH * (MAX_EVENT_JSON_BYTES + 65)


# --- the marks live as long as a token can be used --------------------------------------------------


def test_the_flush_prunes_receipts_of_expired_tokens_only(decide, record, settings):
    from datetime import timedelta

    from django.utils import timezone
    from freezegun import freeze_time

    from variants.aggregation import flush_events

    settings.TAILOR = {**settings.TAILOR, "TOKEN_MAX_AGE": 3600}
    start = timezone.now()
    with freeze_time(start):
        old = decide()
        assert record(old["token"], "IMPRESSION")["counted"] is True
    with freeze_time(start + timedelta(minutes=50)):
        young = decide()
        assert record(young["token"], "IMPRESSION")["counted"] is True
    with freeze_time(start + timedelta(seconds=3600 + 61)):
        flush_events()
        assert list(EventReceipt.objects.values_list("token_id", flat=True)) == [
            read_decision_token(young["token"]).nonce
        ]
        # the pruned one's token has expired: it cannot be replayed
        assert record(old["token"], "IMPRESSION")["errors"][0]["message"] == "The token has expired"
        assert record(young["token"], "IMPRESSION")["reason"] == "DUPLICATE"


# --- concurrent duplicates ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_events_sent_at_once_from_many_threads_count_once_each(home_page, gql):
    import threading

    from django.db import connections

    from variants.events import record_event

    decisions = [
        next(
            d
            for d in gql(DECISIONS, {}, HTTP_USER_AGENT=FIREFOX)["data"]["personalizedPage"]["decisions"]
            if d["slot"] == "cta"
        )
        for _ in range(15)
    ]
    events = [(d["token"], kind) for d in decisions for kind in ("impression", "click", "conversion")]
    counted, errors = [], []
    start = threading.Barrier(6)

    def send():
        try:
            start.wait()
            counted.append(sum(record_event(token, kind).counted for token, kind in events))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    assert sum(counted) == 45  # 6 senders x 45 events: each counted by exactly one of them
    assert EventReceipt.objects.count() == Event.objects.count() == 45
    slot = decisions[0]["slotId"]
    arms = stats_store().snapshot([slot])[slot]["*"].values()
    assert (sum(a.impressions for a in arms), sum(a.clicks for a in arms), sum(a.conversions for a in arms)) == (
        15,
        15,
        15,
    )


# --- upgrading: events logged before receipts existed ---------------------------------------------


def legacy_row(decision: dict, kind: str, goal: str = "") -> Event:
    """An event log row as the version before receipts wrote it (no EventReceipt)."""
    from django.utils import timezone

    claims = read_decision_token(decision["token"])
    return Event.objects.create(
        token_id=claims.nonce, kind=kind, goal=goal, slot_id=claims.slot_id, variant_id=claims.variant_id,
        bucket="*", policy=claims.policy, created_at=timezone.now(),
    )  # fmt: skip


def test_an_event_logged_before_receipts_existed_is_still_a_duplicate(decide, record):
    d = decide()
    legacy_row(d, "conversion", "signup")

    assert record(d["token"], "CONVERSION", goal="signup")["reason"] == "DUPLICATE"
    assert stats_store().snapshot([d["slotId"]])[d["slotId"]] == {}  # nothing added
    assert EventReceipt.objects.count() == 1  # the mark it lacked: the next one is a duplicate at once


def test_the_migration_backfills_receipts_from_the_log_of_tokens_still_usable(decide):
    from datetime import timedelta
    from importlib import import_module

    from django.apps import apps

    backfill = import_module("variants.migrations.0004_event_receipts").backfill_receipts
    recent, old = decide(), decide()
    legacy_row(recent, "impression")
    legacy_row(recent, "conversion", "signup")
    legacy_row(recent, "conversion", "newsletter")  # the old scheme counted goals apart: one receipt
    stale = legacy_row(old, "impression")
    Event.objects.filter(pk=stale.pk).update(created_at=stale.created_at - timedelta(days=8))  # token expired

    backfill(apps, None)
    backfill(apps, None)  # idempotent

    nonce = read_decision_token(recent["token"]).nonce
    assert sorted(EventReceipt.objects.values_list("token_id", "kind")) == [
        (nonce, "conversion"),
        (nonce, "impression"),
    ]
