"""What Tailor costs a request in SQL, counted through the public GraphQL endpoint.

Grapple's plain `page` query must run none of Tailor's queries (its blocks are read from the stored
page, not from the segment table), and `personalizedPage` must run no more queries than `page` for the
same page once the process has its compiled page, segment index and arm statistics in memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
