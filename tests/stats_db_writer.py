"""The database stats store in a spawned writer process (the PostgreSQL concurrency test).

Apart from the test module because a spawned process imports the module that holds its target
before Django is set up, and `variants.stats_db` imports the models, which need the app registry.
"""

from __future__ import annotations


def store_in_a_new_process(database: dict):
    """Runs in a spawned writer: set Django up on the test database the parent created."""
    import django
    from django.conf import settings

    settings.DATABASES["default"] = database
    django.setup()
    # only now: it imports the models, which need the app registry django.setup() fills
    from variants.stats_db import DatabaseStatsStore

    return DatabaseStatsStore()
