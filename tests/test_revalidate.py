"""The publish webhook (`cms.revalidate`): publishing, unpublishing and deleting pages through
Wagtail's own API POST to a real HTTP server on 127.0.0.1, after the commit, with the bearer secret;
a receiver that is down, slow or failing never breaks the publish nor holds it beyond TIMEOUT."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import override_settings
from wagtail.models import Page

from cms.revalidate import send
from sample_site.home.models import HomePage
from tailor.settings import tailor_settings

SECRET = "s3cret-token"
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


class Receiver:
    """A frontend's revalidation endpoint: records each POST; `delay` holds the answer, `status` sets it."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.status = status
        self.delay = delay
        self.requests: list[dict] = []
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if receiver.delay and receiver._stopping.wait(receiver.delay):
                    return
                answer = b'{"revalidated": true}'
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/revalidate?source=wagtail"

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver(settings):
    with Receiver() as server:
        settings.TAILOR = {"REVALIDATE": {"URL": server.url, "SECRET": SECRET, "TIMEOUT": 2.0}}
        yield server


@pytest.fixture
def child(home_page) -> HomePage:
    """A draft child page of the demo home (never published)."""
    page = HomePage(title="Offers", slug="offers", body="[]")
    home_page.add_child(instance=page)
    return HomePage.objects.get(pk=page.pk)


def closed_port_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens there any more: connections are refused
    return f"http://127.0.0.1:{port}/api/revalidate"


def expected(event: str, page: Page, url: str | None) -> dict:
    return {
        "event": event,
        "tags": [f"tailor:page:{page.pk}", "tailor:pages"],
        "page": {"id": page.pk, "urlPath": page.url_path, "url": url},
    }


def test_publishing_a_page_posts_its_tags_to_the_frontend_with_the_bearer_after_the_commit(
    receiver, child, django_capture_on_commit_callbacks
):
    revision = child.save_revision()
    with django_capture_on_commit_callbacks(execute=True):
        revision.publish()
        assert receiver.requests == []  # not before the publish is committed

    (request,) = receiver.requests
    assert request["path"] == "/api/revalidate?source=wagtail"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == expected("published", child, "/offers/")
    child.refresh_from_db()
    assert child.live


def test_unpublishing_a_page_posts_unpublished(receiver, child, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        child.save_revision().publish()
    with django_capture_on_commit_callbacks(execute=True):
        HomePage.objects.get(pk=child.pk).unpublish()

    assert [b["event"] for b in receiver.bodies()] == ["published", "unpublished"]
    assert receiver.bodies()[1] == expected("unpublished", child, "/offers/")


def test_deleting_a_live_page_posts_deleted_once_for_it_and_for_each_descendant(
    receiver, child, django_capture_on_commit_callbacks
):
    grandchild = HomePage(title="Winter", slug="winter", body="[]")
    child.add_child(instance=grandchild)
    with django_capture_on_commit_callbacks(execute=True):
        child.save_revision().publish()
        HomePage.objects.get(pk=grandchild.pk).save_revision().publish()
    receiver.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        Page.objects.get(pk=child.pk).specific.delete()

    # Wagtail unpublishes a live page it deletes; the "deleted" stands for that "unpublished"
    assert sorted(receiver.bodies(), key=lambda b: b["page"]["id"]) == [
        expected("deleted", child, "/offers/"),
        expected("deleted", grandchild, "/offers/winter/"),
    ]


def test_a_rolled_back_publish_posts_nothing(receiver, child, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            child.save_revision().publish()
            raise RuntimeError("the editor's request failed after the publish")

    assert callbacks == [] and receiver.requests == []


@pytest.fixture
def enqueued():
    """Every django-tasks task enqueued during the test, whatever the backend."""
    from django_tasks.signals import task_enqueued

    jobs = []

    def collect(sender, task_result, **kwargs):
        jobs.append(task_result)

    task_enqueued.connect(collect)
    yield jobs
    task_enqueued.disconnect(collect)


def revalidations(jobs) -> list:
    return [j for j in jobs if j.task.name == "revalidate_task"]


def test_without_a_url_nothing_is_enqueued(child, settings, django_capture_on_commit_callbacks, enqueued):
    settings.TAILOR = {"REVALIDATE": {"SECRET": SECRET}}

    with django_capture_on_commit_callbacks(execute=True):
        child.save_revision().publish()
        HomePage.objects.get(pk=child.pk).unpublish()

    assert revalidations(enqueued) == []


def test_without_a_secret_no_authorization_is_sent(receiver, child, settings, django_capture_on_commit_callbacks):
    settings.TAILOR = {"REVALIDATE": {"URL": receiver.url}}

    with django_capture_on_commit_callbacks(execute=True):
        child.save_revision().publish()

    (request,) = receiver.requests
    assert "Authorization" not in request["headers"]


def test_with_a_worker_the_publish_only_queues_a_task_that_holds_no_secret(
    receiver, child, settings, django_capture_on_commit_callbacks, enqueued
):
    settings.TASKS = DUMMY  # a worker's queue: nothing runs until the worker takes it

    with django_capture_on_commit_callbacks(execute=True):
        child.save_revision().publish()

    (job,) = revalidations(enqueued)
    assert receiver.requests == []
    assert SECRET not in json.dumps([job.args, job.kwargs])  # the queue stores the payload only
    job.task.call(*job.args, **job.kwargs)  # what the worker does
    assert receiver.bodies() == [expected("published", child, "/offers/")]


# --- a receiver that is down, slow or failing ------------------------------------------------------


def publish_timed(page: HomePage, capture) -> float:
    revision = page.save_revision()
    started = time.monotonic()
    with capture(execute=True):
        revision.publish()
    return time.monotonic() - started


def test_a_receiver_that_is_down_does_not_break_the_publish(
    child, settings, django_capture_on_commit_callbacks, caplog
):
    settings.TAILOR = {"REVALIDATE": {"URL": closed_port_url(), "SECRET": SECRET}}

    with caplog.at_level(logging.WARNING, logger="tailor.revalidate"):
        elapsed = publish_timed(child, django_capture_on_commit_callbacks)

    child.refresh_from_db()
    assert child.live
    assert elapsed < 2.0
    (record,) = [r for r in caplog.records if r.name == "tailor.revalidate"]
    assert record.levelno == logging.WARNING and f"page {child.pk}" in record.getMessage()
    assert SECRET not in caplog.text and "source=" not in caplog.text  # no secret, no query string


def test_a_slow_receiver_holds_the_publish_no_longer_than_the_timeout(
    child, settings, django_capture_on_commit_callbacks, caplog
):
    with Receiver(delay=10) as slow:
        settings.TAILOR = {"REVALIDATE": {"URL": slow.url, "SECRET": SECRET, "TIMEOUT": 0.5}}
        with caplog.at_level(logging.WARNING, logger="tailor.revalidate"):
            elapsed = publish_timed(child, django_capture_on_commit_callbacks)

        assert len(slow.requests) == 1  # it was called, and given up on
    child.refresh_from_db()
    assert child.live
    # 0.5 s of waiting, plus the publish itself; far below the receiver's 10 s (room for a loaded CI)
    assert 0.5 <= elapsed < 0.5 + 2.0, elapsed
    assert "failed" in caplog.text and "ReadTimeoutError" in caplog.text


def test_a_failing_receiver_is_logged(child, settings, django_capture_on_commit_callbacks, caplog):
    with Receiver(status=500) as failing:
        settings.TAILOR = {"REVALIDATE": {"URL": failing.url, "SECRET": SECRET}}
        with caplog.at_level(logging.WARNING, logger="tailor.revalidate"):
            publish_timed(child, django_capture_on_commit_callbacks)

    child.refresh_from_db()
    assert child.live
    assert "answered HTTP 500" in caplog.text


def test_send_reports_what_happened(receiver):
    assert send({"event": "published", "tags": [], "page": {"id": 1}}) == {"sent": True, "status": 200, "error": None}
    assert receiver.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"


# --- the setting ---------------------------------------------------------------------------------------


def test_revalidate_keeps_the_defaults_of_the_keys_left_out():
    with override_settings(TAILOR={"REVALIDATE": {"URL": "https://www.example.com/api/revalidate"}}):
        assert tailor_settings.REVALIDATE == {
            "URL": "https://www.example.com/api/revalidate",
            "SECRET": "",
            "TIMEOUT": 2.0,
        }
    with override_settings(TAILOR={}):
        assert tailor_settings.REVALIDATE["URL"] is None


@pytest.mark.parametrize(
    "value, message",
    [
        ("https://www.example.com", "expected a dict"),
        ({"URL": "ftp://example.com/x"}, "URL must be an http(s) URL"),
        ({"URL": "/api/revalidate"}, "URL must be an http(s) URL"),
        ({"URL": "https://example.com", "TIMEOUT": 0}, "TIMEOUT must be a number of seconds above 0"),
        ({"URL": "https://example.com", "TIMEOUT": 31}, "at most 30"),
        ({"URL": "https://example.com", "TIMEOUT": "2"}, "TIMEOUT"),
        ({"URL": "https://example.com", "SECRET": None}, "SECRET must be a string"),
        ({"URL": "https://example.com", "SECRT": "x"}, "unknown key(s) SECRT"),
    ],
)
def test_revalidate_refuses_wrong_values_with_a_clear_error(value, message):
    with override_settings(TAILOR={"REVALIDATE": value}):
        with pytest.raises(ImproperlyConfigured, match=r'TAILOR\["REVALIDATE"\]') as error:
            _ = tailor_settings.REVALIDATE
    assert message in str(error.value)
