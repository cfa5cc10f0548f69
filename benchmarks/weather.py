"""What the weather provider costs a request: a cache hit, a real fetch from the local Open-Meteo server
(tests/openmeteo_server.py), the threads a fetch starts, a slow-drip fetch against the 0.3 s deadline,
and eight concurrent fetches of eight cells.

    .venv/bin/python -m benchmarks.weather                                    # LocMemCache
    .venv/bin/python -m benchmarks.weather --redis redis://127.0.0.1:6379/14  # Django's RedisCache

The cache is Django's, reached the way `rules.context_providers` reaches it (a ConnectionProxy on
``caches["default"]``). The script also runs on the commit before the move to Django's cache,
pybreaker and urllib3 (hand-written caches, breaker and thread-per-call HTTP), so the two can be
compared on one machine: extract that commit (``git archive``) and run the same file there.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid

from tests.openmeteo_server import FakeOpenMeteo

SEOUL = (37.5665, 126.978)
RUN = f"tailor-bench-{uuid.uuid4().hex[:12]}"  # in every key this run writes to Redis (deleted at the end)
N = 1000


def make_provider(base_url: str, redis_url: str | None):
    try:
        from rules.providers.weather import weather_cache  # the hand-written caches (the commit before)
    except ImportError:
        weather_cache = None
    if weather_cache is not None:
        from rules.providers.weather import OpenMeteoProvider

        cache = None
        if redis_url:
            import redis

            cache = weather_cache(redis.Redis.from_url(redis_url), prefix=f"{RUN}:")
        return OpenMeteoProvider(base_url, timeout=0.3, cache=cache)
    # after: Django's cache framework, injected as rules.context_providers does
    import django
    from django.conf import settings

    if not settings.configured:
        backend = (
            {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": RUN,
            }
            if redis_url
            else {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "bench",
                "OPTIONS": {"MAX_ENTRIES": 10_000},
            }
        )
        settings.configure(CACHES={"default": backend})
        django.setup()
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache
    from django.utils.connection import ConnectionProxy

    from rules.providers.open_meteo import OpenMeteoProvider

    return OpenMeteoProvider(
        base_url,
        timeout=0.3,
        cache=ConnectionProxy(caches, "default"),
        fallback=LocMemCache(f"fallback-{uuid.uuid4().hex}", {}),
    )


def percentiles(samples_ns: list[int]) -> str:
    s = sorted(samples_ns)
    p50 = statistics.median(s) / 1000
    p99 = s[int(len(s) * 0.99) - 1] / 1000
    return f"p50 {p50:9.1f} µs   p99 {p99:9.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default=None)
    args = parser.parse_args()
    with FakeOpenMeteo() as server:
        provider = make_provider(server.base_url, args.redis)
        assert provider.current(*SEOUL) is not None
        hits = []
        for _ in range(N):
            t = time.perf_counter_ns()
            w = provider.current(*SEOUL)
            hits.append(time.perf_counter_ns() - t)
            assert w is not None
        print(f"cache hit    ({N} calls): {percentiles(hits)}")

        started = 0
        real_start = threading.Thread.start

        caller = threading.current_thread()  # the fake server starts its own threads: not counted

        def counting_start(self, *a, **kw):
            nonlocal started
            if threading.current_thread() is caller:
                started += 1
            return real_start(self, *a, **kw)

        fetches = []
        threading.Thread.start = counting_start
        try:
            for i in range(N):
                point = (1.05 + (i // 100) * 0.1, 1.05 + (i % 100) * 0.1)  # a new cell each call
                t = time.perf_counter_ns()
                w = provider.current(*point)
                fetches.append(time.perf_counter_ns() - t)
                assert w is not None
        finally:
            threading.Thread.start = real_start
        assert server.request_count == N + 1, server.request_count
        print(f"real fetch   ({N} calls): {percentiles(fetches)}")
        print(f"threads started per fetch (client side): {started / N:.2f}")

        server.mode, server.drip_interval = "drip", 0.02
        walls = []
        for i in range(5):
            t = time.perf_counter()
            w = provider.current(-10.05 - i, -10.05)
            walls.append(time.perf_counter() - t)
            assert w is None
        print(f"slow drip (deadline 0.300 s): wall max {max(walls):.3f} s, median {statistics.median(walls):.3f} s")

        server.mode, server.delay = "normal", 0.1
        provider = make_provider(server.base_url, args.redis)  # a fresh breaker (the drip opened it)
        barrier = threading.Barrier(8)
        results = []

        def ask(i):
            barrier.wait()
            results.append(provider.current(-20.05 - i, -20.05))

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        print(
            f"8 concurrent fetches of 8 cells, upstream 0.1 s: wall {time.perf_counter() - t:.3f} s, "
            f"{sum(r is not None for r in results)}/8 answered"
        )


def forget_run_keys(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{RUN}*"):
        client.delete(key)


if __name__ == "__main__":
    _args = sys.argv[1:]
    try:
        main()
    finally:
        if "--redis" in _args:
            forget_run_keys(_args[_args.index("--redis") + 1])
