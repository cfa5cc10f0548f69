"""How long a conversion takes to reach a bandit's weights in another process: `feedback_seconds`.

    python -m benchmarks.feedback [--trials 3]     # prints the figures as JSON

The sample site's database is a fresh SQLite file (migrated, seeded with `tailor_demo`) shared by two
processes, with Redis configured (REDIS_URL, else redis://127.0.0.1:6379/10, under a prefix of its
own, deleted afterwards) when it answers; the settings are the defaults (`STATS_REFRESH_SECONDS` =
3), and the figure's description names the stats store they chose.

This process plays an app server: it decides the demo home page (`personalize_page`, the path of a
`personalizedPage` request) every 20 ms and reads the weights its feedback loop publishes for the
page's Thompson-sampling slot (`cta`). A forked process plays the app server a visitor's beacon
reaches: it records, through `record_event` (the service behind `recordEvent`), an impression and a
conversion for each of a batch of fresh decision tokens of the arm with the least weight, and says
when the last one was committed. The figure is the time from then until this process published
weights from a read that began after it (so the last conversion is in them) giving that arm at
least 0.2 more share than before the batch (the refresh's own timestamp, not the poll's). Each trial
starts at a random moment of the refresh interval (so the wait for the next refresh is sampled, not
fixed); the worst trial is the value.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, replace

from benchmarks.report import Figure

#: how much more share the converting arm must have before the weights "reflect" the conversions
RISE = 0.2
POLL_SECONDS = 0.02


def measure(trials: int) -> list[Figure]:
    workdir = tempfile.mkdtemp(prefix="tailor-feedback-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/feedback.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django  # here: the settings module and the database are chosen first

    django.setup()
    # Django's tools and Tailor's modules need the app registry django.setup() just filled.
    import redis
    from django.core.management import call_command
    from django.db import connections
    from django.test.utils import override_settings

    try:
        call_command("migrate", verbosity=0, interactive=False)
        call_command("tailor_demo", stdout=open(os.devnull, "w"))
        url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/10"
        prefix = f"tailor-bench-{uuid.uuid4().hex[:8]}:"
        try:
            raw = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
            raw.ping()
            tailor = {"REDIS_URL": url, "REDIS_PREFIX": prefix}
        except redis.RedisError:
            raw, tailor = None, {}
        try:
            with override_settings(TAILOR=tailor):
                from variants.feedback import stats_store

                store = f"{type(stats_store()).__name__}{', Redis configured' if raw is not None else ''}"
                delays = [trial(n, connections) for n in range(trials)]
        finally:
            if raw is not None:
                for key in raw.scan_iter(match=prefix + "*"):
                    raw.delete(key)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    from tailor.settings import tailor_settings

    refresh = float(tailor_settings.STATS_REFRESH_SECONDS)
    worst = max(delays)
    return [
        Figure(
            "feedback_seconds",
            round(worst, 2),
            "s (worst trial)",
            "≤ 5",
            worst <= 5,
            {"min": round(min(delays), 2), "max": round(worst, 2), "trials": [round(d, 2) for d in delays]},
            f"conversions recorded in one process (record_event; {store}) until another process's "
            f"Thompson weights move ≥ {RISE} towards the arm; STATS_REFRESH_SECONDS = {refresh:g}, {trials} trials",
            note=f"bounded by STATS_REFRESH_SECONDS ({refresh:g} s) plus one refresh: the reading process "
            "re-reads arm stats only when its weights are that old",
        )
    ]


def trial(n: int, connections) -> float:
    """One batch of conversions for the least-favoured arm; seconds until this process's weights show it."""
    from rules.context_builder import Consent, RequestContext
    from rules.engine import Context
    from sample_site.home.models import HomePage
    from tailor.settings import tailor_settings
    from variants.compiler import compiled_page
    from variants.feedback import feedback
    from variants.services import personalize_page
    from variants.tokens import sign_decision

    page = HomePage.objects.get(depth=2)
    slot = next(s for s in compiled_page(page).slots if s.policy == "BANDIT")
    loop = feedback()

    def weights() -> dict[str, float]:
        rc = RequestContext(Context.build(), Consent(False, True, "bench"), visitor_id=f"reader-{uuid.uuid4().hex}")
        decided = personalize_page(page, rc, record_visit=False)  # a request: refreshes when the weights are old
        return dict((loop.allocations(slot.id) or {}).get("*") or {}), decided.decision_for(slot.id)

    before, decision = weights()
    while not before:  # the first request published nothing yet (a refresh in progress elsewhere)
        time.sleep(POLL_SECONDS)
        before, decision = weights()
    arm = min(before, key=before.get)
    batch = 100 * 2**n  # each trial must out-convert the arm the previous one favoured
    tokens = [
        sign_decision(
            replace(decision, variant_id=arm, variant_name=arm, probability=before[arm]),
            page_id=page.id,
            visitor_id=f"converter-{n}-{i}",
            analytics=True,
        )
        for i in range(batch)
    ]
    # start anywhere in the refresh interval (the settings are read once Django is set up)
    time.sleep(random.uniform(0, float(tailor_settings.STATS_REFRESH_SECONDS)))
    connections.close_all()  # the forked recorder opens its own
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
    recorder = multiprocessing.get_context("fork").Process(target=record, args=(tokens, writer))
    recorder.start()
    recorded_at = None
    refreshes_then = 0
    seen_at = None
    while seen_at is None:
        if recorded_at is None and reader.poll():
            recorded_at = reader.recv()
            if isinstance(recorded_at, str):
                raise RuntimeError(f"recording the conversions failed: {recorded_at}")
            # only a refresh that starts from here on has surely read the last conversion
            refreshes_then = loop.stats.refreshes
        now_weights, _ = weights()
        now = time.monotonic()
        if recorded_at is not None:
            if loop.stats.refreshes > refreshes_then and now_weights.get(arm, 0.0) >= before[arm] + RISE:
                # when that refresh published the weights (the loop's clock is time.monotonic, one
                # clock for both processes), not when this poll noticed
                seen_at = loop._refreshed[slot.id][1]
            elif now - recorded_at > 60:
                raise RuntimeError("the weights did not move within a minute of the conversions")
        time.sleep(POLL_SECONDS)
    recorder.join(timeout=30)
    return seen_at - recorded_at


def record(tokens: list[str], writer) -> None:
    """In the forked process: an impression and a conversion per token, then the time it finished."""
    try:
        from tailor import redis as tailor_redis
        from variants import feedback
        from variants.events import record_event

        tailor_redis._client = None  # a connection of this process's own
        feedback.reset()
        for token in tokens:
            record_event(token, "impression")
            record_event(token, "conversion")
        writer.send(time.monotonic())
    except Exception as error:  # the parent raises it
        writer.send(f"{type(error).__name__}: {error}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args(argv)
    figures = measure(args.trials)
    sys.stdout.write(json.dumps([asdict(f) for f in figures]) + "\n")


if __name__ == "__main__":
    main()
