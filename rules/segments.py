"""Segments at request time: an in-process index of the enabled segments, compiled once.

Membership is computed from the context (rule-defined segments) and the consented profile
(discovered segments: the visitor's nearest cluster centre). Deciding never queries the database:
the index is reloaded only when the shared *rules version* changes. Saving or deleting a segment bumps
that version (a row in the database, or a Redis key when Redis is configured); every process checks
it at most once per `TAILOR["STATS_REFRESH_SECONDS"]` and reloads its index. Whatever was built from
an index (compiled pages) is keyed by `SegmentIndex.key`, so no process serves stale decisions for
longer than that, and nothing here has to reach up and clear it.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from rules.engine import Condition, ConditionError, Context, registry
from rules.models import RulesVersion, Segment
from tailor.redis import get_redis, redis_key
from tailor.settings import tailor_settings

#: numbers every index this process loads, so two loads never share a key
_loads = itertools.count(1)


@dataclass(frozen=True)
class CompiledSegment:
    slug: str
    name: str
    kind: str
    enabled: bool
    condition: Condition | None = None
    cluster: dict | None = None


@dataclass(frozen=True)
class SegmentResult:
    slug: str
    name: str
    matched: bool | None
    reason: str


def _nearest(vector: list[float], centers: list[list[float]]) -> int:
    best, best_d = -1, math.inf
    for i, c in enumerate(centers):
        d = sum((a - b) ** 2 for a, b in zip(vector, c, strict=True))
        if d < best_d:
            best, best_d = i, d
    return best


def cluster_index(cluster: dict, profile) -> int:
    """Which of the run's clusters a profile falls in (standardized nearest centre)."""
    sections = [f.split(":", 1)[1] for f in cluster["features"] if f.startswith("section:")]
    feats = profile.features(sections)
    vector = [
        (feats.get(name, 0.0) - mean) / (scale or 1.0)
        for name, mean, scale in zip(cluster["features"], cluster["mean"], cluster["scale"], strict=True)
    ]
    return _nearest(vector, cluster["centers"])


class SegmentIndex:
    def __init__(self, segments: Iterable[CompiledSegment], version: int):
        self.segments = tuple(segments)
        self.version = version
        #: what a cache built from this index is keyed by: the shared version and this load
        self.key = (version, next(_loads))
        self.names = {s.slug: s.name for s in self.segments}
        self.facts = frozenset().union(*(s.condition.fact_names() for s in self.segments if s.condition))

    def evaluate(self, ctx: Context, profile=None, *, include_disabled: bool = False) -> list[SegmentResult]:
        results = []
        for s in self.segments:
            if not (s.enabled or include_disabled):
                continue
            if s.cluster is not None:
                if profile is None or profile.page_views < 1:
                    results.append(SegmentResult(s.slug, s.name, None, f"{s.name}: visitor profile unknown"))
                    continue
                inside = cluster_index(s.cluster, profile) == s.cluster["index"]
                results.append(
                    SegmentResult(
                        s.slug,
                        s.name,
                        inside,
                        f"{s.name}: {'behaves like' if inside else 'does not behave like'} this discovered group",
                    )
                )
            elif s.condition is not None:
                out = s.condition.evaluate(ctx)
                results.append(SegmentResult(s.slug, s.name, out.value, f"{s.name}: {out.reason}"))
        return results

    def members(self, ctx: Context, profile=None) -> frozenset[str]:
        return frozenset(r.slug for r in self.evaluate(ctx, profile) if r.matched is True)


def load_index(version: int) -> SegmentIndex:
    compiled = []
    for seg in Segment.objects.all():
        condition = None
        spec = seg.condition_spec() if seg.kind == Segment.KIND_RULES else None
        if spec is not None:
            try:
                condition = registry.build(spec)
            except ConditionError:
                continue  # an invalid stored segment matches nobody
        compiled.append(
            CompiledSegment(
                seg.slug,
                seg.name,
                seg.kind,
                seg.enabled,
                condition,
                seg.cluster if seg.kind == Segment.KIND_DISCOVERED else None,
            )
        )
    return SegmentIndex(compiled, version)


def shared_version() -> int:
    client = get_redis()
    if client is not None:
        try:
            return int(client.get(redis_key("rules-version")) or 0)
        except Exception:  # Redis down: keep what we have rather than fail the request
            return _holder.index.version if _holder.index else 0
    row = RulesVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return int(row or 0)


class _Holder:
    def __init__(self) -> None:
        self.index: SegmentIndex | None = None
        self.checked_at = -math.inf
        self.lock = threading.Lock()


_holder = _Holder()


def segment_index() -> SegmentIndex:
    """The current index, re-checking the shared version at most every STATS_REFRESH_SECONDS."""
    now = time.monotonic()
    interval = float(tailor_settings.STATS_REFRESH_SECONDS)
    index = _holder.index
    if index is not None and now - _holder.checked_at < interval:
        return index
    with _holder.lock:
        if _holder.index is not None and now - _holder.checked_at < interval:
            return _holder.index
        version = shared_version()
        if _holder.index is None or version != _holder.index.version:
            _holder.index = load_index(version)
        _holder.checked_at = now
        return _holder.index


def invalidate_local() -> None:
    """Forget the index in this process (it reloads on next use, under a new key)."""
    with _holder.lock:
        _holder.index = None
        _holder.checked_at = -math.inf


def bump_rules_version() -> None:
    """Tell every process that segments changed."""
    client = get_redis()
    if client is not None:
        client.incr(redis_key("rules-version"))
    else:
        updated = RulesVersion.objects.filter(pk=1).update(version=F("version") + 1)
        if not updated:
            RulesVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    invalidate_local()


def on_segment_changed(**kwargs) -> None:
    transaction.on_commit(bump_rules_version)
