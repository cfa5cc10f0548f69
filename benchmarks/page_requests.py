"""Per-request costs through the public GraphQL endpoint, in one process (Django's test client):
SQL queries, Redis round trips, and the time of a request without a server in front.

    python -m benchmarks.page_requests [--requests 200]     # prints the figures as JSON

It builds a test database (in-memory SQLite, or DATABASE_URL), seeds the demo (`tailor_demo`) and
compares grapple's plain `page` with `personalizedPage` for the demo home page, selecting the same
content. Redis (REDIS_URL, else redis://127.0.0.1:6379/10) is used for the round-trip count when it
answers; keys go under a prefix of their own and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from benchmarks.report import Figure, spread

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"

# The demo page's content, as grapple's plain `page` serves it (every visitor sees the defaults) ...
BODY = """
  __typename id title urlPath
  ... on HomePage {
    body {
      __typename id blockType
      ... on CharBlock { value }
      ... on RichTextBlock { value }
      ... on PersonalizedBlock { slot slotId %s { __typename id blockType ... on CharBlock { value }
        ... on RichTextBlock { value } ... on ButtonBlock { label url }
        ... on ImageChooserBlock { image { id url width height } } } }
    }
  }
"""
PLAIN = "query ($urlPath: String) { page(urlPath: $urlPath, inSite: true) {" + BODY % "defaultContent" + "} }"
# ... and as `personalizedPage` serves it: the same fields with each region's chosen content, the
# decisions' tokens (a frontend reports events with them) and the visitor's token.
PERSONALIZED = (
    "query ($urlPath: String!, $visitorToken: String) {"
    " personalizedPage(urlPath: $urlPath, inSite: true, visitorToken: $visitorToken) {"
    " page {" + BODY % "content" + "} decisions { slot variant token } visitorToken } }"
)


def documents(token: str | None) -> dict[str, dict]:
    return {
        "page": {"query": PLAIN, "variables": {"urlPath": "/"}},
        "personalizedPage": {"query": PERSONALIZED, "variables": {"urlPath": "/", "visitorToken": token}},
    }


def measure(requests: int) -> list[Figure]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django  # here: the settings module is chosen first

    django.setup()
    # Django's test tools and Tailor's modules need the app registry django.setup() just filled.
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import (  # needs django.setup()
        CaptureQueriesContext,
        override_settings,
        setup_test_environment,
    )

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    client = Client()

    def post(doc: dict) -> dict:
        response = client.post("/graphql/", json.dumps(doc), content_type="application/json")
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise RuntimeError(f"the benchmark's query failed: {body}")
        return body

    first = post(documents(None)["personalizedPage"])
    docs = documents(first["data"]["personalizedPage"]["visitorToken"])
    for _ in range(20):
        for doc in docs.values():
            post(doc)

    sql = sql_figures(post, docs, CaptureQueriesContext, connection, "_without_redis", " (no Redis configured)")
    figures = redis_figures(
        post,
        docs,
        requests,
        override_settings,
        # with Redis configured, as the setup: the statements and the time of a request
        lambda: (
            sql_figures(post, docs, CaptureQueriesContext, connection, "", " (Redis configured, as the issue's setup)")
            + [latency_figure(post, docs, requests, "Redis configured")]
        ),
    )
    figures += sql
    if not any(f.name == "inprocess_ms_ratio" for f in figures):  # no Redis answered
        figures.append(latency_figure(post, docs, requests, "no Redis: the profile is read from the database"))
    return figures


def sql_figures(post, docs, capture, connection, suffix: str = "", where: str = "") -> list[Figure]:
    statements = {}
    for name, doc in docs.items():
        with capture(connection) as captured:
            post(doc)
        statements[name] = [q["sql"] for q in captured.captured_queries]
    plain, personalized = statements["page"], statements["personalizedPage"]
    own = [sql for sql in plain if "tailor_" in sql]
    extra = len(personalized) - len(plain)
    return [
        Figure(
            "extra_sql_queries" + suffix,
            extra,
            "queries",
            "0" if suffix == "" else "report",
            extra <= 0 if suffix == "" else None,
            {"page": len(plain), "personalizedPage": len(personalized)},
            "SQL statements of personalizedPage minus grapple's page, demo home page, warm process" + where,
            note="; ".join(sql[:90] + "…" for sql in personalized if "tailor_" in sql),
        ),
        Figure(
            "tailor_queries_in_page" + suffix,
            len(own),
            "queries",
            "0",
            not own,
            {"page": len(plain)},
            "statements on tailor_* tables while grapple serves its plain `page`" + where,
            note="; ".join(s[:80] for s in own),
        ),
    ]


def latency_figure(post, docs, requests: int, where: str) -> Figure:
    times = {name: [] for name in docs}
    for _ in range(requests):
        for name, doc in docs.items():
            t0 = time.perf_counter()
            post(doc)
            times[name].append((time.perf_counter() - t0) * 1000)
    p50 = {name: sorted(v)[len(v) // 2] for name, v in times.items()}
    return Figure(
        "inprocess_ms_ratio",
        round(p50["personalizedPage"] / p50["page"], 3),
        "× (p50 time)",
        "",
        None,
        {f"{name}_ms": spread(v) for name, v in times.items()},
        f"Django test client, no server ({where}): {requests} requests of each, alternating",
        note=f"in-process p50: page {p50['page']:.2f} ms, personalizedPage {p50['personalizedPage']:.2f} ms",
    )


def consented_round_trips(post, docs, counting, requests: int) -> list[int]:
    """Round trips per personalizedPage of a second visitor who accepted personalization."""
    consent = "mutation { setConsent(personalization: true, analytics: true) { ok visitorToken } }"
    token = post({"query": consent})["data"]["setConsent"]["visitorToken"]
    doc = documents(token)["personalizedPage"]
    counts = []
    for _ in range(requests):
        before = counting.round_trips
        post(doc)
        counts.append(counting.round_trips - before)
    return counts


#: a short refresh interval for the "refreshing" count, waited out before each request
REFRESH_INTERVAL = 0.1


def redis_figures(post, docs, requests: int, override_settings, count_sql) -> list[Figure]:
    # Imported once Django is set up (measure() does it): they read settings and models.
    import redis

    from rules.segments import invalidate_local
    from tailor import redis as tailor_redis  # after setup
    from tailor.settings import DEFAULTS  # after setup
    from tests.services import CountingClient  # after setup
    from variants import feedback  # after setup

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/10"
    try:
        raw = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
        raw.ping()
    except redis.RedisError as error:
        return [Figure("redis_round_trips", None, "per request", "≤ 1", None, note=f"Redis at {url}: {error}")]
    sql: list[Figure] = []
    prefix = f"tailor-bench-{uuid.uuid4().hex[:8]}:"
    counting = CountingClient(raw)
    per_request: dict[str, list[int]] = {"steady": [], "refreshing": [], "consented": []}
    try:
        # "refreshing": every request comes after the refresh interval has passed, so each one
        # re-checks the segments' version and the arm statistics, as the first request after
        # STATS_REFRESH_SECONDS does in a running site
        for mode, refresh in (("steady", DEFAULTS["STATS_REFRESH_SECONDS"]), ("refreshing", REFRESH_INTERVAL)):
            with override_settings(TAILOR={"REDIS_URL": url, "REDIS_PREFIX": prefix, "STATS_REFRESH_SECONDS": refresh}):
                feedback.reset()
                invalidate_local()
                tailor_redis._client = counting
                for _ in range(5):
                    post(docs["personalizedPage"])
                for _ in range(requests if mode == "steady" else min(requests, 30)):
                    if mode == "refreshing":
                        time.sleep(refresh * 1.2)
                    before = counting.round_trips
                    post(docs["personalizedPage"])
                    per_request[mode].append(counting.round_trips - before)
                if mode == "steady":
                    sql = count_sql()
                    per_request["consented"] = consented_round_trips(post, docs, counting, requests)
    finally:
        tailor_redis._client = None
        feedback.reset()
        invalidate_local()
        for key in raw.scan_iter(match=prefix + "*"):
            raw.delete(key)
    steady, refreshing, consented = per_request["steady"], per_request["refreshing"], per_request["consented"]
    return sql + [
        Figure(
            "redis_round_trips",
            sum(steady) / len(steady),
            "per request (mean)",
            "≤ 1",
            max(steady) <= 1,
            {"min": min(steady), "max": max(steady), "n": len(steady)},
            f"round trips per personalizedPage with TAILOR['STATS_REFRESH_SECONDS'] = "
            f"{DEFAULTS['STATS_REFRESH_SECONDS']} (the default)",
        ),
        Figure(
            "redis_round_trips_at_refresh",
            max(refreshing),
            "per request (max)",
            "≤ 1",
            max(refreshing) <= 1,
            {"min": min(refreshing), "max": max(refreshing), "n": len(refreshing)},
            f"the same with STATS_REFRESH_SECONDS = {REFRESH_INTERVAL} and each request {REFRESH_INTERVAL * 1.2:g} s "
            "after the last: every request is a refresh (segments' version and arm statistics re-checked)",
        ),
        Figure(
            "redis_round_trips_consented",
            sum(consented) / len(consented),
            "per request (mean)",
            "report",
            None,
            {"min": min(consented), "max": max(consented), "n": len(consented)},
            "the same for a visitor who gave personalization consent: the page view is recorded on the profile",
            note="one pipelined read (profile, and the segments' version when due) and one write of the updated profile",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    figures = measure(args.requests)
    sys.stdout.write(json.dumps([asdict(f) for f in figures]) + "\n")


if __name__ == "__main__":
    main()
