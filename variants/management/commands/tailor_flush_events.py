"""Fold recorded events into the hourly aggregates reviews read; prune old event log rows.

    manage.py tailor_flush_events              # everything pending, once
    manage.py tailor_flush_events --every 60   # as a worker: again every 60 seconds until stopped

It flushes here and now, whatever the TASKS backend. App processes also enqueue the same flush as
a background task at most every TAILOR["FLUSH_INTERVAL_SECONDS"] while they record events
(`variants.tasks` says where it runs); a site that sets FLUSH_INTERVAL_SECONDS None runs this
command instead (from cron, or with --every). Safe to run in several processes at once, and beside
the task: each event is aggregated exactly once.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from variants.aggregation import flush_events


class Command(BaseCommand):
    help = "Fold recorded events into hourly aggregates (exactly once) and prune old event log rows."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, help="events per transaction")
        parser.add_argument(
            "--every", type=float, default=None, metavar="SECONDS", help="keep running, flushing this often"
        )

    def handle(self, *args, batch_size=None, every=None, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if every is not None and every <= 0:
            raise CommandError("--every must be a positive number of seconds")
        while True:
            started = time.monotonic()
            result = flush_events(batch_size=batch_size)
            self.stdout.write(str(result))
            if every is None:
                return
            time.sleep(max(0.0, every - (time.monotonic() - started)))
