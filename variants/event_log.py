"""The event log: where a counted event is kept until it is folded into hourly aggregates.

One store per state backend, each also the place that makes an event count once:

- the `Event` table (the embedded default): `append_to_table` inserts the row unless its
  (token nonce, kind, goal) is there already (the table's unique constraint) and adds to the arm
  stats in the same transaction, so an event is counted exactly once or not at all;
- a Redis Stream (with `TAILOR["REDIS_URL"]`), capped near EVENT_LOG_MAXLEN: `append_to_stream`
  takes a ``SET NX`` mark per (token, kind, goal) whose TTL is the token's lifetime, then sends the
  arm stats and the stream entry in one pipeline (if that fails the mark is removed again, so a
  retry can count the event). Two round trips.

A `LoggedEvent` holds what is kept: ids from the decision token (slot, variant, bucket, policy,
page, the token's nonce, and the visitor id only with their analytics consent), kind, goal, value
and time. Never the IP address or the User-Agent.

Reading back is for `variants.aggregation`: `stream_rows` decodes stream entries, `prune_table`
deletes table rows past EVENT_LOG_RETENTION_DAYS (a capped stream trims itself).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction

from tailor.redis import redis_key
from tailor.settings import tailor_settings
from variants.engine.stats_store import Increment, RedisStatsStore, StatsStore
from variants.models import Event
from variants.stats_db import insert_unless_exists, retry_if_locked
from variants.tokens import DecisionClaims

logger = logging.getLogger("tailor.events")

#: one event as `aggregation` folds it: (at, page_id, slot, variant, bucket, policy, kind, goal, value)
#: and last the decision's probability of showing the variant (None: not known)
Row = tuple[datetime, int | None, str, str, str, str, str, str, float | None, float | None]


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
        )


# --- the Event table ------------------------------------------------------------------------------


def append_to_table(event: LoggedEvent, increments: list[Increment], store: StatsStore) -> bool:
    """Log `event` and add `increments` to `store`, in one transaction; False if it was logged already."""
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


def prune_table(now: datetime) -> int:
    """Delete aggregated rows older than EVENT_LOG_RETENTION_DAYS, never younger than TOKEN_MAX_AGE
    (until a token expires its rows are what dedupes its events); the number deleted."""
    keep = max(
        timedelta(days=float(tailor_settings.EVENT_LOG_RETENTION_DAYS)),
        timedelta(seconds=int(tailor_settings.TOKEN_MAX_AGE)),
    )
    deleted, _ = Event.objects.filter(aggregated=True, created_at__lt=now - keep).delete()
    return deleted


# --- the Redis Stream ----------------------------------------------------------------------------


def stream_key() -> str:
    return redis_key("events")


def _seen_key(event: LoggedEvent) -> str:
    return redis_key("event-seen", event.nonce, event.kind, event.goal)


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
        "pr": "" if event.probability is None else repr(event.probability),
    }


def append_to_stream(client, event: LoggedEvent, increments: list[Increment], store: StatsStore) -> bool:
    """Count `event` once (a ``SET NX`` mark), then add `increments` to `store` and the entry to the
    stream in one pipeline; False if it was counted already."""
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
                )
            )
        except (KeyError, ValueError):
            logger.warning("skipping a malformed event stream entry %r", entry_id)
    return rows
