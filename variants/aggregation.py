"""Folding the event log into hourly aggregates, exactly once per event.

`flush_events()` reads the events not yet folded in, from the `Event` table and (with Redis) from the
event stream, and adds them to `EventAggregate` rows (one per UTC hour, page, slot, variant, bucket,
policy, kind and goal: what reviews read; and `EventBreakdown` rows per device, daypart and segment), in batches of FLUSH_BATCH_SIZE. Then it prunes log rows
past EVENT_LOG_RETENTION_DAYS. Who calls it: `manage.py tailor_flush_events`, and the background
task of `variants.tasks` that recording events enqueues.

Exactly once, with any number of flushers at once:

- table rows are claimed by flipping ``aggregated`` in the transaction that adds their counts
  (``SELECT ... FOR UPDATE SKIP LOCKED`` where the database has it; without row locks, SQLite, a
  flusher whose claim finds fewer rows than it read rolls back and leaves them to the other);
- the stream's position lives in a `FlushCursor` row moved by compare-and-set in the transaction
  that adds the counts of the entries after it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from tailor.redis import get_redis
from tailor.settings import tailor_settings
from variants.engine.vocabulary import BREAKDOWN_DIMENSIONS, PAUSED_BUCKET
from variants.event_log import Row, prune_table, stream_key, stream_rows, text
from variants.models import Event, EventAggregate, EventBreakdown, FlushCursor
from variants.stats_db import retry_if_locked, upsert_add

logger = logging.getLogger("tailor.events")

_AGGREGATE_KEYS = ("hour", "page_id", "slot_id", "variant_id", "bucket", "policy", "kind", "goal")
_AGGREGATE_SUMS = ("count", "value", "weight", "weight_sq")
_BREAKDOWN_KEYS = ("hour", "slot_id", "variant_id", "kind", "dimension", "value")


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

    def as_dict(self) -> dict:
        """JSON-safe (what the background task returns)."""
        return {"events": self.events, "aggregates": self.aggregates, "pruned": self.pruned, "sources": self.sources}


class _Raced(Exception):
    """Another flusher took these events first: roll back and leave them to it."""


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _aggregate(rows: Iterable[Row]) -> list[tuple]:
    """Rows of events -> upsert rows (the `_AGGREGATE_KEYS`, then count and value)."""
    groups: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for at, page_id, slot_id, variant_id, bucket, policy, kind, goal, value, probability, _dims in rows:
        acc = groups[(_hour(at), page_id or 0, slot_id, variant_id, bucket, policy, kind, goal)]
        acc[0] += 1
        acc[1] += value or 0.0
        if probability and probability > 0:
            acc[2] += 1 / probability
            acc[3] += 1 / probability**2
    return [(*key, *acc) for key, acc in sorted(groups.items())]


def _breakdowns(rows: Iterable[Row]) -> list[tuple]:
    """Rows of events -> `EventBreakdown` upsert rows: one count per value of each breakdown dimension
    (a visitor in several segments counts in each); events without dimensions, and those of decisions
    made while the experiment was paused, add nothing."""
    groups: dict[tuple, int] = defaultdict(int)
    for at, _page, slot_id, variant_id, bucket, _policy, kind, _goal, _value, _p, dims in rows:
        if not dims or bucket == PAUSED_BUCKET:
            continue
        parts = dims.split("|")
        if len(parts) != len(BREAKDOWN_DIMENSIONS):
            continue
        hour = _hour(at)
        for dimension, raw in zip(BREAKDOWN_DIMENSIONS, parts, strict=True):
            values = raw.split(",") if dimension == "segment" and raw not in ("", "?") else [raw]
            for v in dict.fromkeys(values):
                groups[(hour, slot_id, variant_id, kind, dimension, v[:64])] += 1
    return [(*key, n) for key, n in sorted(groups.items())]


def _upsert(rows: list[Row]) -> int:
    aggregates = _aggregate(rows)
    upsert_add(EventAggregate, _AGGREGATE_KEYS, _AGGREGATE_SUMS, aggregates)
    breakdowns = _breakdowns(rows)
    if breakdowns:
        upsert_add(EventBreakdown, _BREAKDOWN_KEYS, ("count",), breakdowns)
    return len(aggregates)


def _flush_table_batch(limit: int) -> tuple[int, int]:
    fields = (
        "id", "created_at", "page_id", "slot_id", "variant_id", "bucket", "policy", "kind", "goal", "value", "probability",
        "dims",
    )  # fmt: skip
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
        aggregates = _upsert([r[1:] for r in rows])
    return len(rows), aggregates


def _flush_stream_batch(client, limit: int) -> tuple[int, int]:
    key = stream_key()
    cursor, _ = FlushCursor.objects.get_or_create(name=f"redis:{key}")
    start = cursor.position
    entries = client.xrange(key, min=f"({start}", max="+", count=limit)
    if not entries:
        return 0, 0
    last = text(entries[-1][0])
    with transaction.atomic():
        # compare-and-set: a concurrent flusher that read the same position loses here and rolls back
        if FlushCursor.objects.filter(pk=cursor.pk, position=start).update(position=last) != 1:
            raise _Raced
        aggregates = _upsert(stream_rows(entries))
    _warn_if_trimmed(client, key, start)
    return len(entries), aggregates


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms or 0), int(seq or 0)


def _warn_if_trimmed(client, key: str, position: str) -> None:
    try:
        info = client.xinfo_stream(key)
    except Exception:
        return
    deleted = info.get("max-deleted-entry-id") or info.get(b"max-deleted-entry-id")
    if deleted and _stream_id(text(deleted)) > _stream_id(position):
        logger.warning(
            "the event stream was trimmed past events not yet aggregated (EVENT_LOG_MAXLEN=%s): flush more often",
            tailor_settings.EVENT_LOG_MAXLEN,
        )


def flush_events(
    *, batch_size: int | None = None, max_batches: int | None = None, now: datetime | None = None
) -> FlushResult:
    """Fold events not yet aggregated into `EventAggregate` (exactly once each), then prune event
    log rows older than EVENT_LOG_RETENTION_DAYS (never younger than TOKEN_MAX_AGE: they dedupe).

    Reads the `Event` table and, with Redis, the event stream. `max_batches` bounds the work per
    source (None: until nothing is left). Safe to run in several processes at once.
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
    result.pruned = retry_if_locked(lambda: prune_table(now or timezone.now()))
    return result
