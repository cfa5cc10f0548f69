"""The event beacon: ``POST /tailor/events/`` for `navigator.sendBeacon` (and plain `fetch`).

A body is one event or a batch, as JSON, sent as ``application/json`` or as ``text/plain`` (what
`sendBeacon` sends for a string, which needs no CORS preflight)::

    {"token": "<decision token>", "kind": "impression"}
    {"events": [{"token": "...", "kind": "CONVERSION", "goal": "signup", "value": 49.0}, ...]}

Every answer is JSON of one shape, ``{"received": n, "counted": k, "errors": [...]}``: how many
events the body held, how many changed the stats (a repeat or a bot's is valid, just not counted
again), and what was wrong, each error ``{"index", "field", "message"}`` (``index`` None when the
body itself is wrong). 200 when every event was valid; 400 when one was not (the valid events of a
batch are still recorded) or the body was not a batch of events; 503 when events cannot be stored
right now; never a 500. It answers to anyone holding a token, like `recordEvent`: the token is the
credential. Browsers on ``TAILOR["CORS_ORIGINS"]`` may call it across origins (`tailor.cors`).

Limits: a batch holds at most MAX_BATCH (20) events and the body at most MAX_BODY_BYTES (32 KiB),
so a batch of 20 of the largest real events fits with room to spare. Measured on the demo page
(``tests/test_events.py::test_beacon_takes_a_batch_of_20_of_the_largest_real_events``): the largest
decision token is the hero slot's at a time no variant matches with the weather known and the
visitor's consent (five reasons, a visitor id): 491 characters; as the largest event, a CONVERSION
with a 64-character goal and a value, it is 614 bytes of compact JSON, so 20 of them are about 12.3
KB. 32 KiB leaves 2.6x that for longer variant names and reasons (a token keeps up to 10) and for
translated reasons, whose UTF-8 takes more bytes. (The former 8 KiB held 13 such events.)
"""

from __future__ import annotations

import json
import logging

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from variants.events import EventError, Requester, record_event

logger = logging.getLogger("tailor.events")

MAX_BODY_BYTES = 32 * 1024
MAX_BATCH = 20
CONTENT_TYPES = ("application/json", "text/plain", "")


def _answer(status: int, received: int = 0, counted: int = 0, errors: list | None = None) -> JsonResponse:
    response = JsonResponse({"received": received, "counted": counted, "errors": errors or []}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _error(message: str, field: str | None = None, received: int = 0) -> JsonResponse:
    """A 400 for a body that is not a batch of events (nothing was recorded)."""
    return _answer(400, received, 0, [{"index": None, "field": field, "message": message}])


def _body(request) -> bytes | None:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    data = request.read(MAX_BODY_BYTES + 1)
    return None if len(data) > MAX_BODY_BYTES else data


def _events(payload) -> list:
    if isinstance(payload, dict) and "events" in payload:
        payload = payload["events"]
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list):
        return payload
    raise ValueError(_('expected an event object, a list of them, or {"events": [...]}'))


@csrf_exempt
@require_POST
def beacon(request):
    if request.content_type not in CONTENT_TYPES:
        return _error(_("send JSON as application/json or text/plain, not %(type)s") % {"type": request.content_type})
    body = _body(request)
    if body is None:
        return _error(_("the body is larger than %(limit)d bytes") % {"limit": MAX_BODY_BYTES})
    try:
        events = _events(json.loads(body.decode("utf-8")))
    except UnicodeDecodeError:
        return _error(_("the body is not UTF-8"))
    except ValueError as e:  # JSONDecodeError is a ValueError
        return _error(_("the body is not a JSON event: %(error)s") % {"error": e})
    if not events:
        return _error(_("no events"))
    if len(events) > MAX_BATCH:
        return _error(
            _("at most %(limit)d events per request (got %(count)d)") % {"limit": MAX_BATCH, "count": len(events)},
            received=len(events),
        )

    requester = Requester.from_request(request)
    errors, unavailable, counted = [], False, 0
    for index, item in enumerate(events):
        if not isinstance(item, dict):
            errors.append({"index": index, "field": None, "message": _("expected an object")})
            continue
        unknown = sorted(set(item) - {"token", "kind", "goal", "value"})
        if unknown:
            errors.append({"index": index, "field": unknown[0], "message": _("unknown field")})
            continue
        try:
            result = record_event(
                item.get("token"), item.get("kind"), item.get("goal"), item.get("value"), requester=requester
            )
        except EventError as e:
            unavailable = unavailable or e.code == "unavailable"
            errors.append({"index": index, "field": e.field, "message": e.message})
            continue
        counted += result.counted
    status = (503 if unavailable else 400) if errors else 200
    return _answer(status, len(events), counted, errors)
