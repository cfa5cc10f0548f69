"""Context buckets for the CONTEXTUAL policy, and the learned choice of which attribute to split by.

A CONTEXTUAL slot names candidate attributes in ``slot.options["split_by"]`` (default
``["segment"]``). Each visitor belongs to one *context key* per attribute, ``"<attribute>=<value>"``:

- ``segment``: the first segment in ``slot.options["segments"]`` (editor's order) the visitor is in,
  or, without that list, the alphabetically first of ``ctx["segments"]``; ``(none)`` for a visitor
  in none of them;
- ``daypart``: morning / afternoon / evening / night on the visitor's wall clock;
- ``weekday``: weekday / weekend on the visitor's wall clock;
- anything else: that context fact (``device``, ``country``, ``language``; a dotted name reads
  into a mapping fact, e.g. ``weather.condition``), lower-cased.

A fact that is unknown gives the value ``?`` (the unknowns are a group of their own, never guessed
into another). Events are counted under ``"*"`` and every context key of the visitor, so the stats of
every candidate attribute accumulate side by side; on refresh the policy picks the attribute whose
split is worth most (`choose_split`) and publishes weights only for that attribute's buckets that
have enough data. A visitor's bucket is then their first context key that has published weights,
else ``"*"`` (`bucket_for`): the slot-wide weights while their bucket is thin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rules.engine.time import daypart

from .statistics import shrunk_rate
from .stats_store import ArmStats
from .vocabulary import DEFAULT_SPLIT, GLOBAL_BUCKET, KIND_CONVERSION, POLICY_CONTEXTUAL

UNKNOWN = "?"
NO_SEGMENT = "(none)"
#: pseudo-impressions pulling a bucket's arm rate toward the slot-wide rate when scoring a split
SPLIT_PRIOR_STRENGTH = 200.0
_MAX_VALUE_LENGTH = 64

#: the context facts each derived attribute reads (its cache dimensions)
_ATTRIBUTE_FACTS = {
    "segment": ("segments",),
    "daypart": ("now", "timezone"),
    "weekday": ("now", "timezone"),
}


def split_attributes(slot: Any) -> tuple[str, ...]:
    """The candidate attributes of a CONTEXTUAL slot (``options["split_by"]``)."""
    raw = (getattr(slot, "options", None) or {}).get("split_by") or DEFAULT_SPLIT
    if isinstance(raw, str):
        raw = [raw]
    attrs = tuple(dict.fromkeys(str(a).strip() for a in raw if str(a).strip()))
    for a in attrs:
        if "=" in a or "|" in a or a == GLOBAL_BUCKET:
            raise ValueError(f"cannot split by {a!r}")
    return attrs or DEFAULT_SPLIT


def attribute_facts(attributes: Iterable[str]) -> frozenset[str]:
    """The context facts that bucketing by `attributes` reads."""
    out: set[str] = set()
    for a in attributes:
        out.update(_ATTRIBUTE_FACTS.get(a, (a.split(".", 1)[0],)))
    return frozenset(out)


def _clean(value: Any) -> str:
    text = str(value).strip().lower().replace("|", "/")[:_MAX_VALUE_LENGTH]
    return text or UNKNOWN


def _segment(ctx: Mapping[str, Any], order: Sequence[str] | None) -> str:
    segments = ctx.get("segments")
    if segments is None:
        return UNKNOWN
    member = {segments} if isinstance(segments, str) else set(map(str, segments))
    if order:
        for s in order:
            if s in member:
                return _clean(s)
        return NO_SEGMENT
    return _clean(min(member)) if member else NO_SEGMENT


def _local_now(ctx: Any):
    local_now = getattr(ctx, "local_now", None)
    return local_now() if callable(local_now) else None


def attribute_value(attribute: str, ctx: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> str:
    """The visitor's value of one split attribute (``?`` when unknown)."""
    if attribute == "segment":
        return _segment(ctx, (options or {}).get("segments"))
    if attribute in ("daypart", "weekday"):
        local = _local_now(ctx)
        if local is None:
            return UNKNOWN
        if attribute == "daypart":
            return daypart(local.hour)
        return "weekend" if local.weekday() >= 5 else "weekday"
    head, _, rest = attribute.partition(".")
    value = ctx.get(head)
    for part in rest.split(".") if rest else ():
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    if value is None or isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _clean(getattr(value, "value", value))  # enums by value


def context_keys(slot: Any, ctx: Mapping[str, Any]) -> tuple[str, ...]:
    """Every context key of the visitor for this slot, one per split attribute, in the slot's order."""
    options = getattr(slot, "options", None) or {}
    return tuple(f"{a}={attribute_value(a, ctx, options)}" for a in split_attributes(slot))


def bucket_for(slot: Any, ctx: Mapping[str, Any], allocations: Mapping[str, Any] | None = None) -> str:
    """The bucket whose allocation applies to this visitor.

    With the slot's published `allocations` (``{bucket: weights}``): the visitor's first context key
    that has weights, else ``"*"``. Without them: the visitor's first context key (the bucket they
    would use once it has data). Non-CONTEXTUAL slots always use ``"*"``.
    """
    if getattr(slot, "policy", None) != POLICY_CONTEXTUAL:
        return GLOBAL_BUCKET
    keys = context_keys(slot, ctx)
    if allocations is None:
        return keys[0] if keys else GLOBAL_BUCKET
    for key in keys:
        if key in allocations:
            return key
    return GLOBAL_BUCKET


def allocation_for(
    slot: Any, ctx: Mapping[str, Any], allocations: Mapping[str, Mapping[str, float]] | None
) -> tuple[str, Mapping[str, float] | None]:
    """``(bucket, weights)`` for this visitor from the slot's published allocations."""
    if not allocations:
        return GLOBAL_BUCKET, None
    bucket = bucket_for(slot, ctx, allocations)
    return bucket, allocations.get(bucket) or allocations.get(GLOBAL_BUCKET)


def bucket_attribute(bucket: str) -> str | None:
    """``"device"`` for ``"device=mobile"``; None for ``"*"``."""
    return bucket.split("=", 1)[0] if "=" in bucket else None


def group_buckets(
    slot_stats: Mapping[str, Mapping[str, ArmStats]], attributes: Iterable[str] | None = None
) -> dict[str, dict[str, Mapping[str, ArmStats]]]:
    """``{attribute: {bucket: arm stats}}`` for the buckets of `attributes` (all when None)."""
    wanted = None if attributes is None else set(attributes)
    out: dict[str, dict[str, Mapping[str, ArmStats]]] = {}
    for bucket, arms in slot_stats.items():
        attr = bucket_attribute(bucket)
        if attr is not None and (wanted is None or attr in wanted):
            out.setdefault(attr, {})[bucket] = arms
    return out


def split_gain(
    buckets: Mapping[str, Mapping[str, ArmStats]],
    overall: Mapping[str, ArmStats],
    arms: Sequence[str],
    *,
    reward: str = KIND_CONVERSION,
    min_impressions: int = 200,
    prior_strength: float = SPLIT_PRIOR_STRENGTH,
) -> float:
    """Expected extra rewards had each bucket shown its own best arm instead of the slot-wide best.

    Only buckets with at least `min_impressions` count. Rates are shrunk toward the slot-wide rate of
    the same arm, so a thin bucket's noise does not pass for a difference.
    """
    if not arms:
        return 0.0
    base = {}
    for a in arms:
        s = overall.get(a, ArmStats())
        base[a] = s.successes(reward) / s.impressions if s.impressions else 0.0
    global_best = max(arms, key=lambda a: (base[a], a))
    gain = 0.0
    for stats in buckets.values():
        n = sum(stats.get(a, ArmStats()).impressions for a in arms)
        if n < min_impressions:
            continue
        rates = {}
        for a in arms:
            s = stats.get(a, ArmStats())
            rates[a] = shrunk_rate(min(s.successes(reward), s.impressions), s.impressions, base[a], prior_strength)
        gain += n * (max(rates.values()) - rates[global_best])
    return gain


def choose_split(
    slot_stats: Mapping[str, Mapping[str, ArmStats]],
    arms: Sequence[str],
    attributes: Sequence[str] | None = None,
    *,
    reward: str = KIND_CONVERSION,
    min_impressions: int = 200,
) -> tuple[str | None, dict[str, float]]:
    """The attribute to split by, and every candidate's `split_gain`.

    One configured attribute is used as soon as it has stats (the editor chose it). Among several,
    the one with the largest positive gain wins; None (slot-wide only) when no split gains anything.
    """
    grouped = group_buckets(slot_stats, attributes)
    overall = slot_stats.get(GLOBAL_BUCKET, {})
    gains = {
        attr: split_gain(b, overall, arms, reward=reward, min_impressions=min_impressions)
        for attr, b in sorted(grouped.items())
    }
    if attributes is not None and len(attributes) == 1:
        return (attributes[0] if attributes[0] in grouped else None), gains
    best = max(gains, key=lambda a: (gains[a], a), default=None)
    return (best if best is not None and gains[best] > 0 else None), gains
