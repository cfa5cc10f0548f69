"""Arm stats: the counters the learning policies read, behind one small store interface.

The interface (what every store implements; a Django database store plugs in here)
===================================================================================

Counters are addressed by ``(slot_id, bucket, arm_id)`` and hold an `ArmStats`:
``impressions``, ``clicks``, ``conversions`` (non-negative ints) and ``value`` (float, the sum of the
values passed with increments, normally conversion values).

- ``slot_id``: the slot's stable id (block UUID). Any non-empty string.
- ``bucket``: ``"*"`` is the slot-wide bucket; contextual policies also count per context bucket
  (``"segment=vip"``, ``"device=mobile"``). ``"*"`` is *not* computed by the store: whoever records
  an event increments ``"*"`` and every bucket it belongs to (`event_increments` builds that list).
  Non-empty, no ``"|"``.
- ``arm_id``: the variant id. Non-empty, no ``"|"``.
- ``kind``: ``"impression"``, ``"click"`` or ``"conversion"`` (case-insensitive; stored lower-case).

Methods (all of them may be called from any thread; stores shared between processes must count
exactly under concurrent writers, i.e. increments are atomic, never read-modify-write in Python):

``increment(slot_id, arm_id, kind, n=1, value=0.0, bucket="*") -> None``
    Add ``n`` (int >= 0) to the ``kind`` counter and ``value`` (finite float, may be negative,
    e.g. a refund) to ``value``. An increment with ``n=0`` and ``value=0`` creates no counter.
``increment_many(increments: Iterable[Increment]) -> None``
    Apply many increments in one round trip (one pipeline / one transaction). Increments that hit
    the same counter may be coalesced. An invalid increment raises ValueError before anything is
    written.
``snapshot(slot_ids: Iterable[str]) -> {slot_id: {bucket: {arm_id: ArmStats}}}``
    The current counters of every requested slot in one round trip. Every requested slot id is a
    key of the result, ``{}`` when it has no stats; only buckets and arms with a counter appear;
    counters never written read as 0. Not necessarily a consistent cut across slots.
``reset(slot_id) -> None``
    Forget every counter of one slot (all buckets).
``delete_all() -> None``
    Forget every counter this store owns (its prefix / table). For tests.

The reusable contract tests live in ``tests/engine/stats_contract.py``.

Which store Tailor's app uses: the database (`variants.stats_db`), with or without Redis, because
an event's count must commit in one transaction with its durable dedupe mark (`variants.event_log`);
`RedisStatsStore` serves simulations and code that builds a `Feedback` on it explicitly.

Redis layout: one hash per slot at ``"{prefix}stats:{<slot_id>}"`` (the braces are a Redis Cluster
hash tag: everything about a slot lives on one shard), fields ``"<bucket>|<arm_id>|<kind>"`` and
``"<bucket>|<arm_id>|value"``, written with pipelined HINCRBY / HINCRBYFLOAT and read with one
pipeline of HGETALL.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .vocabulary import EVENT_KINDS, GLOBAL_BUCKET, KIND_CLICK, KIND_CONVERSION, KIND_IMPRESSION

__all__ = [
    "GLOBAL_BUCKET",
    "KINDS",
    "KIND_CLICK",
    "KIND_CONVERSION",
    "KIND_IMPRESSION",
    "ArmStats",
    "Increment",
    "MemoryStatsStore",
    "RedisStatsStore",
    "StatsStore",
    "coalesce",
    "event_increments",
    "validate_increment",
]

KINDS = EVENT_KINDS
_VALUE = "value"
_SEP = "|"

#: the ArmStats attribute each kind counts into
_ATTR = {KIND_IMPRESSION: "impressions", KIND_CLICK: "clicks", KIND_CONVERSION: "conversions"}

#: {slot_id: {bucket: {arm_id: ArmStats}}}
Snapshot = dict[str, dict[str, dict[str, "ArmStats"]]]


@dataclass(frozen=True, slots=True)
class ArmStats:
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    value: float = 0.0

    def __add__(self, other: ArmStats) -> ArmStats:
        return ArmStats(
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.conversions + other.conversions,
            self.value + other.value,
        )

    def successes(self, reward: str = KIND_CONVERSION) -> int:
        """The reward count a Bernoulli policy learns from: conversions (default) or clicks."""
        if reward == KIND_CONVERSION:
            return self.conversions
        if reward == KIND_CLICK:
            return self.clicks
        raise ValueError(f"reward must be {KIND_CONVERSION!r} or {KIND_CLICK!r}, not {reward!r}")

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.impressions if self.impressions else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "impressions": self.impressions,
            "clicks": self.clicks,
            "conversions": self.conversions,
            "value": self.value,
        }


class Increment(NamedTuple):
    slot_id: str
    arm_id: str
    kind: str
    n: int = 1
    value: float = 0.0
    bucket: str = GLOBAL_BUCKET


def _check_key(name: str, value: Any, *, allow_sep: bool = False) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    if not allow_sep and _SEP in value:
        raise ValueError(f"{name} must not contain {_SEP!r}: {value!r}")


def validate_increment(inc: Increment | tuple) -> Increment:
    """The increment with its kind normalised; ValueError if any part is unusable."""
    inc = Increment(*inc)
    _check_key("slot_id", inc.slot_id, allow_sep=True)
    _check_key("arm_id", inc.arm_id)
    _check_key("bucket", inc.bucket)
    kind = inc.kind.lower() if isinstance(inc.kind, str) else inc.kind
    if kind not in _ATTR:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {inc.kind!r}")
    if isinstance(inc.n, bool) or not isinstance(inc.n, int) or inc.n < 0:
        raise ValueError(f"n must be an int >= 0, not {inc.n!r}")
    if isinstance(inc.value, bool) or not isinstance(inc.value, (int, float)) or not math.isfinite(inc.value):
        raise ValueError(f"value must be a finite number, not {inc.value!r}")
    return inc._replace(kind=kind, value=float(inc.value))


def event_increments(
    slot_id: str,
    arm_id: str,
    kind: str,
    *,
    buckets: Iterable[str] = (GLOBAL_BUCKET,),
    n: int = 1,
    value: float = 0.0,
) -> list[Increment]:
    """The increments one event makes: slot-wide (``"*"``, always) plus each context bucket."""
    seen: list[str] = [GLOBAL_BUCKET]
    for b in buckets:
        if b not in seen:
            seen.append(b)
    return [Increment(slot_id, arm_id, kind, n, value, b) for b in seen]


def coalesce(increments: Iterable[Increment | tuple]) -> dict[tuple[str, str, str], list]:
    """Validated increments summed per counter: {(slot, bucket, arm): [impr, clicks, conv, value]}.

    Counters that would not change (n=0 and value=0) are left out, so they are never created.
    """
    out: dict[tuple[str, str, str], list] = {}
    for raw in increments:
        inc = validate_increment(raw)
        acc = out.setdefault((inc.slot_id, inc.bucket, inc.arm_id), [0, 0, 0, 0.0])
        acc[KINDS.index(inc.kind)] += inc.n
        acc[3] += inc.value
    return {key: acc for key, acc in out.items() if any(acc)}


class StatsStore(ABC):
    """See the module docstring for the exact contract."""

    def increment(
        self, slot_id: str, arm_id: str, kind: str, n: int = 1, value: float = 0.0, bucket: str = GLOBAL_BUCKET
    ) -> None:
        self.increment_many([Increment(slot_id, arm_id, kind, n, value, bucket)])

    @abstractmethod
    def increment_many(self, increments: Iterable[Increment]) -> None: ...

    @abstractmethod
    def snapshot(self, slot_ids: Iterable[str]) -> Snapshot: ...

    @abstractmethod
    def reset(self, slot_id: str) -> None: ...

    @abstractmethod
    def delete_all(self) -> None: ...

    def slot_stats(self, slot_id: str) -> dict[str, dict[str, ArmStats]]:
        """One slot's ``{bucket: {arm_id: ArmStats}}``."""
        return self.snapshot([slot_id])[slot_id]


class MemoryStatsStore(StatsStore):
    """Counters in this process's memory, guarded by a lock. For one process, tests and simulations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, dict[str, list]]] = {}

    def increment_many(self, increments: Iterable[Increment]) -> None:
        summed = coalesce(increments)
        with self._lock:
            for (slot_id, bucket, arm_id), (imp, clk, conv, value) in summed.items():
                acc = self._data.setdefault(slot_id, {}).setdefault(bucket, {}).setdefault(arm_id, [0, 0, 0, 0.0])
                acc[0] += imp
                acc[1] += clk
                acc[2] += conv
                acc[3] += value

    def snapshot(self, slot_ids: Iterable[str]) -> Snapshot:
        with self._lock:
            return {
                slot_id: {
                    bucket: {arm: ArmStats(*acc) for arm, acc in arms.items()}
                    for bucket, arms in self._data.get(slot_id, {}).items()
                }
                for slot_id in slot_ids
            }

    def reset(self, slot_id: str) -> None:
        with self._lock:
            self._data.pop(slot_id, None)

    def delete_all(self) -> None:
        with self._lock:
            self._data.clear()


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisStatsStore(StatsStore):
    """Counters in Redis (or Redis Cluster): one hash per slot, atomic HINCRBY, pipelined.

    `client` is a redis-py ``Redis`` or ``RedisCluster`` (``decode_responses`` either way).
    """

    def __init__(self, client: Any, prefix: str = "tailor:"):
        self.client = client
        self.prefix = prefix

    def key(self, slot_id: str) -> str:
        return f"{self.prefix}stats:{{{slot_id}}}"

    def increment_many(self, increments: Iterable[Increment]) -> None:
        summed = coalesce(increments)
        if not summed:
            return
        # Not MULTI: each HINCRBY is atomic by itself, and a transaction cannot span cluster shards.
        pipe = self.client.pipeline(transaction=False)
        for (slot_id, bucket, arm_id), counts in summed.items():
            key = self.key(slot_id)
            for kind, n in zip(KINDS, counts[:3], strict=True):
                if n:
                    pipe.hincrby(key, f"{bucket}{_SEP}{arm_id}{_SEP}{kind}", n)
            if counts[3]:
                pipe.hincrbyfloat(key, f"{bucket}{_SEP}{arm_id}{_SEP}{_VALUE}", counts[3])
        pipe.execute()

    def snapshot(self, slot_ids: Iterable[str]) -> Snapshot:
        ids = list(dict.fromkeys(slot_ids))
        if not ids:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for slot_id in ids:
            pipe.hgetall(self.key(slot_id))
        return {slot_id: self._parse(raw) for slot_id, raw in zip(ids, pipe.execute(), strict=True)}

    @staticmethod
    def _parse(raw: Mapping) -> dict[str, dict[str, ArmStats]]:
        acc: dict[str, dict[str, list]] = {}
        for field, count in raw.items():
            parts = _text(field).split(_SEP)
            if len(parts) != 3:
                continue  # not ours; never written by this store
            bucket, arm, kind = parts
            slot = acc.setdefault(bucket, {}).setdefault(arm, [0, 0, 0, 0.0])
            if kind == _VALUE:
                slot[3] = float(_text(count))
            elif kind in _ATTR:
                slot[KINDS.index(kind)] = int(_text(count))
        return {b: {a: ArmStats(*c) for a, c in arms.items()} for b, arms in acc.items()}

    def reset(self, slot_id: str) -> None:
        self.client.delete(self.key(slot_id))

    def delete_all(self) -> None:
        for key in list(self.client.scan_iter(match=_glob_escape(f"{self.prefix}stats:") + "*", count=500)):
            self.client.delete(key)
