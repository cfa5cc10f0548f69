"""Data rights and retention: what Tailor keeps about a visitor, handed back or erased on request,
and everything deleted once its retention window has passed.

What is keyed to a visitor (their random visitor id, from the signed visitor token):

- the profile (`rules.profiles`: the database `VisitorProfile` row, or ``<prefix>profile:<id>`` in
  Redis): consent given with setConsent, and with personalization consent visit counts, the last
  pages, device / time-of-day / section counts;
- logged events (`Event` rows; entries of the Redis event stream earlier versions wrote), which hold
  the visitor id only with their analytics consent.

Nothing else is: arm stats, hourly aggregates and breakdowns are counts over everyone (no id), dedupe
receipts hold the decision token's random nonce. Never stored at all: IP address, raw User-Agent, the
text signal.

`export_visitor_data(visitor_id)` returns all of it as JSON; `forget_visitor(visitor_id)` removes it
(the visitor's events are folded into the anonymous aggregates first, so reviews keep their counts).
`purge(...)` deletes what is older than the retention windows (``TAILOR["PROFILE_RETENTION_DAYS"]``,
``EVENT_LOG_RETENTION_DAYS``, ``AGGREGATE_RETENTION_DAYS``), in batches; `manage.py tailor_purge` and
the purge task (`variants.tasks`) call it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from rules.models import VisitorProfile
from rules.profiles import RedisProfileStore, profile_store
from tailor.redis import get_redis
from tailor.settings import tailor_settings
from tailor.signing import TokenError, read_visitor_token
from variants.aggregation import flush_events
from variants.event_log import stream_key, text
from variants.models import Event, EventAggregate, EventBreakdown, EventReceipt, FlushCursor
from variants.retention import cutoffs
from variants.stats_db import retry_if_locked

#: a visitor id as `tailor.signing.new_visitor_id` makes them (and as the token holds them)
VISITOR_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
STREAM_PAGE = 1000
EXPORT_FORMAT = "tailor.visitor-data/1"


class UnknownVisitor(ValueError):
    """Neither a valid visitor token nor a visitor id."""


def visitor_id_from(value: str) -> str:
    """The visitor id in `value`: a visitor token (verified) or a bare visitor id (the admin's lookup)."""
    value = (value or "").strip()
    if VISITOR_ID_RE.match(value):
        return value
    try:
        return read_visitor_token(value)
    except TokenError as e:
        raise UnknownVisitor(e.message) from None


# --- export ------------------------------------------------------------------------------------------


def _event_dict(row: Event) -> dict:
    return {
        "at": row.created_at.isoformat(),
        "kind": row.kind,
        "goal": row.goal,
        "value": row.value,
        "pageId": row.page_id,
        "slot": row.slot_id,
        "variant": row.variant_id,
        "policy": row.policy,
        "bucket": row.bucket,
        "breakdown": row.dims,
    }


def _stream_entries(client, visitor_id: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The visitor's entries in the event stream (one page of XRANGE at a time)."""
    key = stream_key()
    start = "-"
    while True:
        entries = client.xrange(key, min=start, max="+", count=STREAM_PAGE)
        if not entries:
            return
        for entry_id, raw in entries:
            fields = {text(k): text(v) for k, v in raw.items()}
            if fields.get("u") == visitor_id:
                yield text(entry_id), fields
        if len(entries) < STREAM_PAGE:
            return
        start = "(" + text(entries[-1][0])


def _stream_event_dict(entry_id: str, f: dict[str, str]) -> dict:
    at = datetime.fromtimestamp(int(f.get("t") or 0) / 1000, tz=UTC)
    return {
        "at": at.isoformat(),
        "kind": f.get("k", ""),
        "goal": f.get("g", ""),
        "value": float(f["v"]) if f.get("v") else None,
        "pageId": int(f["p"]) if f.get("p") else None,
        "slot": f.get("s", ""),
        "variant": f.get("a", ""),
        "policy": f.get("po", ""),
        "bucket": f.get("b", "*"),
        "breakdown": f.get("d", ""),
        "stream": entry_id,
    }


def _profiles(visitor_id: str) -> list[dict]:
    """The visitor's profile wherever it is kept (the active store first; the database row too when
    Redis is the store, in case one was written before Redis was configured)."""
    found = []
    store = profile_store()
    profile = store.get(visitor_id)
    if profile is not None:
        found.append(asdict(profile))
    if isinstance(store, RedisProfileStore):
        row = VisitorProfile.objects.filter(visitor_id=visitor_id).first()
        if row is not None:
            found.append(dict(row.data))
    return found


def export_visitor_data(visitor_id: str, *, now: datetime | None = None) -> dict:
    """Everything Tailor keeps keyed to `visitor_id`, as one JSON-safe document."""
    profiles = _profiles(visitor_id)
    profile = profiles[0] if profiles else None
    events = [_event_dict(e) for e in Event.objects.filter(visitor_id=visitor_id).order_by("created_at", "id")]
    client = get_redis()
    if client is not None:
        events += [_stream_event_dict(i, f) for i, f in _stream_entries(client, visitor_id)]
    consent = (
        {"personalization": profile["consent_personalization"], "analytics": profile["consent_analytics"]}
        if profile
        else None
    )
    return {
        "format": EXPORT_FORMAT,
        "visitorId": visitor_id,
        "exportedAt": (now or timezone.now()).isoformat(),
        "consent": consent,
        "profile": profile,
        "events": events,
        "retention": {
            "profileDays": tailor_settings.PROFILE_RETENTION_DAYS,
            "eventLogDays": tailor_settings.EVENT_LOG_RETENTION_DAYS,
        },
        "notStored": ["IP address", "User-Agent", "text signals"],
    }


def summarize(visitor_id: str) -> dict[str, int]:
    """How much is kept for `visitor_id` (the admin's lookup shows it before an export or erasure)."""
    data = export_visitor_data(visitor_id)
    return {"profiles": 1 if data["profile"] else 0, "events": len(data["events"])}


# --- forget ------------------------------------------------------------------------------------------


@dataclass
class ForgetResult:
    profiles: int = 0
    events: int = 0
    stream_entries: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"profiles": self.profiles, "events": self.events, "streamEntries": self.stream_entries}


def forget_visitor(visitor_id: str) -> ForgetResult:
    """Remove everything keyed to `visitor_id`: the profile (every store), the logged events (table
    rows and stream entries). Their counts stay in the anonymous aggregates: pending events are folded
    in first. Safe to repeat (a second call removes nothing)."""
    result = ForgetResult()
    client = get_redis()
    pending = Event.objects.filter(visitor_id=visitor_id, aggregated=False).exists()
    if pending or (client is not None and client.exists(stream_key())):
        flush_events()
    with transaction.atomic():
        result.profiles += VisitorProfile.objects.filter(visitor_id=visitor_id).delete()[0]
        result.events = Event.objects.filter(visitor_id=visitor_id).delete()[0]
    if client is not None:
        result.profiles += int(client.delete(RedisProfileStore(client).key(visitor_id)) or 0)
        ids = [entry_id for entry_id, _ in _stream_entries(client, visitor_id)]
        for i in range(0, len(ids), STREAM_PAGE):
            result.stream_entries += int(client.xdel(stream_key(), *ids[i : i + STREAM_PAGE]) or 0)
    return result


# --- retention ---------------------------------------------------------------------------------------


@dataclass
class PurgeResult:
    dry_run: bool = False
    #: rows (or entries) deleted, or that would be with dry_run, per kind
    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        parts = ", ".join(f"{n} {kind}" for kind, n in self.counts.items())
        return f"{verb}: {parts}"


def _querysets(now: datetime) -> dict[str, object]:
    c = cutoffs(now)
    return {
        "profiles": VisitorProfile.objects.filter(updated_at__lt=c["profiles"]),
        # only rows already folded into the aggregates (a pending row is the flush's to take)
        "events": Event.objects.filter(aggregated=True, created_at__lt=c["events"]),
        "receipts": EventReceipt.objects.filter(created_at__lt=c["receipts"]),
        "aggregates": EventAggregate.objects.filter(hour__lt=c["aggregates"]),
        "breakdowns": EventBreakdown.objects.filter(hour__lt=c["aggregates"]),
    }


def _delete_batches(qs, batch_size: int, max_batches: int | None, report: Callable[[int], None]) -> int:
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        ids = list(qs.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        n = retry_if_locked(lambda ids=ids: qs.model.objects.filter(pk__in=ids).delete()[0])
        done += n
        batches += 1
        report(done)
        if len(ids) < batch_size:
            break
    return done


def _purge_stream(client, now: datetime, dry_run: bool) -> int:
    """Trim event stream entries older than the event log window, never past what was folded in."""
    key = stream_key()
    if not client.exists(key):
        return 0
    cutoff = (int(cutoffs(now)["events"].timestamp() * 1000), 0)
    cursor = FlushCursor.objects.filter(name=f"redis:{key}").values_list("position", flat=True).first() or "0-0"
    ms, _, seq = cursor.partition("-")
    folded = (int(ms or 0), int(seq or 0) + 1)  # the first id after the last entry folded in
    keep_from = min(cutoff, folded)
    min_id = f"{keep_from[0]}-{keep_from[1]}"
    if dry_run:
        return len(client.xrange(key, min="-", max=f"({min_id}"))
    return int(client.xtrim(key, minid=min_id, approximate=False) or 0)


def purge(
    *,
    now: datetime | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    max_batches: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> PurgeResult:
    """Delete what is past its retention window, `batch_size` rows per transaction (`max_batches` per
    kind; None: all). `progress(kind, done, total)` is called after each batch. Safe to re-run and to
    run in several processes at once (a row is deleted once; a second run finds nothing)."""
    now = now or timezone.now()
    result = PurgeResult(dry_run=dry_run)
    for kind, qs in _querysets(now).items():
        total = qs.count()
        if dry_run or not total:
            result.counts[kind] = total
            if progress:
                progress(kind, total if dry_run else 0, total)
            continue
        result.counts[kind] = _delete_batches(
            qs, batch_size, max_batches, lambda done, kind=kind, total=total: progress and progress(kind, done, total)
        )
    client = get_redis()
    if client is not None:
        # profiles in Redis expire by themselves (their TTL is PROFILE_RETENTION_DAYS)
        n = _purge_stream(client, now, dry_run)
        result.counts["stream entries"] = n
        if progress:
            progress("stream entries", n, n)
    return result


PURGE_CURSOR = "tailor:purge"


def purge_due(now: datetime | None = None) -> bool:
    """True once per PURGE_INTERVAL_SECONDS across every process (compare-and-set on a `FlushCursor`
    row holding the last run's time): the caller that gets True runs or enqueues the purge."""
    interval = tailor_settings.PURGE_INTERVAL_SECONDS
    if not interval:
        return False
    now = now or timezone.now()
    cursor, _ = FlushCursor.objects.get_or_create(name=PURGE_CURSOR, defaults={"position": "0"})
    try:
        last = float(cursor.position)
    except ValueError:
        last = 0.0
    if now.timestamp() - last < interval:
        return False
    moved = FlushCursor.objects.filter(pk=cursor.pk, position=cursor.position).update(position=repr(now.timestamp()))
    return moved == 1
