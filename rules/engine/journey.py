"""Journeys: a consented visitor's compact session history, its summary, and journey conditions.

Plain Python (no Django). A *journey* is a JSON-safe dict kept on the visitor profile (only with
personalization consent, so forgetting the profile forgets it):

``{"v": 1, "conversions": int, "sessions": [session, ...]}`` (oldest first, at most MAX_SESSIONS), where
a session is::

    {"start": epoch s, "last": epoch s, "entry": "direct" | "search" | "social" | "campaign" |
     "referral" | "unknown", "views": int, "pages": [page id, ...] (at most MAX_PAGES),
     "trail": [section, ...] (consecutive repeats collapsed, at most MAX_PAGES),
     "kinds": {kind: [views, seconds]}, "sections": {section: [views, seconds]} (at most MAX_SECTIONS),
     "lk": the last page's kind, "conv": int, "value": float, "conv_at": views at the first conversion,
     "month": 1-12, "weekend": bool}

Page ids and section names only: never a URL, a query string or any text. Dwell time is the time to
the next page view, capped at MAX_DWELL_SECONDS and credited to the page's section and kind; the exit
page is a session's last page and a bounce is a one-page session. Sessions older than the retention
window are dropped whenever the journey is written.

`summarize` turns a journey into the ``journey`` fact conditions read; `JourneyMetric` tests a number
of it, `InJourneyStage` reads the ``journey_stage`` fact (an editor's funnel, see `assign_stage`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .conditions import Condition, ConditionError, Outcome, register
from .context import Context
from .i18n import _, fmt_number, gettext_noop, ngettext
from .params import is_blank, number_param
from .vocabulary import ENTRY_SOURCES, PAGE_KINDS

JOURNEY_VERSION = 1
MAX_SESSIONS = 8
MAX_PAGES = 40
MAX_SECTIONS = 12
MAX_SECTION_LENGTH = 40
#: a new session starts after this long without a page view (the profile's visit gap)
SESSION_GAP_SECONDS = 30 * 60
MAX_DWELL_SECONDS = 30 * 60

#: the words that make a page a product or an account page (`page_kind`); anything else is informational
_KIND_WORDS = {
    "product": (
        "product",
        "products",
        "shop",
        "store",
        "catalog",
        "catalogue",
        "item",
        "items",
        "offer",
        "offers",
        "deal",
        "deals",
        "pricing",
        "price",
        "prices",
        "plans",
        "plan",
        "cart",
        "basket",
        "checkout",
        "buy",
        "order",
        "collection",
        "collections",
        "category",
        "sale",
        "trial",
        "demo",
    ),
    "administrative": (
        "account",
        "accounts",
        "login",
        "signin",
        "sign-in",
        "logout",
        "signup",
        "sign-up",
        "register",
        "settings",
        "profile",
        "my",
        "orders",
        "password",
        "admin",
        "dashboard",
        "billing",
    ),
}
_SEARCH_HOSTS = re.compile(r"(^|\.)(google|bing|duckduckgo|yahoo|naver|daum|baidu|yandex|ecosia|search)\.")
_SOCIAL_HOSTS = re.compile(
    r"(^|\.)(facebook|instagram|t\.co|twitter|x\.com|linkedin|reddit|youtube|tiktok|pinterest|kakao|band)\b"
)
_SECTION_RE = re.compile(r"[^\w-]+")


def clean_section(section: str | None) -> str | None:
    """A section name as kept: lower case, word characters and dashes, at most 40 characters."""
    if not section:
        return None
    text = _SECTION_RE.sub("-", str(section).strip().lower()).strip("-")[:MAX_SECTION_LENGTH]
    return text or None


def page_kind(section: str | None, page_type: str | None = None, declared: str | None = None) -> str:
    """The page's kind: `declared` (a page model's ``tailor_page_kind``), else guessed from the page
    type's and the section's words; informational when nothing says otherwise."""
    if declared in PAGE_KINDS:
        return declared  # type: ignore[return-value]
    words = set(re.split(r"[^a-z]+", f"{(page_type or '').lower()} {(section or '').lower()}"))
    words |= {w[: -len("page")] for w in words if w.endswith("page") and len(w) > 4}
    for kind in ("product", "administrative"):
        if words.intersection(_KIND_WORDS[kind]):
            return kind
    return "informational"


def entry_source(utm: Mapping[str, str] | None, referrer: str | None, host: str | None = None) -> str:
    """Where a session came from: a campaign (utm), a search engine, a social network, another site,
    directly (a known empty referrer), or unknown. `host` is the referrer's host when known."""
    if utm:
        return "campaign"
    if referrer is None:
        return "unknown"
    if referrer == "":
        return "direct"
    host = (host or referrer).lower()
    if _SEARCH_HOSTS.search(host):
        return "search"
    if _SOCIAL_HOSTS.search(host):
        return "social"
    return "referral"


def empty_journey() -> dict[str, Any]:
    return {"v": JOURNEY_VERSION, "conversions": 0, "sessions": []}


def _valid(journey: Any) -> dict[str, Any]:
    if (
        not isinstance(journey, dict)
        or journey.get("v") != JOURNEY_VERSION
        or not isinstance(journey.get("sessions"), list)
    ):
        return empty_journey()
    return journey


def prune(journey: dict[str, Any], now: float, retention_seconds: float | None) -> dict[str, Any]:
    """Drop sessions past the retention window and keep the newest MAX_SESSIONS (in place)."""
    sessions = journey["sessions"]
    if retention_seconds is not None:
        sessions = [s for s in sessions if now - s.get("last", 0) <= retention_seconds]
    journey["sessions"] = sessions[-MAX_SESSIONS:]
    return journey


def record_page(
    journey: Any,
    *,
    now: float,
    page_id: int | None,
    section: str | None,
    kind: str,
    entry: str = "unknown",
    month: int | None = None,
    weekend: bool | None = None,
    retention_seconds: float | None = None,
) -> dict[str, Any]:
    """Add one page view at epoch second `now`; returns the (possibly new) journey dict."""
    journey = _valid(journey)
    section = clean_section(section)
    kind = kind if kind in PAGE_KINDS else "informational"
    sessions = journey["sessions"]
    current = sessions[-1] if sessions else None
    if current is None or now - current["last"] > SESSION_GAP_SECONDS or now < current["last"] - 5:
        current = {
            "start": int(now),
            "last": int(now),
            "entry": entry if entry in ENTRY_SOURCES else "unknown",
            "views": 0,
            "pages": [],
            "trail": [],
            "kinds": {},
            "sections": {},
            "lk": None,
            "conv": 0,
            "value": 0.0,
            "conv_at": None,
            "month": month,
            "weekend": weekend,
        }
        sessions.append(current)
    else:
        # the previous page's dwell time, credited to its kind and section
        dwell = max(0, min(MAX_DWELL_SECONDS, int(now) - current["last"]))
        if dwell and current.get("lk") in current["kinds"]:
            current["kinds"][current["lk"]][1] += dwell
        last_section = current["trail"][-1] if current["trail"] else None
        if dwell and last_section in current["sections"]:
            current["sections"][last_section][1] += dwell
    current["last"] = int(now)
    current["views"] += 1
    if isinstance(page_id, int) and len(current["pages"]) < MAX_PAGES:
        current["pages"].append(page_id)
    elif isinstance(page_id, int):
        current["pages"][-1] = page_id  # keep the exit page
    kinds = current["kinds"].setdefault(kind, [0, 0])
    kinds[0] += 1
    current["lk"] = kind
    if section:
        if section in current["sections"] or len(current["sections"]) < MAX_SECTIONS:
            current["sections"].setdefault(section, [0, 0])[0] += 1
        if not current["trail"] or current["trail"][-1] != section:
            current["trail"] = (current["trail"] + [section])[-MAX_PAGES:]
    return prune(journey, now, retention_seconds)


def record_conversion(journey: Any, *, now: float, value: float | None = None) -> dict[str, Any]:
    """A conversion in the visitor's current (or latest) session."""
    journey = _valid(journey)
    journey["conversions"] = int(journey.get("conversions", 0)) + 1
    if journey["sessions"]:
        current = journey["sessions"][-1]
        current["conv"] = int(current.get("conv", 0)) + 1
        current["value"] = float(current.get("value", 0.0)) + float(value or 0.0)
        if current.get("conv_at") is None:
            current["conv_at"] = current["views"]
    return journey


@dataclass(frozen=True)
class JourneySummary:
    """The ``journey`` fact: the current session and the history, in numbers."""

    pages: int
    minutes: float
    kinds: Mapping[str, tuple[int, float]]  # kind -> (views, minutes)
    sections: Mapping[str, int]
    trail: tuple[str, ...]
    entry: str
    sessions: int
    conversions: int
    converted_now: bool
    bounced: bool

    def kind_pages(self, kind: str) -> int:
        return self.kinds.get(kind, (0, 0.0))[0]

    def kind_minutes(self, kind: str) -> float:
        return self.kinds.get(kind, (0, 0.0))[1]

    def __str__(self) -> str:  # the Simulator's and the logs' wording
        kinds = ", ".join(
            observed(f"{k}_pages", v[0]) if k != "administrative" else observed("administrative_pages", v[0])
            for k, v in sorted(self.kinds.items())
        )
        return f"{observed('pages', self.pages)} ({kinds}), {observed('minutes', self.minutes)}, {observed('conversions', self.conversions)}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for the context echo: counts and names only."""
        return {
            "pages": self.pages,
            "minutes": round(self.minutes, 1),
            "kinds": {k: {"pages": v[0], "minutes": round(v[1], 1)} for k, v in self.kinds.items()},
            "sections": dict(self.sections),
            "trail": list(self.trail[-10:]),
            "entry": self.entry,
            "sessions": self.sessions,
            "conversions": self.conversions,
            "bounced": self.bounced,
        }


def summarize(journey: Any) -> JourneySummary | None:
    """The current (latest) session and the totals; None for an empty journey."""
    journey = _valid(journey)
    if not journey["sessions"]:
        return None
    s = journey["sessions"][-1]
    kinds = {k: (int(v[0]), v[1] / 60.0) for k, v in s.get("kinds", {}).items()}
    return JourneySummary(
        pages=int(s.get("views", 0)),
        minutes=sum(v[1] for v in s.get("kinds", {}).values()) / 60.0,
        kinds=kinds,
        sections={k: int(v[0]) for k, v in s.get("sections", {}).items()},
        trail=tuple(s.get("trail", ())),
        entry=s.get("entry") or "unknown",
        sessions=len(journey["sessions"]),
        conversions=int(journey.get("conversions", 0)),
        converted_now=bool(s.get("conv")),
        bounced=int(s.get("views", 0)) <= 1,
    )


def simulated_summary(product_pages: int = 0, minutes: float = 0.0, conversions: int = 0) -> JourneySummary:
    """A journey as the Simulator states it: this session's product pages and minutes."""
    return JourneySummary(
        pages=max(1, product_pages),
        minutes=minutes,
        kinds={"product": (product_pages, minutes)} if product_pages else {"informational": (1, minutes)},
        sections={},
        trail=(),
        entry="unknown",
        sessions=1,
        conversions=conversions,
        converted_now=False,
        bounced=product_pages <= 1,
    )


def summary_session(summary: JourneySummary, month: int | None = None, weekend: bool | None = None) -> dict[str, Any]:
    """A session dict with the summary's numbers (no page ids: their page values are not known)."""
    kinds = {k: [v[0], int(v[1] * 60)] for k, v in summary.kinds.items()}
    return {
        "views": summary.pages,
        "kinds": kinds,
        "pages": [],
        "trail": list(summary.trail),
        "month": month,
        "weekend": weekend,
    }


# --- conditions ---------------------------------------------------------------------------------

#: what a JourneyMetric can test, with its editor's label
JOURNEY_METRICS = (
    "pages",
    "minutes",
    "product_pages",
    "product_minutes",
    "informational_pages",
    "administrative_pages",
    "section_pages",
    "sessions",
    "conversions",
)
JOURNEY_METRIC_LABELS = {
    "pages": gettext_noop("Pages this session"),
    "minutes": gettext_noop("Minutes this session"),
    "product_pages": gettext_noop("Product pages this session"),
    "product_minutes": gettext_noop("Minutes on product pages this session"),
    "informational_pages": gettext_noop("Informational pages this session"),
    "administrative_pages": gettext_noop("Account pages this session"),
    "section_pages": gettext_noop("Pages of a section this session"),
    "sessions": gettext_noop("Sessions kept"),
    "conversions": gettext_noop("Conversions so far"),
}


def metric_value(summary: JourneySummary, metric: str, section: str | None = None) -> float:
    if metric == "pages":
        return summary.pages
    if metric == "minutes":
        return summary.minutes
    if metric == "product_pages":
        return summary.kind_pages("product")
    if metric == "product_minutes":
        return summary.kind_minutes("product")
    if metric == "informational_pages":
        return summary.kind_pages("informational")
    if metric == "administrative_pages":
        return summary.kind_pages("administrative")
    if metric == "section_pages":
        return summary.sections.get(section or "", 0)
    if metric == "sessions":
        return summary.sessions
    return summary.conversions


def observed(metric: str, value: float, section: str | None = None) -> str:
    """How a reason says a metric's value ("12 product pages", "8 min")."""
    n = int(value)
    if metric == "pages":
        return ngettext("%(count)d page this session", "%(count)d pages this session", n) % {"count": n}
    if metric == "minutes":
        return _("%(minutes)s min this session") % {"minutes": fmt_number(round(value, 1))}
    if metric == "product_pages":
        return ngettext("%(count)d product page", "%(count)d product pages", n) % {"count": n}
    if metric == "product_minutes":
        return _("%(minutes)s min on product pages") % {"minutes": fmt_number(round(value, 1))}
    if metric == "informational_pages":
        return ngettext("%(count)d informational page", "%(count)d informational pages", n) % {"count": n}
    if metric == "administrative_pages":
        return ngettext("%(count)d account page", "%(count)d account pages", n) % {"count": n}
    if metric == "section_pages":
        return ngettext("%(count)d page in %(section)s", "%(count)d pages in %(section)s", n) % {
            "count": n,
            "section": section,
        }
    if metric == "sessions":
        return ngettext("%(count)d session", "%(count)d sessions", n) % {"count": n}
    return ngettext("%(count)d conversion", "%(count)d conversions", n) % {"count": n}


@register
class JourneyMetric(Condition):
    """A number of the visitor's journey (this session's pages, minutes, product pages, ... or the
    sessions and conversions kept) is within [min, max]. Reads the consented ``journey``."""

    type = "journey"
    label = gettext_noop("Journey")
    facts = ("journey",)

    def __init__(self, metric: str, minimum: float | None, maximum: float | None, section: str | None = None):
        if metric not in JOURNEY_METRICS:
            raise ConditionError(
                "metric",
                _("unknown journey measure %(value)r; choose from %(choices)s")
                % {"value": metric, "choices": ", ".join(JOURNEY_METRICS)},
            )
        if minimum is None and maximum is None:
            raise ConditionError("min", _("give a minimum, a maximum, or both"))
        if minimum is not None and maximum is not None and maximum < minimum:
            raise ConditionError("max", _("the maximum is below the minimum"))
        if metric == "section_pages" and not section:
            raise ConditionError("section", _("name the section (e.g. 'products')"))
        self.metric, self.min, self.max = metric, minimum, maximum
        self.section = section if metric == "section_pages" else None

    @classmethod
    def from_params(cls, params, registry=None):
        metric = params.get("metric")
        if not isinstance(metric, str) or not metric.strip():
            raise ConditionError("metric", _("choose what to measure"))
        section = params.get("section")
        section = None if is_blank(section) else clean_section(section if isinstance(section, str) else None)
        if not is_blank(params.get("section")) and section is None:
            raise ConditionError("section", _("expected a section name such as 'products'"))
        return cls(
            metric.strip().lower(),
            number_param(params, "min", minimum=0, maximum=10**6),
            number_param(params, "max", minimum=0, maximum=10**6),
            section,
        )

    def to_params(self):
        params = {"metric": self.metric, "min": self.min, "max": self.max}
        if self.section:
            params["section"] = self.section
        return params

    def describe(self) -> str:
        what = _(JOURNEY_METRIC_LABELS[self.metric])
        if self.section:
            what = f"{what} ({self.section})"
        if self.min is not None and self.max is not None:
            return _("%(what)s %(min)s–%(max)s") % {
                "what": what,
                "min": fmt_number(self.min),
                "max": fmt_number(self.max),
            }
        if self.min is not None:
            return _("%(what)s at least %(min)s") % {"what": what, "min": fmt_number(self.min)}
        return _("%(what)s at most %(max)s") % {"what": what, "max": fmt_number(self.max)}

    def evaluate(self, ctx: Context) -> Outcome:
        summary = ctx.get("journey")
        if not isinstance(summary, JourneySummary):
            return self.unknown(_("journey (needs personalization consent)"))
        value = metric_value(summary, self.metric, self.section)
        ok = (self.min is None or value >= self.min) and (self.max is None or value <= self.max)
        seen = observed(self.metric, value, self.section)
        if ok:
            return Outcome(True, seen)
        return Outcome(False, _("%(observed)s; needed: %(wanted)s") % {"observed": seen, "wanted": self.describe()})


# --- stages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One stage of a site's funnel, as an editor defined it (`order`: earlier stages first)."""

    slug: str
    name: str
    order: int
    condition: Condition | None


@dataclass(frozen=True)
class StageResult:
    """The ``journey_stage`` fact: the furthest stage whose conditions hold, and why."""

    slug: str | None
    name: str | None
    order: int | None
    reason: str

    def __str__(self) -> str:
        return self.reason

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.slug, "name": self.name, "order": self.order, "reason": self.reason}


def assign_stage(stages: Sequence[Stage], ctx: Context) -> StageResult:
    """The furthest stage (highest order) whose condition is true: a visitor who reaches *Decide*
    is in Decide even if *Consider*'s conditions also hold. A stage without conditions is where
    everyone starts. None matched: the reason lists why the furthest ones did not."""
    misses: list[str] = []
    for stage in sorted(stages, key=lambda s: s.order, reverse=True):
        if stage.condition is None:
            return StageResult(
                stage.slug, stage.name, stage.order, _("%(stage)s: where every journey starts") % {"stage": stage.name}
            )
        out = stage.condition.evaluate(ctx)
        if out.value is True:
            return StageResult(stage.slug, stage.name, stage.order, f"{stage.name}: {out.reason}")
        if len(misses) < 3:
            misses.append(f"{stage.name}: {out.reason}")
    return StageResult(None, None, None, _("in no stage yet (%(reasons)s)") % {"reasons": "; ".join(misses)})


_STAGE_SLUG = re.compile(r"^[-\w]{1,100}$")


@register
class InJourneyStage(Condition):
    """The visitor is in the funnel stage `stage` (its slug); `name` only words the reason."""

    type = "journey_stage"
    label = gettext_noop("Journey stage")
    facts = ("journey_stage",)

    def __init__(self, stage: str, name: str | None = None):
        self.stage, self.name = stage, name

    @classmethod
    def from_params(cls, params, registry=None):
        slug = params.get("stage")
        if not isinstance(slug, str) or not slug.strip():
            raise ConditionError("stage", _("choose a journey stage"))
        slug = slug.strip()
        if not _STAGE_SLUG.match(slug):
            raise ConditionError("stage", _("%(slug)r is not a stage slug") % {"slug": slug[:40]})
        name = params.get("name")
        name = name.strip()[:255] if isinstance(name, str) and name.strip() else None
        return cls(slug, name)

    def to_params(self):
        params = {"stage": self.stage}
        if self.name:
            params["name"] = self.name
        return params

    def describe(self) -> str:
        return _("In journey stage %(stage)s") % {"stage": self.name or self.stage}

    def evaluate(self, ctx: Context) -> Outcome:
        result = ctx.get("journey_stage")
        if not isinstance(result, StageResult):
            return self.unknown(_("journey stage (needs personalization consent)"))
        if result.slug == self.stage:
            return Outcome(True, _("In stage %(reason)s") % {"reason": result.reason})
        if result.slug is None:
            return Outcome(
                False,
                _("Not in stage %(wanted)s: %(reason)s") % {"wanted": self.name or self.stage, "reason": result.reason},
            )
        return Outcome(
            False,
            _("In stage %(stage)s, not %(wanted)s") % {"stage": result.name, "wanted": self.name or self.stage},
        )


def section_transitions(trails: Iterable[Sequence[str]]) -> dict[str, dict[str, int]]:
    """Counts of section -> next section over sessions' trails; a trail's end goes to ``""`` (exit)."""
    counts: dict[str, dict[str, int]] = {}
    for trail in trails:
        for a, b in zip(trail, list(trail[1:]) + [""], strict=True):
            row = counts.setdefault(a, {})
            row[b] = row.get(b, 0) + 1
    return counts
