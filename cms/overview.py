"""The Tailor admin area: an Overview of every personalized region, and what segments are used for.

`personalized_regions()` walks the pages whose type can hold a personalized region and lists each
region of their latest revision: page, slot, policy, variants, the segments its variants target, and
whether visitors see it (*live*), see an older version of it (*live, with draft changes*) or not yet
(*draft*). The Overview report lists them; the Segments listing uses the same walk for each
segment's "Used in" and its reach (impressions of the variants that target it, from the hourly
aggregates).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet
from wagtail.models import Page

from cms.forms import personalizable, personalizable_pages
from rules.models import Segment
from rules.profiles import profile_store
from rules.segments import cluster_index, segment_index
from rules.views import SegmentIndexView, SegmentViewSet
from variants.compiler import compile_page, stream_fields
from variants.engine.vocabulary import KIND_IMPRESSION, POLICY_LABELS
from variants.models import EventAggregate

#: how far back a segment's reach is counted
REACH_DAYS = 30

STATUS_LIVE = "live"
STATUS_CHANGED = "changed"
STATUS_DRAFT = "draft"
STATUS_LABELS = {
    STATUS_LIVE: pgettext_lazy("region", "Live"),
    STATUS_CHANGED: pgettext_lazy("region", "Live, with draft changes"),
    STATUS_DRAFT: pgettext_lazy("region", "Draft"),
}


@dataclass
class Region:
    page: Page
    slot_id: str
    slot_name: str
    policy: str
    #: variant names in the editor's order
    variants: list[str]
    status: str
    #: variant id -> the segment slugs its conditions mention
    segments: dict[str, set[str]] = field(default_factory=dict)

    @property
    def pk(self) -> int:  # the report's title column links by it
        return self.page.pk

    @property
    def policy_label(self) -> str:
        return gettext(POLICY_LABELS[self.policy]) if self.policy in POLICY_LABELS else self.policy

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def segment_slugs(self) -> set[str]:
        return set().union(*self.segments.values()) if self.segments else set()

    @property
    def edit_url(self) -> str:
        return reverse("wagtailadmin_pages:edit", args=[self.page.pk])


def _segments_in(node: Any) -> Iterator[str]:
    """The segment slugs an `in_segment` condition names anywhere in a raw conditions value."""
    if isinstance(node, dict):
        if node.get("type") == "in_segment" and isinstance(node.get("value"), dict):
            slug = node["value"].get("segment")
            if slug:
                yield str(slug)
        for value in node.values():
            yield from _segments_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _segments_in(item)


def _raw_regions(node: Any, ids: set[str], out: dict[str, dict]) -> None:
    """Collect the raw value of each block whose id is a region's slot id."""
    if isinstance(node, dict):
        if node.get("id") in ids and isinstance(node.get("value"), dict):
            out[node["id"]] = node["value"]
            return
        for value in node.values():
            _raw_regions(value, ids, out)
    elif isinstance(node, list):
        for item in node:
            _raw_regions(item, ids, out)


def _variant_segments(slot_id: str, raw: dict) -> dict[str, set[str]]:
    found = {}
    for index, item in enumerate(raw.get("variants") or []):
        if not isinstance(item, dict):
            continue
        value = item.get("value") if item.get("type") == "item" else item
        variant_id = (item.get("id") if item.get("type") == "item" else None) or f"{slot_id}-{index}"
        found[variant_id] = set(_segments_in((value or {}).get("conditions") or []))
    return found


def _signature(slot) -> tuple:
    return (slot.name, slot.policy, tuple((v.id, v.name) for v in slot.variants))


def page_regions(page, index=None) -> list[Region]:
    """The regions of one page's latest revision, with their status against the published version."""
    page = page.specific
    latest = page.get_latest_revision_as_object() if page.latest_revision_id else page
    compiled = compile_page(latest, index)
    if not compiled.slots:
        return []
    live = {}
    if page.live:
        published = page.live_revision.as_object() if page.live_revision_id else page
        live = {s.id: _signature(s) for s in compile_page(published, index).slots}
    raw: dict[str, dict] = {}
    ids = {s.id for s in compiled.slots}
    for f in stream_fields(latest):
        value = getattr(latest, f.attname, None)
        if value is not None:
            _raw_regions(list(value.raw_data), ids, raw)
    regions = []
    for slot in compiled.slots:
        if slot.id not in live:
            status = STATUS_DRAFT
        elif live[slot.id] == _signature(slot) and not page.has_unpublished_changes:
            status = STATUS_LIVE
        else:
            status = STATUS_CHANGED
        regions.append(
            Region(
                page,
                slot.id,
                slot.name,
                slot.policy,
                [v.name for v in slot.variants],
                status,
                _variant_segments(slot.id, raw.get(slot.id) or {}),
            )
        )
    return regions


def personalized_regions(user=None) -> list[Region]:
    """Every region on the site (or on the pages `user` may edit), in tree order."""
    if user is not None:
        pages: Iterable[Page] = personalizable_pages(user)
    else:
        pages = [p for p in Page.objects.order_by("path").specific() if personalizable(type(p))]
    index = segment_index()
    regions = []
    for page in pages:
        try:
            regions.extend(page_regions(page, index))
        except Exception:  # one broken page must not hide the others
            continue
    return regions


# --- segments: where each is used, and its reach --------------------------------------------------


@dataclass
class SegmentUse:
    regions: list[Region] = field(default_factory=list)
    #: (slot id, variant id) of live variants that target the segment
    variants: set[tuple[str, str]] = field(default_factory=set)
    impressions: int | None = None


def segment_uses(regions: list[Region] | None = None, *, days: int = REACH_DAYS) -> dict[str, SegmentUse]:
    """slug -> where the segment is used and how many impressions its variants had in `days` days."""
    regions = personalized_regions() if regions is None else regions
    uses: dict[str, SegmentUse] = defaultdict(SegmentUse)
    for region in regions:
        for variant_id, slugs in region.segments.items():
            for slug in slugs:
                use = uses[slug]
                if region not in use.regions:
                    use.regions.append(region)
                if region.status != STATUS_DRAFT:
                    use.variants.add((region.slot_id, variant_id))
    pairs = set().union(*(u.variants for u in uses.values())) if uses else set()
    counts: dict[tuple[str, str], int] = {}
    if pairs:
        since = timezone.now() - dt.timedelta(days=days)
        rows = (
            EventAggregate.objects.filter(slot_id__in={s for s, _v in pairs}, kind=KIND_IMPRESSION, hour__gte=since)
            .values("slot_id", "variant_id")
            .annotate(n=Sum("count"))
        )
        counts = {(r["slot_id"], r["variant_id"]): int(r["n"] or 0) for r in rows}
    for use in uses.values():
        use.impressions = sum(counts.get(pair, 0) for pair in use.variants)
    return dict(uses)


def _used_in_html(segment) -> str:
    use: SegmentUse | None = getattr(segment, "tailor_use", None)
    if not use or not use.regions:
        return gettext("Not used")
    return format_html_join(
        ", ",
        '<a href="{}">{} › {}</a>',
        ((r.edit_url, r.page.get_admin_display_title(), r.slot_name) for r in use.regions),
    )


#: how many of the most recent consented profiles a discovered segment's reach looks at
REACH_PROFILES = 2000


def discovered_members(segments) -> tuple[dict[str, int], int]:
    """slug -> how many of the REACH_PROFILES most recent consented profiles (with page views) each
    discovered segment matches now (the request-time rule: nearest centre of its run); and how many
    profiles were looked at."""
    discovered = [s for s in segments if s.kind == Segment.KIND_DISCOVERED and s.cluster]
    if not discovered:
        return {}, 0
    profiles = [p for p in profile_store().all(REACH_PROFILES) if p.page_views > 0]
    counts = dict.fromkeys((s.slug for s in discovered), 0)
    for segment in discovered:
        for profile in profiles:
            try:
                if cluster_index(segment.cluster, profile) == segment.cluster["index"]:
                    counts[segment.slug] += 1
            except (KeyError, ValueError, TypeError):  # a malformed stored cluster matches nobody
                break
    return counts, len(profiles)


def _reach_text(segment) -> str:
    use: SegmentUse | None = getattr(segment, "tailor_use", None)
    parts = []
    members = getattr(segment, "tailor_members", None)
    if members is not None:
        parts.append(
            ngettext(
                "%(n)s of %(total)s recent visitor matches",
                "%(n)s of %(total)s recent visitors match",
                members[0],
            )
            % {"n": members[0], "total": members[1]}
        )
    if use and use.variants:
        n = use.impressions or 0
        parts.append(
            ngettext("%(n)s impression in %(days)s days", "%(n)s impressions in %(days)s days", n)
            % {"n": f"{n:,}", "days": REACH_DAYS}
        )
    if segment.kind == Segment.KIND_DISCOVERED and segment.size is not None:
        parts.append(
            ngettext("%(n)s visitor when found", "%(n)s visitors when found", segment.size) % {"n": segment.size}
        )
    return "; ".join(parts) or "—"


class TailorSegmentIndexView(SegmentIndexView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The table's cells are rendered from these same objects, after this.
        uses = segment_uses()
        segments = list(context.get("object_list") or ())
        try:
            members, looked_at = discovered_members(segments)
        except Exception:  # the profile store is down: the listing still answers
            members, looked_at = {}, 0
        for segment in segments:
            segment.tailor_use = uses.get(segment.slug)
            if segment.slug in members:
                segment.tailor_members = (members[segment.slug], looked_at)
        return context


class TailorSegmentViewSet(SegmentViewSet):
    """The Segments listing with what only the Tailor area knows: the regions that use each segment,
    and its reach."""

    index_view_class = TailorSegmentIndexView
    list_display = [
        *SegmentViewSet.list_display[:-1],
        Column("reach", label=_("Reach"), accessor=_reach_text),
        Column("used_in", label=_("Used in"), accessor=_used_in_html),
        SegmentViewSet.list_display[-1],
    ]


# --- the Overview report ---------------------------------------------------------------------


class OverviewView(ReportView):
    page_title = _("Personalized regions")
    header_icon = "list-ul"
    index_url_name = "tailor_overview:index"
    index_results_url_name = "tailor_overview:index_results"
    results_template_name = "tailor_cms/overview/index_results.html"
    paginate_by = 100
    list_export = ["page", "slot", "policy", "variants", "segments", "status"]
    export_headings = {
        "page": _("Page"),
        "slot": _("Slot"),
        "policy": _("Policy"),
        "variants": _("Variants"),
        "segments": _("Segments"),
        "status": _("Status"),
    }

    def user_has_permission(self, permission):
        return user_has_any_page_permission(self.request.user)

    def dispatch(self, request, *args, **kwargs):
        if not user_has_any_page_permission(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def columns(self):
        names = segment_index().names
        return [
            TitleColumn(
                "page",
                label=_("Page"),
                accessor=lambda r: r.page.get_admin_display_title(),
                get_url=lambda r: r.edit_url,
            ),
            Column("slot", label=_("Slot"), accessor="slot_name"),
            Column("policy", label=_("Policy"), accessor="policy_label"),
            Column("variants", label=_("Variants"), accessor=lambda r: ", ".join(r.variants) or "—"),
            Column(
                "segments",
                label=_("Segments"),
                accessor=lambda r: ", ".join(sorted(names.get(s, s) for s in r.segment_slugs)) or "—",
            ),
            Column("status", label=_("Status"), accessor="status_label"),
        ]

    def get_queryset(self):
        return personalized_regions(self.request.user)

    def to_row_dict(self, item):
        names = segment_index().names
        return {
            "page": item.page.get_admin_display_title(),
            "slot": item.slot_name,
            "policy": item.policy_label,
            "variants": ", ".join(item.variants),
            "segments": ", ".join(sorted(names.get(s, s) for s in item.segment_slugs)),
            "status": item.status_label,
        }

    def get_filename(self):
        return f"tailor-regions-{timezone.now():%Y-%m-%d}"


class PageEditorsMenuItem(MenuItem):
    """Shown to whoever edits some page (the Overview, the Simulator, Themes are no use to others)."""

    def is_shown(self, request):
        return user_has_any_page_permission(request.user)


class OverviewViewSet(ViewSet):
    name = "tailor_overview"
    url_prefix = "tailor/overview"
    url_namespace = "tailor_overview"
    icon = "list-ul"
    menu_label = _("Overview")
    menu_name = "tailor-overview"
    menu_order = 10
    menu_item_class = PageEditorsMenuItem

    def get_urlpatterns(self):
        return [
            path("", OverviewView.as_view(), name="index"),
            path("results/", OverviewView.as_view(results_only=True), name="index_results"),
        ]
