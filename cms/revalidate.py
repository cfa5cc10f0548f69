"""The publish webhook: tell a frontend that caches page content which pages changed.

A headless frontend (Next.js with ``fetch(..., {next: {tags}})``, a CDN, ...) keeps page content for a
while; when an editor publishes, unpublishes or deletes a page, Tailor POSTs to
``TAILOR["REVALIDATE"]["URL"]``::

    POST <URL>
    Authorization: Bearer <SECRET>          (left out when SECRET is empty)
    Content-Type: application/json

    {"event": "published", "tags": ["tailor:page:3", "tailor:pages"],
     "page": {"id": 3, "urlPath": "/home/", "url": "/"}}

``event`` is ``published``, ``unpublished`` or ``deleted``; ``tags`` are the cache tags a frontend
gives what it fetched (``tailor:page:<id>`` for one page's content, ``tailor:pages`` for anything that
lists pages); ``urlPath`` is Wagtail's tree path and ``url`` the page's URL on its site (relative when
the project has one site; None when the page is not routable).

When: on Wagtail's ``page_published`` and ``page_unpublished`` signals, and on ``post_delete`` of
``Page`` (Wagtail 8 sends no page-deletion signal of its own; deleting a page sends ``pre_delete`` and
``post_delete`` once for the specific model and once for ``Page``, for the page and each descendant,
and, for a live page, ``page_unpublished`` from its own ``pre_delete`` handler: Tailor listens to the
``Page`` one, so one "deleted" per page, and drops the "unpublished" of a page deleted in the same
transaction). The webhook is enqueued once the transaction commits, so a frontend that fetches
the page at once sees the new content, and never for a rolled-back publish.

How: as a django-tasks task (`revalidate_task`), so the site's ``TASKS`` setting says where the call
runs: in a worker (the demo's ``db_worker``: a publish then only INSERTs a row) or, with the immediate
backend, in the publishing request after its commit. The call waits at most ``TIMEOUT`` seconds
(urllib3's total timeout: connecting plus waiting for the answer) and is never retried. A failure (the
frontend down, slow, or answering an error) is logged on the ``tailor.revalidate`` logger and never
raised into the publish.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.db import transaction
from django.db.models.signals import post_delete
from django_tasks import task
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished

from tailor.settings import tailor_settings

logger = logging.getLogger("tailor.revalidate")

EVENTS = ("published", "unpublished", "deleted")
ALL_PAGES_TAG = "tailor:pages"

# One pool for every call (thread-safe); urllib3 retries nothing and follows no redirect here.
_http = urllib3.PoolManager(num_pools=2, maxsize=2, retries=False, headers={"User-Agent": "wagtail-tailor"})


def page_tag(page_id: int) -> str:
    return f"tailor:page:{page_id}"


def payload_for(event: str, page: Page) -> dict[str, Any]:
    """The JSON body telling a frontend that `page` was `event` (one of EVENTS)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; use one of {', '.join(EVENTS)}")
    try:
        url = page.get_url()
    except Exception:  # a page outside every site, or a site deleted with its root page
        logger.debug("no URL for page %s", page.pk, exc_info=True)
        url = None
    return {
        "event": event,
        "tags": [page_tag(page.pk), ALL_PAGES_TAG],
        "page": {"id": page.pk, "urlPath": page.url_path, "url": url},
    }


def _where(url: str) -> str:
    """The URL's scheme and host, for logs (a query string may hold a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def send(payload: dict[str, Any]) -> dict[str, Any]:
    """POST `payload` to the configured URL now. Never raises: returns ``{"sent": bool, "status": int |
    None, "error": str | None}`` and logs a failure (the URL without its query; never the secret)."""
    config = tailor_settings.REVALIDATE
    url = config["URL"]
    if not url:
        return {"sent": False, "status": None, "error": "no URL configured"}
    headers = {"Content-Type": "application/json"}
    if config["SECRET"]:
        headers["Authorization"] = f"Bearer {config['SECRET']}"
    body = json.dumps(payload, separators=(",", ":")).encode()
    page_id = (payload.get("page") or {}).get("id")
    try:
        response = _http.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=float(config["TIMEOUT"])),
            retries=False,
            redirect=False,
            preload_content=False,
        )
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.warning("revalidate %s of page %s: %s failed: %s", payload.get("event"), page_id, _where(url), error)
        return {"sent": False, "status": None, "error": error}
    status = response.status
    # The answer's body is not needed: the connection is dropped rather than read to its end.
    response.close()
    response.release_conn()
    if not 200 <= status < 300:
        logger.warning(
            "revalidate %s of page %s: %s answered HTTP %s", payload.get("event"), page_id, _where(url), status
        )
        return {"sent": True, "status": status, "error": f"HTTP {status}"}
    logger.info("revalidate %s of page %s: %s answered HTTP %s", payload.get("event"), page_id, _where(url), status)
    return {"sent": True, "status": status, "error": None}


@task()
def revalidate_task(payload: dict) -> dict:
    """POST one publish event to ``TAILOR["REVALIDATE"]["URL"]`` (see the module docstring).

    Not retried, on purpose: a frontend that missed one keeps serving what it cached until its own
    expiry (a frontend caching by tag should still give its entries a lifetime), and the next publish
    of the page revalidates it; a retry queue would deliver late, out of order with a newer publish.
    django-tasks 0.12 has no retries either. The URL, secret and timeout are read when the task runs,
    so the queue never stores the secret.
    """
    return send(payload)


def _enqueue(payload: dict[str, Any]) -> None:
    """Runs once the transaction that changed the page has committed."""
    if payload["event"] != "deleted" and not Page.objects.filter(pk=payload["page"]["id"]).exists():
        return  # deleted in the same transaction (Wagtail unpublishes a live page it deletes): "deleted" follows
    try:
        revalidate_task.enqueue(payload)
    except Exception:
        logger.warning("could not enqueue the revalidate webhook for page %s", payload["page"]["id"], exc_info=True)


def schedule(event: str, page: Page) -> None:
    """Enqueue the webhook for `page` once the current transaction commits (at once outside one)."""
    if not tailor_settings.REVALIDATE["URL"]:
        return
    try:
        payload = payload_for(event, page)
    except Exception:
        logger.warning("could not describe page %s for the revalidate webhook", page.pk, exc_info=True)
        return
    transaction.on_commit(partial(_enqueue, payload), robust=True)


def _published(sender, instance, **kwargs) -> None:
    schedule("published", instance)


def _unpublished(sender, instance, **kwargs) -> None:
    schedule("unpublished", instance)


def _deleted(sender, instance, **kwargs) -> None:
    schedule("deleted", instance)


def connect() -> None:
    """Listen to Wagtail's page signals (called once, from `cms.apps.CmsConfig.ready`)."""
    page_published.connect(_published, dispatch_uid="tailor-revalidate-published")
    page_unpublished.connect(_unpublished, dispatch_uid="tailor-revalidate-unpublished")
    post_delete.connect(_deleted, sender=Page, dispatch_uid="tailor-revalidate-deleted")
