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

Limits: a batch holds at most MAX_BATCH (20) events, and the body limit is derived from it so that
any batch the beacon accepts fits: MAX_BATCH times the largest *valid* event
(`variants.events.MAX_EVENT_JSON_BYTES`, 4,235 bytes: a token of the 4,096 characters a token may
have, a 64-character goal, the longest value), in compact JSON with its envelope, plus 64 bytes of
whitespace per event, rounded up to a KiB: 84 KiB (``tests/test_exactly_once.py`` sends such a
batch of real, signed tokens). Real events are far smaller: the largest token the demo page makes
is 491 characters (the hero slot, five reasons, the weather and a visitor id), a 614-byte event, so
a batch of 20 is about 12.3 KB, well within the 64 KiB browsers allow `sendBeacon`; a larger body
must come through `fetch`. (The former 32 KiB refused batches of 8 or more valid events with tokens
near the length limit.)
"""

from __future__ import annotations

import json
import logging

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from variants.event_limits import events_limited
from variants.events import MAX_EVENT_JSON_BYTES, EventError, Requester, record_event

logger = logging.getLogger("tailor.events")

MAX_BATCH = 20
#: a batch of MAX_BATCH of the largest valid events, with 64 bytes of whitespace each, rounded up to a KiB
MAX_BODY_BYTES = -(-(len('{"events":[]}') + MAX_BATCH * (MAX_EVENT_JSON_BYTES + 1 + 64)) // 1024) * 1024
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

    limited = events_limited(request, [item.get("token") if isinstance(item, dict) else None for item in events])
    if limited is not None:  # TAILOR["RATE_LIMITS"]: nothing of this batch is recorded
        response = _answer(429, len(events), 0, [{"index": None, "field": None, "message": limited.message}])
        response["Retry-After"] = str(limited.retry_after)
        return response

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
