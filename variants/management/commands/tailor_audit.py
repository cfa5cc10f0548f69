"""Who sees what: per personalized slot, the segments that never see a variant they are eligible for,
and how the slot's traffic spreads across devices.

    manage.py tailor_audit              # the last 30 days of impressions
    manage.py tailor_audit --days 90 --flush   # fold pending events in first

Read from the hourly breakdown counts (`EventBreakdown`: impressions per variant and device /
segment, folded in by the flush; run `tailor_flush_events` first for the latest) against each slot's
targeting in the live pages. A variant is *eligible* for a segment when it has no conditions (it is
for everyone) or its conditions name that segment (`In segment`, not negated). A segment "never sees"
such a variant when none of its members' impressions in the slot went to it: e.g. a variant placed
after one that always matches (RULES: the first match wins), or a bandit that stopped exploring it.
Segments are known only for visitors with personalization consent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.utils import timezone
from wagtail.models import Page

from rules.engine import InSegment
from rules.engine.conditions import Not
from rules.journeys import likelihood_spread
from rules.models import Segment
from variants.aggregation import flush_events
from variants.compiler import compile_page
from variants.engine.stats_store import KIND_IMPRESSION
from variants.models import EventBreakdown


def targeted_segments(condition) -> set[str]:
    """Slugs of the segments a condition names positively (not under a Not)."""
    if condition is None or isinstance(condition, Not):
        return set()
    if isinstance(condition, InSegment):
        return {condition.segment}
    found: set[str] = set()
    for child in getattr(condition, "children", ()) or ():
        found |= targeted_segments(child)
    return found


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "0%"


class Command(BaseCommand):
    help = "Per slot: segments that never see a variant they are eligible for, and traffic per device."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="how many days of impressions to read (default 30)")
        parser.add_argument(
            "--flush", action="store_true", help="fold pending events into the breakdowns first (tailor_flush_events)"
        )

    def handle(self, *args, days=30, flush=False, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        if flush:
            self.stdout.write(str(flush_events()))
        since = timezone.now() - timedelta(days=days)
        names = dict(Segment.objects.values_list("slug", "name"))
        counts: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
        rows = (
            EventBreakdown.objects.filter(kind=KIND_IMPRESSION, hour__gte=since, dimension__in=("device", "segment"))
            .values("slot_id", "variant_id", "dimension", "value")
            .annotate(n=Sum("count"))
        )
        for row in rows:
            counts[(row["slot_id"], row["dimension"], row["value"])][row["variant_id"]] = row["n"]

        all_devices: dict[str, int] = defaultdict(int)
        slots = 0
        findings = 0
        self.stdout.write(f"Impressions of the last {days} day(s), from the hourly breakdowns.")
        for page in Page.objects.live().specific().order_by("path"):
            for slot in compile_page(page).slots:
                slots += 1
                findings += self.audit_slot(page, slot, counts, names, all_devices)
        if not slots:
            self.stdout.write("No live page has a personalized slot.")
            return
        total = sum(all_devices.values())
        spread = ", ".join(
            f"{d} {percent(n, total)} ({n:,})" for d, n in sorted(all_devices.items(), key=lambda x: -x[1])
        )
        self.stdout.write(f"All slots, devices: {spread or 'no impressions'}")
        self.likelihood(names)
        summary = f"{slots} slot(s) audited; {findings} segment/variant pair(s) never seen."
        self.stdout.write(self.style.WARNING(summary) if findings else self.style.SUCCESS(summary))

    def likelihood(self, names) -> None:
        """How the predicted likelihood to convert spreads across devices and segments (consented
        journeys only): a threshold or stage that shuts a group out shows up as a low mean or share."""
        spread = likelihood_spread()
        if not any(spread.get(group) for group in ("device", "segment")):
            self.stdout.write("Predicted likelihood to convert: no consented journeys yet.")
            return
        self.stdout.write("Predicted likelihood to convert (consented journeys; likely: at or above 50%):")
        for group, title in (("device", "by device"), ("segment", "by segment")):
            rows = sorted(spread.get(group, {}).items(), key=lambda item: -item[1]["n"])
            for value, g in rows:
                label = names.get(value, value) if group == "segment" else value
                self.stdout.write(
                    f"  {title}: {label}: {g['n']:,} visitor(s), mean {g['mean']:.0%}, median {g['p50']:.0%}, "
                    f"likely {g['likely']:.0%}"
                )

    def audit_slot(self, page, slot, counts, names, all_devices) -> int:
        def seen(dimension: str) -> dict[str, dict[str, int]]:
            return {value: arms for (s, dim, value), arms in counts.items() if s == slot.id and dim == dimension}

        devices = {value: sum(arms.values()) for value, arms in seen("device").items()}
        segments = {value: arms for value, arms in seen("segment").items() if value not in ("", "?")}
        impressions = sum(devices.values())
        for device, n in devices.items():
            all_devices[device] += n
        self.stdout.write("")
        self.stdout.write(
            f'Slot "{slot.name}" on "{page.title}" ({page.url_path}), policy {slot.policy}: '
            f"{impressions:,} impression(s)"
        )
        label = {"?": "unknown"}
        spread = ", ".join(
            f"{label.get(d, d)} {percent(n, impressions)} ({n:,})"
            for d, n in sorted(devices.items(), key=lambda x: -x[1])
        )
        self.stdout.write(f"  Devices: {spread or 'no impressions'}")

        missing = []
        for variant in slot.variants:
            targeted = targeted_segments(variant.condition)
            eligible = set(segments) if variant.condition is None else targeted
            for segment in sorted(eligible):
                if not segments.get(segment, {}).get(variant.id):
                    why = "no conditions: for everyone" if variant.condition is None else "targets this segment"
                    if segment not in segments:
                        why += "; the segment had no impressions in this slot at all"
                    missing.append((segment, variant.name, why))
        if missing:
            self.stdout.write("  Segments that never saw a variant they are eligible for:")
            for segment, variant_name, why in missing:
                self.stdout.write(f'    - {names.get(segment, segment)} ({segment}): "{variant_name}" ({why})')
        elif segments:
            self.stdout.write("  Every segment saw every variant it is eligible for.")
        else:
            self.stdout.write("  No segment data (segments are known only for visitors with personalization consent).")
        return len(missing)
