"""The feedback loop's read side: which stats store, and each process's allocation weights.

The store: Redis when `TAILOR["REDIS_URL"]` is set (`RedisStatsStore`, shared by every app server),
else the database (`DatabaseStatsStore`, the embedded default).

The weights: each process keeps one `Feedback` with an engine `AllocationTable`. Before deciding a
page, `ensure_fresh(slots)` looks at the page's learning slots (AB / BANDIT / CONTEXTUAL): when all
were refreshed less than `TAILOR["STATS_REFRESH_SECONDS"]` ago it does nothing (no I/O at all);
otherwise it reads the stale ones with **one** `snapshot` call (one pipelined Redis round trip, or one
SQL query) and lets their policies recompute the weights. A slot compiled anew (new revision) counts
as stale. Only one thread per process refreshes at a time; the others decide with the weights
already published rather than wait. A conversion recorded by any process therefore reaches every
process's weights within STATS_REFRESH_SECONDS (plus the time of one refresh).

If the store cannot be read, the last weights stay in use (or an even split before the first
refresh) and the next attempt waits for another refresh interval: a stats outage never fails a page.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tailor.settings import on_reload, tailor_settings
from variants.engine.decide import WEIGHTED_POLICIES, Slot
from variants.engine.policies import AllocationTable
from variants.engine.stats_store import StatsStore

logger = logging.getLogger("tailor.feedback")

_store: StatsStore | None = None
_store_lock = threading.Lock()


def stats_store() -> StatsStore:
    """The process's stats store, built from the settings (rebuilt when they change)."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                from tailor.redis import get_redis

                client = get_redis()
                if client is not None:
                    from variants.engine.stats_store import RedisStatsStore

                    _store = RedisStatsStore(client, prefix=tailor_settings.REDIS_PREFIX)
                else:
                    from variants.stats_db import DatabaseStatsStore

                    _store = DatabaseStatsStore()
    return _store


@dataclass
class RefreshStats:
    """What this process's refreshes cost so far (for benchmarks and the tests)."""

    refreshes: int = 0
    slots: int = 0
    failures: int = 0
    seconds: float = 0.0


class Feedback:
    """One process's allocation weights, refreshed from the stats store at most every `refresh_seconds`.

    `store` and `refresh_seconds` default to the settings (read on each use, so tests may change them);
    `clock` is monotonic seconds. `rng` draws for visitors without an identity.
    """

    def __init__(
        self,
        store: StatsStore | None = None,
        *,
        refresh_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self._store = store
        self._refresh_seconds = refresh_seconds
        self.clock = clock
        self.rng = rng or random.Random()
        self.table = AllocationTable()
        #: slot id -> (the compiled Slot refreshed, when)
        self._refreshed: dict[str, tuple[Slot, float]] = {}
        self._lock = threading.Lock()
        self.stats = RefreshStats()

    @property
    def store(self) -> StatsStore:
        return self._store if self._store is not None else stats_store()

    @property
    def refresh_seconds(self) -> float:
        if self._refresh_seconds is not None:
            return self._refresh_seconds
        return float(tailor_settings.STATS_REFRESH_SECONDS)

    def stale(self, slots: Iterable[Slot]) -> list[Slot]:
        """The learning slots among `slots` whose weights are older than the refresh interval."""
        now = self.clock()
        interval = self.refresh_seconds
        out = []
        for slot in slots:
            if slot.policy not in WEIGHTED_POLICIES:
                continue
            seen = self._refreshed.get(slot.id)
            if seen is None or seen[0] is not slot or now - seen[1] >= interval:
                out.append(slot)
        return out

    def ensure_fresh(self, slots: Iterable[Slot]) -> None:
        """Refresh the stale learning slots among `slots` (one store round trip), unless another
        thread of this process is already refreshing."""
        slots = list(slots)
        if not self.stale(slots):
            return
        if not self._lock.acquire(blocking=False):
            return  # someone else is refreshing: decide with the weights already published
        try:
            stale = self.stale(slots)
            if stale:
                self._refresh(stale)
        finally:
            self._lock.release()

    def refresh(self, slots: Iterable[Slot]) -> None:
        """Refresh `slots` now, whatever their age (the simulator; tests)."""
        slots = [s for s in slots if s.policy in WEIGHTED_POLICIES]
        if slots:
            with self._lock:
                self._refresh(slots)

    def _refresh(self, slots: list[Slot]) -> None:
        started = time.perf_counter()
        try:
            snapshot = self.store.snapshot([s.id for s in slots])
            self.table.refresh(slots, snapshot)
        except Exception:
            # Keep deciding with the last weights; try again after another interval, not per request.
            self.stats.failures += 1
            logger.warning("could not refresh arm stats for %d slot(s)", len(slots), exc_info=True)
        finally:
            now = self.clock()
            for slot in slots:
                self._refreshed[slot.id] = (slot, now)
            self.stats.refreshes += 1
            self.stats.slots += len(slots)
            self.stats.seconds += time.perf_counter() - started

    def allocation(self, slot: Slot, ctx: Mapping) -> tuple[str, Mapping[str, float] | None]:
        """``(bucket, weights)`` for this visitor (weights None before the slot's first refresh)."""
        return self.table.lookup(slot, ctx)

    def allocations(self, slot_id: str) -> dict[str, dict[str, float]] | None:
        """Every bucket's published weights of one slot."""
        return self.table.allocations(slot_id)


_feedback: Feedback | None = None


def feedback() -> Feedback:
    """This process's `Feedback`."""
    global _feedback
    if _feedback is None:
        with _store_lock:
            if _feedback is None:
                _feedback = Feedback()
    return _feedback


@on_reload
def reset() -> None:
    """Forget the store and every published weight (settings changed; tests)."""
    global _store, _feedback
    with _store_lock:
        _store = None
        _feedback = None
