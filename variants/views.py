"""The event beacon: ``POST /tailor/events/`` for `navigator.sendBeacon` (and plain `fetch`).

A body is one event or a batch, as JSON, sent as ``application/json`` or as ``text/plain`` (what
`sendBeacon` sends for a string, which needs no CORS preflight)::

    {"token": "<decision token>", "kind": "impression"}
    {"events": [{"token": "...", "kind": "CONVERSION", "goal": "signup", "value": 49.0}, ...]}

Answers 204 when every event was valid (a repeat or a bot's is valid, just not counted again), 400
with ``{"errors": [{"index", "field", "message"}]}`` otherwise (the valid events of a batch are still
recorded), 503 when events cannot be stored right now; never a 500. The body is at most 8 KiB and a
batch at most 20 events. It answers to anyone holding a token, like `recordEvent`: the token is
the credential.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from variants.events import EventError, Requester, record_event

logger = logging.getLogger("tailor.events")

MAX_BODY_BYTES = 8 * 1024
MAX_BATCH = 20
CONTENT_TYPES = ("application/json", "text/plain", "")


def _error(status: int, message: str, field: str | None = None, **extra) -> JsonResponse:
    response = JsonResponse({"errors": [{"index": None, "field": field, "message": message}], **extra}, status=status)
    response["Cache-Control"] = "no-store"
    return response


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
        return _error(
            400, _("send JSON as application/json or text/plain, not %(type)s") % {"type": request.content_type}
        )
    body = _body(request)
    if body is None:
        return _error(400, _("the body is larger than %(limit)d bytes") % {"limit": MAX_BODY_BYTES})
    try:
        events = _events(json.loads(body.decode("utf-8")))
    except UnicodeDecodeError:
        return _error(400, _("the body is not UTF-8"))
    except ValueError as e:  # JSONDecodeError is a ValueError
        return _error(400, _("the body is not a JSON event: %(error)s") % {"error": e})
    if not events:
        return _error(400, _("no events"))
    if len(events) > MAX_BATCH:
        return _error(
            400, _("at most %(limit)d events per request (got %(count)d)") % {"limit": MAX_BATCH, "count": len(events)}
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
    if errors:
        response = JsonResponse({"errors": errors, "counted": counted}, status=503 if unavailable else 400)
        response["Cache-Control"] = "no-store"
        return response
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response
