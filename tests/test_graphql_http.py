"""HTTP caching of /graphql/ (`cms.graphql_view`): what a CDN or the frontend's fetch cache may keep
and for how long, what it must never keep, GET running queries only, and no CSRF cookie."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings
from django.utils.cache import get_max_age

from cms.graphql_view import _visitor_specific
from tailor.settings import tailor_settings
from variants.models import Event

PAGE = '{ page(urlPath: "/", inSite: true) { title } }'
PERSONALIZED = '{ personalizedPage(urlPath: "/", inSite: true) { cacheKey decisions { slot token } } }'
RECORD = "mutation ($token: String!) { recordEvent(token: $token, kind: CLICK) { ok counted } }"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PRIVATE = "private, no-store"


def get(client, query: str, variables: dict | None = None, **headers):
    params = {"query": query}
    if variables:
        params["variables"] = json.dumps(variables)
    return client.get("/graphql/", params, **headers)


def post(client, query: str, variables: dict | None = None, **headers):
    body = json.dumps({"query": query, "variables": variables or {}})
    return client.post("/graphql/", body, content_type="application/json", **headers)


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",")}


def test_a_get_query_nothing_visitor_specific_went_into_is_public_for_a_minute(client, home_page):
    response = get(client, PAGE)

    assert response.status_code == 200
    assert response.json() == {"data": {"page": {"title": "Tailor demo"}}}
    assert response["Cache-Control"] == "public, max-age=60"
    assert get_max_age(response) == 60
    assert "accept-language" in vary(response)  # reasons and labels are translated


def test_the_public_lifetime_is_a_setting(client, home_page, settings):
    settings.TAILOR = {"GRAPHQL_CACHE_SECONDS": 300}

    assert get(client, PAGE)["Cache-Control"] == "public, max-age=300"


def test_a_cacheable_answer_sets_no_cookie_and_does_not_vary_on_cookies(client, home_page):
    response = get(client, PAGE)

    assert not response.cookies  # graphene-django's view would set a CSRF cookie on every answer
    assert "set-cookie" not in {h.lower() for h in response.headers}
    assert "cookie" not in vary(response)


def test_personalized_page_is_private_even_by_get(client, home_page):
    response = get(client, PERSONALIZED, HTTP_USER_AGENT=FIREFOX)

    assert response.status_code == 200 and "errors" not in response.json()
    assert response["Cache-Control"] == PRIVATE
    assert "accept-language" in vary(response)


def test_a_query_asking_for_a_public_and_a_personalized_field_is_private(client, home_page):
    query = '{ page(urlPath: "/", inSite: true) { title } personalizedPage(urlPath: "/", inSite: true) { cacheKey } }'

    assert get(client, query)["Cache-Control"] == PRIVATE


@pytest.mark.parametrize(
    "query, status",
    [
        ("{ page(urlPath: 1) { title } }", 400),  # invalid document
        ("{ notAField }", 400),
        ('{ personalizedPage(urlPath: "/", context: {timezone: "Mars/Base"}) { cacheKey } }', 200),  # field error
        ("", 400),  # no query
        ("{ page(urlPath: ", 400),  # syntax error
    ],
)
def test_errors_are_never_cacheable(client, home_page, query, status):
    response = client.get("/graphql/", {"query": query} if query else {})

    assert response.status_code == status
    assert "errors" in response.json()
    assert response["Cache-Control"] == PRIVATE


def test_every_post_is_private(client, home_page):
    response = post(client, PAGE)

    assert response.status_code == 200 and response.json()["data"]["page"]["title"] == "Tailor demo"
    assert response["Cache-Control"] == PRIVATE
    assert "accept-language" in vary(response)


def test_an_authorized_get_is_private(client, home_page):
    assert get(client, PAGE, HTTP_AUTHORIZATION="Bearer abc")["Cache-Control"] == PRIVATE


def test_a_mutation_sent_by_get_is_refused_and_changes_nothing(client, home_page):
    token = post(client, PERSONALIZED, HTTP_USER_AGENT=FIREFOX).json()["data"]["personalizedPage"]["decisions"][0][
        "token"
    ]

    response = get(client, RECORD, {"token": token}, HTTP_USER_AGENT=FIREFOX)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "Can only perform a mutation operation from a POST request" in response.json()["errors"][0]["message"]
    assert response["Cache-Control"] == PRIVATE
    assert Event.objects.count() == 0
    # the same mutation by POST records the click
    recorded = post(client, RECORD, {"token": token}, HTTP_USER_AGENT=FIREFOX)
    assert recorded.json()["data"]["recordEvent"] == {"ok": True, "counted": True}
    assert Event.objects.count() == 1


def test_methods_other_than_get_and_post_are_refused(client, db):
    response = client.put("/graphql/", json.dumps({"query": PAGE}), content_type="application/json")

    assert response.status_code == 405
    assert response["Cache-Control"] == PRIVATE


def test_an_answer_that_read_a_logged_in_session_is_visitor_specific(db, django_user_model):
    user = django_user_model.objects.create_user("editor", password="x")
    request = RequestFactory().get("/graphql/", {"query": PAGE})
    request.session = SessionStore()
    request.user = AnonymousUser()
    assert _visitor_specific(request) is False

    request.session["_auth_user_id"] = str(user.pk)  # what a resolver reading request.user touches
    request.session.accessed = True
    assert _visitor_specific(request) is True


@pytest.mark.parametrize("value", [-1, 1.5, "60", None, True])
def test_graphql_cache_seconds_must_be_a_whole_number_of_seconds(value):
    with override_settings(TAILOR={"GRAPHQL_CACHE_SECONDS": value}):
        with pytest.raises(ImproperlyConfigured, match=r'TAILOR\["GRAPHQL_CACHE_SECONDS"\]: expected a whole number'):
            _ = tailor_settings.GRAPHQL_CACHE_SECONDS


def test_zero_seconds_keeps_shared_caches_from_reusing_an_answer(client, home_page, settings):
    settings.TAILOR = {"GRAPHQL_CACHE_SECONDS": 0}

    assert get(client, PAGE)["Cache-Control"] == "public, max-age=0"


def test_a_document_is_parsed_and_validated_once_then_served_from_the_cache(client, home_page, monkeypatch):
    """The same operation again skips parsing and validation (the costliest part of a small
    mutation); a different document, or the same text under other limits, is checked afresh."""
    import cms.graphql_view

    cms.graphql_view.valid_documents.clear()
    parsed = []
    real_parse = cms.graphql_view.parse
    monkeypatch.setattr(cms.graphql_view, "parse", lambda *a, **k: parsed.append(a[0]) or real_parse(*a, **k))

    def ask(query: str) -> dict:
        return client.post("/graphql/", {"query": query}, content_type="application/json").json()

    for _ in range(3):
        assert ask("{ __typename }") == {"data": {"__typename": "Query"}}
    assert parsed == ["{ __typename }"]
    # an invalid document is never cached: it is refused every time, with its error
    for _ in range(2):
        assert "Cannot query field 'nope'" in ask("{ nope }")["errors"][0]["message"]
    assert parsed.count("{ nope }") == 2


def test_the_document_cache_is_bounded():
    from cms.graphql_view import ValidDocuments

    cache = ValidDocuments(size=3, max_text=20)
    for i in range(5):
        cache.put((f"q{i}", (), True), f"doc{i}")
    assert [cache.get((f"q{i}", (), True)) for i in range(5)] == [None, None, "doc2", "doc3", "doc4"]
    cache.put(("x" * 21, (), True), "too long")
    assert cache.get(("x" * 21, (), True)) is None
