"""Recording an event against a decision: the write side of the feedback loop.

`record_event(token, kind, goal, value)` is the one domain function behind `recordEvent` (GraphQL)
and the beacon endpoint (`variants.views`):

1. validate the input and the decision token (`variants.tokens`): a forged, tampered, expired or
   malformed token is refused (`EventError`, field ``token``);
2. a bot is not counted: the decision was made for a bot (the token says so) or the request
   recording the event comes from one (`classify_device` of its User-Agent / client hints);
3. count it at most once per (token, kind): a decision's IMPRESSION, CLICK and CONVERSION each count
   once, whatever the goal (an attribute of the event, not a new count; an IMPRESSION has none and
   one sent with a goal is refused, field ``goal``). Counting is one database transaction, with or
   without Redis (`variants.event_log.append_to_table`): the durable dedupe mark, the event log row
   and the arm stats of learning slots (AB / BANDIT / CONTEXTUAL) in every stats bucket the decision
   named (`stats.event_increments`; conversions carry `value`) commit together or not at all, so a
   retry after any failure is either counted or a true duplicate. If the database cannot take it the
   event is refused loudly (`EventError` code ``unavailable``, logged at ERROR), never dropped;
4. once that has committed, `variants.tasks.flush_soon()` enqueues the background flush into hourly
   aggregates if this process has not for FLUSH_INTERVAL_SECONDS (usually: one clock read).

Error messages are for the client (the GraphQL payload, the beacon's JSON) and are translated.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rules.engine.device import classify_device
from rules.journeys import record_conversion
from tailor.settings import tailor_settings
from tailor.signing import MAX_TOKEN_LENGTH
from variants.engine.decide import WEIGHTED_POLICIES
from variants.engine.stats_store import KIND_CONVERSION, KIND_IMPRESSION, KINDS, Increment, event_increments
from variants.event_log import LoggedEvent, append_to_table
from variants.feedback import stats_store
from variants.tasks import flush_soon
from variants.tokens import DecisionClaims, TokenError, read_decision_token

logger = logging.getLogger("tailor.events")

GOAL_RE = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
MAX_VALUE = 1e12  # the most TAILOR["MAX_EVENT_VALUE"] may be
MAX_GOAL_LENGTH = 64
#: the most characters a valid value takes in JSON (a float's shortest repr, e.g. 2.2250738585072014e-308)
MAX_VALUE_JSON = 24
#: the largest valid event as compact JSON: a token as long as one may be, the longest kind, a
#: 64-character goal and the longest value (token and goal characters need no JSON escaping)
MAX_EVENT_JSON_BYTES = len(
    json.dumps(
        {
            "token": "t" * MAX_TOKEN_LENGTH,
            "kind": max(KINDS, key=len).upper(),
            "goal": "g" * MAX_GOAL_LENGTH,
            "value": 0,
        },
        separators=(",", ":"),
    )
) + (MAX_VALUE_JSON - 1)

REASON_DUPLICATE = "duplicate"
REASON_BOT = "bot"


class EventError(ValueError):
    """An event that cannot be recorded; `field` names the input at fault (None: not the input's fault)."""

    def __init__(self, field: str | None, message: str, code: str = "invalid"):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.code = code


@dataclass(frozen=True)
class EventResult:
    """`counted` is False for a repeat of an event already counted (the same kind on the same
    decision, any goal; also the retry of a call whose answer was lost after it counted), or a
    bot's; `reason` says which."""

    counted: bool
    reason: str | None = None
    claims: DecisionClaims | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Requester:
    """What the request recording the event tells about its sender (only used to spot bots)."""

    user_agent: str | None = None
    ch_mobile: str | None = None
    ch_platform: str | None = None

    @classmethod
    def from_request(cls, request) -> Requester:
        meta = getattr(request, "META", None) or {}
        return cls(meta.get("HTTP_USER_AGENT"), meta.get("HTTP_SEC_CH_UA_MOBILE"), meta.get("HTTP_SEC_CH_UA_PLATFORM"))

    @property
    def is_bot(self) -> bool:
        return classify_device(self.user_agent, self.ch_mobile, self.ch_platform) == "bot"


# --- validation ---------------------------------------------------------------------------------


def clean_kind(kind) -> str:
    text = str(getattr(kind, "value", kind) or "").strip().lower()
    if text not in KINDS:
        raise EventError(
            "kind",
            _("must be one of %(kinds)s, not %(value)s")
            % {"kinds": ", ".join(k.upper() for k in KINDS), "value": repr(kind)},
        )
    return text


def clean_goal(goal, kind: str | None = None) -> str:
    """'' for no goal; a goal is 1-64 letters, digits or _ . : / - and names what a CLICK or a
    CONVERSION achieved (an IMPRESSION, one showing, has none)."""
    if goal is None:
        return ""
    if not isinstance(goal, str):
        raise EventError("goal", _("must be text"))
    goal = goal.strip()
    if goal and not GOAL_RE.match(goal):
        raise EventError("goal", _("use 1-64 letters, digits or _ . : / - (e.g. 'signup')"))
    if goal and kind == KIND_IMPRESSION:
        raise EventError("goal", _("an IMPRESSION has no goal; only a CLICK or a CONVERSION does"))
    return goal


def clean_value(kind: str, value) -> float | None:
    if value is None:
        return None
    if kind != KIND_CONVERSION:
        raise EventError("value", _("only a CONVERSION carries a value"))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EventError("value", _("must be a finite number, not %(value)s") % {"value": repr(value)})
    # bounded (TAILOR["MAX_EVENT_VALUE"]) and not negative: one event must not swamp a review's totals
    limit = float(tailor_settings.MAX_EVENT_VALUE)
    if not 0 <= value <= limit:
        raise EventError("value", _("must be between 0 and %(max)s") % {"max": f"{limit:g}"})
    return float(value)


def read_token(token) -> DecisionClaims:
    try:
        claims = read_decision_token(token)
    except TokenError as e:
        raise EventError("token", e.message, e.code) from None
    if not claims.nonce or len(claims.nonce) > 32:
        raise EventError("token", _("The token does not identify a decision"), "malformed")
    return claims


# --- recording ----------------------------------------------------------------------------------


def stats_increments(claims: DecisionClaims, kind: str, value: float | None) -> list[Increment]:
    """What the event adds to the arm stats: only learning slots learn, and never from the default."""
    if claims.policy not in WEIGHTED_POLICIES:
        return []
    return event_increments(claims.slot_id, claims.variant_id, kind, buckets=claims.stats_buckets, value=value or 0.0)


def record_event(
    token,
    kind,
    goal=None,
    value=None,
    *,
    requester: Requester | None = None,
    now: datetime | None = None,
) -> EventResult:
    """Record one event against a decision token; raises `EventError` when it cannot be recorded."""
    kind = clean_kind(kind)
    goal = clean_goal(goal, kind)
    value = clean_value(kind, value)
    claims = read_token(token)
    if claims.bot or (requester is not None and requester.is_bot):
        return EventResult(False, REASON_BOT, claims)
    event = LoggedEvent.from_claims(claims, kind, goal, value, now or timezone.now())
    increments = stats_increments(claims, kind, value)
    try:
        # the database, with or without Redis: Redis may forget or replay, the database's
        # transaction is what makes this exactly once (see variants.event_log)
        counted = append_to_table(event, increments, stats_store())
    except EventError:
        raise
    except Exception:
        # refused loudly: the caller is told to retry, and nothing was counted (the transaction
        # rolled back), so the retry cannot be a false duplicate
        logger.error(
            "could not record a %s event on slot %s: refused, the client may retry", kind, claims.slot_id, exc_info=True
        )
        raise EventError(None, _("The event could not be recorded right now; try again"), "unavailable") from None
    if counted:
        transaction.on_commit(flush_soon)
    if counted and kind == KIND_CONVERSION:
        # the visitor's journey counts it too, only with their personalization consent (rules.journeys)
        record_conversion(claims.visitor_id, value)
    return EventResult(counted, None if counted else REASON_DUPLICATE, claims)
