"""What the feedback loop keeps in the database.

- `ArmStat`: the arm counters of the database stats store (`variants.stats_db`), one row per
  (slot, bucket, arm), changed only by atomic upserts that add to the stored counts;
- `Event`: the event log of the embedded default (with Redis, the log is a Redis Stream). One row
  per counted event; unique on (token nonce, kind, goal), which is what makes an event count once.
  Only ids from the decision token, the kind, goal, value and time are kept: no IP address, no
  User-Agent, and the visitor id only with their analytics consent;
- `EventAggregate`: hourly counts per slot, variant, bucket, policy, kind and goal, folded in by
  `manage.py tailor_flush_events` (and automatically while events are recorded). Reviews read these;
- `FlushCursor`: how far the Redis event stream has been folded in (moved in the same transaction as
  the aggregates it produced, so a stream entry is aggregated exactly once).
"""

from __future__ import annotations

from django.db import models


class ArmStat(models.Model):
    slot_id = models.CharField(max_length=255)
    bucket = models.CharField(max_length=255, default="*")
    arm_id = models.CharField(max_length=255)
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    conversions = models.BigIntegerField(default=0)
    value = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["slot_id", "bucket", "arm_id"], name="tailor_armstat_unique")]
        verbose_name = "arm statistic"

    def __str__(self) -> str:
        return f"{self.slot_id} {self.bucket} {self.arm_id}"


class Event(models.Model):
    KIND_CHOICES = [("impression", "Impression"), ("click", "Click"), ("conversion", "Conversion")]

    token_id = models.CharField(max_length=32, help_text="The decision token's nonce")
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    goal = models.CharField(max_length=64, blank=True, default="")
    value = models.FloatField(null=True, blank=True)
    page_id = models.IntegerField(null=True, blank=True)
    slot_id = models.CharField(max_length=255)
    variant_id = models.CharField(max_length=255)
    bucket = models.CharField(max_length=255, default="*")
    policy = models.CharField(max_length=16)
    visitor_id = models.CharField(max_length=64, null=True, blank=True, help_text="Only with analytics consent")
    created_at = models.DateTimeField(db_index=True)
    aggregated = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token_id", "kind", "goal"], name="tailor_event_once_per_token_kind_goal")
        ]
        indexes = [
            # the flush scans only what it has not folded in yet
            models.Index(fields=["id"], condition=models.Q(aggregated=False), name="tailor_event_pending"),
            models.Index(
                fields=["visitor_id"], condition=models.Q(visitor_id__isnull=False), name="tailor_event_visitor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.goal or ''} on {self.slot_id}/{self.variant_id}".replace("  ", " ")


class EventAggregate(models.Model):
    hour = models.DateTimeField(help_text="Start of the hour (UTC)")
    page_id = models.IntegerField(default=0, help_text="0 when unknown")
    slot_id = models.CharField(max_length=255)
    variant_id = models.CharField(max_length=255)
    bucket = models.CharField(max_length=255, default="*")
    policy = models.CharField(max_length=16)
    kind = models.CharField(max_length=16, choices=Event.KIND_CHOICES)
    goal = models.CharField(max_length=64, blank=True, default="")
    count = models.BigIntegerField(default=0)
    value = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "page_id", "slot_id", "variant_id", "bucket", "policy", "kind", "goal"],
                name="tailor_event_aggregate_unique",
            )
        ]
        indexes = [models.Index(fields=["slot_id", "hour"], name="tailor_aggregate_slot_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.slot_id}/{self.variant_id} {self.kind}: {self.count}"


class FlushCursor(models.Model):
    name = models.CharField(max_length=255, unique=True)
    position = models.CharField(max_length=64, default="0-0")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"
