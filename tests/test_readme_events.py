"""README, *Learning from events*: the beacon's limits, refused tokens and bots on the beacon, counting
once per (decision, kind) in the database whatever Redis does, and the fold into hourly aggregates (the command, and the django-tasks task a
process enqueues while it records events, which the demo runs in a worker beside the server)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from freezegun import freeze_time

DECISIONS = """
query ($ctx: ContextInput) {
  personalizedPage(urlPath: "/", inSite: true, context: $ctx) { decisions { slot token } }
}
"""
RECORD = """
mutation ($token: String!, $kind: EventKind!, $goal: String) {
  recordEvent(token: $token, kind: $kind, goal: $goal) { ok counted reason errors { field message } }
}
"""
ROOT = Path(__file__).resolve().parent.parent
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(autouse=True)
def _fresh_feedback():
    from variants.feedback import reset

    reset()
    yield
    reset()


#: a morning in Seoul: the hero's decision has one short reason, so its token is one of the shortest
MORNING = {"timezone": "Asia/Seoul", "now": "2026-11-30T08:00:00+09:00"}


def token_for(gql, slot: str = "cta", ctx: dict | None = None, **headers) -> str:
    result = gql(DECISIONS, {"ctx": ctx}, **headers)
    assert "errors" not in result, result
    return next(d["token"] for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == slot)


def cta_token(gql, **headers) -> str:
    return token_for(gql, "cta", **headers)


def beacon(client, body, content_type: str = "text/plain;charset=UTF-8", **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body, separators=(",", ":"))
    return client.post("/tailor/events/", data, content_type=content_type, **headers)


def record(gql, token: str, kind: str = "CONVERSION", goal: str | None = None) -> dict:
    result = gql(RECORD, {"token": token, "kind": kind, "goal": goal}, HTTP_USER_AGENT=FIREFOX)
    assert "errors" not in result, result
    return result["data"]["recordEvent"]


def conversions(token: str, goals) -> list[dict]:
    return [{"token": token, "kind": "CONVERSION", "goal": goal} for goal in goals]


# --- limits: up to 20 events, 84 KiB -----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain;charset=UTF-8", "application/json"])
def test_the_beacon_takes_a_batch_of_exactly_20_events(home_page, gql, client, content_type):
    # a decision counts once per kind: 21 decisions for 21 conversions
    tokens = [token_for(gql, "hero", MORNING) for _ in range(21)]
    events = [{"token": t, "kind": "CONVERSION", "goal": "signup"} for t in tokens]

    response = beacon(client, {"events": events[:20]}, content_type)
    too_many = beacon(client, {"events": events}, content_type)

    assert response.status_code == 200
    assert response.json() == {"received": 20, "counted": 20, "errors": []}
    # each was counted by the beacon: recording it again is a duplicate
    assert {record(gql, token, goal="signup")["reason"] for token in tokens[:20]} == {"DUPLICATE"}
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["message"] == "at most 20 events per request (got 21)"
    assert (too_many.json()["received"], too_many.json()["counted"]) == (21, 0)
    assert record(gql, tokens[20], goal="signup")["counted"] is True  # the refused batch recorded nothing


def test_a_decision_counts_once_per_kind_and_an_impression_has_no_goal(home_page, gql, client):
    token = cta_token(gql)

    first = beacon(client, {"events": conversions(token, ["signup", "newsletter"])})

    assert first.json() == {"received": 2, "counted": 1, "errors": []}
    assert record(gql, token, goal="other")["reason"] == "DUPLICATE"
    assert record(gql, token, "IMPRESSION", goal="signup")["errors"] == [
        {"field": "goal", "message": "an IMPRESSION has no goal; only a CLICK or a CONVERSION does"}
    ]


def test_the_beacon_takes_a_body_of_exactly_84_kib(home_page, gql, client):
    token = cta_token(gql)
    event = json.dumps({"token": token, "kind": "CONVERSION", "goal": "signup"})
    body = event + " " * (84 * 1024 - len(event.encode()))
    assert len(body.encode()) == 86016

    response = beacon(client, body)
    one_more = beacon(client, body + " ")

    assert (response.status_code, response.json()) == (200, {"received": 1, "counted": 1, "errors": []})
    assert record(gql, token, goal="signup")["reason"] == "DUPLICATE"
    assert one_more.status_code == 400
    assert one_more["Content-Type"] == "application/json"
    assert "larger than 86016 bytes" in one_more.json()["errors"][0]["message"]


# --- refused tokens and bots, on the beacon ------------------------------------------------------------------


def test_the_beacon_refuses_an_expired_token_in_its_json_errors(home_page, gql, client, settings):
    settings.TAILOR = {**settings.TAILOR, "TOKEN_MAX_AGE": 3600}
    with freeze_time("2026-11-30 08:00:00"):
        token = cta_token(gql)

    with freeze_time("2026-11-30 09:00:02"):
        response = beacon(client, {"token": token, "kind": "click"})

    assert response.status_code == 400
    assert response.json() == {
        "received": 1,
        "counted": 0,
        "errors": [{"index": 0, "field": "token", "message": "The token has expired"}],
    }


def test_the_beacon_does_not_count_events_on_a_decision_made_for_a_bot(home_page, gql, client):
    from variants.models import Event

    for_a_bot = cta_token(gql, HTTP_USER_AGENT=GOOGLEBOT)
    for_a_person = cta_token(gql, HTTP_USER_AGENT=FIREFOX)

    responses = [
        beacon(client, {"token": token, "kind": "CLICK"}, HTTP_USER_AGENT=FIREFOX)
        for token in (for_a_bot, for_a_person)
    ]

    assert [r.status_code for r in responses] == [200, 200]
    assert [r.json()["counted"] for r in responses] == [0, 1]
    assert Event.objects.count() == 1  # only the person's
    assert record(gql, for_a_bot, "CLICK")["reason"] == "BOT"
    assert record(gql, for_a_person, "CLICK")["reason"] == "DUPLICATE"


# --- counted once, in the database, whatever Redis does ----------------------------------------------------


@pytest.mark.redis
def test_with_redis_confirmed_events_survive_flushdb_and_replays_do_not_count(home_page, gql, client, settings):
    import uuid

    from tests.services import redis_url, require_redis
    from variants.feedback import stats_store
    from variants.models import Event

    redis = require_redis()
    prefix = f"tailor-test-once-{uuid.uuid4().hex[:8]}:"
    settings.TAILOR = {"REDIS_URL": redis_url(), "REDIS_PREFIX": prefix}
    try:
        tokens = [cta_token(gql) for _ in range(3)]
        events = [{"token": t, "kind": k} for t in tokens for k in ("impression", "click")]
        assert beacon(client, {"events": events}).json()["counted"] == 6
        for key in redis.scan_iter(match=prefix + "*"):  # what FLUSHDB does to Tailor's keys
            redis.delete(key)
        replay = beacon(client, {"events": events})
    finally:
        for key in redis.scan_iter(match=prefix + "*"):
            redis.delete(key)

    assert (replay.status_code, replay.json()["counted"]) == (200, 0)
    assert Event.objects.count() == 6
    slot = Event.objects.first().slot_id
    arms = stats_store().snapshot([slot])[slot]["*"].values()
    assert (sum(a.impressions for a in arms), sum(a.clicks for a in arms)) == (3, 3)


# --- the fold into hourly aggregates: the command, and a background task enqueued while recording ------------

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def enqueued():
    """Every django-tasks task enqueued during the test, whatever the backend."""
    from django_tasks.signals import task_enqueued

    results = []

    def collect(sender, task_result, **kwargs):
        results.append(task_result)

    task_enqueued.connect(collect)
    yield results
    task_enqueued.disconnect(collect)


def aggregated() -> list[tuple[str, int]]:
    from variants.models import EventAggregate

    return sorted((a.kind, a.count) for a in EventAggregate.objects.all())


def test_recording_events_enqueues_the_fold_as_a_task_at_most_once_per_flush_interval(
    home_page, gql, client, settings, django_capture_on_commit_callbacks, enqueued
):
    settings.TASKS = DUMMY  # a worker's queue: nothing runs until the worker takes it
    settings.TAILOR = {**settings.TAILOR, "FLUSH_INTERVAL_SECONDS": 2}
    token = cta_token(gql)

    def send(kind: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert beacon(client, {"token": token, "kind": kind}).status_code == 200

    send("impression")  # the process's first event starts the clock
    send("click")
    assert enqueued == []
    time.sleep(2.1)
    send("conversion")  # the interval has passed: the fold is enqueued, not run in the request
    assert len(enqueued) == 1 and "flush" in enqueued[0].task.name
    assert aggregated() == []

    (job,) = enqueued
    job.task.call(*job.args, **job.kwargs)  # what the worker does

    assert aggregated() == [("click", 1), ("conversion", 1), ("impression", 1)]


def test_with_the_immediate_task_backend_the_request_that_comes_due_runs_the_fold(
    home_page, gql, client, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    settings.TAILOR = {**settings.TAILOR, "FLUSH_INTERVAL_SECONDS": 0.05}
    token = cta_token(gql)

    with django_capture_on_commit_callbacks(execute=True):
        assert beacon(client, {"token": token, "kind": "impression"}).status_code == 200  # starts the clock
    assert aggregated() == []
    time.sleep(0.1)
    with django_capture_on_commit_callbacks(execute=True):
        assert beacon(client, {"token": token, "kind": "click"}).status_code == 200

    assert aggregated() == [("click", 1), ("impression", 1)]


def test_without_a_flush_interval_only_the_command_folds_and_exactly_once(
    home_page, gql, client, settings, django_capture_on_commit_callbacks, enqueued
):
    from django.core.management import call_command

    settings.TASKS = IMMEDIATE
    settings.TAILOR = {**settings.TAILOR, "FLUSH_INTERVAL_SECONDS": None}
    token = cta_token(gql)
    for kind in ("impression", "click"):
        with django_capture_on_commit_callbacks(execute=True):
            assert beacon(client, {"token": token, "kind": kind}).status_code == 200
        time.sleep(0.1)
    assert enqueued == [] and aggregated() == []

    call_command("tailor_flush_events", stdout=open("/dev/null", "w"))
    call_command("tailor_flush_events", stdout=open("/dev/null", "w"))  # exactly once

    assert aggregated() == [("click", 1), ("impression", 1)]


def test_the_demo_queues_the_fold_for_a_worker_beside_the_server_so_no_request_waits_for_it(
    home_page, gql, client, settings, django_capture_on_commit_callbacks, monkeypatch
):
    import subprocess

    from django.core.management import call_command

    import sample_site.settings as demo

    settings.TASKS = demo.TASKS
    settings.TAILOR = {**settings.TAILOR, "FLUSH_INTERVAL_SECONDS": 0.05}
    token = cta_token(gql)
    for kind in ("impression", "click"):
        with django_capture_on_commit_callbacks(execute=True):
            assert beacon(client, {"token": token, "kind": kind}).status_code == 200
        time.sleep(0.1)
    assert aggregated() == []  # the request that came due only queued it

    # The worker closes stale connections between tasks; here its connection is the test's own
    # transaction (on PostgreSQL closing it would end the test), so it is kept open.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=open("/dev/null", "w"))

    assert aggregated() == [("click", 1), ("impression", 1)]
    # and `make demo` starts that worker beside the server
    dry_run = subprocess.run(["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "manage.py db_worker" in dry_run.stdout and "manage.py runserver" in dry_run.stdout
