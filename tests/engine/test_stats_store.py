"""The stats store contract run against the memory store and a real Redis.

Redis: ``REDIS_URL`` (default redis://127.0.0.1:6379/0). Unreachable Redis fails the run when
``CI=true`` and skips these tests otherwise.
"""

from __future__ import annotations

import functools
import os
import uuid

import pytest

from tests.services import CountingClient
from variants.engine.stats_store import ArmStats, Increment, MemoryStatsStore, RedisStatsStore, event_increments

from .stats_contract import SLOT, StatsStoreContract

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def _same(store):
    return store


class TestMemoryStatsStore(StatsStoreContract):
    # one process's memory: writers are threads
    concurrency = "threads"

    @pytest.fixture
    def store_factory(self):
        return functools.partial(_same, MemoryStatsStore())


def redis_store(url: str, prefix: str, decode_responses: bool = False) -> RedisStatsStore:
    import redis

    return RedisStatsStore(redis.Redis.from_url(url, decode_responses=decode_responses), prefix=prefix)


@functools.lru_cache(maxsize=1)
def _redis_unreachable() -> str | None:
    """Why Redis cannot be used (None when it can); asked once per run."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, retry=None).ping()
    except (redis.RedisError, OSError) as e:
        return (
            f"Redis is not reachable at {REDIS_URL} ({e}). Start a Redis server or set "
            "REDIS_URL=redis://host:port/db to run the Redis stats store tests."
        )
    return None


@pytest.fixture
def redis_url():
    problem = _redis_unreachable()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return REDIS_URL


@pytest.fixture
def redis_prefix():
    return f"tailor-test:{uuid.uuid4().hex}:"


@pytest.mark.redis
class TestRedisStatsStore(StatsStoreContract):
    concurrency = "processes"
    # each child builds its own client (the factory runs in the child), so fork is safe and fast
    start_method = "fork"

    @pytest.fixture
    def store_factory(self, redis_url, redis_prefix):
        return functools.partial(redis_store, redis_url, redis_prefix)


@pytest.mark.redis
class TestRedisStatsStoreWithDecodedResponses(StatsStoreContract):
    """The same store over a client that returns str instead of bytes."""

    concurrency = "threads"
    writers = 2
    rounds = 50

    @pytest.fixture
    def store_factory(self, redis_url, redis_prefix):
        return functools.partial(redis_store, redis_url, redis_prefix, True)


@pytest.fixture
def counted_store(redis_url, redis_prefix):
    import redis

    client = CountingClient(redis.Redis.from_url(redis_url))
    store = RedisStatsStore(client, prefix=redis_prefix)
    yield store
    store.delete_all()


@pytest.mark.redis
def test_redis_increment_many_is_one_round_trip(counted_store):
    incs = []
    for slot in ("s1", "s2", "s3"):
        incs += event_increments(slot, "a", "impression", buckets=["segment=vip", "device=mobile"])
        incs += event_increments(slot, "b", "conversion", value=2.5)
    counted_store.increment_many(incs)
    assert counted_store.client.round_trips == 1


@pytest.mark.redis
def test_redis_snapshot_of_many_slots_is_one_round_trip(counted_store):
    counted_store.increment_many([Increment(f"s{i}", "a", "impression") for i in range(20)])
    counted_store.client.round_trips = 0
    snap = counted_store.snapshot([f"s{i}" for i in range(20)] + ["missing"])
    assert counted_store.client.round_trips == 1
    assert snap["s7"] == {"*": {"a": ArmStats(1)}} and snap["missing"] == {}


@pytest.mark.redis
def test_redis_keeps_one_hash_per_slot_under_a_cluster_hash_tag(redis_url, redis_prefix):
    store = redis_store(redis_url, redis_prefix, decode_responses=True)
    try:
        store.increment(SLOT, "a", "impression", bucket="segment=vip")
        store.increment(SLOT, "b", "conversion", value=4.5)
        key = f"{redis_prefix}stats:{{{SLOT}}}"
        assert store.client.keys(f"{redis_prefix}*") == [key]
        assert store.client.hgetall(key) == {
            "segment=vip|a|impression": "1",
            "*|b|conversion": "1",
            "*|b|value": "4.5",
        }
    finally:
        store.delete_all()


@pytest.mark.redis
def test_redis_delete_all_only_touches_its_own_prefix(redis_url, redis_prefix):
    mine = redis_store(redis_url, redis_prefix)
    neighbour = redis_store(redis_url, redis_prefix + "other:")
    try:
        mine.increment(SLOT, "a", "impression")
        neighbour.increment(SLOT, "a", "impression")
        mine.delete_all()
        assert neighbour.snapshot([SLOT])[SLOT] == {"*": {"a": ArmStats(1)}}
    finally:
        neighbour.delete_all()
        mine.delete_all()


def test_event_increments_count_slot_wide_and_in_each_bucket_once():
    incs = event_increments("s", "a", "conversion", buckets=["*", "segment=vip", "segment=vip"], value=3.0)
    assert incs == [
        Increment("s", "a", "conversion", 1, 3.0, "*"),
        Increment("s", "a", "conversion", 1, 3.0, "segment=vip"),
    ]


def test_arm_stats_add_and_successes():
    total = ArmStats(10, 3, 1, 2.0) + ArmStats(5, 1, 1, 0.5)
    assert total == ArmStats(15, 4, 2, 2.5)
    assert total.successes("click") == 4 and total.successes() == 2
    assert ArmStats().conversion_rate is None
    with pytest.raises(ValueError):
        total.successes("value")
