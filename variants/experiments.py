"""Experiments: the slots with two or more variants, and what their events say about them.

`sync_experiments` keeps one `Experiment` row per such slot on the live pages; `review` reads an
experiment's hourly aggregates (`EventAggregate`: impressions, the slot's success kind, and the
inverse-propensity sums that undo a bandit's adaptive allocation) from its `started_at` on, and hands
the counts to the pure statistics engine (`variants.engine.statistics.analyse`). Nothing here
computes a statistic itself. The admin's report and detail pages (`cms.experiments`) and
`manage.py tailor_simulate` read experiments through these two functions; `breakdowns` splits a
review by device, daypart and segment (`EventBreakdown`).

Pausing (`pause_experiment`) shows every visitor the slot's default content until `resume_experiment`:
the compiled page carries the paused state (read when the page is compiled; pausing and resuming
bump the shared rules version that compiled pages are cached under, so deciding still runs no SQL),
and decisions made while paused are marked (bucket ``paused``): their events stay in the event log
but count neither for the bandit's arm stats nor for this review, so the experiment's numbers are
those of the time it ran.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext
from wagtail.models import Page, get_page_models

from rules.segments import bump_rules_version
from variants.compiler import compiled_page, stream_fields
from variants.engine import Slot
from variants.engine.statistics import ALPHA, Analysis, ArmCounts, analyse
from variants.engine.vocabulary import (
    BREAKDOWN_DIMENSIONS,
    DEFAULT_VARIANT,
    KIND_CONVERSION,
    KIND_IMPRESSION,
    PAUSED_BUCKET,
    POLICY_AB,
)
from variants.feedback import feedback, stats_store
from variants.models import EventAggregate, EventBreakdown, Experiment

# --- keeping the experiment rows in step with the pages ------------------------------------------


def _models_with_stream_fields() -> list[type[Page]]:
    return [m for m in get_page_models() if stream_fields(m)]


def sync_experiments(pages=None) -> int:
    """Create or update one `Experiment` per slot with two or more variants on the live `pages`
    (None: every live page whose type can hold a personalized region), and drop the rows of slots
    those pages no longer have. Returns how many experiments the pages hold."""
    if pages is None:
        pages = []
        for model in _models_with_stream_fields():
            pages.extend(model.objects.live().exact_type(model))
    seen = 0
    for page in pages:
        slots = [s for s in compiled_page(page).slots if len(s.variants) >= 2]
        with transaction.atomic():
            for slot in slots:
                Experiment.objects.update_or_create(
                    slot_id=slot.id,
                    defaults={
                        "page_id": page.pk,
                        "slot_name": slot.name,
                        "policy": slot.policy,
                        "variant_count": len(slot.variants),
                    },
                )
            # a slot that lost its variants to a declared winner stays listed, as concluded
            Experiment.objects.filter(page_id=page.pk).exclude(slot_id__in=[s.id for s in slots]).exclude(
                status=Experiment.STATUS_WINNER
            ).delete()
        seen += len(slots)
    return seen


# --- reading the counts --------------------------------------------------------------------------


@dataclass
class Review:
    """Everything the detail page and the report show for one experiment."""

    experiment: Experiment
    slot: Slot | None
    analysis: Analysis | None
    success_kind: str
    #: hour -> arm id -> (impressions, successes) in that hour
    hourly: dict[dt.datetime, dict[str, tuple[int, int]]] = field(default_factory=dict)
    last_hour: dt.datetime | None = None

    @property
    def visitors(self) -> int:
        return self.analysis.impressions if self.analysis else 0

    def arm_name(self, arm_id: str) -> str:
        if arm_id == DEFAULT_VARIANT:
            return gettext("Default")
        if self.slot and (v := self.slot.variant(arm_id)):
            return v.name
        return arm_id


def live_slot(experiment: Experiment) -> Slot | None:
    page = experiment.page.specific
    if not page.live:
        return None
    return compiled_page(page).slot(experiment.slot_id)


def _current_shares(slot: Slot) -> dict[str, float]:
    if slot.policy == POLICY_AB:
        total = sum(v.weight for v in slot.variants) or 1.0
        return {v.id: v.weight / total for v in slot.variants}
    fb = feedback()
    try:
        fb.ensure_fresh([slot])
    except Exception:  # the stats store is down: the review still shows the counts
        return {}
    return dict((fb.allocations(slot.id) or {}).get("*") or {})


def counting_start(experiment: Experiment) -> dt.datetime | None:
    """The first hour the review counts: the one after `started_at` (a reset's own hour is left out
    rather than half counted); None: from the first event."""
    if not experiment.started_at:
        return None
    return experiment.started_at.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)


def review(experiment: Experiment, *, draws: int = 100_000) -> Review:
    slot = live_slot(experiment)
    success = (slot.options.get("reward") if slot else None) or KIND_CONVERSION
    rows = EventAggregate.objects.filter(slot_id=experiment.slot_id, kind__in=[KIND_IMPRESSION, success]).exclude(
        bucket=PAUSED_BUCKET  # shown the default while paused: not part of the experiment
    )
    if (start := counting_start(experiment)) is not None:
        rows = rows.filter(hour__gte=start)
    rows = rows.values("hour", "variant_id", "kind").annotate(n=Sum("count"), w=Sum("weight"), w2=Sum("weight_sq"))
    hourly: dict[dt.datetime, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0.0, 0.0])
    for r in rows:
        t = totals[r["variant_id"]]
        if r["kind"] == KIND_IMPRESSION:
            hourly[r["hour"]][r["variant_id"]][0] += r["n"]
            t[0] += r["n"]
            t[4] += r["w"] or 0.0
            t[5] += r["w2"] or 0.0
        else:
            hourly[r["hour"]][r["variant_id"]][1] += r["n"]
            t[1] += r["n"]
            t[2] += r["w"] or 0.0
            t[3] += r["w2"] or 0.0
    arm_ids = (
        [v.id for v in slot.variants] if slot and slot.variants else sorted(k for k in totals if k != DEFAULT_VARIANT)
    )
    if totals.get(DEFAULT_VARIANT, [0])[0]:
        arm_ids = [DEFAULT_VARIANT, *arm_ids]  # the default was shown: it is the natural control
    shares = _current_shares(slot) if slot else {}
    is_ab = slot is not None and slot.policy == POLICY_AB
    result = Review(experiment, slot, None, success)
    arms = []
    for arm_id in arm_ids:
        t = totals.get(arm_id, [0, 0, 0.0, 0.0, 0.0, 0.0])
        arms.append(
            ArmCounts(
                id=arm_id,
                name=result.arm_name(arm_id),
                # an event log can hold a conversion whose impression was never reported
                impressions=int(max(t[0], t[1])),
                conversions=int(t[1]),
                share=shares.get(arm_id, 0.0 if shares else None),
                expected_share=shares.get(arm_id, 0.0) if is_ab and arm_id != DEFAULT_VARIANT else None,
                conversion_weight=t[2],
                conversion_weight_sq=t[3],
                impression_weight=max(t[4], t[2]),
                impression_weight_sq=max(t[5], t[3]),
            )
        )
    if len(arms) < 2 or not any(a.impressions for a in arms):
        return result  # nothing to analyse yet (and nothing may be called best)
    history, running = [], defaultdict(lambda: [0, 0])
    for hour in sorted(hourly):
        for arm_id, (n, c) in hourly[hour].items():
            running[arm_id][0] += n
            running[arm_id][1] += c
        history.append({a: (max(n, c), c) for a, (n, c) in running.items()})
    result.hourly = {h: {a: tuple(v) for a, v in arms_.items()} for h, arms_ in sorted(hourly.items())}
    result.last_hour = max(hourly) if hourly else None
    result.analysis = analyse(arms, arm_ids[0], history=history[:-1], draws=draws)
    return result


# --- breakdowns: the same review per device, daypart and segment ----------------------------------

#: a breakdown's cells are analysed with fewer posterior draws than the whole review (many cells)
BREAKDOWN_DRAWS = 20_000


@dataclass
class BreakdownCell:
    """One audience of a breakdown (``device=mobile``): the arms' counts there and their analysis,
    None when no arm was shown to it."""

    value: str
    analysis: Analysis | None


@dataclass
class Breakdown:
    """One dimension of the review. Its cells are compared with a Bonferroni correction over the
    audiences that had traffic: intervals at ``confidence`` (1 - 0.05 / audiences) hold together, and
    a winner is called in an audience only at that level and with the usual minimum sample."""

    dimension: str
    cells: list[BreakdownCell]

    @property
    def comparisons(self) -> int:
        """How many audiences are compared (those with traffic)."""
        return sum(1 for c in self.cells if c.analysis is not None)

    @property
    def confidence(self) -> float:
        return 1 - ALPHA / max(1, self.comparisons)


def breakdowns(r: Review, *, draws: int = BREAKDOWN_DRAWS) -> list[Breakdown]:
    """The review `r` split by each of `BREAKDOWN_DIMENSIONS`, from the `EventBreakdown` counts of the
    same period (one query). A visitor in several segments counts in each of them. Decisions made
    while the experiment was paused are not in these counts."""
    experiment = r.experiment
    rows = EventBreakdown.objects.filter(slot_id=experiment.slot_id, kind__in=[KIND_IMPRESSION, r.success_kind])
    if (start := counting_start(experiment)) is not None:
        rows = rows.filter(hour__gte=start)
    rows = rows.values("dimension", "value", "variant_id", "kind").annotate(n=Sum("count"))
    counts: dict[str, dict[str, dict[str, list[int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: [0, 0]))
    )
    for row in rows:
        cell = counts[row["dimension"]][row["value"]][row["variant_id"]]
        cell[0 if row["kind"] == KIND_IMPRESSION else 1] += row["n"]
    arm_ids = [a.id for a in r.analysis.arms] if r.analysis else []
    out = []
    for dimension in BREAKDOWN_DIMENSIONS:
        values = counts.get(dimension, {})
        shown = {v: arms for v, arms in values.items() if any(arms.get(a, [0, 0])[0] for a in arm_ids)}
        k = max(1, len(shown))
        cells = []
        for value in sorted(values, key=lambda v: (-sum(n for n, _ in values[v].values()), v)):
            arms = values[value]
            if value not in shown or len(arm_ids) < 2:
                cells.append(BreakdownCell(value, None))
                continue
            arm_counts = [
                ArmCounts(
                    id=a,
                    name=r.arm_name(a),
                    impressions=int(max(arms.get(a, [0, 0]))),
                    conversions=int(arms.get(a, [0, 0])[1]),
                )
                for a in arm_ids
            ]
            cells.append(BreakdownCell(value, analyse(arm_counts, arm_ids[0], confidence=1 - ALPHA / k, draws=draws)))
        out.append(Breakdown(dimension, cells))
    return out


# --- actions (domain functions; the admin's views call them) ----------------------------------------

ACTION_RESET = "tailor.experiment.reset"
ACTION_WINNER = "tailor.experiment.declare_winner"
ACTION_PAUSE = "tailor.experiment.pause"
ACTION_RESUME = "tailor.experiment.resume"


class ExperimentActionError(ValueError):
    """An action that cannot be taken; the message is for the editor (translated)."""


def reset_experiment(experiment: Experiment, user=None, *, now: dt.datetime | None = None) -> None:
    """Start counting afresh: the review counts events from now on, and the bandit forgets what it
    learned (its arm stats are cleared, so it explores again). The event log and the aggregates keep
    the old events. Recorded in the page's history (Wagtail's audit log)."""
    from wagtail.log_actions import log  # the audit log registry loads every app's hooks: import when acting

    now = now or timezone.now()
    with transaction.atomic():
        experiment.started_at = now
        if experiment.status != Experiment.STATUS_PAUSED:  # a paused experiment stays paused
            experiment.status = Experiment.STATUS_RUNNING
        experiment.winner_variant_id = ""
        experiment.save(update_fields=["started_at", "status", "winner_variant_id", "updated_at"])
        stats_store().reset(experiment.slot_id)
        log(
            instance=experiment.page.specific,
            action=ACTION_RESET,
            user=user,
            data={"slot": experiment.slot_name, "slot_id": experiment.slot_id, "since": now.isoformat()},
        )


def _recompile_everywhere() -> None:
    """Every process recompiles its pages (and so reads the paused slots again) within
    STATS_REFRESH_SECONDS of the commit: the compiled page cache is keyed by the shared rules version."""
    transaction.on_commit(bump_rules_version)


def pause_experiment(experiment: Experiment, user=None, *, now: dt.datetime | None = None) -> None:
    """Stop the experiment for now: every visitor sees the slot's default content, the bandit stops
    exploring and learning, and nothing shown while paused counts in the review. Audited."""
    from wagtail.log_actions import log  # the audit log registry loads every app's hooks: import when acting

    if experiment.status == Experiment.STATUS_WINNER:
        raise ExperimentActionError(gettext("A winner was declared: this experiment is over"))
    if experiment.status == Experiment.STATUS_PAUSED:
        raise ExperimentActionError(gettext("This experiment is already paused"))
    now = now or timezone.now()
    with transaction.atomic():
        experiment.status = Experiment.STATUS_PAUSED
        experiment.paused_at = now
        experiment.save(update_fields=["status", "paused_at", "updated_at"])
        log(
            instance=experiment.page.specific,
            action=ACTION_PAUSE,
            user=user,
            data={"slot": experiment.slot_name, "slot_id": experiment.slot_id, "since": now.isoformat()},
        )
        _recompile_everywhere()


def resume_experiment(experiment: Experiment, user=None, *, now: dt.datetime | None = None) -> None:
    """Run a paused experiment again: the variants are shown and counted as before the pause (what was
    counted before it still counts; use reset to start afresh). Audited."""
    from wagtail.log_actions import log  # the audit log registry loads every app's hooks: import when acting

    if experiment.status != Experiment.STATUS_PAUSED:
        raise ExperimentActionError(gettext("This experiment is not paused"))
    now = now or timezone.now()
    paused_at = experiment.paused_at
    with transaction.atomic():
        experiment.status = Experiment.STATUS_RUNNING
        experiment.paused_at = None
        experiment.save(update_fields=["status", "paused_at", "updated_at"])
        log(
            instance=experiment.page.specific,
            action=ACTION_RESUME,
            user=user,
            data={
                "slot": experiment.slot_name,
                "slot_id": experiment.slot_id,
                "paused_at": paused_at.isoformat() if paused_at else None,
                "resumed_at": now.isoformat(),
            },
        )
        _recompile_everywhere()


def _find_slot_value(node, slot_id: str) -> dict | None:
    """The raw value of the PersonalizedBlock with block id `slot_id`, anywhere in raw stream data."""
    if isinstance(node, dict):
        if node.get("id") == slot_id and isinstance(node.get("value"), dict) and "variants" in node["value"]:
            return node["value"]
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_slot_value(child, slot_id)
        if found is not None:
            return found
    return None


def declare_winner(experiment: Experiment, variant_id: str, user=None, *, publish: bool = False):
    """Make `variant_id`'s content the slot's default in a new revision of the page (from its latest
    draft), published or left as a draft; the slot's variants are removed (they remain in the page's
    revision history), which ends the experiment. Recorded in the page's history. Returns the revision.
    """
    from wagtail.log_actions import log  # the audit log registry loads every app's hooks: import when acting

    page = experiment.page.specific
    draft = page.get_latest_revision_as_object()
    for f in stream_fields(type(draft)):
        raw = getattr(draft, f.attname).get_prep_value()
        value = _find_slot_value(raw, experiment.slot_id)
        if value is None:
            continue
        items = value.get("variants") or []
        chosen = next(
            (i for i in items if isinstance(i, dict) and (i.get("id") == variant_id)),
            None,
        )
        if chosen is None:
            raise ExperimentActionError(gettext("This slot has no variant with that id any more"))
        winner = chosen.get("value") or {}
        value["default"] = winner.get("content") or []
        value["variants"] = []
        setattr(draft, f.attname, raw)
        break
    else:
        raise ExperimentActionError(gettext("The page's latest version no longer holds this slot"))
    with transaction.atomic():
        revision = draft.save_revision(user=user, log_action=True)
        if publish:
            revision.publish(user=user)
        was_paused = experiment.status == Experiment.STATUS_PAUSED
        experiment.status = Experiment.STATUS_WINNER
        experiment.winner_variant_id = variant_id
        experiment.paused_at = None
        experiment.save(update_fields=["status", "winner_variant_id", "paused_at", "updated_at"])
        if was_paused:
            _recompile_everywhere()  # the live page is no longer paused (until the new version is published)
        log(
            instance=page,
            action=ACTION_WINNER,
            user=user,
            revision=revision,
            data={
                "slot": experiment.slot_name,
                "slot_id": experiment.slot_id,
                "variant": winner.get("name") or variant_id,
                "variant_id": variant_id,
                "published": publish,
            },
        )
    return revision


# --- near-duplicate variants ------------------------------------------------------------------------

#: variants whose text is at least this similar (rapidfuzz ratio, 0-100) are flagged: they split
#: traffic without testing anything
NEAR_DUPLICATE_THRESHOLD = 90.0

_TAG = re.compile(r"<[^>]+>")


def _texts(node) -> list[str]:
    """The strings in raw block data (rich text without its tags), skipping ids and block types."""
    if isinstance(node, str):
        return [html.unescape(_TAG.sub(" ", node))]
    if isinstance(node, list):
        return [t for child in node for t in _texts(child)]
    if isinstance(node, dict):
        return [t for key, child in node.items() if key not in ("id", "type") for t in _texts(child)]
    return []


def variant_texts(experiment: Experiment) -> dict[str, tuple[str, str]]:
    """``{variant id: (name, text of its content)}`` from the live page's raw data."""
    page = experiment.page.specific
    for f in stream_fields(type(page)):
        value = _find_slot_value(getattr(page, f.attname).get_prep_value(), experiment.slot_id)
        if value is not None:
            out = {}
            for item in value.get("variants") or []:
                if isinstance(item, dict) and isinstance(item.get("value"), dict):
                    v = item["value"]
                    out[item.get("id")] = (v.get("name") or "", " ".join(" ".join(_texts(v.get("content"))).split()))
            return out
    return {}


def near_duplicates(
    experiment: Experiment, threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> list[tuple[str, str, float]]:
    """Pairs of variants whose content reads almost the same: ``(name, name, similarity 0-100)``."""
    from rapidfuzz import fuzz  # only the review needs it; keeps importing this module cheap

    items = [(name, text) for name, text in variant_texts(experiment).values() if text]
    pairs = []
    for i, (name_a, text_a) in enumerate(items):
        for name_b, text_b in items[i + 1 :]:
            score = fuzz.ratio(text_a.casefold(), text_b.casefold())
            if score >= threshold:
                pairs.append((name_a, name_b, round(score, 1)))
    return pairs
