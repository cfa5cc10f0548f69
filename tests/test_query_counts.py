"""What Tailor costs a request in SQL, counted through the public GraphQL endpoint.

Grapple's plain `page` query must run none of Tailor's queries (its blocks are read from the stored
page, not from the segment table), and `personalizedPage` must run no more queries than `page` for the
same page once the process has its compiled page, segment index and arm statistics in memory.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from rules.segments import invalidate_local
from tailor import redis as tailor_redis
from tests.services import CountingClient, redis_url, require_redis

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"
PAGE = (OPERATIONS / "page_content.graphql").read_text()
PERSONALIZED = (OPERATIONS / "personalized_page.graphql").read_text()


@pytest.fixture
def count_queries(home_page, client):
    """POST a document and return the SQL statements it ran."""

    def run(query: str, variables: dict) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/graphql/", json.dumps({"query": query, "variables": variables}), content_type="application/json"
            )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return [q["sql"] for q in captured.captured_queries]

    return run


def tailor_tables(statements: list[str]) -> list[str]:
    return [sql for sql in statements if "tailor_" in sql]


def test_grapples_plain_page_query_runs_none_of_tailors_queries(count_queries):
    variables = {"urlPath": "/", "inSite": True}
    count_queries(PERSONALIZED, variables)  # the process compiles the page and loads its segments

    for _ in range(3):
        assert tailor_tables(count_queries(PAGE, variables)) == []


def test_the_plain_page_reads_no_segment_even_before_anything_was_personalized(count_queries):
    assert tailor_tables(count_queries(PAGE, {"urlPath": "/", "inSite": True})) == []


@pytest.mark.parametrize("record_visit", [False, True])
def test_a_personalized_page_runs_no_more_queries_than_the_plain_page(count_queries, record_visit):
    count_queries(PERSONALIZED, {"urlPath": "/", "inSite": True})  # warm the process caches

    plain = count_queries(PAGE, {"urlPath": "/", "inSite": True})
    for _ in range(3):
        personalized = count_queries(PERSONALIZED, {"urlPath": "/", "inSite": True, "recordVisit": record_visit})
        assert len(personalized) == len(plain), "\n".join(personalized)
        assert tailor_tables(personalized) == []


@pytest.mark.parametrize("refreshing", [False, True])
def test_a_returning_visitor_costs_one_redis_round_trip_even_when_a_refresh_is_due(
    home_page, client, refreshing, monkeypatch
):
    """With Redis, a returning visitor's profile is read in one round trip; when the shared segments'
    version is due for its periodic check, it rides along in the same pipeline."""
    raw = require_redis()
    prefix = f"tailor-test-rt-{uuid.uuid4().hex[:8]}:"
    interval = 0.05 if refreshing else 60
    counting = CountingClient(raw)

    def personalized(token=None) -> dict:
        variables = {"urlPath": "/", "inSite": True, "visitorToken": token}
        response = client.post(
            "/graphql/", json.dumps({"query": PERSONALIZED, "variables": variables}), content_type="application/json"
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]["personalizedPage"]

    try:
        with override_settings(
            TAILOR={"REDIS_URL": redis_url(), "REDIS_PREFIX": prefix, "STATS_REFRESH_SECONDS": interval}
        ):
            monkeypatch.setattr(tailor_redis, "_client", counting)
            invalidate_local()
            token = personalized()["visitorToken"]
            for _ in range(5):
                if refreshing:
                    time.sleep(interval * 1.5)
                before = counting.round_trips
                personalized(token)
                assert counting.round_trips - before == 1
    finally:
        invalidate_local()
        for key in raw.scan_iter(match=prefix + "*"):
            raw.delete(key)
