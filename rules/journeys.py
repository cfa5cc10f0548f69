"""Journeys, funnel stages and predictions for a request: the Django side of
`rules.engine.journey` and `rules.engine.prediction`.

- `record_journey_view` adds the page being viewed to the consented profile's journey (page id,
  section, kind, dwell, entry source; see the engine module for the shape and its bounds) and
  `record_conversion` a conversion (from `recordEvent` / the beacon). The journey lives on the
  profile, so `setConsent(personalization: false)`, `forgetVisitor` and the profile's retention
  remove it with the rest; nothing here is kept without personalization consent.
- `journey_facts` / `stage_facts` turn the profile into the ``journey``, ``conversion_likelihood``,
  ``next_section`` and ``journey_stage`` facts. The model and the stages are loaded once and reloaded
  when the shared rules version changes (saving a stage, `tailor_predict train`), so deciding runs
  no SQL in between.
- `likelihood_spread` shows how predicted likelihood is spread across devices and segments.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.db import transaction

from rules.engine import ConditionError, Context, Fact, registry
from rules.engine.campaign import split_referrer
from rules.engine.context import SOURCE_PROFILE, utcnow
from rules.engine.journey import (
    JourneySummary,
    Stage,
    StageResult,
    assign_stage,
    clean_section,
    entry_source,
    page_kind,
    record_page,
    summarize,
    summary_session,
)
from rules.engine.journey import (
    record_conversion as add_conversion,
)
from rules.engine.prediction import (
    SiteTable,
    TreeModel,
    next_section,
    predict_likelihood,
    session_features,
)
from rules.ml import predict as ml
from rules.models import JourneyStage, PredictionModel
from rules.profiles import Profile, profile_store, section_of
from rules.segments import bump_rules_version, segment_index
from tailor.settings import tailor_settings

logger = logging.getLogger("tailor.journeys")

#: the facts this module provides (a page whose conditions read none of them computes nothing)
PREDICTION_FACTS = frozenset({"conversion_likelihood", "next_section"})


# --- recording ----------------------------------------------------------------------------------


def describe_page(page, path: str | None) -> tuple[int | None, str | None, str]:
    """(page id, section, kind) of the page being viewed: the section is the first part of its URL
    path, the kind its model's ``tailor_page_kind`` or a guess from the page type and the section."""
    section = clean_section(section_of(path or getattr(page, "url_path", "") or ""))
    page_id = getattr(page, "pk", None)
    model = type(page)._meta.model_name if page is not None and hasattr(type(page), "_meta") else None
    return (
        (page_id if isinstance(page_id, int) else None),
        section,
        page_kind(section, model, getattr(page, "tailor_page_kind", None)),
    )


def _retention_seconds() -> float:
    return float(tailor_settings.PROFILE_RETENTION_DAYS) * 86400


def record_journey_view(
    profile: Profile,
    ctx: Context,
    *,
    now: datetime,
    page_id: int | None,
    section: str | None,
    kind: str | None,
) -> None:
    """Add this page view to the profile's journey (the caller has checked personalization consent)."""
    local = ctx.local_now() or now
    referrer = ctx.get("referrer")
    host = split_referrer(referrer)[1] if isinstance(referrer, str) and referrer else None
    profile.journey = record_page(
        profile.journey,
        now=now.timestamp(),
        page_id=page_id,
        section=section,
        kind=kind or page_kind(section),
        entry=entry_source(ctx.get("utm"), referrer if isinstance(referrer, str) else None, host),
        month=local.month,
        weekend=local.weekday() >= 5,
        retention_seconds=_retention_seconds(),
    )


def record_conversion(visitor_id: str | None, value: float | None = None, *, now: datetime | None = None) -> bool:
    """Count a conversion in the visitor's journey, only when their profile has personalization
    consent. Never raises: a journey is a nicety, the event itself was recorded already."""
    if not visitor_id:
        return False
    try:
        store = profile_store()
        profile = store.get(visitor_id)
        if profile is None or not profile.consent_personalization:
            return False
        profile.journey = add_conversion(profile.journey, now=(now or utcnow()).timestamp(), value=value)
        store.save(profile)
        return True
    except Exception:
        logger.warning("could not add a conversion to a journey", exc_info=True)
        return False


# --- the stages and the model, loaded per rules version -------------------------------------------


class StageIndex:
    def __init__(self, stages: Iterable[Stage]):
        self.stages = tuple(sorted(stages, key=lambda s: s.order))
        self.facts = frozenset().union(*(s.condition.fact_names() for s in self.stages if s.condition))

    def assign(self, ctx: Context) -> StageResult | None:
        return assign_stage(self.stages, ctx) if self.stages else None


def _load_stages() -> StageIndex:
    stages = []
    for row in JourneyStage.objects.filter(enabled=True):
        spec = row.condition_spec()
        try:
            condition = registry.build(spec) if spec is not None else None
        except ConditionError:
            continue  # an invalid stored stage holds nobody
        stages.append(Stage(row.slug, row.name, row.order, condition))
    return StageIndex(stages)


def _load_model() -> tuple[TreeModel, SiteTable]:
    row = PredictionModel.objects.filter(active=True).first()
    if row is not None:
        try:
            model = ml.from_bytes(bytes(row.arrays), row.meta)
            return model, SiteTable.from_json(row.meta.get("site"))
        except Exception:
            logger.warning("the site's prediction model cannot be read; using the shipped one", exc_info=True)
    model = ml.load()
    return model, SiteTable.from_json(model.meta.get("site"))


class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.key: Any = None
        self.stages: StageIndex | None = None
        self.model: tuple[TreeModel, SiteTable] | None = None


_cache = _Cache()


def _current() -> _Cache:
    key = segment_index().key  # the shared rules version, checked at most every STATS_REFRESH_SECONDS
    if _cache.key != key:
        with _cache.lock:
            if _cache.key != key:
                _cache.stages, _cache.model, _cache.key = None, None, key
    return _cache


def stage_index() -> StageIndex:
    cache = _current()
    if cache.stages is None:
        cache.stages = _load_stages()
    return cache.stages


def current_model() -> tuple[TreeModel, SiteTable]:
    cache = _current()
    if cache.model is None:
        cache.model = _load_model()
    return cache.model


# --- facts --------------------------------------------------------------------------------------


def _returning(profile: Profile) -> bool:
    sessions = (profile.journey or {}).get("sessions") or ()
    return len(sessions) > 1 or profile.visit_count > 1


def likelihood_for(profile: Profile, table: SiteTable | None = None, model: TreeModel | None = None):
    """The `Likelihood` of the profile's current session, or None without a journey."""
    sessions = (profile.journey or {}).get("sessions") or ()
    if not sessions:
        return None
    if model is None or table is None:
        model, table = current_model()
    return predict_likelihood(model, session_features(sessions[-1], table, returning=_returning(profile)))


def journey_facts(profile: Profile | None, needed: frozenset[str], ctx: Context | None = None) -> list[Fact]:
    """``journey`` always (when there is one), the predictions when a condition reads them. Without
    a profile, a journey the Simulator states (a ``journey`` fact in `ctx`) is predicted from."""
    forced = ctx.get("journey") if ctx is not None else None
    if profile is None and isinstance(forced, JourneySummary):
        local = ctx.local_now() or utcnow()
        session = summary_session(forced, local.month, local.weekday() >= 5)
        profile = Profile("simulated", visit_count=1, journey={"v": 1, "conversions": 0, "sessions": [session]})
        facts: list[Fact] = []
        summary = forced
    elif profile is None or (summary := summarize(profile.journey)) is None:
        return []
    else:
        facts = [Fact("journey", summary, SOURCE_PROFILE, _journey_detail(summary))]
    wanted = needed | stage_index().facts
    if wanted & PREDICTION_FACTS:
        try:
            model, table = current_model()
        except Exception:
            logger.warning("the prediction model cannot be loaded", exc_info=True)
            return facts
        if "conversion_likelihood" in wanted:
            likely = likelihood_for(profile, table, model)
            if likely is not None:
                detail = ", ".join(likely.signals)
                facts.append(Fact("conversion_likelihood", likely, SOURCE_PROFILE, detail))
        if "next_section" in wanted:
            nxt = next_section(table, summary.trail)
            if nxt is not None:
                facts.append(Fact("next_section", nxt, SOURCE_PROFILE))
    return facts


def _journey_detail(summary: JourneySummary) -> str:
    return f"{summary.pages} pages, {round(summary.minutes, 1)} min, {summary.sessions} sessions"


def stage_facts(ctx: Context) -> list[Fact]:
    if not isinstance(ctx.get("journey"), JourneySummary):
        return []
    result = stage_index().assign(ctx)
    if result is None:
        return []
    return [Fact("journey_stage", result, SOURCE_PROFILE, result.reason)]


# --- training and spreads -----------------------------------------------------------------------


def consented_journeys(limit: int = 100_000) -> list[Profile]:
    return [p for p in profile_store().all(limit) if p.consent_personalization and (p.journey or {}).get("sessions")]


def train_from_site(
    *,
    min_sessions: int = 500,
    min_conversions: int = 20,
    csv_path: str | None = None,
    limit: int = 100_000,
    log=lambda _m: None,
) -> PredictionModel:
    """Learn from the site's consented journeys: the page values, bounce and exit rates and the
    next-section table always; the trees too when there are `min_sessions` sessions with
    `min_conversions` conversions (else the trees of `csv_path`, else the current ones). Saved as
    the active `PredictionModel`; every process picks it up within STATS_REFRESH_SECONDS."""
    pairs = list(ml.completed_sessions(p.journey for p in consented_journeys(limit)))
    table = ml.site_table([s for s, _r in pairs])
    X, y = ml.session_rows(pairs, table)
    conversions = int(y.sum()) if len(y) else 0
    log(f"{len(pairs)} sessions ({conversions} converted) from consented journeys; {len(table.pages)} pages valued")
    source = "site"
    if len(pairs) >= min_sessions and conversions >= min_conversions and conversions < len(pairs):
        model = ml.export(ml.train_model(X, y))
    elif csv_path:
        Xc, yc = ml.load_csv(csv_path)
        model = ml.export(ml.train_model(Xc, yc))
        source = "csv"
    else:
        model = current_model()[0]
        source = "current"
    log(f"trees: {source}")
    meta = {
        **{k: v for k, v in dict(model.meta).items() if k != "site"},
        "features": list(model.features),
        "trees_from": source,
        "sessions": len(pairs),
        "conversions": conversions,
        "trained_at": datetime.now(UTC).isoformat(),
        "site": table.to_json(),
    }
    if len(pairs) and len(set(y.tolist())) == 2:
        meta["train_metrics"] = ml.metrics(y.astype(np.float64), model.probability_many(X))
    with transaction.atomic():
        PredictionModel.objects.filter(active=True).update(active=False)
        row = PredictionModel.objects.create(arrays=ml.to_bytes(model), meta=meta, active=True)
    bump_rules_version()  # every process reloads the model within STATS_REFRESH_SECONDS
    return row


def likelihood_spread(limit: int = 10_000, threshold: float = 0.5) -> dict[str, Any]:
    """How predicted likelihood is spread across devices and segments over the consented journeys:
    ``{"device": {"mobile": {"n", "mean", "p50", "p90", "likely"}, ...}, "segment": {...}}``
    (``likely``: the share at or above `threshold`). For reviews and audits: a model that rates one
    device or audience systematically lower shows up here."""
    model, table = current_model()
    index = segment_index()
    groups: dict[str, dict[str, list[float]]] = {"device": {}, "segment": {}, "entry": {}}
    for profile in consented_journeys(limit):
        likely = likelihood_for(profile, table, model)
        if likely is None:
            continue
        device = max(profile.devices, key=profile.devices.get) if profile.devices else "unknown"
        groups["device"].setdefault(device, []).append(likely.probability)
        summary = summarize(profile.journey)
        groups["entry"].setdefault(summary.entry if summary else "unknown", []).append(likely.probability)
        ctx = Context({"device": Fact("device", device, SOURCE_PROFILE)} if device != "unknown" else {})
        members = index.members(ctx.with_facts(*journey_facts(profile, frozenset())), profile) or {"(none)"}
        for slug in members:
            groups["segment"].setdefault(slug, []).append(likely.probability)
    return ml.spread(groups, threshold)
