"""Segment discovery as a background task (django-tasks), so the admin's "Run discovery" returns at once.

The site's ``TASKS`` setting says where it runs (the demo: a django-tasks-db worker); the admin's
status page polls the task's result.
"""

from __future__ import annotations

from django_tasks import task

from rules.segments import NotEnoughProfiles, discover_segments


@task()
def discover_segments_task(clusters: int | None = None, min_profiles: int = 50) -> dict:
    """Run segment discovery; returns what it did, JSON-safe (``error`` set when it could not run)."""
    try:
        return discover_segments(clusters=clusters, min_profiles=min_profiles).as_dict()
    except (NotEnoughProfiles, ValueError) as e:
        return {"error": str(e), "profiles": 0, "proposals": [], "saved": False, "message": ""}
