"""Retention: `manage.py tailor_purge` deletes profiles, logged events, receipts and aggregates past
their windows (TAILOR["PROFILE_RETENTION_DAYS"], ["EVENT_LOG_RETENTION_DAYS"],
["AGGREGATE_RETENTION_DAYS"]), in batches with progress, `--dry-run` deletes nothing, a re-run finds
nothing; the flush task enqueues the purge task once per PURGE_INTERVAL_SECONDS."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from freezegun import freeze_time

PAGE = """
query ($ctx: ContextInput, $visitor: String) {
  personalizedPage(urlPath: "/", inSite: true, context: $ctx, visitorToken: $visitor) {
    visitorToken decisions { slot token } context { visitCount }
  }
}
"""
RECORD = """
mutation ($token: String!, $kind: EventKind!) { recordEvent(token: $token, kind: $kind) { counted } }
"""
YES = {"personalization": True, "analytics": True}


def purge(*args) -> str:
    out = io.StringIO()
    call_command("tailor_purge", *args, stdout=out)
    return out.getvalue()


def visit(gql, token=None) -> str:
    page = gql(PAGE, {"ctx": {"consent": YES}, "visitor": token})["data"]["personalizedPage"]
    for d in page["decisions"]:
        assert gql(RECORD, {"token": d["token"], "kind": "IMPRESSION"})["data"]["recordEvent"]["counted"]
    return page["visitorToken"]


def counts() -> dict[str, int]:
    from rules.models import VisitorProfile
    from variants.models import Event, EventAggregate, EventReceipt

    return {
        "profiles": VisitorProfile.objects.count(),
        "events": Event.objects.count(),
        "receipts": EventReceipt.objects.count(),
        "aggregates": EventAggregate.objects.count(),
    }


@pytest.fixture
def history(home_page, gql):
    """Three visitors with consent: 500 days ago, 120 days ago, today; all their events folded in."""
    from tailor.signing import read_visitor_token

    visitors = {}
    for label, when in (
        ("ancient", "2025-07-20T10:00:00Z"),
        ("old", "2026-08-02T10:00:00Z"),
        ("recent", "2026-11-30T10:00:00Z"),
    ):
        with freeze_time(when):
            visitors[label] = read_visitor_token(visit(gql))
    # folded in all at once at the first date, so the flush's own pruning leaves every row for the purge
    with freeze_time("2025-07-20T11:00:00Z"):
        call_command("tailor_flush_events", stdout=io.StringIO())
    return visitors


def kept(visitor: str) -> tuple[bool, int]:
    """(has a profile, number of logged events) for a visitor id."""
    from rules.models import VisitorProfile
    from variants.models import Event

    return VisitorProfile.objects.filter(visitor_id=visitor).exists(), Event.objects.filter(visitor_id=visitor).count()


def test_the_defaults_are_180_90_400_days():
    from tailor.settings import DEFAULTS

    assert (
        DEFAULTS["PROFILE_RETENTION_DAYS"],
        DEFAULTS["EVENT_LOG_RETENTION_DAYS"],
        DEFAULTS["AGGREGATE_RETENTION_DAYS"],
    ) == (180, 90, 400)


def test_dry_run_counts_and_deletes_nothing(history):
    before = counts()

    with freeze_time("2026-11-30T12:00:00Z"):
        out = purge("--dry-run")

    assert counts() == before
    assert "dry run" in out
    assert re.search(r"visitor profiles: 1 past the window", out), out  # the ancient one (the old: 120 < 180)
    assert re.search(r"event log rows: \d+ past the window", out), out
    assert "Would delete" in out


def test_purge_deletes_what_is_past_each_window_in_batches_and_a_rerun_finds_nothing(history):
    from variants.models import Event, EventAggregate

    before = counts()
    assert kept(history["ancient"]) == kept(history["old"]) == kept(history["recent"]) == (True, 3)
    with freeze_time("2026-11-30T12:00:00Z"):
        out = purge("--batch-size", "1")
        again = purge()

    # profiles: 180 days since the last update; events: 90 days; aggregates: 400 days
    assert kept(history["ancient"]) == (False, 0)
    assert kept(history["old"]) == (True, 0)
    assert kept(history["recent"]) == (True, 3)
    assert Event.objects.filter(created_at__year=2025).count() == 0
    assert EventAggregate.objects.filter(hour__year=2025).count() == 0
    assert EventAggregate.objects.filter(hour__year=2026).count() > 0  # 2026-08: within 400 days
    after = counts()
    assert after["profiles"] == before["profiles"] - 1
    assert after["events"] == before["events"] - 6
    # progress per batch of one: 1/6, 2/6, ... for the event log
    assert "event log rows: 1/6 deleted" in out and "event log rows: 6/6 deleted" in out, out
    assert "Deleted" in out
    assert "Deleted 0 row(s) in all." in again


def test_purge_follows_the_windows_in_the_settings(history, settings):
    settings.TAILOR = {**settings.TAILOR, "PROFILE_RETENTION_DAYS": 30}

    with freeze_time("2026-11-30T12:00:00Z"):
        out = purge("--dry-run")

    assert "Retention: profiles 30 days" in out
    assert "visitor profiles: 2 past the window" in out  # now the 120-day-old one too


@pytest.mark.parametrize("key", ["PROFILE_RETENTION_DAYS", "EVENT_LOG_RETENTION_DAYS", "AGGREGATE_RETENTION_DAYS"])
def test_a_retention_window_must_be_a_positive_number_of_days(key):
    from tailor.settings import tailor_settings

    with override_settings(TAILOR={key: 0}), pytest.raises(ImproperlyConfigured, match=key):
        tailor_settings.user_settings  # noqa: B018


def test_a_bad_batch_size_is_refused():
    with pytest.raises(CommandError, match="--batch-size"):
        purge("--batch-size", "0")


def test_the_flush_task_enqueues_the_purge_task_once_per_interval(history):
    from django_tasks import default_task_backend

    from rules.models import VisitorProfile
    from variants.tasks import flush_events_task, purge_task

    def purges() -> int:
        return sum(1 for r in default_task_backend.results if r.task.func is purge_task.func)

    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}):
        from django_tasks import default_task_backend  # noqa: F811 (the dummy one, reconfigured)

        with freeze_time("2026-11-30T12:00:00Z") as clock:
            flush_events_task.call()
            flush_events_task.call()
            first = purges()
            clock.tick(24 * 3600 + 1)
            flush_events_task.call()
            second = purges()

    assert (first, second) == (1, 2)
    # the purge task does the same work as the command
    with freeze_time("2026-11-30T12:00:00Z"):
        done = purge_task.call()
    assert done["profiles"] == 1 and not VisitorProfile.objects.filter(visitor_id=history["ancient"]).exists()
    json.dumps(done)  # JSON-safe (a task result)


def test_the_readme_privacy_section_states_the_shipped_windows():
    from pathlib import Path

    from tailor.settings import DEFAULTS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    privacy = readme.split("## Privacy", 1)[1].split("\n## ", 1)[0]
    for key in ("PROFILE_RETENTION_DAYS", "EVENT_LOG_RETENTION_DAYS", "AGGREGATE_RETENTION_DAYS"):
        assert f"`{key}` {DEFAULTS[key]}" in privacy.replace("\n  ", " ")
    assert DEFAULTS["MAX_EVENT_VALUE"] == 10**9 and "`MAX_EVENT_VALUE` (10⁹)" in privacy
    assert DEFAULTS["PURGE_INTERVAL_SECONDS"] == 24 * 3600 and "once a day" in privacy


def test_purge_trims_the_old_event_stream_only_up_to_what_was_folded_in(db):
    """The Redis event stream earlier versions wrote: entries past the event log window go, but never
    ones the flush has not folded into the aggregates yet."""
    from datetime import UTC, datetime

    from tailor.redis import get_redis
    from tests.services import redis_url, require_redis
    from variants.event_log import LoggedEvent, _stream_fields, stream_key

    client = require_redis()
    prefix = "tailor-test-purge-" + datetime.now(UTC).strftime("%H%M%S%f") + ":"
    try:
        with override_settings(TAILOR={"REDIS_URL": redis_url(), "REDIS_PREFIX": prefix}):
            redis = get_redis()

            def add(when: str, nonce: str) -> None:
                at = datetime.fromisoformat(when)
                event = LoggedEvent(nonce * 4, "impression", "", None, None, "s", "v", "*", "BANDIT", "visitor1", at)
                redis.xadd(stream_key(), _stream_fields(event), id=f"{int(at.timestamp() * 1000)}-0")

            add("2026-01-10T00:00:00+00:00", "a")  # 324 days before the purge: past the 90-day window
            with freeze_time("2026-02-01T00:00:00Z"):
                call_command("tailor_flush_events", stdout=io.StringIO())  # folds "a" in
            add("2026-02-10T00:00:00+00:00", "b")  # old too, but not folded in yet
            with freeze_time("2026-11-30T12:00:00Z"):
                dry = purge("--dry-run")
                out = purge()
            left = [fields[b"n"].decode() for _, fields in redis.xrange(stream_key())]
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)

    assert "event stream entries: 1 past the window" in dry
    assert "event stream entries: 1/1 deleted" in out
    assert left == ["bbbb"]
