"""Delete what is past its retention window (`variants.privacy.purge`).

    manage.py tailor_purge             # visitor profiles, event log rows, dedupe receipts, aggregates
    manage.py tailor_purge --dry-run   # only count what would go

The windows are TAILOR["PROFILE_RETENTION_DAYS"] (profiles, since their last update),
["EVENT_LOG_RETENTION_DAYS"] (logged events, never less than a token's lifetime) and
["AGGREGATE_RETENTION_DAYS"] (hourly aggregates and breakdowns). Deletes in batches (one transaction
each), prints its progress, and is safe to re-run or to run beside the purge task (`variants.tasks`).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tailor.settings import tailor_settings
from variants.privacy import purge

LABELS = {
    "profiles": "visitor profiles",
    "events": "event log rows",
    "receipts": "event receipts",
    "aggregates": "hourly aggregates",
    "breakdowns": "hourly breakdowns",
    "stream entries": "event stream entries",
}


class Command(BaseCommand):
    help = "Delete visitor profiles, logged events and aggregates older than their retention windows."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")

    def handle(self, *args, dry_run=False, batch_size=1000, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        self.stdout.write(
            "Retention: profiles {p} days, event log {e} days, aggregates {a} days{dry}".format(
                p=tailor_settings.PROFILE_RETENTION_DAYS,
                e=tailor_settings.EVENT_LOG_RETENTION_DAYS,
                a=tailor_settings.AGGREGATE_RETENTION_DAYS,
                dry=" (dry run: nothing is deleted)" if dry_run else "",
            )
        )

        def progress(kind: str, done: int, total: int) -> None:
            label = LABELS.get(kind, kind)
            if dry_run:
                self.stdout.write(f"  {label}: {total:,} past the window")
            elif total:
                self.stdout.write(f"  {label}: {done:,}/{total:,} deleted")
            else:
                self.stdout.write(f"  {label}: nothing past the window")

        result = purge(dry_run=dry_run, batch_size=batch_size, progress=progress)
        total = sum(result.counts.values())
        if dry_run:
            self.stdout.write(self.style.SUCCESS(f"Would delete {total:,} row(s) in all."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Deleted {total:,} row(s) in all."))
