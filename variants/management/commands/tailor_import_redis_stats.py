"""Upgrade: move the arm stats and dedupe marks earlier versions kept in Redis into the database.

    manage.py tailor_import_redis_stats

Tailor now counts events in the database, with or without Redis (a Redis restart without
persistence or a FLUSHDB lost confirmed events and let replays count again: see
`variants.event_log`). A site that ran with TAILOR["REDIS_URL"] runs this once after `migrate`,
so its bandits keep what they learned and events counted before the upgrade stay counted once.
It refuses to run twice for the same REDIS_PREFIX (the counts would be added again).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tailor.redis import get_redis
from tailor.settings import tailor_settings
from variants.stats_db import import_redis_state


class Command(BaseCommand):
    help = "Move the arm stats and event dedupe marks earlier versions kept in Redis into the database (once)."

    def handle(self, *args, **options):
        client = get_redis()
        if client is None:
            raise CommandError('TAILOR["REDIS_URL"] is not set: there is nothing in Redis to import')
        try:
            counters, receipts = import_redis_state(client, tailor_settings.REDIS_PREFIX)
        except ValueError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(
            f"imported {counters} arm counter(s) and {receipts} counted event mark(s) from Redis into the database"
        )
