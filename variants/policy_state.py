"""Learned policy state kept across restarts: what forgetting (``half_life``) has learned.

A learning slot with a half-life weighs recent results more than old ones. Those discounted counts
are learned state that the cumulative arm stats cannot give back: a process that started from the
stats alone would weigh every old result as fresh. So each process's `variants.feedback.Feedback`
saves the policy state of such slots (`AllocationTable.to_state()`, only when it changed) after it
refreshes them, and loads it when it first refreshes the slot after starting: a restarted or new
process resumes the discounted weights. Slots without a half-life learn nothing the stats do not
hold, and keep nothing here.

One entry per slot, shared by every process. The last writer wins, which is sound: every process
folds the same stats snapshots, and an entry holds the cumulative counts it had seen, so whoever
loads it discounts from there by what happened since.

- with ``TAILOR["REDIS_URL"]``: one string key per slot, ``<REDIS_PREFIX>policy:{<slot id>}``, JSON
  (the braces are the slot's stats hash's hash tag: both live on one Redis Cluster node);
- else the `PolicyState` table.

Loading and saving each take one round trip (a pipeline, or one statement) for all the slots of a
refresh, and happen only in a refresh: never on a request that decides with published weights.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from variants.models import PolicyState
from variants.stats_db import retry_if_locked

logger = logging.getLogger("tailor.feedback")

#: one slot's entry: ``{"fingerprint": ..., "policy": Policy.to_state()}`` (`AllocationTable.to_state()`)
Entry = dict[str, Any]


class PolicyStateStore:
    """Where each slot's learned policy state is kept between restarts."""

    def load(self, slot_ids: Iterable[str]) -> dict[str, Entry]:
        """The saved entries of `slot_ids` (slots with none are left out)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def save(self, entries: Mapping[str, Entry]) -> None:
        """Replace the saved entries of these slots."""
        raise NotImplementedError  # pragma: no cover - abstract


class RedisPolicyStates(PolicyStateStore):
    """One JSON string per slot; `client` is a redis-py ``Redis`` or ``RedisCluster``."""

    def __init__(self, client: Any, prefix: str = "tailor:"):
        self.client = client
        self.prefix = prefix

    def key(self, slot_id: str) -> str:
        return f"{self.prefix}policy:{{{slot_id}}}"

    def load(self, slot_ids: Iterable[str]) -> dict[str, Entry]:
        ids = list(dict.fromkeys(slot_ids))
        if not ids:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for slot_id in ids:
            pipe.get(self.key(slot_id))
        out: dict[str, Entry] = {}
        for slot_id, raw in zip(ids, pipe.execute(), strict=True):
            if raw is None:
                continue
            try:
                out[slot_id] = json.loads(raw)
            except ValueError:
                logger.warning("ignoring the saved learning state of slot %s: not JSON", slot_id)
        return out

    def save(self, entries: Mapping[str, Entry]) -> None:
        if not entries:
            return
        pipe = self.client.pipeline(transaction=False)
        for slot_id, entry in entries.items():
            pipe.set(self.key(slot_id), json.dumps(entry, separators=(",", ":")))
        pipe.execute()


class DatabasePolicyStates(PolicyStateStore):
    """The `PolicyState` table of database `using`: one row per slot."""

    def __init__(self, using: str = "default"):
        self.using = using

    @property
    def _rows(self):
        return PolicyState.objects.using(self.using)

    def load(self, slot_ids: Iterable[str]) -> dict[str, Entry]:
        ids = list(dict.fromkeys(slot_ids))
        if not ids:
            return {}
        rows = retry_if_locked(
            lambda: list(self._rows.filter(slot_id__in=ids).values_list("slot_id", "state")), using=self.using
        )
        return {slot_id: state for slot_id, state in rows if isinstance(state, dict)}

    def save(self, entries: Mapping[str, Entry]) -> None:
        if not entries:
            return
        now = timezone.now()
        rows = [PolicyState(slot_id=slot_id, state=entry, updated_at=now) for slot_id, entry in sorted(entries.items())]
        # one INSERT ... ON CONFLICT (slot_id) DO UPDATE; rows in key order, so writers cannot deadlock
        retry_if_locked(
            lambda: self._rows.bulk_create(
                rows, update_conflicts=True, unique_fields=["slot_id"], update_fields=["state", "updated_at"]
            ),
            using=self.using,
        )
