"""The API's edges (issue 12, "Trust"): malformed requests are 4xx saying what was wrong, GET never
changes anything, timezones are IANA names, and an unexpected error shows the client a request id
while the server's log keeps the traceback under it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def post(client, query: str, variables: dict | None = None, **extra):
    body = json.dumps({"query": query, "variables": variables or {}})
    return client.post("/graphql/", body, content_type="application/json", **extra)


def get(client, query: str, variables: dict | None = None, **extra):
    params = {"query": query}
    if variables:
        params["variables"] = json.dumps(variables)
    return client.get("/graphql/", params, **extra)


def message(response) -> str:
    return response.json()["errors"][0]["message"]


# --- malformed requests -------------------------------------------------------------------------------


def test_invalid_utf8_is_a_400_saying_so(client, db):
    for content_type in ("application/graphql", "application/json"):
        response = client.post("/graphql/", b"{ __typename \xff }", content_type=content_type)

        assert response.status_code == 400, response.content
        assert "not UTF-8" in message(response)
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b'{"query": "{ __typename }"', "application/json", 400, "not valid JSON"),
        (b'["{ __typename }"]', "application/json", 400, "must be a JSON object"),
        (b"", "application/json", 400, "empty"),
        (b"   ", "application/graphql", 400, "empty"),
        (b'{"query": 42}', "application/json", 400, "query must be a string"),
        (b'{"query": "{ __typename }", "variables": [1]}', "application/json", 400, "variables must be a JSON object"),
        (b'{"query": "{ __typename }", "variables": "{nope"}', "application/json", 400, "variables are not valid JSON"),
        (b'{"query": "{ __typename }", "operationName": 7}', "application/json", 400, "operationName must be a string"),
        (b'{"variables": {}}', "application/json", 400, "Must provide query string"),
        (b"{ __typename }", "text/plain", 415, "unsupported content type text/plain"),
        (b"{ __typename }", "application/xml", 415, "send application/json"),
    ],
)
def test_every_malformed_body_is_a_4xx_with_a_clear_message(client, db, body, content_type, status, says):
    response = client.post("/graphql/", body, content_type=content_type)

    assert response.status_code == status, response.content
    assert says in message(response)
    assert response["Cache-Control"] == "private, no-store"


def test_a_well_formed_request_of_each_content_type_still_works(client, db):
    assert client.post("/graphql/", b"{ __typename }", content_type="application/graphql").json() == {
        "data": {"__typename": "Query"}
    }
    assert client.post("/graphql/", {"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}
    assert get(client, "{ __typename }").json() == {"data": {"__typename": "Query"}}


# --- timezones ------------------------------------------------------------------------------------------

TZ = '{ personalizedPage(urlPath: "/", inSite: true, context: {timezone: $tz}) { context { timezone } } }'
TZ_QUERY = "query ($tz: String) " + TZ


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posix/Asia/Seoul", "right/UTC", "posixrules"])
def test_only_iana_timezones_are_accepted(client, home_page, zone):
    response = post(client, TZ_QUERY, {"tz": zone})

    error = response.json()["errors"][0]
    assert error["extensions"]["field"] == "context.timezone"
    assert error["message"].startswith(f"context.timezone: unknown timezone '{zone}'")


@pytest.mark.parametrize("zone", ["Asia/Seoul", "UTC", "Etc/UTC", "America/Argentina/Buenos_Aires"])
def test_iana_names_utc_included_are_accepted(client, home_page, zone):
    response = post(client, TZ_QUERY, {"tz": zone})

    assert "errors" not in response.json(), response.json()
    assert response.json()["data"]["personalizedPage"]["context"]["timezone"] == zone


def test_a_huge_timezone_is_not_echoed_back(client, home_page):
    huge = "A" * 40_000  # within the body limit; a megabyte is refused before (test_request_limits)

    response = post(client, TZ_QUERY, {"tz": huge})

    error = response.json()["errors"][0]
    assert error["extensions"]["field"] == "context.timezone"
    assert len(error["message"]) < 200
    assert "A" * 70 in error["message"] and "A" * 100 not in error["message"]


def test_input_echoed_by_graphql_core_is_clipped(client, db):
    response = post(client, "query ($n: Int) { __typename @include(if: $n) }", {"n": "x" * 5000})

    assert response.status_code == 400
    assert len(message(response)) <= 500
    assert "x" * 100 not in message(response)


# --- GET never changes anything -------------------------------------------------------------------------

IDENTIFY = "mutation { identifyVisitor { visitorToken } }"
CONSENT = """mutation ($v: String, $p: Boolean!, $a: Boolean!) {
  setConsent(visitorToken: $v, personalization: $p, analytics: $a) { ok visitorToken } }"""
PAGE = """query ($v: String, $consent: ConsentInput, $record: Boolean) {
  personalizedPage(urlPath: "/", inSite: true, visitorToken: $v, context: {consent: $consent}, recordVisit: $record) {
    context { visitCount consent { personalization analytics source } } } }"""


def stored_context(client, token: str) -> dict:
    """What the server keeps about the visitor, read by POST without counting a visit."""
    response = post(client, PAGE, {"v": token, "record": False}, HTTP_USER_AGENT=FIREFOX)
    return response.json()["data"]["personalizedPage"]["context"]


def test_a_get_personalized_page_stores_no_profile_and_counts_no_visit(client, home_page):
    token = post(client, IDENTIFY).json()["data"]["identifyVisitor"]["visitorToken"]
    consent = {"personalization": True, "analytics": True}

    for _ in range(2):
        response = get(client, PAGE, {"v": token, "consent": consent}, HTTP_USER_AGENT=FIREFOX)
        assert response.status_code == 200 and "errors" not in response.json()

    context = stored_context(client, token)
    assert context["consent"]["source"] == "DEFAULT"  # no profile was created
    assert context["visitCount"] is None
    # The same call by POST counts the visit and keeps the consented profile.
    post(client, PAGE, {"v": token, "consent": consent}, HTTP_USER_AGENT=FIREFOX)
    assert stored_context(client, token)["visitCount"] == 1


def test_a_get_personalized_page_does_not_overwrite_stored_consent(client, home_page):
    answer = post(client, CONSENT, {"p": True, "a": True}).json()["data"]["setConsent"]
    token = answer["visitorToken"]

    get(client, PAGE, {"v": token, "consent": {"personalization": True, "analytics": False}}, HTTP_USER_AGENT=FIREFOX)

    assert stored_context(client, token)["consent"] == {"personalization": True, "analytics": True, "source": "STORED"}


def test_a_get_document_holding_a_mutation_is_refused_whatever_operation_it_names(client, db):
    document = "query Q { __typename } mutation M { identifyVisitor { visitorToken } }"

    for operation in ("Q", "M"):
        response = client.get("/graphql/", {"query": document, "operationName": operation})
        assert response.status_code == 405
        assert response["Allow"] == "POST"
        assert "Can only perform a mutation operation from a POST request" in message(response)


# --- unexpected errors: a request id for the client, the traceback in the log ---------------------------


def test_a_django_error_inside_grapple_shows_a_request_id_not_the_model(client, home_page, caplog):
    with caplog.at_level(logging.ERROR, logger="tailor.graphql"):
        response = post(client, '{ pages(order: "no_such_field") { id } }')

    body = response.json()
    error = body["errors"][0]
    request_id = response["X-Request-ID"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert request_id in error["message"]
    assert "Choices are" not in json.dumps(body) and "no_such_field" not in json.dumps(body)
    (record,) = [r for r in caplog.records if r.name == "tailor.graphql"]
    assert request_id in record.getMessage() and "no_such_field" in record.getMessage()
    assert record.exc_info is not None  # the traceback


def test_a_python_error_inside_grapple_is_not_shown_either(client, home_page, caplog):
    with caplog.at_level(logging.ERROR, logger="tailor.graphql"):
        response = post(client, '{ pages(contentType: "nodot") { id } }')

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "unpack" not in json.dumps(response.json())
    assert any("not enough values to unpack" in r.getMessage() for r in caplog.records)


def test_a_null_for_a_non_null_field_is_an_internal_error_logged_with_its_id(client, home_page, caplog, monkeypatch):
    from variants.services import PagePersonalization

    monkeypatch.setattr(PagePersonalization, "cache_key", property(lambda self: None))  # a bug, injected
    with caplog.at_level(logging.ERROR, logger="tailor.graphql"):
        response = post(client, '{ personalizedPage(urlPath: "/", inSite: true) { cacheKey } }')

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "non-nullable" not in error["message"]
    assert error["path"] == ["personalizedPage", "cacheKey"]
    assert any("Cannot return null for non-nullable" in r.getMessage() for r in caplog.records)


def test_deliberate_errors_keep_their_message(client, home_page):
    tz = post(client, TZ_QUERY, {"tz": "Mars/Base"}).json()["errors"][0]
    assert tz["message"].startswith("context.timezone: unknown timezone 'Mars/Base'")
    assert tz["extensions"] == {"field": "context.timezone"}
    # grapple's own words for a client's mistake
    both = post(client, '{ page(urlPath: "/", inSite: true, site: "localhost") { id } }').json()["errors"][0]
    assert "cannot be used at the same time" in both["message"]
    # graphql-core's words about the document
    unknown = post(client, "{ nope }").json()["errors"][0]
    assert "Cannot query field 'nope'" in unknown["message"]


def test_a_crash_in_the_view_is_a_json_500_with_a_request_id_and_a_logged_traceback(client, db, caplog, monkeypatch):
    import cms.graphql_view

    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(cms.graphql_view, "validation_rules", broken)
    cms.graphql_view.valid_documents.clear()  # checked again, so the broken rules run
    with caplog.at_level(logging.ERROR, logger="tailor.graphql"):
        response = post(client, "{ __typename }", HTTP_X_REQUEST_ID="probe-123")

    assert response.status_code == 500
    assert response["X-Request-ID"] == "probe-123"
    assert response.json() == {
        "errors": [
            {
                "message": "Internal error; the server's log has the details under request id probe-123",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "probe-123"},
            }
        ]
    }
    record = next(r for r in caplog.records if r.name == "tailor.graphql")
    assert "probe-123" in record.getMessage() and "secret internals" in str(record.exc_info[1])


def test_every_answer_carries_a_request_id(client, db):
    first = post(client, "{ __typename }")["X-Request-ID"]
    second = post(client, "{ __typename }")["X-Request-ID"]
    assert first and second and first != second
    assert post(client, "{ __typename }", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"] != "bad id"


SERVER_500 = """
import django, sys
django.setup()
from unittest import mock
from django.test import Client
import variants.views
with mock.patch.object(variants.views, "record_event", side_effect=RuntimeError("boom at the beacon")):
    response = Client(raise_request_exception=False).post(
        "/tailor/events/", '{"token": "x", "kind": "click"}', content_type="application/json")
print("STATUS", response.status_code, file=sys.stdout)
"""


def test_a_non_graphql_500_is_logged_by_the_sample_site_with_debug_off():
    """Django logs a 500 on `django.request`, but its default handlers print nothing with DEBUG off;
    the sample site's LOGGING sends it, with the traceback, to the server's log (stderr)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sample_site.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "test-" + "k" * 60,  # production settings want a real key
    }
    env.pop("DATABASE_URL", None)
    run = subprocess.run(
        [sys.executable, "-c", SERVER_500], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert "STATUS 500" in run.stdout, run.stderr[-2000:]
    assert "Internal Server Error: /tailor/events/" in run.stderr
    assert "RuntimeError: boom at the beacon" in run.stderr  # the traceback
