"""Bounded cost per request (issue 12, "Trust"): what one /graphql/ request may send, ask for and spend,
each limit a TAILOR setting, a request over one refused fast with an error naming it.

Measured figures (printed with `-s`): `pytest -q -s tests/test_request_limits.py -k "measure"`.
"""

from __future__ import annotations

import hashlib
import json
import time
import tracemalloc
import uuid
from pathlib import Path

import pytest
from django.test import override_settings
from graphql import get_introspection_query, parse, validate

from cms.graphql_limits import RequestLimits
from tests.openmeteo_server import FakeOpenMeteo

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "graphql" / "operations"
SEOUL = {"latitude": 37.5665, "longitude": 126.978, "timezone": "Asia/Seoul", "now": "2026-11-30T14:00:00+09:00"}


def post(client, query: str, variables: dict | None = None, **extra):
    body = json.dumps({"query": query, "variables": variables or {}})
    return client.post("/graphql/", body, content_type="application/json", **extra)


@pytest.fixture(autouse=True)
def _warm(client, db):
    """The first request of a process imports and builds the schema: not what a limit costs."""
    client.get("/graphql/", {"query": "{ __typename }"})


def timed(fn):
    start = time.perf_counter()
    response = fn()
    return response, time.perf_counter() - start


def limit_of(response) -> str | None:
    errors = response.json().get("errors") or []
    return next(((e.get("extensions") or {}).get("limit") for e in errors if e.get("extensions")), None)


def aliases(n: int, selection: str = "__typename") -> str:
    return "{ " + " ".join(f"a{i}: {selection}" for i in range(n)) + " }"


# --- the size of what is sent --------------------------------------------------------------------


def test_measure_a_1_mb_body_is_refused_before_it_is_read(client, db):
    body = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * 1_000_000}})

    response, seconds = timed(lambda: client.post("/graphql/", body, content_type="application/json"))

    print(f"\n1 MB body: {response.status_code} in {seconds * 1000:.1f} ms")
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert "MAX_BODY_BYTES" in error["message"] and error["extensions"]["limit"] == "MAX_BODY_BYTES"
    assert seconds < 1


def test_a_huge_get_query_string_is_refused(client, db):
    response = client.get("/graphql/", {"query": aliases(10_000)})

    assert response.status_code == 413
    assert "MAX_BODY_BYTES" in response.json()["errors"][0]["message"]


def test_measure_100000_typename_aliases_cost_no_time_and_no_memory(client, db):
    document = aliases(100_000)  # 1.3 MB
    response = client.post("/graphql/", json.dumps({"query": document}), content_type="application/json")
    assert response.status_code == 413  # the body limit stops it first

    # With the body limit raised, the parser stops at MAX_TOKENS: no time and no memory either way.
    with override_settings(TAILOR={"GRAPHQL_LIMITS": {"MAX_BODY_BYTES": 4_000_000}}):
        body = json.dumps({"query": document})
        response, seconds = timed(lambda: client.post("/graphql/", body, content_type="application/json"))
        tracemalloc.start()
        client.post("/graphql/", body, content_type="application/json")
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    print(f"\n100,000 __typename aliases: {response.status_code} in {seconds * 1000:.1f} ms, peak {peak / 1e6:.1f} MB")
    assert response.status_code == 400
    assert limit_of(response) == "MAX_TOKENS"
    assert "more than 2000 tokens (GRAPHQL_LIMITS.MAX_TOKENS)" in response.json()["errors"][0]["message"]
    assert seconds < 1
    assert peak < 30_000_000  # the 1.3 MB body a few times over, not 100,000 answers


def test_measure_10000_personalized_page_aliases_are_refused_fast(client, home_page):
    document = aliases(10_000, 'personalizedPage(urlPath: "/", inSite: true) { cacheKey }')

    with override_settings(TAILOR={"GRAPHQL_LIMITS": {"MAX_BODY_BYTES": 1_000_000}}):
        response, seconds = timed(lambda: post(client, document))

    print(
        f"\n10,000 personalizedPage aliases ({len(document) // 1000} KB): {response.status_code} in {seconds * 1000:.1f} ms"
    )
    assert response.status_code == 400 and limit_of(response) == "MAX_TOKENS"
    assert seconds < 1


# --- what the document asks for -------------------------------------------------------------------


def test_too_many_aliases_are_refused_naming_the_limit(client, db):
    response = post(client, aliases(31))

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "MAX_ALIASES"}
    assert "31 aliased fields; the limit is 30 (GRAPHQL_LIMITS.MAX_ALIASES)" in error["message"]
    assert post(client, aliases(30)).status_code == 200


def test_measure_the_costliest_document_within_the_limits(client, home_page):
    """As many personalizedPage aliases as MAX_COST allows (personalizedPage costs 51, each field below
    it 1) run within a second; one more is refused naming MAX_COST."""
    full = 'personalizedPage(urlPath: "/", inSite: true) { cacheKey decisions { slot variant reasons token } }'
    response, seconds = timed(lambda: post(client, aliases(17, full)))  # 17 x 57 = 969
    print(f"\n17 personalizedPage aliases (cost 969 of 1000): {response.status_code} in {seconds * 1000:.0f} ms")
    assert response.status_code == 200 and "errors" not in response.json()
    assert seconds < 1.5  # on a busy shared 2-core machine; a fraction of that alone

    response = post(client, aliases(18, full))  # 18 x 57 = 1026
    assert response.status_code == 400 and limit_of(response) == "MAX_COST"
    assert "costs 1026; the limit is 1000 (GRAPHQL_LIMITS.MAX_COST)" in response.json()["errors"][0]["message"]
    assert post(client, aliases(19, 'personalizedPage(urlPath: "/", inSite: true) { cacheKey }')).status_code == 200


def test_cost_and_depth_limits_are_settings(client, home_page):
    with override_settings(TAILOR={"GRAPHQL_LIMITS": {"MAX_COST": 50}}):
        response = post(client, aliases(2, 'personalizedPage(urlPath: "/", inSite: true) { cacheKey }'))
    assert limit_of(response) == "MAX_COST"

    deep = '{ page(urlPath: "/") { ' + "parent { " * 25 + "id" + " }" * 25 + " } }"
    response = post(client, deep)
    assert response.status_code == 400 and limit_of(response) == "MAX_DEPTH"
    assert "the limit is 20 (GRAPHQL_LIMITS.MAX_DEPTH)" in response.json()["errors"][0]["message"]
    with override_settings(TAILOR={"GRAPHQL_LIMITS": {"MAX_DEPTH": 40}}):
        assert post(client, deep).status_code == 200


def test_fragment_tricks_are_4xx_not_500(client, db):
    cycle = "query { ...A } fragment A on Query { __typename ...A }"
    unknown = "query { ...Missing }"
    bomb = (
        "query { ...F0 } "
        + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
        + " fragment F40 on Query { __typename }"
    )
    for document in (cycle, unknown, bomb):
        response, seconds = timed(lambda document=document: post(client, document))
        assert response.status_code == 400, response.content
        assert seconds < 1
    assert limit_of(post(client, bomb)) == "MAX_COST"  # 2**40 selections


def test_every_operation_frontends_use_and_introspection_fit_the_default_limits(client, db):
    from grapple.schema import schema

    documents = {path.name: path.read_text() for path in OPERATIONS.glob("*.graphql")}
    documents["introspection"] = get_introspection_query(descriptions=True)
    assert len(documents) >= 6
    for name, text in documents.items():
        document = parse(text, max_tokens=2000)  # MAX_TOKENS
        assert validate(schema.graphql_schema, document, [RequestLimits]) == [], name
        assert len(text.encode()) < 64 * 1024  # MAX_BODY_BYTES


# --- introspection and persisted operations ------------------------------------------------------


def test_introspection_can_be_turned_off_and_typename_still_works(client, db):
    assert post(client, "{ __schema { queryType { name } } }").status_code == 200

    with override_settings(TAILOR={"GRAPHQL_INTROSPECTION": False}):
        for document in ("{ __schema { queryType { name } } }", '{ __type(name: "Query") { name } }'):
            response = post(client, document)
            assert response.status_code == 400
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "INTROSPECTION_DISABLED"
            assert "GRAPHQL_INTROSPECTION" in error["message"]
        assert post(client, "{ __typename }").json() == {"data": {"__typename": "Query"}}


PERSISTED = {"TAILOR": {"GRAPHQL_PERSISTED_OPERATIONS": str(OPERATIONS)}}


def test_persisted_operations_only_run_the_documents_of_the_folder(client, home_page):
    text = (OPERATIONS / "page_content.graphql").read_text()
    variables = {"urlPath": "/"}
    digest = hashlib.sha256(text.encode()).hexdigest()
    with override_settings(**PERSISTED):
        by_text = post(client, text, variables)
        by_id = client.post(
            "/graphql/",
            json.dumps({"documentId": f"sha256:{digest}", "variables": variables}),
            content_type="application/json",
        )
        by_apollo = client.get(
            "/graphql/",
            {
                "variables": json.dumps(variables),
                "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}}),
            },
        )
        other = post(client, "{ __typename }")
        unknown = client.post("/graphql/", json.dumps({"documentId": "0" * 64}), content_type="application/json")

    for response in (by_text, by_id, by_apollo):
        assert response.status_code == 200, response.content
        assert "errors" not in response.json()
    assert by_text.json() == by_id.json() == by_apollo.json()
    for response in (other, unknown):
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert "GRAPHQL_PERSISTED_OPERATIONS" in error["message"]
    assert post(client, "{ __typename }").status_code == 200  # off by default


# --- providers --------------------------------------------------------------------------------------


@pytest.fixture
def open_meteo():
    prefix = f"tailor-test-{uuid.uuid4().hex[:8]}:"
    with FakeOpenMeteo(weather_code=63, temperature=7.5) as server:
        with override_settings(TAILOR={"WEATHER_URL": server.base_url, "WEATHER_TIMEOUT": 0.3, "REDIS_PREFIX": prefix}):
            yield server


def test_one_request_looks_up_at_most_three_weather_cells(client, home_page, open_meteo):
    """130 aliases with distinct coordinates used to make 130 upstream calls; now the aliases are
    bounded (MAX_ALIASES, MAX_COST) and so are the distinct cells one request may look up."""
    selection = 'personalizedPage(urlPath: "/", inSite: true, context: {ctx}) {{ context {{ weather {{ condition }} }} warnings {{ field message }} }}'
    parts = []
    for i in range(8):
        ctx = {**SEOUL, "latitude": 30 + i, "longitude": 120 + i}
        literal = "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in ctx.items()) + "}"
        parts.append(f"p{i}: " + selection.format(ctx=literal))
    response = post(client, "{ " + " ".join(parts) + " }")

    data = response.json()["data"]
    assert open_meteo.request_count == 3
    known = [data[f"p{i}"]["context"]["weather"] for i in range(8)]
    assert known[:3] == [{"condition": "RAIN"}] * 3 and known[3:] == [None] * 5
    warning = data["p5"]["warnings"][0]
    assert warning["field"] == "context.latitude" and "WEATHER_LOOKUPS_PER_REQUEST" in warning["message"]
    assert data["p0"]["warnings"] == []

    # The next request has a budget of its own; the same cell twice in one request costs one lookup.
    again = post(client, "{ " + " ".join(parts[3:4] * 1 + [parts[3].replace("p3:", "q3:")]) + " }").json()["data"]
    assert again["p3"]["context"]["weather"] == again["q3"]["context"]["weather"] == {"condition": "RAIN"}
    assert open_meteo.request_count == 4


def test_the_readme_states_the_default_limits():
    from tailor.settings import DEFAULTS

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Limits") : readme.index("## Performance")]
    limits = DEFAULTS["GRAPHQL_LIMITS"]
    for name, value in limits.items():
        assert f"`{name}` {value:,}" in section, name
    assert f"`WEATHER_LOOKUPS_PER_REQUEST` {DEFAULTS['WEATHER_LOOKUPS_PER_REQUEST']}" in section
    for name, rate in DEFAULTS["RATE_LIMITS"].items():
        assert f"`{name}` {rate}" in section, name
    assert "`personalizedPage` 51" in section


def test_measure_a_field_repeated_under_one_name_is_refused_fast(client, home_page):
    """graphql-core's check that repeated fields can merge is quadratic: 300 copies of one field took
    over a second to validate; its work is now bounded and the answer names MAX_COST."""
    document = "{ " + "page { id } " * 400 + "}"

    response, seconds = timed(lambda: post(client, document))

    print(f"\n400 copies of one field: {response.status_code} in {seconds * 1000:.0f} ms")
    assert response.status_code == 400 and limit_of(response) == "MAX_COST"
    assert "repeats fields under one name" in response.json()["errors"][0]["message"]
    assert seconds < 1  # ~0.1 s alone; the machine is shared
    few = "{ " + 'page(urlPath: "/") { id } ' * 20 + "}"
    assert post(client, few).json() == {"data": {"page": {"id": str(home_page.id)}}}
