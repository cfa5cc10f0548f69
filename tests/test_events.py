"""Events through their public interfaces: `recordEvent` (GraphQL), the beacon, and the hourly flush.

Most tests run twice (`state_backend`): on the embedded default (the database) and on Redis.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django_tasks import default_task_backend
from freezegun import freeze_time

from tests.services import redis_url, require_redis
from variants import tasks as tasks_module
from variants.aggregation import flush_events
from variants.events import Requester, record_event
from variants.feedback import reset, stats_store
from variants.models import Event, EventAggregate
from variants.tasks import flush_events_task, flush_soon
from variants.views import MAX_BATCH, MAX_BODY_BYTES

DECISIONS = """
query ($path: String!, $context: ContextInput, $visitor: String) {
  personalizedPage(urlPath: $path, inSite: true, context: $context, visitorToken: $visitor) {
    visitorToken
    decisions { slot slotId variant variantName policy token }
  }
}
"""

RECORD = """
mutation ($token: String!, $kind: EventKind!, $goal: String, $value: Float) {
  recordEvent(token: $token, kind: $kind, goal: $goal, value: $value) { ok counted reason errors { field message } }
}
"""

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(autouse=True)
def _fresh_feedback():
    reset()
    yield
    reset()


@pytest.fixture
def decide(gql, home_page):
    """The demo home page's decision for one slot (default: the `cta` bandit)."""

    def run(slot: str = "cta", context: dict | None = None, **headers) -> dict:
        result = gql(DECISIONS, {"path": "/", "context": context}, **headers)
        assert "errors" not in result, result
        return next(d for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == slot)

    return run


@pytest.fixture
def record(gql):
    def run(token: str, kind: str = "IMPRESSION", goal: str | None = None, value: float | None = None, **headers):
        result = gql(RECORD, {"token": token, "kind": kind, "goal": goal, "value": value}, **headers)
        assert "errors" not in result, result
        return result["data"]["recordEvent"]

    return run


def arm_stats(decision: dict):
    return stats_store().snapshot([decision["slotId"]])[decision["slotId"]].get("*", {}).get(decision["variant"])


# --- counted once -----------------------------------------------------------------------------


def test_an_event_is_counted_once_per_token_and_kind_whatever_the_goal(state_backend, decide, record):
    d = decide()

    assert record(d["token"]) == {"ok": True, "counted": True, "reason": None, "errors": []}
    assert record(d["token"]) == {"ok": True, "counted": False, "reason": "DUPLICATE", "errors": []}
    assert record(d["token"], "CONVERSION", goal="signup", value=49.5)["counted"] is True
    assert record(d["token"], "CONVERSION", goal="signup", value=49.5)["reason"] == "DUPLICATE"
    # a goal is an attribute of the decision's one conversion, not a new count
    assert record(d["token"], "CONVERSION", goal="newsletter")["reason"] == "DUPLICATE"
    assert record(d["token"], "CLICK")["counted"] is True

    stats = arm_stats(d)
    assert (stats.impressions, stats.clicks, stats.conversions, stats.value) == (1, 1, 1, 49.5)


def test_another_showing_of_the_same_decision_counts_again(state_backend, decide, record):
    first, second = decide(), decide()

    assert record(first["token"])["counted"] and record(second["token"])["counted"]
    if first["variant"] == second["variant"]:
        assert arm_stats(first).impressions == 2


def test_rules_decisions_are_logged_but_feed_no_learning_stats(state_backend, decide, record):
    hero = decide("hero", {"timezone": "Asia/Seoul", "now": "2026-11-30T08:00:00+09:00"})
    assert hero["policy"] == "RULES"

    assert record(hero["token"])["counted"] is True

    assert stats_store().snapshot([hero["slotId"]]) == {hero["slotId"]: {}}


# --- refused tokens -----------------------------------------------------------------------------


def test_forged_tampered_and_malformed_tokens_are_refused_in_the_payload(state_backend, decide, record):
    token = decide()["token"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    for bad, message in [
        ("not-a-token", "The token's signature is not valid"),
        (tampered, "The token's signature is not valid"),
        ("", "The token is empty, too long or not a string"),
        ("x" * 5000, "The token is empty, too long or not a string"),
    ]:
        assert record(bad) == {
            "ok": False,
            "counted": False,
            "reason": None,
            "errors": [{"field": "token", "message": message}],
        }


def test_a_visitor_token_is_not_a_decision_token(decide, record, gql):
    visitor = gql(DECISIONS, {"path": "/"})["data"]["personalizedPage"]["visitorToken"]

    assert record(visitor)["errors"] == [{"field": "token", "message": "The token's signature is not valid"}]


def test_an_expired_token_is_refused(state_backend, decide, record, settings):
    settings.TAILOR = {**settings.TAILOR, "TOKEN_MAX_AGE": 3600}
    with freeze_time("2026-11-30 08:00:00"):
        token = decide()["token"]
    with freeze_time("2026-11-30 08:59:00"):
        assert record(token)["counted"] is True
    with freeze_time("2026-11-30 09:00:02"):
        assert record(token, "CLICK") == {
            "ok": False,
            "counted": False,
            "reason": None,
            "errors": [{"field": "token", "message": "The token has expired"}],
        }


@pytest.mark.parametrize(
    "kind, goal, value, field",
    [
        ("IMPRESSION", None, 10.0, "value"),
        ("CONVERSION", "has spaces", None, "goal"),
        ("CONVERSION", "x" * 65, None, "goal"),
        ("CONVERSION", None, 1e13, "value"),
    ],
)
def test_invalid_event_fields_are_errors_naming_the_field(decide, record, kind, goal, value, field):
    result = record(decide()["token"], kind, goal, value)

    assert result["ok"] is False and result["errors"][0]["field"] == field


# --- bots ---------------------------------------------------------------------------------------


def test_a_bot_recording_an_event_is_not_counted(state_backend, decide, record):
    d = decide()

    assert record(d["token"], HTTP_USER_AGENT=GOOGLEBOT) == {
        "ok": True,
        "counted": False,
        "reason": "BOT",
        "errors": [],
    }
    assert arm_stats(d) is None
    # a real browser still can
    assert record(d["token"], HTTP_USER_AGENT=FIREFOX)["counted"] is True


def test_events_on_a_decision_made_for_a_bot_are_never_counted(state_backend, decide, record):
    d = decide(HTTP_USER_AGENT=GOOGLEBOT)

    assert record(d["token"], HTTP_USER_AGENT=FIREFOX) == {"ok": True, "counted": False, "reason": "BOT", "errors": []}
    assert arm_stats(d) is None


# --- privacy ------------------------------------------------------------------------------------


def test_the_event_log_keeps_ids_kind_goal_value_and_time_only(decide, record):
    columns = {f.name for f in Event._meta.get_fields()}
    assert not any(word in name for name in columns for word in ("ip", "agent", "address", "header"))

    anonymous = decide()
    consenting = decide(context={"consent": {"personalization": False, "analytics": True}})
    record(anonymous["token"], HTTP_USER_AGENT=FIREFOX)
    record(consenting["token"], "CONVERSION", goal="signup", value=12.0, HTTP_USER_AGENT=FIREFOX)

    rows = {e.token_id: e for e in Event.objects.all()}
    assert len(rows) == 2
    without, with_consent = sorted(rows.values(), key=lambda e: e.kind)[::-1]
    assert without.kind == "impression" and without.visitor_id is None
    assert with_consent.kind == "conversion" and with_consent.goal == "signup" and with_consent.value == 12.0
    assert with_consent.visitor_id and len(with_consent.visitor_id) == 32
    assert with_consent.slot_id == consenting["slotId"] and with_consent.variant_id == consenting["variant"]


def test_with_redis_the_event_is_counted_in_the_database_and_redis_keeps_none_of_it(decide, record, settings):
    client = require_redis()
    prefix = "tailor-test-stream:"
    settings.TAILOR = {"REDIS_URL": redis_url(), "REDIS_PREFIX": prefix}
    try:
        d = decide()
        record(d["token"], "CONVERSION", goal="signup", value=3.5)

        (row,) = Event.objects.all()
        assert (row.slot_id, row.variant_id, row.kind, row.goal, row.value) == (
            d["slotId"], d["variant"], "conversion", "signup", 3.5
        )  # fmt: skip
        assert row.visitor_id is None
        # no dedupe mark, count or log entry in Redis: a restart or FLUSHDB cannot lose or replay it
        keys = [k.decode() for k in client.scan_iter(match=prefix + "*")]
        assert not [k for k in keys if k.startswith((prefix + "event", prefix + "stats:"))], keys
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)


# --- the domain function directly ---------------------------------------------------------------


def test_record_event_accepts_kinds_in_any_case_and_reports_duplicates(decide):
    token = decide()["token"]

    assert record_event(token, "Impression").counted is True
    again = record_event(token, "IMPRESSION")
    assert (again.counted, again.reason) == (False, "duplicate")
    assert record_event(token, "click", requester=Requester(GOOGLEBOT)).reason == "bot"


def test_a_stats_outage_is_an_error_in_the_payload_and_the_event_can_be_retried(decide, record):
    d = decide()

    def broken(execute, sql, params, many, context):
        if "tailor_variants_armstat" in sql:
            raise OperationalError("stats store down")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(broken):
        result = record(d["token"], HTTP_USER_AGENT=FIREFOX)
    assert result["ok"] is False and result["errors"][0]["field"] is None

    assert record(d["token"], HTTP_USER_AGENT=FIREFOX)["counted"] is True


# --- the beacon -----------------------------------------------------------------------------------


def beacon(client, body, content_type="text/plain;charset=UTF-8", **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/tailor/events/", data, content_type=content_type, **headers)


def test_beacon_counts_an_event_sent_as_text_plain_like_send_beacon_does(state_backend, client, decide):
    d = decide()

    response = beacon(client, {"token": d["token"], "kind": "impression"})
    again = beacon(client, {"token": d["token"], "kind": "impression"})

    assert (response.status_code, response.json()) == (200, {"received": 1, "counted": 1, "errors": []})
    assert (again.status_code, again.json()) == (200, {"received": 1, "counted": 0, "errors": []})  # a repeat
    assert response["Cache-Control"] == "no-store"
    assert arm_stats(d).impressions == 1


def test_beacon_takes_a_json_batch(client, decide):
    d = decide()
    batch = {
        "events": [
            {"token": d["token"], "kind": "IMPRESSION"},
            {"token": d["token"], "kind": "CONVERSION", "goal": "signup", "value": 20},
        ]
    }

    response = beacon(client, batch, content_type="application/json")

    assert (response.status_code, response.json()) == (200, {"received": 2, "counted": 2, "errors": []})
    stats = arm_stats(d)
    assert (stats.impressions, stats.conversions, stats.value) == (1, 1, 20.0)


def test_beacon_reports_bad_events_as_json_400_and_records_the_good_ones(client, decide):
    d = decide()

    response = beacon(client, [{"token": d["token"], "kind": "IMPRESSION"}, {"token": "forged", "kind": "CLICK"}])

    assert response.status_code == 400
    assert response.json() == {
        "received": 2,
        "counted": 1,
        "errors": [{"index": 1, "field": "token", "message": "The token's signature is not valid"}],
    }
    assert arm_stats(d).impressions == 1


@pytest.mark.parametrize(
    "body, content_type, message",
    [
        ("{not json", "text/plain", "the body is not a JSON event"),
        ('"just a string"', "application/json", "expected an event object"),
        ("[]", "application/json", "no events"),
        (json.dumps([{"token": "t", "kind": "click"}] * 21), "application/json", "at most 20 events"),
        ('{"token": "t", "kind": "click", "extra": 1}', "application/json", "unknown field"),
        ("kind=click", "application/x-www-form-urlencoded", "send JSON as application/json or text/plain"),
        (b"\xff\xfe", "text/plain", "the body is not UTF-8"),
        ("x" * (MAX_BODY_BYTES + 1), "text/plain", f"the body is larger than {MAX_BODY_BYTES} bytes"),
    ],
)
def test_beacon_refuses_malformed_bodies_with_a_json_400(client, db, body, content_type, message):
    response = beacon(client, body, content_type=content_type)

    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"received", "counted", "errors"} and answer["counted"] == 0
    assert message in answer["errors"][0]["message"]


def test_beacon_answers_only_post(client, db):
    assert client.get("/tailor/events/").status_code == 405


def test_beacon_does_not_count_bots(client, decide):
    d = decide()

    response = beacon(client, {"token": d["token"], "kind": "CLICK"}, HTTP_USER_AGENT=GOOGLEBOT)

    assert (response.status_code, response.json()) == (200, {"received": 1, "counted": 0, "errors": []})
    assert arm_stats(d) is None


#: contexts in which the demo page's decisions carry the most: at 14:00 in Seoul no hero variant
#: matches, so its token holds five reasons; with the weather and the visitor's consent, a visitor id
LARGE_TOKEN_CONTEXTS = [
    {"timezone": "Asia/Seoul", "now": "2026-11-30T14:00:00+09:00", **extra}
    for extra in (
        {},
        {"weather": {"condition": "CLEAR", "temperatureC": 3.5}},
        {
            "weather": {"condition": "SNOW", "temperatureC": -12.5},
            "consent": {"personalization": True, "analytics": True},
        },
    )
]


def largest_real_events(gql, n: int) -> list[dict]:
    """`n` CONVERSIONs with a 64-character goal and a value, each on its own decision token of the
    demo page's largest kind (a decision counts once per kind, so a batch needs `n` decisions)."""
    largest = (0, None, None)
    for context in LARGE_TOKEN_CONTEXTS:
        first = gql(DECISIONS, {"path": "/", "context": context}, HTTP_USER_AGENT=FIREFOX)
        visitor = first["data"]["personalizedPage"]["visitorToken"]
        again = gql(DECISIONS, {"path": "/", "context": context, "visitor": visitor}, HTTP_USER_AGENT=FIREFOX)
        for d in again["data"]["personalizedPage"]["decisions"]:
            largest = max(largest, (len(d["token"]), context, visitor, d["slot"]), key=lambda t: t[0])
    _, context, visitor, slot = largest
    events = []
    for i in range(n):
        answer = gql(DECISIONS, {"path": "/", "context": context, "visitor": visitor}, HTTP_USER_AGENT=FIREFOX)
        token = next(d["token"] for d in answer["data"]["personalizedPage"]["decisions"] if d["slot"] == slot)
        events.append({"token": token, "kind": "CONVERSION", "goal": f"{i:02d}" + "g" * 62, "value": 12345.67})
    return events


def test_beacon_takes_a_batch_of_20_of_the_largest_real_events(state_backend, client, gql, home_page, record):
    events = largest_real_events(gql, MAX_BATCH)
    body = json.dumps({"events": events}, separators=(",", ":"))
    size = max(len(json.dumps(e, separators=(",", ":")).encode()) for e in events)
    # the figures variants/views.py states (about 614 bytes, 12.3 KB for 20): real tokens, not padding
    assert 550 < size and len(body.encode()) > 20 * 550 > 8 * 1024
    assert len(body.encode()) * 2 < MAX_BODY_BYTES  # with room for longer names and translated reasons

    response = beacon(client, body, content_type="text/plain;charset=UTF-8", HTTP_USER_AGENT=FIREFOX)

    assert response.status_code == 200, response.content
    assert response.json() == {"received": MAX_BATCH, "counted": MAX_BATCH, "errors": []}
    # each was counted: recording it again is a duplicate
    assert {record(e["token"], "CONVERSION", e["goal"], HTTP_USER_AGENT=FIREFOX)["reason"] for e in events} == {
        "DUPLICATE"
    }


# --- flushing into hourly aggregates -------------------------------------------------------------


def aggregates() -> dict:
    return {
        (a.hour, a.variant_id, a.kind, a.goal): (a.count, a.value)
        for a in EventAggregate.objects.order_by("hour", "variant_id", "kind", "goal")
    }


def test_flush_folds_events_into_hourly_aggregates_exactly_once(state_backend, decide, record):
    with freeze_time("2026-11-30 08:10:00"):
        a = decide()
        record(a["token"])
        record(a["token"], "CONVERSION", goal="signup", value=10.0)
    with freeze_time("2026-11-30 08:50:00"):
        b = decide()
        record(b["token"])
        record(b["token"], "CONVERSION", goal="signup", value=5.0)
    with freeze_time("2026-11-30 09:05:00"):
        c = decide()
        record(c["token"])

    first = flush_events()
    second = flush_events()

    assert first.events == 5 and second.events == 0
    eight, nine = datetime(2026, 11, 30, 8, tzinfo=UTC), datetime(2026, 11, 30, 9, tzinfo=UTC)
    expected: dict = {}
    for hour, d, kind, goal, value in [
        (eight, a, "impression", "", 0.0),
        (eight, a, "conversion", "signup", 10.0),
        (eight, b, "impression", "", 0.0),
        (eight, b, "conversion", "signup", 5.0),
        (nine, c, "impression", "", 0.0),
    ]:
        count, total = expected.get((hour, d["variant"], kind, goal), (0, 0.0))
        expected[(hour, d["variant"], kind, goal)] = (count + 1, total + value)
    assert aggregates() == expected
    row = EventAggregate.objects.filter(kind="conversion").first()
    assert row.slot_id == a["slotId"] and row.policy == "BANDIT" and row.page_id > 0


def test_flush_command_prints_what_it_did(state_backend, decide, record, capsys):
    record(decide()["token"])

    call_command("tailor_flush_events")

    assert "1 event(s) folded into hourly aggregates" in capsys.readouterr().out
    assert sum(a.count for a in EventAggregate.objects.all()) == 1


def test_flush_in_batches_adds_up(decide, record):
    for _ in range(7):
        record(decide()["token"])

    result = flush_events(batch_size=3)

    assert result.events == 7
    assert sum(a.count for a in EventAggregate.objects.all()) == 7
    assert not Event.objects.filter(aggregated=False).exists()


def test_flush_prunes_old_event_log_rows_but_never_within_the_token_lifetime(decide, record, settings):
    settings.TAILOR = {"EVENT_LOG_RETENTION_DAYS": 1, "TOKEN_MAX_AGE": 3 * 86400}
    with freeze_time("2026-11-01 08:00:00"):
        record(decide()["token"])
    with freeze_time("2026-11-29 08:00:00"):
        record(decide()["token"])

    with freeze_time("2026-11-30 09:00:00"):
        result = flush_events()

    assert result.pruned == 1
    assert Event.objects.count() == 1  # 1 day old: within the 3-day token lifetime, it still dedupes
    assert sum(a.count for a in EventAggregate.objects.all()) == 2  # the aggregates stay


def test_the_automatic_flush_runs_at_most_once_per_interval(decide, record, settings, monkeypatch):
    # the immediate backend runs the enqueued flush in this process (the demo's TASKS)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.TAILOR = {"FLUSH_INTERVAL_SECONDS": 60}
    record(decide()["token"])
    now = [1000.0]
    clock = lambda: now[0]  # noqa: E731
    monkeypatch.setattr(tasks_module, "_next_enqueue", None)

    assert flush_soon(clock) is None  # the first call only starts the clock
    now[0] += 59
    assert flush_soon(clock) is None
    now[0] += 2
    assert flush_soon(clock).return_value["events"] == 1
    record(decide()["token"])
    now[0] += 30
    assert flush_soon(clock) is None
    assert Event.objects.filter(aggregated=False).count() == 1


DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def enqueued_flushes() -> list:
    """The flush tasks the dummy backend holds (what a worker would run)."""
    return [r for r in default_task_backend.results if r.task.func is flush_events_task.func]


def test_recording_events_enqueues_the_flush_for_a_worker_after_commit_at_most_once_per_interval(
    state_backend, decide, record, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TASKS = DUMMY_TASKS  # tasks wait for a worker: none runs in this process
    settings.TAILOR = {**settings.TAILOR, "FLUSH_INTERVAL_SECONDS": 60}
    with django_capture_on_commit_callbacks(execute=True):
        record(decide()["token"])  # the first counted event starts this process's clock
    assert enqueued_flushes() == []
    monkeypatch.setattr(tasks_module, "_next_enqueue", 0.0)  # an interval has passed

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            record(decide()["token"])
        assert enqueued_flushes() == []  # not before the transaction commits
    (queued,) = enqueued_flushes()  # once, not per event
    assert not EventAggregate.objects.exists()  # nothing was folded on the request path

    # what the worker runs
    assert queued.task.call(*queued.args, **queued.kwargs)["events"] == 4
    assert queued.task.call(*queued.args, **queued.kwargs)["events"] == 0  # exactly once
    assert sum(a.count for a in EventAggregate.objects.all()) == 4


def test_with_the_immediate_backend_the_request_that_comes_due_folds_the_events(
    decide, record, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE_TASKS
    settings.TAILOR = {"FLUSH_INTERVAL_SECONDS": 60}
    with django_capture_on_commit_callbacks(execute=True):
        record(decide()["token"])
    assert not EventAggregate.objects.exists()
    monkeypatch.setattr(tasks_module, "_next_enqueue", 0.0)

    with django_capture_on_commit_callbacks(execute=True):
        record(decide()["token"])

    assert sum(a.count for a in EventAggregate.objects.all()) == 2
    assert not Event.objects.filter(aggregated=False).exists()


def test_no_flush_is_enqueued_without_an_interval(
    decide, record, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TASKS = DUMMY_TASKS
    settings.TAILOR = {"FLUSH_INTERVAL_SECONDS": None}
    monkeypatch.setattr(tasks_module, "_next_enqueue", 0.0)

    with django_capture_on_commit_callbacks(execute=True):
        record(decide()["token"])

    assert enqueued_flushes() == []


def test_a_task_backend_that_cannot_take_the_flush_does_not_fail_the_event(
    decide, record, settings, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    settings.TASKS = {"default": {"BACKEND": "tests.no_such_module.Backend"}}
    settings.TAILOR = {"FLUSH_INTERVAL_SECONDS": 60}
    monkeypatch.setattr(tasks_module, "_next_enqueue", 0.0)

    with django_capture_on_commit_callbacks(execute=True):
        assert record(decide()["token"])["counted"] is True

    assert "could not enqueue the event flush" in caplog.text
    assert tasks_module._next_enqueue > 0  # the next try waits for another interval


def test_a_concurrent_flusher_that_lost_the_race_backs_off(decide, record, monkeypatch):
    record(decide()["token"])
    real_update = type(Event.objects.all()).update

    def someone_else_was_first(qs, **kwargs):
        if kwargs == {"aggregated": True}:
            real_update(qs, **kwargs)  # the other flusher claims them first
            return 0
        return real_update(qs, **kwargs)

    monkeypatch.setattr(type(Event.objects.all()), "update", someone_else_was_first)
    assert flush_events().events == 0
    monkeypatch.undo()
    assert not EventAggregate.objects.exists()


def test_the_hour_of_an_event_is_in_utc(decide, record):
    with freeze_time(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)):
        record(decide(context={"timezone": "Asia/Seoul"})["token"])
    flush_events()

    assert EventAggregate.objects.get().hour == datetime(2026, 11, 30, 23, tzinfo=UTC)


def test_the_frontends_record_event_document_counts_with_a_real_token(decide, gql):
    document = (Path(__file__).resolve().parent.parent / "graphql/operations/record_event.graphql").read_text()
    d = decide()

    result = gql(document, {"token": d["token"], "kind": "CONVERSION", "goal": "signup", "value": 9.5})

    assert result == {
        "data": {
            "recordEvent": {
                "__typename": "RecordEventPayload",
                "ok": True,
                "counted": True,
                "reason": None,
                "errors": [],
            }
        }
    }
    assert arm_stats(d).conversions == 1
