"""The stats store contract (`tests/engine/stats_contract.py`) against the database store.

PostgreSQL (`DATABASE_URL`, always in CI): the concurrency test runs 4 real processes, each with its
own connection, writing the same counters at once; the counts must come out exact.

SQLite (the local default): the test database lives in memory, which separate processes cannot
share, so the writers are threads with their own connections. What holds there: every increment
is counted exactly (SQLite serialises writers: a writer that finds the database locked retries
the whole transaction), which is what one app process with threads needs.
"""

from __future__ import annotations

import functools
import threading

import pytest
from django.db import connection

from tests.engine.stats_contract import OTHER, SLOT, StatsStoreContract
from tests.stats_db_writer import store_in_a_new_process
from variants.engine.stats_store import ArmStats, Increment, event_increments
from variants.stats_db import DatabaseStatsStore


def store_in_this_process() -> DatabaseStatsStore:
    return DatabaseStatsStore()


def _shared_settings() -> dict:
    settings_dict = dict(connection.settings_dict)
    settings_dict["TEST"] = dict(settings_dict.get("TEST") or {})
    return settings_dict


@pytest.mark.django_db
class TestDatabaseStatsStore(StatsStoreContract):
    @pytest.fixture
    def store_factory(self):
        # Separate processes need a database server; SQLite's in-memory test database is per process.
        self.concurrency = "processes" if connection.vendor == "postgresql" else "threads"
        if connection.vendor == "postgresql":
            return functools.partial(store_in_a_new_process, _shared_settings())
        return store_in_this_process

    # Other connections see only committed rows: this test commits (and pays for the table flush
    # afterwards); the others run in a transaction that is rolled back.
    @pytest.mark.django_db(transaction=True)
    def test_concurrent_writers_count_exactly(self, store, store_factory):
        super().test_concurrent_writers_count_exactly(store, store_factory)


def test_snapshot_is_one_query_for_many_slots(db, django_assert_num_queries):
    store = DatabaseStatsStore()
    store.increment_many([Increment(f"s{i}", "a", "impression") for i in range(20)])

    with django_assert_num_queries(1):
        snap = store.snapshot([f"s{i}" for i in range(20)] + ["missing"])

    assert snap["s7"] == {"*": {"a": ArmStats(1)}} and snap["missing"] == {}


def test_increment_many_is_one_statement_in_one_transaction(db, django_assert_max_num_queries):
    store = DatabaseStatsStore()
    incs = []
    for slot in ("s1", "s2", "s3"):
        incs += event_increments(slot, "a", "impression", buckets=["segment=vip", "device=mobile"])
        incs += event_increments(slot, "b", "conversion", value=2.5)

    # the savepoint around it, the upsert, the release: no per-counter queries
    with django_assert_max_num_queries(3):
        store.increment_many(incs)

    assert store.snapshot(["s2"])["s2"]["device=mobile"] == {"a": ArmStats(1)}


def test_a_failed_batch_leaves_no_partial_counts(db):
    store = DatabaseStatsStore()
    with pytest.raises(ValueError):
        store.increment_many([Increment(SLOT, "a", "impression"), Increment(OTHER, "a", "nope")])
    assert store.snapshot([SLOT, OTHER]) == {SLOT: {}, OTHER: {}}


def test_threads_adding_to_one_counter_in_one_process_count_exactly(transactional_db):
    store = DatabaseStatsStore()
    start = threading.Event()

    def write():
        start.wait(10)
        for _ in range(50):
            store.increment(SLOT, "a", "impression")
        connection.close()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(60)

    assert store.snapshot([SLOT])[SLOT] == {"*": {"a": ArmStats(200)}}
