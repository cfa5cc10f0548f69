"""What recording one event costs the request that records it, flushes included.

    .venv/bin/python -m benchmarks.record_event                      # database, 1,000 events
    .venv/bin/python -m benchmarks.record_event --backend redis      # REDIS_URL (default db 13)
    .venv/bin/python -m benchmarks.record_event --tasks dummy        # TASKS backend: immediate|dummy|db

It builds a test database (in-memory SQLite, or DATABASE_URL), seeds the demo, signs one decision
token per event, leaves a backlog of events not yet aggregated, then times `record_event` (the
service function behind `recordEvent` and the beacon) `--events` times with the automatic flush
coming due every `--interval` seconds (the first one is due at the first timed call). Prints
p50 / p90 / p99 / p99.9 / max of the time one call takes, and how many events were folded meanwhile.

``--tasks db`` uses django-tasks-db's DatabaseBackend (``pip install "django-tasks-db[compat]"``):
an enqueue is one INSERT, and the flush runs in no measured process (no worker is started).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid

TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "dummy": "django_tasks.backends.dummy.DummyBackend",
    "db": "django_tasks_db.DatabaseBackend",
}


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("database", "redis"), default="database")
    parser.add_argument("--tasks", choices=sorted(TASK_BACKENDS), default="immediate")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--backlog", type=int, default=5000, help="events pending aggregation before the run")
    parser.add_argument("--interval", type=float, default=0.25, help="FLUSH_INTERVAL_SECONDS during the run")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    if args.tasks == "db":
        settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_tasks_db"]
    settings.TASKS = {"default": {"BACKEND": TASK_BACKENDS[args.tasks]}}
    django.setup()

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings, setup_test_environment

    from rules.context_builder import Consent, RequestContext
    from rules.engine import Context
    from sample_site.home.models import HomePage
    from tailor.redis import get_redis
    from variants.compiler import compiled_page
    from variants.events import record_event
    from variants.models import Event, EventAggregate
    from variants.services import personalize_page

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    page = HomePage.objects.get(depth=2)
    cta = next(s for s in compiled_page(page).slots if s.name == "cta")

    tailor = {"FLUSH_INTERVAL_SECONDS": None}
    prefix = f"tailor-bench-{uuid.uuid4().hex[:8]}:"
    if args.backend == "redis":
        tailor |= {"REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"), "REDIS_PREFIX": prefix}

    def tokens(n: int, run: str) -> list[str]:
        out = []
        for i in range(n):
            rc = RequestContext(Context.build(), Consent(False, False, "bench"), visitor_id=f"{run}-{i:07d}")
            out.append(personalize_page(page, rc).tokens[cta.id])
        return out

    try:
        with override_settings(TAILOR=tailor):
            for token in tokens(args.backlog, "backlog"):
                record_event(token, "impression")
            timed_tokens = tokens(args.events + 1, "timed")
        pending_before = args.backlog

        timings: list[float] = []
        with override_settings(TAILOR={**tailor, "FLUSH_INTERVAL_SECONDS": args.interval}):
            record_event(timed_tokens[0], "impression")  # starts the flush clock
            time.sleep(args.interval)  # the first flush is due at the first timed call
            started = time.perf_counter()
            for token in timed_tokens[1:]:
                t0 = time.perf_counter_ns()
                result = record_event(token, "impression")
                timings.append((time.perf_counter_ns() - t0) / 1e6)
                assert result.counted
            wall = time.perf_counter() - started
        folded = sum(EventAggregate.objects.values_list("count", flat=True))
    finally:
        with override_settings(TAILOR=tailor):
            client = get_redis()
            if client is not None:
                for key in client.scan_iter(match=prefix + "*"):
                    client.delete(key)

    ordered = sorted(timings)
    slow = [t for t in timings if t > 10 * statistics.median(timings)]
    print(
        f"record_event x{len(timings)} [{args.backend}, {connection.vendor}, TASKS={args.tasks}, "
        f"interval {args.interval}s, backlog {pending_before}] in {wall:.2f}s\n"
        f"  ms per call: p50 {percentile(ordered, 50):.3f}  p90 {percentile(ordered, 90):.3f}  "
        f"p99 {percentile(ordered, 99):.3f}  p99.9 {percentile(ordered, 99.9):.3f}  max {ordered[-1]:.3f}  "
        f"mean {statistics.fmean(timings):.3f}\n"
        f"  calls over 10x p50: {len(slow)} (sum {sum(slow):.1f} ms); "
        f"events folded into aggregates during the run: {folded}; "
        f"event rows pending: {Event.objects.filter(aggregated=False).count() if args.backend == 'database' else '-'}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
