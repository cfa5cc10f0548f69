"""Events against decisions: the write side of the feedback loop.

`record_event(token, kind, goal, value)` is the one domain function behind `recordEvent` (GraphQL)
and the beacon endpoint (`variants.views`):

1. validate the input and the decision token (`variants.tokens`): a forged, tampered, expired or
   malformed token is refused (`EventError`, field ``token``);
2. a bot is not counted: the decision was made for a bot (the token says so) or the request
   recording the event comes from one (`classify_device` of its User-Agent / client hints);
3. count it once per (token, kind, goal): a Redis ``SET NX`` with the token's lifetime as TTL, or
   the `Event` table's unique constraint;
4. add to the arm stats of learning slots (AB / BANDIT / CONTEXTUAL) in every stats bucket the
   decision named (`stats.event_increments`; conversions carry `value`) and append to the event log
   (a Redis Stream capped near EVENT_LOG_MAXLEN, or the `Event` table).

On the database both steps are one transaction, so an event is counted exactly once or not at all.
On Redis it takes two round trips: the ``SET NX``, then one pipeline with the counters and the
stream entry (if that fails the dedupe mark is removed again, so a retry can count it).

What is kept: ids from the token (slot, variant, bucket, policy, page, the token's nonce, and the
visitor id only with their analytics consent), kind, goal, value and time. Never the IP address or
the User-Agent.

`flush_events()` folds the log into `EventAggregate` hourly rows (what reviews read), exactly once
per event; `manage.py tailor_flush_events` runs it, and every process also runs one bounded batch
at most every FLUSH_INTERVAL_SECONDS while it records events.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from rules.engine.device import classify_device
from tailor.redis import get_redis, redis_key
from tailor.settings import on_reload, tailor_settings
from variants.engine.decide import WEIGHTED_POLICIES
from variants.engine.stats_store import KIND_CONVERSION, KINDS, RedisStatsStore, StatsStore, event_increments
from variants.feedback import stats_store
from variants.stats_db import insert_unless_exists, retry_if_locked, upsert_add
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
        raise EventError("kind", f"must be one of {', '.join(k.upper() for k in KINDS)}, not {kind!r}")
    return text


def clean_goal(goal) -> str:
    """'' for no goal; a goal is 1-64 letters, digits or _ . : / -"""
    if goal is None:
        return ""
    if not isinstance(goal, str):
        raise EventError("goal", "must be text")
    goal = goal.strip()
    if goal and not GOAL_RE.match(goal):
        raise EventError("goal", "use 1-64 letters, digits or _ . : / - (e.g. 'signup')")
    return goal


def clean_value(kind: str, value) -> float | None:
    if value is None:
        return None
    if kind != KIND_CONVERSION:
        raise EventError("value", "only a CONVERSION carries a value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EventError("value", f"must be a finite number, not {value!r}")
    if abs(value) > MAX_VALUE:
        raise EventError("value", f"must be between -{MAX_VALUE:g} and {MAX_VALUE:g}")
    return float(value)


def read_token(token) -> DecisionClaims:
    try:
        claims = read_decision_token(token)
    except TokenError as e:
        raise EventError("token", e.message, e.code) from None
    if not claims.nonce or len(claims.nonce) > 32:
        raise EventError("token", "The token does not identify a decision", "malformed")
    return claims


# --- recording ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedEvent:
    nonce: str
    kind: str
    goal: str
    value: float | None
    page_id: int | None
    slot_id: str
    variant_id: str
    bucket: str
    policy: str
    visitor_id: str | None
    at: datetime

    @classmethod
    def from_claims(cls, claims: DecisionClaims, kind: str, goal: str, value: float | None, at: datetime):
        return cls(
            nonce=claims.nonce,
            kind=kind,
            goal=goal,
            value=value,
            page_id=claims.page_id if isinstance(claims.page_id, int) else None,
            slot_id=claims.slot_id,
            variant_id=claims.variant_id,
            bucket=claims.bucket,
            policy=claims.policy,
            # the visitor id is personal data: kept only with their analytics consent
            visitor_id=claims.visitor_id if claims.analytics else None,
            at=at,
        )


def stats_increments(claims: DecisionClaims, kind: str, value: float | None) -> list:
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
            counted = _record_in_redis(client, event, increments, stats_store())
        else:
            counted = _record_in_database(event, increments, stats_store())
    except EventError:
        raise
    except Exception:
        logger.warning("could not record a %s event", kind, exc_info=True)
        raise EventError(None, "The event could not be recorded right now; try again", "unavailable") from None
    if counted:
        transaction.on_commit(maybe_flush)
    return EventResult(counted, None if counted else REASON_DUPLICATE, claims)


def _record_in_database(event: LoggedEvent, increments: list, store: StatsStore) -> bool:
    from variants.models import Event

    row = {
        "token_id": event.nonce,
        "kind": event.kind,
        "goal": event.goal,
        "value": event.value,
        "page_id": event.page_id,
        "slot_id": event.slot_id,
        "variant_id": event.variant_id,
        "bucket": event.bucket,
        "policy": event.policy,
        "visitor_id": event.visitor_id,
        "created_at": event.at,
        "aggregated": False,
    }

    def write() -> bool:
        with transaction.atomic():
            if not insert_unless_exists(Event, row, ("token_id", "kind", "goal")):
                return False  # (token, kind, goal) was counted already
            store.increment_many(increments)  # the same transaction when the store is the database
        return True

    return retry_if_locked(write)


def _seen_key(event: LoggedEvent) -> str:
    return redis_key("event-seen", event.nonce, event.kind, event.goal)


def stream_key() -> str:
    return redis_key("events")


class _QueueOnto:
    """A stand-in client whose `pipeline()` queues onto the caller's pipeline instead of sending, so
    `RedisStatsStore.increment_many` and the stream entry travel in one round trip."""

    def __init__(self, pipe):
        self._pipe = pipe

    def pipeline(self, *args, **kwargs):
        return self

    def execute(self):
        return []

    def __getattr__(self, name):
        return getattr(self._pipe, name)


def _stream_fields(event: LoggedEvent) -> dict[str, str]:
    return {
        "n": event.nonce,
        "k": event.kind,
        "g": event.goal,
        "v": "" if event.value is None else repr(event.value),
        "p": "" if event.page_id is None else str(event.page_id),
        "s": event.slot_id,
        "a": event.variant_id,
        "b": event.bucket,
        "po": event.policy,
        "u": event.visitor_id or "",
        "t": str(int(event.at.timestamp() * 1000)),
    }


def _record_in_redis(client, event: LoggedEvent, increments: list, store: StatsStore) -> bool:
    seen = _seen_key(event)
    # a token cannot be used after TOKEN_MAX_AGE, so its dedupe marks need not outlive that
    if not client.set(seen, b"1", nx=True, ex=int(tailor_settings.TOKEN_MAX_AGE) + 60):
        return False
    try:
        pipe = client.pipeline(transaction=False)
        if isinstance(store, RedisStatsStore):
            RedisStatsStore(_QueueOnto(pipe), prefix=store.prefix).increment_many(increments)
        else:
            store.increment_many(increments)
        pipe.xadd(stream_key(), _stream_fields(event), maxlen=int(tailor_settings.EVENT_LOG_MAXLEN), approximate=True)
        pipe.execute()
    except Exception:
        try:
            client.delete(seen)  # not counted: let a retry count it
        except Exception:
            pass
        raise
    return True


# --- flushing into hourly aggregates ------------------------------------------------------------


@dataclass
class FlushResult:
    events: int = 0
    aggregates: int = 0
    pruned: int = 0
    sources: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        where = ", ".join(f"{n} from {s}" for s, n in self.sources.items() if n) or "nothing new"
        return (
            f"{self.events} event(s) folded into hourly aggregates ({where}; {self.aggregates} row update(s)); "
            f"{self.pruned} old event log row(s) pruned"
        )


class _Raced(Exception):
    """Another flusher took these events first: roll back and leave them to it."""


_AGGREGATE_KEYS = ("hour", "page_id", "slot_id", "variant_id", "bucket", "policy", "kind", "goal")


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _aggregate(rows) -> list[tuple]:
    """rows of (at, page_id, slot, variant, bucket, policy, kind, goal, value) -> upsert rows."""
    groups: dict[tuple, list] = defaultdict(lambda: [0, 0.0])
    for at, page_id, slot_id, variant_id, bucket, policy, kind, goal, value in rows:
        acc = groups[(_hour(at), page_id or 0, slot_id, variant_id, bucket, policy, kind, goal)]
        acc[0] += 1
        acc[1] += value or 0.0
    return [(*key, n, v) for key, (n, v) in sorted(groups.items())]


def _flush_table_batch(limit: int) -> tuple[int, int]:
    from variants.models import Event, EventAggregate

    fields = ("id", "created_at", "page_id", "slot_id", "variant_id", "bucket", "policy", "kind", "goal", "value")
    with transaction.atomic():
        pending = Event.objects.filter(aggregated=False).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        rows = list(pending.values_list(*fields)[:limit])
        if not rows:
            return 0, 0
        ids = [r[0] for r in rows]
        # claims them; a concurrent flusher without row locks (SQLite) finds fewer and backs off
        if Event.objects.filter(id__in=ids, aggregated=False).update(aggregated=True) != len(ids):
            raise _Raced
        aggregates = _aggregate(r[1:] for r in rows)
        upsert_add(EventAggregate, _AGGREGATE_KEYS, ("count", "value"), aggregates)
    return len(rows), len(aggregates)


def _text(raw) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _stream_rows(entries) -> list[tuple]:
    rows = []
    for _id, raw in entries:
        f = {_text(k): _text(v) for k, v in raw.items()}
        try:
            at = datetime.fromtimestamp(int(f["t"]) / 1000, tz=UTC)
            rows.append(
                (
                    at,
                    int(f["p"]) if f.get("p") else None,
                    f["s"],
                    f["a"],
                    f.get("b") or "*",
                    f.get("po") or "",
                    f["k"],
                    f.get("g") or "",
                    float(f["v"]) if f.get("v") else None,
                )
            )
        except (KeyError, ValueError):
            logger.warning("skipping a malformed event stream entry %r", _id)
    return rows


def _flush_stream_batch(client, limit: int) -> tuple[int, int]:
    from variants.models import EventAggregate, FlushCursor

    key = stream_key()
    cursor, _ = FlushCursor.objects.get_or_create(name=f"redis:{key}")
    start = cursor.position
    entries = client.xrange(key, min=f"({start}", max="+", count=limit)
    if not entries:
        return 0, 0
    last = _text(entries[-1][0])
    with transaction.atomic():
        # compare-and-set: a concurrent flusher that read the same position loses here and rolls back
        if FlushCursor.objects.filter(pk=cursor.pk, position=start).update(position=last) != 1:
            raise _Raced
        aggregates = _aggregate(_stream_rows(entries))
        upsert_add(EventAggregate, _AGGREGATE_KEYS, ("count", "value"), aggregates)
    _warn_if_trimmed(client, key, start)
    return len(entries), len(aggregates)


def _stream_id(text: str) -> tuple[int, int]:
    ms, _, seq = text.partition("-")
    return int(ms or 0), int(seq or 0)


def _warn_if_trimmed(client, key: str, position: str) -> None:
    try:
        info = client.xinfo_stream(key)
    except Exception:
        return
    deleted = info.get("max-deleted-entry-id") or info.get(b"max-deleted-entry-id")
    if deleted and _stream_id(_text(deleted)) > _stream_id(position):
        logger.warning(
            "the event stream was trimmed past events not yet aggregated (EVENT_LOG_MAXLEN=%s): flush more often",
            tailor_settings.EVENT_LOG_MAXLEN,
        )


def _prune(now: datetime) -> int:
    from variants.models import Event

    keep = max(
        timedelta(days=float(tailor_settings.EVENT_LOG_RETENTION_DAYS)),
        timedelta(seconds=int(tailor_settings.TOKEN_MAX_AGE)),
    )
    deleted, _ = Event.objects.filter(aggregated=True, created_at__lt=now - keep).delete()
    return deleted


def flush_events(
    *, batch_size: int | None = None, max_batches: int | None = None, now: datetime | None = None
) -> FlushResult:
    """Fold events not yet aggregated into `EventAggregate` (exactly once each), then prune event
    log rows older than EVENT_LOG_RETENTION_DAYS (never younger than TOKEN_MAX_AGE: they dedupe).

    Reads the `Event` table and, with Redis, the event stream. `max_batches` bounds the work (None:
    until nothing is left). Safe to run in several processes at once.
    """
    limit = max(1, int(batch_size or tailor_settings.FLUSH_BATCH_SIZE))
    result = FlushResult()
    sources: list[tuple[str, Callable[[], tuple[int, int]]]] = [
        ("database", lambda: retry_if_locked(lambda: _flush_table_batch(limit)))
    ]
    client = get_redis()
    if client is not None:
        sources.append(("redis", lambda: retry_if_locked(lambda: _flush_stream_batch(client, limit))))
    for name, batch in sources:
        done = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            try:
                n, rows = batch()
            except _Raced:
                break
            done += n
            result.aggregates += rows
            batches += 1
            if n < limit:
                break
        result.sources[name] = done
        result.events += done
    result.pruned = retry_if_locked(lambda: _prune(now or timezone.now()))
    return result


# --- the automatic flush ------------------------------------------------------------------------

_auto = threading.Lock()
_next_flush: float | None = None


def maybe_flush(clock: Callable[[], float] = time.monotonic) -> FlushResult | None:
    """One bounded flush batch, at most every FLUSH_INTERVAL_SECONDS per process (with Redis, per
    deployment: a short lock lets one process do it). The first comes one interval after the first
    recorded event, not at start-up."""
    global _next_flush
    interval = tailor_settings.FLUSH_INTERVAL_SECONDS
    if not interval:
        return None
    now = clock()
    if _next_flush is None:
        _next_flush = now + float(interval)
        return None
    if now < _next_flush or not _auto.acquire(blocking=False):
        return None
    try:
        _next_flush = now + float(interval)
        client = get_redis()
        if client is not None and not client.set(redis_key("flush-lock"), b"1", nx=True, ex=max(1, int(interval))):
            return None
        return flush_events(max_batches=1)
    except Exception:
        logger.warning("automatic event flush failed", exc_info=True)
        return None
    finally:
        _auto.release()


@on_reload
def _reset_auto_flush() -> None:
    global _next_flush
    _next_flush = None
