"""The event log: where a counted event is kept until it is folded into hourly aggregates, and what
makes it count once.

Exactly once, with or without Redis: `append_to_table` writes, in ONE database transaction,

- an `EventReceipt` row unique on (token nonce, kind): the dedupe mark. A decision counts at most
  once per kind; the goal and value are attributes of that one event, so a second CONVERSION with
  another goal is a duplicate, not a new count;
- the `Event` row (the log the flush folds into hourly aggregates);
- the arm stats (`DatabaseStatsStore`: atomic upserts that add).

Either all three commit or none does. So a retry of an event that never counted is counted, a
retry of one that did (its answer lost to a timeout) is a duplicate, and nothing else can make it
one. Redis is not trusted with any of it: earlier versions kept the marks (``SET NX``), the counts
(``HINCRBY``) and the log (a Stream) in Redis, and a Redis restart without persistence or a
``FLUSHDB`` forgot confirmed events and let replays count again, while a command timed out on a
frozen server could still land later and turn the retry into a false duplicate. `variants.aggregation`
still drains a stream those versions left behind (`stream_rows`).

A `LoggedEvent` holds what is kept: ids from the decision token (slot, variant, bucket, policy,
page, the token's nonce, and the visitor id only with their analytics consent), kind, goal, value
and time. Never the IP address or the User-Agent.

`prune_table` deletes folded log rows and receipts past their windows (`variants.retention`)
(an expired token cannot record anything, so its receipts have done their job).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connections, transaction

from tailor.redis import redis_key
from variants.engine.stats_store import Increment, StatsStore
from variants.models import Event, EventReceipt
from variants.retention import cutoffs
from variants.stats_db import DatabaseStatsStore, insert_unless_exists, record_once_postgres, retry_if_locked
from variants.tokens import DecisionClaims

logger = logging.getLogger("tailor.events")

#: one event as `aggregation` folds it: (at, page_id, slot, variant, bucket, policy, kind, goal, value),
#: the decision's probability of showing the variant (None: not known) and last its breakdown
#: dimensions (``device|daypart|segments``, "" when not recorded)
Row = tuple[datetime, int | None, str, str, str, str, str, str, float | None, float | None, str]


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
    #: the decision's exact propensity (reviews weight by its inverse)
    probability: float | None = None
    #: the decision's breakdown dimensions (``device|daypart|segments``)
    dims: str = ""

    @classmethod
    def from_claims(
        cls, claims: DecisionClaims, kind: str, goal: str, value: float | None, at: datetime
    ) -> LoggedEvent:
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
            probability=claims.probability if 0 < claims.probability <= 1 else None,
            dims=claims.dims,
        )


# --- the Event table ------------------------------------------------------------------------------


def append_to_table(event: LoggedEvent, increments: list[Increment], store: StatsStore) -> bool:
    """Count `event` once per (token, kind): its `EventReceipt`, its `Event` row and `increments` added
    to `store` (which must be the database store, so all three share one transaction); False if this
    decision's event of this kind was counted already. Raises when the database cannot take it."""
    if not isinstance(store, DatabaseStatsStore):
        raise TypeError(f"the arm stats of counted events live in the database, not in {type(store).__name__}")
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
        "probability": event.probability,
        "dims": event.dims,
        "created_at": event.at,
        "aggregated": False,
    }

    receipt = {"token_id": event.nonce, "kind": event.kind, "created_at": event.at}
    if connections[store.using].vendor == "postgresql":
        # one statement, one round trip: the same three writes, all or none (a row logged before
        # receipts existed keeps the mark this writes: it is a duplicate either way)
        return record_once_postgres(receipt, row, store.rows(increments), event_model=Event, using=store.using)

    def write() -> bool:
        with transaction.atomic():
            # the dedupe mark, the log row and the counts commit together or not at all
            if not insert_unless_exists(EventReceipt, receipt, ("token_id", "kind")):
                return False  # this decision's event of this kind was counted already (any goal)
            if not insert_unless_exists(Event, row, ("token_id", "kind", "goal")):
                # logged before receipts existed (migration 0004 backfills them; this is the rest): a
                # duplicate, and the mark it lacked stays, as the PostgreSQL statement leaves it
                return False
            store.increment_many(increments)  # the database store: the same transaction
        return True

    return retry_if_locked(write)


def prune_table(now: datetime) -> int:
    """Delete aggregated rows past the event log's window and receipts past their token's lifetime
    (`variants.retention.cutoffs`); the number of rows deleted."""
    cut = cutoffs(now)
    deleted, _ = Event.objects.filter(aggregated=True, created_at__lt=cut["events"]).delete()
    EventReceipt.objects.filter(created_at__lt=cut["receipts"]).delete()
    return deleted


# --- the Redis Stream ----------------------------------------------------------------------------


def stream_key() -> str:
    return redis_key("events")


def _stream_fields(event: LoggedEvent) -> dict[str, str]:
    """The entry format of the event stream earlier versions wrote (the flush still drains it)."""
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
        "pr": "" if event.probability is None else repr(event.probability),
        "d": event.dims,
    }


def text(raw) -> str:
    """A Redis reply (bytes, unless the client decodes) as text."""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def stream_rows(entries) -> list[Row]:
    """``XRANGE`` entries as rows; a malformed entry is logged and skipped."""
    rows: list[Row] = []
    for entry_id, raw in entries:
        f = {text(k): text(v) for k, v in raw.items()}
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
                    float(f["pr"]) if f.get("pr") else None,
                    f.get("d") or "",
                )
            )
        except (KeyError, ValueError):
            logger.warning("skipping a malformed event stream entry %r", entry_id)
    return rows
