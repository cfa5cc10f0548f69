"""Recording an event against a decision: the write side of the feedback loop.

`record_event(token, kind, goal, value)` is the one domain function behind `recordEvent` (GraphQL)
and the beacon endpoint (`variants.views`):

1. validate the input and the decision token (`variants.tokens`): a forged, tampered, expired or
   malformed token is refused (`EventError`, field ``token``);
2. a bot is not counted: the decision was made for a bot (the token says so) or the request
   recording the event comes from one (`classify_device` of its User-Agent / client hints);
3. count it once per (token, kind, goal), add to the arm stats of learning slots (AB / BANDIT /
   CONTEXTUAL) in every stats bucket the decision named (`stats.event_increments`; conversions carry
   `value`) and append it to the event log: the `Event` table in one transaction, or the Redis
   Stream in two round trips (`variants.event_log`);
4. once that has committed, `variants.tasks.flush_soon()` enqueues the background flush into hourly
   aggregates if this process has not for FLUSH_INTERVAL_SECONDS (usually: one clock read).

Error messages are for the client (the GraphQL payload, the beacon's JSON) and are translated.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rules.engine.device import classify_device
from tailor.redis import get_redis
from variants.engine.decide import WEIGHTED_POLICIES
from variants.engine.stats_store import KIND_CONVERSION, KINDS, Increment, event_increments
from variants.event_log import LoggedEvent, append_to_stream, append_to_table
from variants.feedback import stats_store
from variants.tasks import flush_soon
from variants.tokens import DecisionClaims, TokenError, read_decision_token

logger = logging.getLogger("tailor.events")

GOAL_RE = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
MAX_VALUE = 1e12

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
    """`counted` is False for a repeat of an event already counted, or a bot's; `reason` says which."""

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


def clean_goal(goal) -> str:
    """'' for no goal; a goal is 1-64 letters, digits or _ . : / -"""
    if goal is None:
        return ""
    if not isinstance(goal, str):
        raise EventError("goal", _("must be text"))
    goal = goal.strip()
    if goal and not GOAL_RE.match(goal):
        raise EventError("goal", _("use 1-64 letters, digits or _ . : / - (e.g. 'signup')"))
    return goal


def clean_value(kind: str, value) -> float | None:
    if value is None:
        return None
    if kind != KIND_CONVERSION:
        raise EventError("value", _("only a CONVERSION carries a value"))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EventError("value", _("must be a finite number, not %(value)s") % {"value": repr(value)})
    if abs(value) > MAX_VALUE:
        raise EventError("value", _("must be between -%(max)s and %(max)s") % {"max": f"{MAX_VALUE:g}"})
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
    goal = clean_goal(goal)
    value = clean_value(kind, value)
    claims = read_token(token)
    if claims.bot or (requester is not None and requester.is_bot):
        return EventResult(False, REASON_BOT, claims)
    event = LoggedEvent.from_claims(claims, kind, goal, value, now or timezone.now())
    increments = stats_increments(claims, kind, value)
    client = get_redis()
    try:
        if client is not None:
            counted = append_to_stream(client, event, increments, stats_store())
        else:
            counted = append_to_table(event, increments, stats_store())
    except EventError:
        raise
    except Exception:
        logger.warning("could not record a %s event", kind, exc_info=True)
        raise EventError(None, _("The event could not be recorded right now; try again"), "unavailable") from None
    if counted:
        transaction.on_commit(flush_soon)
    return EventResult(counted, None if counted else REASON_DUPLICATE, claims)
