"""What the feedback loop keeps in the database.

- `ArmStat`: the arm counters of the database stats store (`variants.stats_db`), one row per
  (slot, bucket, arm), changed only by atomic upserts that add to the stored counts;
- `Event`: the event log of the embedded default (with Redis, the log is a Redis Stream). One row
  per counted event; unique on (token nonce, kind, goal), which is what makes an event count once.
  Only ids from the decision token, the kind, goal, value and time are kept: no IP address, no
  User-Agent, and the visitor id only with their analytics consent;
- `EventReceipt`: one row per counted (token nonce, kind), unique: what makes a decision count at
  most once per kind (goals are attributes of that one event), written with the event and its stats;
- `EventAggregate`: hourly counts per slot, variant, bucket, policy, kind and goal, folded in by
  the background flush (`variants.tasks`) and `manage.py tailor_flush_events`, with the sums of the
  events' inverse propensities (each event keeps its decision's probability) that let a review undo
  a bandit's adaptive allocation. Reviews read these;
- `EventBreakdown`: the same hourly counts per device, daypart and segment (one row per value of
  each, not per combination), for the review's breakdowns;
- `FlushCursor`: how far the Redis event stream has been folded in (moved in the same transaction as
  the aggregates it produced, so a stream entry is aggregated exactly once);
- `PolicyState`: the learned state of a slot that forgets old results (``half_life``), so a
  restarted process resumes it (`variants.policy_state`; with Redis it lives there instead).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from variants.engine.vocabulary import EVENT_KIND_LABELS, EVENT_KINDS

#: the event kinds, labelled in the active language (the labels are marked in the vocabulary)
KIND_CHOICES = [(kind, _(EVENT_KIND_LABELS[kind])) for kind in EVENT_KINDS]


class ArmStat(models.Model):
    slot_id = models.CharField(_("slot id"), max_length=255)
    bucket = models.CharField(_("bucket"), max_length=255, default="*")
    arm_id = models.CharField(_("variant id"), max_length=255)
    impressions = models.BigIntegerField(_("impressions"), default=0)
    clicks = models.BigIntegerField(_("clicks"), default=0)
    conversions = models.BigIntegerField(_("conversions"), default=0)
    value = models.FloatField(_("value"), default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["slot_id", "bucket", "arm_id"], name="tailor_armstat_unique")]
        verbose_name = _("arm statistic")
        verbose_name_plural = _("arm statistics")

    def __str__(self) -> str:
        return f"{self.slot_id} {self.bucket} {self.arm_id}"


class Event(models.Model):
    KIND_CHOICES = KIND_CHOICES

    token_id = models.CharField(_("token id"), max_length=32, help_text=_("The decision token's nonce"))
    kind = models.CharField(_("kind"), max_length=16, choices=KIND_CHOICES)
    goal = models.CharField(_("goal"), max_length=64, blank=True, default="")
    value = models.FloatField(_("value"), null=True, blank=True)
    page_id = models.IntegerField(_("page id"), null=True, blank=True)
    slot_id = models.CharField(_("slot id"), max_length=255)
    variant_id = models.CharField(_("variant id"), max_length=255)
    bucket = models.CharField(_("bucket"), max_length=255, default="*")
    policy = models.CharField(_("policy"), max_length=16)
    visitor_id = models.CharField(
        _("visitor id"), max_length=64, null=True, blank=True, help_text=_("Only with analytics consent")
    )
    probability = models.FloatField(
        _("propensity"),
        null=True,
        blank=True,
        help_text=_("The probability the decision had of showing this variant (for unbiased reviews of bandits)"),
    )
    created_at = models.DateTimeField(_("recorded at"), db_index=True)
    aggregated = models.BooleanField(_("aggregated"), default=False)
    dims = models.CharField(
        _("breakdown"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("The decision's device, daypart and segments, for the review's breakdowns"),
    )

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
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return f"{self.kind} {self.goal or ''} on {self.slot_id}/{self.variant_id}".replace("  ", " ")


class EventReceipt(models.Model):
    """One row per (decision token, kind) that was counted: the durable dedupe mark.

    Written in the same transaction as the `Event` row and the arm stats it adds (`variants.event_log`),
    so an event is either counted with its mark or neither: a retry of an event that never counted is
    never refused, a retry of one that did is a duplicate. Kept in the database (never only in Redis,
    which may lose it) for the token's lifetime (TOKEN_MAX_AGE), then pruned by the flush.
    """

    token_id = models.CharField(_("token id"), max_length=32, help_text=_("The decision token's nonce"))
    kind = models.CharField(_("kind"), max_length=16, choices=KIND_CHOICES)
    created_at = models.DateTimeField(_("recorded at"), db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token_id", "kind"], name="tailor_event_once_per_token_kind")]
        verbose_name = _("event receipt")
        verbose_name_plural = _("event receipts")

    def __str__(self) -> str:
        return f"{self.kind} on {self.token_id}"


class EventAggregate(models.Model):
    hour = models.DateTimeField(_("hour"), help_text=_("Start of the hour (UTC)"))
    page_id = models.IntegerField(_("page id"), default=0, help_text=_("0 when unknown"))
    slot_id = models.CharField(_("slot id"), max_length=255)
    variant_id = models.CharField(_("variant id"), max_length=255)
    bucket = models.CharField(_("bucket"), max_length=255, default="*")
    policy = models.CharField(_("policy"), max_length=16)
    kind = models.CharField(_("kind"), max_length=16, choices=KIND_CHOICES)
    goal = models.CharField(_("goal"), max_length=64, blank=True, default="")
    count = models.BigIntegerField(_("count"), default=0)
    value = models.FloatField(_("value"), default=0.0)
    #: inverse-propensity sums over the events (Σ 1/p, Σ 1/p²; events without a propensity add 0)
    weight = models.FloatField(_("inverse propensity sum"), default=0.0)
    weight_sq = models.FloatField(_("squared inverse propensity sum"), default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "page_id", "slot_id", "variant_id", "bucket", "policy", "kind", "goal"],
                name="tailor_event_aggregate_unique",
            )
        ]
        indexes = [models.Index(fields=["slot_id", "hour"], name="tailor_aggregate_slot_hour")]
        verbose_name = _("hourly event count")
        verbose_name_plural = _("hourly event counts")

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.slot_id}/{self.variant_id} {self.kind}: {self.count}"


class EventBreakdown(models.Model):
    """Hourly counts per slot, variant, kind and one breakdown value (``device``/``daypart``/``segment``),
    folded in with `EventAggregate`. One row per value of each dimension, not per combination, so
    the rows grow with the sum of the values (devices + dayparts + segments), never their product.
    Decisions made while an experiment was paused are left out."""

    DIMENSION_CHOICES = [("device", _("Device")), ("daypart", _("Time of day")), ("segment", _("Segment"))]

    hour = models.DateTimeField(_("hour"), help_text=_("Start of the hour (UTC)"))
    slot_id = models.CharField(_("slot id"), max_length=255)
    variant_id = models.CharField(_("variant id"), max_length=255)
    kind = models.CharField(_("kind"), max_length=16, choices=KIND_CHOICES)
    dimension = models.CharField(_("dimension"), max_length=16, choices=DIMENSION_CHOICES)
    value = models.CharField(_("value"), max_length=64, help_text=_("'?' when unknown, '' for no segment"))
    count = models.BigIntegerField(_("count"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "slot_id", "variant_id", "kind", "dimension", "value"],
                name="tailor_event_breakdown_unique",
            )
        ]
        indexes = [models.Index(fields=["slot_id", "hour"], name="tailor_breakdown_slot_hour")]
        verbose_name = _("hourly breakdown count")
        verbose_name_plural = _("hourly breakdown counts")

    def __str__(self) -> str:
        return (
            f"{self.hour:%Y-%m-%d %H}:00 {self.slot_id}/{self.variant_id} {self.dimension}={self.value}: {self.count}"
        )


class FlushCursor(models.Model):
    name = models.CharField(_("name"), max_length=255, unique=True)
    position = models.CharField(_("position"), max_length=64, default="0-0")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("event flush cursor")
        verbose_name_plural = _("event flush cursors")

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"


class PolicyState(models.Model):
    slot_id = models.CharField(_("slot id"), max_length=255, unique=True)
    state = models.JSONField(_("state"), help_text=_("The slot's learned policy state, as JSON"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("learned policy state")
        verbose_name_plural = _("learned policy states")

    def __str__(self) -> str:
        return self.slot_id


class Experiment(models.Model):
    """A slot with two or more variants, as the Experiments report lists it (one row per slot).

    Rows are kept in step with published pages (`cms.experiments.sync_experiments`). What the
    review shows is counted from `started_at` on: resetting the stats moves it, so earlier events
    stay in the log and the aggregates but no longer count for the experiment. While `status` is
    paused, the slot shows its default to everyone (`variants.experiments.pause_experiment`).
    """

    STATUS_RUNNING = "running"
    STATUS_PAUSED = "paused"
    STATUS_WINNER = "winner"
    STATUS_CHOICES = [
        (STATUS_RUNNING, _("Running")),
        (STATUS_PAUSED, _("Paused")),
        (STATUS_WINNER, _("Winner declared")),
    ]

    slot_id = models.CharField(_("slot id"), max_length=255, unique=True)
    page = models.ForeignKey(
        "wagtailcore.Page", verbose_name=_("page"), on_delete=models.CASCADE, related_name="tailor_experiments"
    )
    slot_name = models.CharField(_("slot"), max_length=255)
    policy = models.CharField(_("policy"), max_length=16)
    variant_count = models.PositiveIntegerField(_("variants"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=STATUS_CHOICES, default=STATUS_RUNNING)
    winner_variant_id = models.CharField(_("winning variant id"), max_length=255, blank=True, default="")
    started_at = models.DateTimeField(
        _("counting since"), null=True, blank=True, help_text=_("Empty: since the first event")
    )
    paused_at = models.DateTimeField(
        _("paused since"), null=True, blank=True, help_text=_("While paused, everyone sees the default")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["page_id", "slot_name"]
        permissions = [("review_experiment", _("Can review experiments"))]
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")

    def __str__(self) -> str:
        return f"{self.slot_name} ({self.page_id})"


class VisitorDataRequest(models.Model):
    """A data request handled in the admin ("Visitor data": an export or an erasure), for the audit
    trail (Wagtail's log actions point at it). Holds no visitor id or token: only what was done, the
    reference the editor gave (e.g. a ticket number) and how much was found or removed."""

    KIND_EXPORT = "export"
    KIND_FORGET = "forget"
    KIND_CHOICES = [(KIND_EXPORT, _("Export")), (KIND_FORGET, _("Erasure"))]

    kind = models.CharField(_("kind"), max_length=16, choices=KIND_CHOICES)
    reference = models.CharField(_("reference"), max_length=100, blank=True, default="")
    summary = models.JSONField(_("summary"), default=dict, help_text=_("Counts of what was found or removed"))
    created_at = models.DateTimeField(_("handled at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("visitor data request")
        verbose_name_plural = _("visitor data requests")

    def __str__(self) -> str:
        label = self.get_kind_display()
        return f"{label} #{self.pk}" + (f" ({self.reference})" if self.reference else "")
