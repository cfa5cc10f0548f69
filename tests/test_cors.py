"""CORS on /graphql/ and /tailor/events/ for ``TAILOR["CORS_ORIGINS"]`` (`tailor.cors`), through
django-cors-headers' middleware and its ``check_request_enabled`` signal: preflights, the calls, the
origins and URLs that get nothing, a prefixed mount, the setting's validation and the system check.
(`tests/browser/test_cors_browser.py` has Chromium make the calls.)"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import include, path

from tailor.cors import check_middleware
from tailor.settings import tailor_settings

FRONTEND = "http://127.0.0.1:3000"
OTHER = "https://evil.example"
PAGE = '{ page(urlPath: "/", inSite: true) { title } }'

#: a site that mounts Tailor under /api/ (used by `test_a_site_may_mount_tailor_under_a_prefix`)
urlpatterns = [path("api/", include("cms.urls"))]


@pytest.fixture(autouse=True)
def origins(settings):
    settings.TAILOR = {"CORS_ORIGINS": [FRONTEND, "http://localhost:3000"]}


def preflight(client, url: str, origin: str = FRONTEND, method: str = "POST", headers: str = "content-type"):
    return client.options(
        url, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method, HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers
    )


def allowed_headers(response) -> set[str]:
    return {h.strip().lower() for h in response.get("Access-Control-Allow-Headers", "").split(",")}


@pytest.mark.parametrize("url", ["/graphql/", "/tailor/events/"])
def test_a_preflight_from_a_configured_origin_is_answered(client, db, url):
    response = preflight(client, url)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert {"content-type"} <= allowed_headers(response)
    assert {"GET", "POST", "OPTIONS"} <= {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response  # tokens travel in the body, not cookies


def test_without_configured_origins_a_preflight_gets_no_cors_headers(client, db, settings):
    settings.TAILOR = {}

    response = preflight(client, "/graphql/")

    assert "Access-Control-Allow-Origin" not in response  # the browser refuses the call


def test_a_graphql_post_from_a_configured_origin_carries_the_cors_headers(client, home_page):
    response = client.post(
        "/graphql/", json.dumps({"query": PAGE}), content_type="application/json", HTTP_ORIGIN="http://localhost:3000"
    )

    assert response.status_code == 200
    assert response.json()["data"]["page"]["title"] == "Tailor demo"
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "origin" in response["Vary"].lower()


def test_a_graphql_get_from_a_configured_origin_carries_the_cors_headers(client, home_page):
    response = client.get("/graphql/", {"query": PAGE}, HTTP_ORIGIN=FRONTEND)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND


def test_a_beacon_post_from_a_configured_origin_gets_its_json_answer_with_the_cors_headers(client, db):
    response = client.post(
        "/tailor/events/", json.dumps({"token": "forged", "kind": "click"}), "application/json", HTTP_ORIGIN=FRONTEND
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "token"
    assert response["Access-Control-Allow-Origin"] == FRONTEND


@pytest.mark.parametrize("origin", [OTHER, "http://127.0.0.1:3001", "https://127.0.0.1:3000", "null"])
def test_other_origins_get_no_cors_headers(client, db, origin):
    answered = [
        preflight(client, "/graphql/", origin=origin),
        client.post("/graphql/", json.dumps({"query": PAGE}), content_type="application/json", HTTP_ORIGIN=origin),
        client.post("/tailor/events/", "{}", "application/json", HTTP_ORIGIN=origin),
    ]

    assert all("Access-Control-Allow-Origin" not in r for r in answered)


@pytest.mark.parametrize("url", ["/", "/admin/login/", "/graphql/extra/"])
def test_the_rest_of_the_site_gets_no_cors_headers_even_for_a_configured_origin(client, home_page, url):
    assert "Access-Control-Allow-Origin" not in preflight(client, url, method="GET")
    assert "Access-Control-Allow-Origin" not in client.get(url, HTTP_ORIGIN=FRONTEND)


def test_origins_compare_as_browsers_send_them(client, db, settings):
    settings.TAILOR = {"CORS_ORIGINS": ["HTTPS://WWW.Example.com:8443"]}

    assert preflight(client, "/graphql/", origin="https://www.example.com:8443")["Access-Control-Allow-Origin"]
    assert "Access-Control-Allow-Origin" not in preflight(client, "/graphql/", origin="https://www.example.com")


@pytest.mark.urls(__name__)
def test_a_site_may_mount_tailor_under_a_prefix(client, db):
    # found by URL name (tailor_cms:graphql / tailor_cms:events), not by path
    assert preflight(client, "/api/graphql/")["Access-Control-Allow-Origin"] == FRONTEND
    assert preflight(client, "/api/tailor/events/")["Access-Control-Allow-Origin"] == FRONTEND
    assert "Access-Control-Allow-Origin" not in preflight(client, "/graphql/")


def test_without_the_cors_middleware_an_options_request_is_refused_as_before(client, db, settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "corsheaders" not in m]

    response = preflight(client, "/graphql/")

    assert response.status_code == 405  # what Chromium got before: graphene-django answers GET and POST only
    assert "Access-Control-Allow-Origin" not in response


# --- the setting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, normalized",
    [
        ([], []),
        (["https://example.com"], ["https://example.com"]),
        (("http://127.0.0.1:3000", "http://[::1]:3000"), ["http://127.0.0.1:3000", "http://[::1]:3000"]),
        ([" https://Example.COM "], ["https://example.com"]),
    ],
)
def test_cors_origins_accepts_origins(value, normalized):
    with override_settings(TAILOR={"CORS_ORIGINS": value}):
        assert tailor_settings.CORS_ORIGINS == normalized


@pytest.mark.parametrize(
    "value, message",
    [
        ("https://example.com", "expected a list of origins"),
        (["https://example.com/"], "no path"),
        (["https://example.com/app"], "no path"),
        (["https://example.com?x=1"], "no path, query"),
        (["https://user@example.com"], "user name"),
        (["example.com"], "expected scheme://host"),
        (["ftp://example.com"], "expected scheme://host"),
        (["https://example.com:99999"], "invalid port"),
        (["*"], "expected scheme://host"),
        ([None], "is not a string"),
    ],
)
def test_cors_origins_refuses_anything_but_origins_with_a_clear_error(value, message):
    with override_settings(TAILOR={"CORS_ORIGINS": value}):
        with pytest.raises(ImproperlyConfigured, match=r'TAILOR\["CORS_ORIGINS"\]') as error:
            _ = tailor_settings.CORS_ORIGINS
    assert message in str(error.value)


def test_a_check_warns_when_origins_are_set_but_the_middleware_is_missing(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "corsheaders" not in m]

    (warning,) = check_middleware()

    assert warning.id == "tailor.W001" and "CorsMiddleware" in warning.hint
    settings.TAILOR = {}
    assert check_middleware() == []


def test_a_check_warns_when_site_wide_allowed_headers_leave_out_content_type(settings):
    settings.CORS_ALLOW_HEADERS = ["authorization"]

    (warning,) = check_middleware()

    assert warning.id == "tailor.W002"


def test_the_check_runs_with_django_checks(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "corsheaders" not in m]

    with pytest.raises(SystemCheckError, match="tailor.W001"):
        call_command("check", "--fail-level", "WARNING", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
