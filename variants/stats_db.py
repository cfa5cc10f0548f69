"""The database stats store: the embedded default when `TAILOR["REDIS_URL"]` is not set.

It implements `variants.engine.stats_store.StatsStore` exactly (the contract in `tests/engine/stats_contract.py`
runs against it). Every write is an upsert that *adds* to the stored counters inside the database
(``INSERT ... ON CONFLICT ... DO UPDATE SET n = n + excluded.n`` on PostgreSQL and SQLite), never a
read-modify-write in Python, so concurrent writers from several processes count exactly. One
`increment_many` is one transaction; its rows are written in key order, so two writers touching the
same counters lock them in the same order and cannot deadlock. A snapshot is one query.

On SQLite every write transaction takes the database lock, so writers queue (fine for one process,
which is what the embedded default is for); on PostgreSQL they only contend per counter row.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, OperationalError, connections, models, transaction
from django.db.models import F
from django.utils import timezone

from variants.engine.stats_store import KINDS, ArmStats, Increment, RedisStatsStore, Snapshot, StatsStore, coalesce
from variants.models import ArmStat, EventReceipt, FlushCursor

#: rows per INSERT statement (SQLite allows at most 32766 parameters; stay far below)
_CHUNK = 200
#: SQLite answers "database is locked" instead of waiting when a lock cannot be had (shared-cache
#: in-memory databases, or a lock upgrade inside a transaction): retry for up to this many seconds
_SQLITE_RETRY_SECONDS = 30.0


def upsert_add(
    model: type[models.Model],
    keys: Sequence[str],
    adds: Sequence[str],
    rows: Sequence[Sequence],
    *,
    using: str = "default",
) -> None:
    """For each row (key values, then amounts), add the amounts to the row with those keys, creating it
    if needed; atomically per row. `keys` must be covered by a unique constraint.

    Call inside a transaction when several rows must change together.
    """
    if not rows:
        return
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        _upsert_add_orm(model, keys, adds, rows, using)
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    key_cols = [qn(model._meta.get_field(f).column) for f in keys]
    add_cols = [qn(model._meta.get_field(f).column) for f in adds]
    columns = ", ".join(key_cols + add_cols)
    one = "(" + ", ".join(["%s"] * (len(keys) + len(adds))) + ")"
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in add_cols)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))} "
                f"ON CONFLICT ({', '.join(key_cols)}) DO UPDATE SET {updates}"
            )
            cursor.execute(sql, [value for row in chunk for value in row])


def insert_unless_exists(
    model: type[models.Model], values: dict, conflict: Sequence[str], *, using: str = "default"
) -> bool:
    """Insert one row unless a row with the same `conflict` fields (a unique constraint) exists;
    True if inserted. One statement on PostgreSQL and SQLite (no savepoint needed to survive the
    conflict); elsewhere a savepoint around a plain INSERT."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        try:
            with transaction.atomic(using=using):
                model._default_manager.db_manager(using).create(**values)
        except IntegrityError:
            return False
        return True
    qn = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in values]
    columns = ", ".join(qn(f.column) for f in fields)
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    targets = ", ".join(qn(model._meta.get_field(name).column) for name in conflict)
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({targets}) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _typed(model: type[models.Model], names: Sequence[str], connection) -> tuple[str, str]:
    """Quoted column names and placeholders cast to each column's type (PostgreSQL: an untyped
    parameter in a SELECT list or VALUES would be text)."""
    fields = [model._meta.get_field(name) for name in names]
    qn = connection.ops.quote_name
    return ", ".join(qn(f.column) for f in fields), ", ".join(f"%s::{f.db_type(connection)}" for f in fields)


def record_once_postgres(
    receipt: dict, event: dict, stat_rows: Sequence[Sequence], *, event_model, using: str = "default"
) -> bool:
    """PostgreSQL: the dedupe mark, the event log row and the arm stats' additions as ONE statement
    (data-modifying CTEs: atomic as any statement, and in autocommit one round trip with no BEGIN or
    COMMIT of its own). The log row is written only if the mark is new, the additions only if the
    row is; True if the event counted. `stat_rows` are ArmStat (slot, bucket, arm, impressions, clicks,
    conversions, value) rows, one per key."""
    connection = connections[using]
    sql = _record_once_sql(event_model, tuple(receipt), tuple(event), len(stat_rows), using)
    params = [*receipt.values(), *event.values(), *(value for row in stat_rows for value in row)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.fetchone()[0])


@functools.lru_cache(maxsize=64)
def _record_once_sql(event_model, receipt_names: tuple, event_names: tuple, stat_rows: int, using: str) -> str:
    """`record_once_postgres`'s statement for these columns and this many arm stats rows (built once)."""
    connection = connections[using]
    qn = connection.ops.quote_name
    receipt_cols, receipt_ph = _typed(EventReceipt, receipt_names, connection)
    event_cols, event_ph = _typed(event_model, event_names, connection)
    sql = (
        f"WITH receipt AS (INSERT INTO {qn(EventReceipt._meta.db_table)} ({receipt_cols}) VALUES ({receipt_ph}) "
        f"ON CONFLICT ({qn('token_id')}, {qn('kind')}) DO NOTHING RETURNING 1), "
        f"logged AS (INSERT INTO {qn(event_model._meta.db_table)} ({event_cols}) SELECT {event_ph} "
        f"WHERE EXISTS (SELECT FROM receipt) ON CONFLICT ({qn('token_id')}, {qn('kind')}, {qn('goal')}) DO NOTHING "
        "RETURNING 1)"
    )
    if stat_rows:
        keys, adds = ("slot_id", "bucket", "arm_id"), ("impressions", "clicks", "conversions", "value")
        stat_cols, stat_ph = _typed(ArmStat, keys + adds, connection)
        table = qn(ArmStat._meta.db_table)
        updates = ", ".join(f"{qn(a)} = {table}.{qn(a)} + excluded.{qn(a)}" for a in adds)
        sql += (
            f", counted AS (INSERT INTO {table} ({stat_cols}) SELECT * FROM (VALUES "
            f"{', '.join([f'({stat_ph})'] * stat_rows)}) AS v WHERE EXISTS (SELECT FROM logged) "
            f"ON CONFLICT ({', '.join(qn(k) for k in keys)}) DO UPDATE SET {updates})"
        )
    return sql + " SELECT EXISTS (SELECT FROM logged)"


def _upsert_add_orm(model, keys, adds, rows, using) -> None:
    """The portable fallback: UPDATE ... SET n = n + %s, else INSERT (a concurrent INSERT wins: update)."""
    manager = model._default_manager.db_manager(using)
    for row in rows:
        lookup = dict(zip(keys, row[: len(keys)], strict=True))
        amounts = dict(zip(adds, row[len(keys) :], strict=True))
        with transaction.atomic(using=using):
            if manager.filter(**lookup).update(**{f: F(f) + v for f, v in amounts.items()}):
                continue
            try:
                with transaction.atomic(using=using):
                    manager.create(**lookup, **amounts)
            except IntegrityError:
                manager.filter(**lookup).update(**{f: F(f) + v for f, v in amounts.items()})


def retry_if_locked(fn, *, using: str = "default"):
    """Run `fn()`; on SQLite, retry it while the database reports being locked (outside a transaction only:
    inside one, the caller's transaction is what must be retried)."""
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return fn()
    deadline = time.monotonic() + _SQLITE_RETRY_SECONDS
    attempt = 0
    while True:
        try:
            return fn()
        except OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
        # short, jittered waits: SQLite grants the lock to whoever asks first, so a writer that
        # sleeps long (or in step with the others) can starve
        attempt += 1
        time.sleep(random.uniform(0, min(0.02, 0.0005 * 2**attempt)))


class DatabaseStatsStore(StatsStore):
    """Arm counters in the `ArmStat` table of database `using`."""

    def __init__(self, using: str = "default"):
        self.using = using

    @property
    def _rows(self):
        return ArmStat.objects.using(self.using)

    @staticmethod
    def rows(increments: Iterable[Increment]) -> list[tuple]:
        """ArmStat rows (slot, bucket, arm, impressions, clicks, conversions, value), one per key, in key
        order (concurrent writers lock rows in the same order); validates every increment."""
        summed = coalesce(increments)
        return [(slot, bucket, arm, *counts) for (slot, bucket, arm), counts in sorted(summed.items())]

    def increment_many(self, increments: Iterable[Increment]) -> None:
        rows = self.rows(increments)  # validates everything before anything is written
        if not rows:
            return

        def write():
            # one statement per chunk: inside a caller's transaction (recording an event) no savepoint
            # is needed (a failure rolls the whole transaction back), so none is made: two round trips
            # fewer per counted event
            with transaction.atomic(using=self.using, savepoint=False):
                upsert_add(
                    ArmStat,
                    ("slot_id", "bucket", "arm_id"),
                    ("impressions", "clicks", "conversions", "value"),
                    rows,
                    using=self.using,
                )

        retry_if_locked(write, using=self.using)

    def snapshot(self, slot_ids: Iterable[str]) -> Snapshot:
        ids = list(dict.fromkeys(slot_ids))
        if not ids:
            return {}
        out: Snapshot = {slot_id: {} for slot_id in ids}
        fields = ("slot_id", "bucket", "arm_id", "impressions", "clicks", "conversions", "value")
        rows = retry_if_locked(lambda: list(self._rows.filter(slot_id__in=ids).values_list(*fields)), using=self.using)
        for slot_id, bucket, arm_id, impressions, clicks, conversions, value in rows:
            out[slot_id].setdefault(bucket, {})[arm_id] = ArmStats(
                int(impressions), int(clicks), int(conversions), float(value)
            )
        return out

    def reset(self, slot_id: str) -> None:
        retry_if_locked(lambda: self._rows.filter(slot_id=slot_id).delete(), using=self.using)

    def delete_all(self) -> None:
        retry_if_locked(lambda: self._rows.all().delete(), using=self.using)


# --- upgrading from Redis-held counts ------------------------------------------------------------


def import_redis_state(client, prefix: str, *, now=None) -> tuple[int, int]:
    """Move what earlier versions kept in Redis under `prefix` into the database, in one transaction:
    the arm stats hashes (added to `ArmStat`) and the dedupe marks of events counted there (as
    `EventReceipt` rows, so replaying those events is still a duplicate). Once per prefix: a second
    call raises ValueError. Returns (counters added, receipts added).

    Their event stream is left where it is: the flush drains it into the aggregates as before.
    """
    marker = f"redis-state-imported:{prefix}"
    redis_store = RedisStatsStore(client, prefix=prefix)
    stats_prefix = f"{prefix}stats:"
    slot_ids = []
    for raw in client.scan_iter(match=_glob(stats_prefix) + "*", count=500):
        key = raw.decode() if isinstance(raw, bytes) else raw
        if key.startswith(stats_prefix + "{") and key.endswith("}"):
            slot_ids.append(key[len(stats_prefix) + 1 : -1])
    increments = []
    for slot_id, buckets in redis_store.snapshot(slot_ids).items():
        for bucket, arms in buckets.items():
            for arm_id, s in arms.items():
                counts = (s.impressions, s.clicks, s.conversions)
                for i, (kind, n) in enumerate(zip(KINDS, counts, strict=True)):
                    if n or (i == 0 and s.value):
                        increments.append(Increment(slot_id, arm_id, kind, n, s.value if i == 0 else 0.0, bucket))
    seen_prefix = f"{prefix}event-seen:"
    receipts = set()
    for raw in client.scan_iter(match=_glob(seen_prefix) + "*", count=1000):
        key = raw.decode() if isinstance(raw, bytes) else raw
        parts = key[len(seen_prefix) :].split(":", 2)
        if len(parts) >= 2 and parts[0] and parts[1] in KINDS:
            receipts.add((parts[0], parts[1]))
    at = now or timezone.now()
    with transaction.atomic():
        if not insert_unless_exists(FlushCursor, {"name": marker, "position": "done", "updated_at": at}, ("name",)):
            raise ValueError(f"the Redis state under {prefix!r} was imported already")
        DatabaseStatsStore().increment_many(increments)
        added = sum(
            insert_unless_exists(
                EventReceipt, {"token_id": nonce, "kind": kind, "created_at": at}, ("token_id", "kind")
            )
            for nonce, kind in sorted(receipts)
        )
    return len({(i.slot_id, i.bucket, i.arm_id) for i in increments}), added


def _glob(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
