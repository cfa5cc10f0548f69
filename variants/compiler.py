"""Compile a page's personalized regions into engine `Slot`s, once per published revision.

Compilation reads the StreamField's raw JSON (no `to_python`, so no SQL for choosers) and builds every
condition through the engine registry. The result is cached in-process, keyed by what it depends on:
the page, its live revision and the segment index it was compiled against (`SegmentIndex.key`, which
changes when segments change). Nothing below has to clear it, and deciding a request runs no SQL.
Which slots' experiments are paused is read when compiling too (one query); pausing or resuming
bumps the same shared version, so every process recompiles within STATS_REFRESH_SECONDS.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext, gettext_noop
from wagtail import blocks as wagtail_blocks
from wagtail.fields import StreamField

from rules.blocks import conditions_spec, load_condition_hooks
from rules.engine import Condition, ConditionError, Outcome, registry
from rules.segments import SegmentIndex, segment_index
from tailor.settings import tailor_settings
from variants.blocks import PersonalizedBlock, slot_options, variant_is_complete
from variants.engine import Slot, Variant
from variants.engine.policies import PolicyError, make_policy
from variants.engine.vocabulary import POLICY_AB, POLICY_RULES


class InvalidCondition(Condition):
    """Stands in for stored conditions that no longer validate: never matches, says why.

    Compiled pages are shared by requests in every language, so with the `spec` at hand the engine's
    message is worked out again when it is shown, in the language of the request that reads it.
    """

    type = "_invalid"
    label = gettext_noop("Invalid condition")

    def __init__(self, message: str, spec: dict[str, Any] | None = None):
        self.message = message
        self.spec = spec

    def to_params(self):
        return {"message": self.message}

    def _message(self) -> str:
        if self.spec is not None:
            try:
                registry.build(self.spec)
            except ConditionError as e:
                return str(e)
        return self.message

    def describe(self) -> str:
        return gettext("invalid condition (%(message)s)") % {"message": self._message()}

    def evaluate(self, ctx) -> Outcome:
        return Outcome(False, self.describe())


@dataclass(frozen=True)
class CompiledPage:
    page_id: int
    revision: Any
    slots: tuple[Slot, ...]

    @property
    def facts(self) -> frozenset[str]:
        """Every context fact some variant of this page reads."""
        return frozenset().union(*(v.facts for s in self.slots for v in s.variants))

    def slot(self, slot_id: str) -> Slot | None:
        for s in self.slots:
            if s.id == slot_id:
                return s
        return None


def _variant_items(raw_list: Any) -> Iterator[tuple[str | None, dict]]:
    for item in raw_list or []:
        # ListBlock raw data: {"type": "item", "value": ..., "id": ...}; older data: the bare value.
        if isinstance(item, dict) and item.get("type") == "item" and "value" in item:
            yield item.get("id"), item.get("value") or {}
        elif isinstance(item, dict):
            yield None, item


def _name_segments(spec: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Give InSegment conditions the segment's name, so reasons read "In segment Mobile evening readers"."""
    if spec.get("type") == "in_segment" and spec.get("segment") in names:
        return {**spec, "name": names[spec["segment"]]}
    if spec.get("type") in ("all", "any"):
        return {**spec, "conditions": [_name_segments(c, names) for c in spec["conditions"]]}
    if spec.get("type") == "not":
        return {**spec, "condition": _name_segments(spec["condition"], names)}
    return spec


def _valid_options(slot: Slot) -> Slot:
    """The slot, or the slot with default options when its stored options no longer validate
    (a refresh must never fail on one bad slot)."""
    try:
        make_policy(slot)
    except (PolicyError, ValueError):
        defaults = slot_options(slot.policy, {})
        return Slot(id=slot.id, name=slot.name, variants=slot.variants, policy=slot.policy, options=defaults)
    return slot


def compile_slot(
    slot_id: str, raw: dict[str, Any], segment_names: dict[str, str] | None = None, complete_only: bool = False
) -> Slot:
    """`complete_only`: leave out variants without a name or content (pages: an autosaved draft may
    hold a variant an editor has only begun; it must never match)."""
    variants = []
    for index, (variant_id, value) in enumerate(_variant_items(raw.get("variants"))):
        if complete_only and not variant_is_complete(value):
            continue
        spec = conditions_spec(value.get("conditions") or [], value.get("match") or "all")
        if spec and segment_names:
            spec = _name_segments(spec, segment_names)
        condition: Condition | None
        try:
            condition = registry.build(spec) if spec else None
        except ConditionError as e:
            condition = InvalidCondition(str(e), spec)
        weight = value.get("weight")
        variants.append(
            Variant(
                id=variant_id or f"{slot_id}-{index}",
                name=(value.get("name") or f"Variant {index + 1}").strip(),
                condition=condition,
                weight=float(weight) if isinstance(weight, (int, float)) and weight >= 0 else 1.0,
            )
        )
    policy = raw.get("policy") or POLICY_RULES
    slot = Slot(
        id=slot_id,
        name=raw.get("slot") or slot_id,
        variants=tuple(variants),
        policy=policy,
        options=slot_options(policy, raw.get("options")),
    )
    return _valid_options(slot) if slot.options or policy == POLICY_AB else slot


def _walk(block: wagtail_blocks.Block, raw: Any, block_id: str | None, out: list[Slot], names=None) -> None:
    if isinstance(block, PersonalizedBlock):
        if block_id and isinstance(raw, dict):
            out.append(compile_slot(block_id, raw, names, complete_only=True))
        return
    if isinstance(block, wagtail_blocks.BaseStreamBlock):
        for item in raw or []:
            if isinstance(item, dict) and item.get("type") in block.child_blocks:
                _walk(block.child_blocks[item["type"]], item.get("value"), item.get("id"), out, names)
    elif isinstance(block, wagtail_blocks.BaseStructBlock):
        if isinstance(raw, dict):
            for name, child in block.child_blocks.items():
                _walk(child, raw.get(name), None, out, names)
    elif isinstance(block, wagtail_blocks.ListBlock):
        for item_id, value in _variant_items(raw):
            _walk(block.child_block, value, item_id, out, names)


def stream_fields(page) -> Iterable[StreamField]:
    return [f for f in page._meta.get_fields() if isinstance(f, StreamField)]


def paused_slot_ids(page) -> frozenset[str]:
    """The slots of `page` whose experiment is paused (one query, at compile time only: pausing or
    resuming bumps the shared rules version, which the compiled page cache is keyed by)."""
    if page.pk is None:
        return frozenset()
    from variants.models import Experiment  # models load after the apps: import when compiling

    return frozenset(
        Experiment.objects.filter(page_id=page.pk, status=Experiment.STATUS_PAUSED).values_list("slot_id", flat=True)
    )


def compile_page(page, index: SegmentIndex | None = None) -> CompiledPage:
    """Compile without caching (used for previews of unsaved content)."""
    load_condition_hooks()
    names = (index or segment_index()).names
    slots: list[Slot] = []
    for field in stream_fields(page):
        value = getattr(page, field.attname, None)
        if value is None:
            continue
        _walk(field.stream_block, list(value.raw_data), None, slots, names)
    paused = paused_slot_ids(page) if slots else frozenset()
    if paused:
        slots = [dataclasses.replace(s, paused=True) if s.id in paused else s for s in slots]
    return CompiledPage(page.pk, page_revision_key(page), tuple(slots))


def page_revision_key(page) -> tuple:
    return (page.live_revision_id, page.last_published_at)


class CompiledPageCache:
    """A small thread-safe LRU of compiled pages, keyed by page, revision and segment index.

    An entry compiled against an older segment index is never served again; it ages out of the LRU.
    """

    def __init__(self) -> None:
        self._items: OrderedDict[tuple, CompiledPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, page, index: SegmentIndex | None = None) -> CompiledPage:
        """`page` compiled against `index` (default: the current segment index)."""
        if index is None:
            index = segment_index()
        key = (page.pk, page_revision_key(page), index.key)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        compiled = compile_page(page, index)
        with self._lock:
            self._items[key] = compiled
            while len(self._items) > max(1, int(tailor_settings.COMPILED_PAGE_CACHE_SIZE)):
                self._items.popitem(last=False)
        return compiled

    def clear(self) -> None:
        """Forget every compiled page (tests; entries otherwise age out)."""
        with self._lock:
            self._items.clear()


compiled_pages = CompiledPageCache()


def compiled_page(page, index: SegmentIndex | None = None) -> CompiledPage:
    return compiled_pages.get(page, index)
