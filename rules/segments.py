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
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from rules.engine import Condition, ConditionError, Context, registry
from rules.engine.i18n import _
from rules.ml.clustering import NothingToSplit, discover
from rules.models import RulesVersion, Segment
from rules.profiles import Profile, RedisProfileStore, profile_store
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
                    reason = _("%(segment)s: visitor profile unknown") % {"segment": s.name}
                    results.append(SegmentResult(s.slug, s.name, None, reason))
                    continue
                inside = cluster_index(s.cluster, profile) == s.cluster["index"]
                if inside:
                    reason = _("%(segment)s: behaves like this discovered group") % {"segment": s.name}
                else:
                    reason = _("%(segment)s: does not behave like this discovered group") % {"segment": s.name}
                results.append(SegmentResult(s.slug, s.name, inside, reason))
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


def _due(now: float, ahead: float = 0.0) -> bool:
    """The shared version is due for its check at `now` (or within `ahead` seconds of it)."""
    interval = float(tailor_settings.STATS_REFRESH_SECONDS)
    return _holder.index is None or now + ahead - _holder.checked_at >= interval


def segment_index(version: int | None = None) -> SegmentIndex:
    """The current index, re-checking the shared version at most every STATS_REFRESH_SECONDS.

    `version` is the shared version when the caller has just read it (`profile_and_version` reads it
    with the visitor's profile, in the same Redis round trip); otherwise it is read here when due."""
    now = time.monotonic()
    index = _holder.index
    if version is None and index is not None and not _due(now):
        return index
    with _holder.lock:
        if version is None and not _due(now):
            return _holder.index
        if version is None:
            version = shared_version()
        if _holder.index is None or version != _holder.index.version:
            _holder.index = load_index(version)
        _holder.checked_at = now
        return _holder.index


def profile_and_version(visitor_id: str | None):
    """The visitor's stored profile (None when unknown), with the segment index's version check done
    on the way when it is due: when both live in Redis, one pipelined round trip reads both, so a
    request that refreshes its segments still talks to Redis once."""
    store = profile_store()
    client = get_redis()
    # due now or within the next second: the request that reads the profile is the one to check, so
    # its own later look at the index (when it compiles or decides) finds it fresh
    ahead = min(1.0, float(tailor_settings.STATS_REFRESH_SECONDS) / 2)
    if client is None or not _due(time.monotonic(), ahead) or not isinstance(store, RedisProfileStore):
        return store.get(visitor_id) if visitor_id else None
    pipe = client.pipeline(transaction=False)
    if visitor_id:
        pipe.get(store.key(visitor_id))
    pipe.get(redis_key("rules-version"))
    *raw, version = pipe.execute()
    segment_index(int(version or 0))
    return Profile.from_json(raw[0]) if raw and raw[0] else None


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


# --- discovery: proposals from clustering (the command, the admin's "Run discovery" task) ---------


@dataclass
class DiscoveryOutcome:
    """What one discovery run did, in the words the command and the admin's status page print."""

    profiles: int
    run: str = ""
    #: (summary, size) of each proposal, largest first
    proposals: list[tuple[str, int]] = field(default_factory=list)
    saved: bool = False
    #: why nothing was proposed ("" when something was)
    message: str = ""

    def as_dict(self) -> dict:
        return {
            "profiles": self.profiles,
            "run": self.run,
            "proposals": [list(p) for p in self.proposals],
            "saved": self.saved,
            "message": self.message,
        }


class NotEnoughProfiles(ValueError):
    pass


def discover_segments(
    *,
    clusters: int | None = None,
    min_profiles: int = 50,
    max_profiles: int = 20000,
    seed: int = 0,
    dry_run: bool = False,
    profiles=None,
) -> DiscoveryOutcome:
    """Cluster the consented profiles into disabled proposals (replacing the proposals nobody approved).

    Raises `NotEnoughProfiles` below `min_profiles` (at least 4) and ValueError for an impossible
    `clusters`; profiles that all behave alike give an outcome with no proposals and a `message`.
    """
    if clusters is not None and clusters < 1:
        raise ValueError("--clusters must be at least 1")
    if profiles is None:
        profiles = [p for p in profile_store().all(max_profiles) if p.page_views > 0]
    need = max(4, min_profiles)
    if len(profiles) < need:
        raise NotEnoughProfiles(
            gettext(
                "Only %(count)s consented profiles with page views; need %(need)s (lower --min-profiles to "
                "cluster fewer)"
            )
            % {"count": len(profiles), "need": need}
        )
    run = timezone.now().strftime("%Y%m%d%H%M%S")
    try:
        found = discover(profiles, clusters=clusters, seed=seed, run=run)
    except NothingToSplit:
        return DiscoveryOutcome(
            len(profiles),
            run,
            message=gettext(
                "All %(count)s profiles behave the same (same visits, devices, times of day and sections): "
                "there is nothing to split into segments, so nothing was proposed."
            )
            % {"count": len(profiles)},
        )
    ordered = sorted(found.clusters, key=lambda c: -c.size)
    outcome = DiscoveryOutcome(len(profiles), run, [(c.summary, c.size) for c in ordered])
    if dry_run:
        return outcome
    with transaction.atomic():
        # Proposals nobody approved are replaced; approved (enabled) segments stay with their own run.
        Segment.objects.filter(kind=Segment.KIND_DISCOVERED, enabled=False).delete()
        taken = set(Segment.objects.values_list("name", flat=True))
        for c in found.clusters:
            name = f"Discovered {run}-{c.index + 1}: {c.summary}"[:100]
            if name in taken:  # a same-second rerun: names are unique
                name = f"{name[:90]} ({c.index + 1})"
            Segment.objects.create(
                name=name,
                slug=f"discovered-{run}-{c.index + 1}",
                kind=Segment.KIND_DISCOVERED,
                enabled=False,
                summary=c.summary,
                description=gettext("%(size)s of %(total)s visitors in run %(run)s. Name it and approve it to use it.")
                % {"size": c.size, "total": len(profiles), "run": run},
                cluster=found.cluster_json(c.index),
                size=c.size,
            )
    outcome.saved = True
    return outcome


def membership_explanation(segment: Segment) -> str:
    """How a discovered segment picks its members, in plain words (the admin shows it)."""
    cluster = segment.cluster or {}
    others = max(0, len(cluster.get("centers") or []) - 1)
    sections = [f.split(":", 1)[1] for f in cluster.get("features") or [] if f.startswith("section:")]
    words = {
        "others": others,
        "sections": ", ".join(sections) or gettext("none"),
        "run": cluster.get("run", "?"),
    }
    text = (
        ngettext(
            "A visitor is in this segment when their behaviour is closer to this group's typical visitor than to "
            "the %(others)s other group found in run %(run)s.",
            "A visitor is in this segment when their behaviour is closer to this group's typical visitor than to "
            "the %(others)s other groups found in run %(run)s.",
            others,
        )
        % words
    )
    return " ".join(
        [
            text,
            gettext(
                "Behaviour means: how many times they came, which devices they use, at what time of day "
                "(morning, afternoon, evening, night), and the share of their page views in each of these "
                "sections: %(sections)s."
            )
            % words,
            gettext(
                "Only visitors who consented to personalization and viewed at least one page can match; "
                "there are no conditions to edit, and the membership is re-checked on every request."
            ),
        ]
    )
