from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client
from freezegun import freeze_time

from sample_site.home.models import HomePage
from tests.openmeteo_server import FakeOpenMeteo
from tests.weather_support import FrozenClock


@pytest.fixture(autouse=True)
def _fresh_compiled_pages():
    """Compiled pages and segments are cached per process; a test must not see another test's."""
    from rules.segments import invalidate_local
    from variants.compiler import compiled_pages

    invalidate_local()
    compiled_pages.clear()
    yield
    invalidate_local()
    compiled_pages.clear()


@pytest.fixture
def home_page(db) -> HomePage:
    """The demo site: `tailor_demo` seeds the home page with its personalized hero."""
    call_command("tailor_demo", stdout=open("/dev/null", "w"))
    return HomePage.objects.get(depth=2)


@pytest.fixture
def make_page(home_page):
    """Publish a child page of the demo home whose body holds the given slots."""

    def make(slug: str, *slots: dict) -> HomePage:
        page = HomePage(title=slug.title(), slug=slug, body=json.dumps(list(slots)))
        home_page.add_child(instance=page)
        page.save_revision(log_action=False).publish(log_action=False)
        page.refresh_from_db()
        return page

    return make


@pytest.fixture
def gql(client: Client):
    """POST a GraphQL document to /graphql/ and return the decoded JSON (asserting no 5xx)."""

    def run(query: str, variables: dict | None = None, **headers) -> dict:
        response = client.post(
            "/graphql/",
            json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code < 500, response.content[:500]
        return response.json()

    return run


@pytest.fixture(params=["database", "redis"])
def state_backend(request):
    """Run a test on the embedded default and again on Redis (a unique key prefix, cleaned up)."""
    if request.param == "database":
        yield "database"
        return
    import uuid

    from django.test import override_settings

    from tests.services import redis_url, require_redis

    client = require_redis()
    prefix = f"tailor-test-{uuid.uuid4().hex[:8]}:"
    with override_settings(TAILOR={"REDIS_URL": redis_url(), "REDIS_PREFIX": prefix}):
        yield "redis"
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


# The local Open-Meteo server and a frozen clock, for the weather provider and HTTP client tests.
@pytest.fixture
def server():
    with FakeOpenMeteo() as fake:
        yield fake


@pytest.fixture
def clock():
    # Only tests that move the clock freeze it: a frozen monotonic clock would also freeze the
    # HTTP deadline, which the timing tests need running.
    with freeze_time("2026-11-30 08:00:00") as frozen:
        yield FrozenClock(frozen)
