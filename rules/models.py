from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import StreamField

from rules.blocks import MATCH_CHOICES, ConditionsBlock, conditions_spec
from rules.engine import ConditionError, registry


class Segment(models.Model):
    """A named, reusable audience: rule-defined conditions, or discovered by clustering visitors."""

    KIND_RULES = "rules"
    KIND_DISCOVERED = "discovered"
    KIND_CHOICES = [(KIND_RULES, _("Rule-defined")), (KIND_DISCOVERED, _("Discovered"))]

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, help_text=_("Used in rules and in the API"))
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(pgettext_lazy("segment", "kind"), max_length=20, choices=KIND_CHOICES, default=KIND_RULES)
    match = models.CharField(pgettext_lazy("conditions", "match"), max_length=3, choices=MATCH_CHOICES, default="all")
    conditions = StreamField(ConditionsBlock(), blank=True, use_json_field=True, verbose_name=_("conditions"))
    enabled = models.BooleanField(_("enabled"), default=True)
    #: discovered segments: the plain-language summary and the cluster's centre in feature space
    summary = models.TextField(_("summary"), blank=True)
    cluster = models.JSONField(_("cluster"), null=True, blank=True, editable=False)
    size = models.PositiveIntegerField(
        _("size"), null=True, blank=True, editable=False, help_text=_("Profiles in the cluster")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    panels = [
        MultiFieldPanel([FieldPanel("name"), FieldPanel("slug"), FieldPanel("description")], heading=_("Segment")),
        FieldPanel("enabled"),
        FieldPanel("summary", read_only=True),
        FieldPanel("match"),
        FieldPanel("conditions"),
    ]

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name

    def condition_spec(self) -> dict | None:
        return conditions_spec(list(self.conditions.raw_data), self.match)

    def clean(self) -> None:
        super().clean()
        if not self.slug and self.name:
            self.slug = slugify(self.name)[:100]
        spec = self.condition_spec()
        errors = {}
        if self.kind == self.KIND_RULES and spec is None and self.enabled:
            errors["conditions"] = gettext("An enabled segment needs at least one condition")
        if spec is not None:
            if "in_segment" in _types(spec):
                errors["conditions"] = gettext("A segment cannot contain another segment")
            else:
                try:
                    registry.build(spec)
                except ConditionError as e:
                    errors["conditions"] = str(e)
        if self.kind == self.KIND_DISCOVERED and not self.cluster:
            errors["kind"] = gettext("Discovered segments are created by `manage.py tailor_discover_segments`")
        if errors:
            raise ValidationError(errors)


def _types(spec: dict) -> set[str]:
    found = {spec.get("type")}
    if spec.get("type") in ("all", "any"):
        for child in spec["conditions"]:
            found |= _types(child)
    elif spec.get("type") == "not":
        found |= _types(spec["condition"])
    return found


class RulesVersion(models.Model):
    """A single counter every process polls to notice that segments changed (see rules.segments)."""

    version = models.PositiveBigIntegerField(_("version"), default=0)

    class Meta:
        verbose_name = _("rules version")
        verbose_name_plural = _("rules versions")

    def __str__(self) -> str:
        return gettext("rules version %(version)s") % {"version": self.version}


class VisitorProfile(models.Model):
    """A consented visitor's bounded behaviour (see rules.profiles); the embedded-default store."""

    visitor_id = models.CharField(_("visitor id"), max_length=64, unique=True)
    data = models.JSONField(_("data"), default=dict)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("visitor profile")
        verbose_name_plural = _("visitor profiles")

    def __str__(self) -> str:
        return gettext("visitor %(id)s…") % {"id": self.visitor_id[:8]}


class JourneyStage(models.Model):
    """One stage of the site's funnel (Discover → Consider → Decide → Retain): a visitor is in the
    furthest enabled stage whose conditions hold (see rules.journeys)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, help_text=_("Used in rules and in the API"))
    order = models.PositiveSmallIntegerField(
        _("order"), default=0, help_text=_("Position in the funnel: later stages have higher numbers")
    )
    description = models.TextField(_("description"), blank=True)
    match = models.CharField(pgettext_lazy("conditions", "match"), max_length=3, choices=MATCH_CHOICES, default="all")
    conditions = StreamField(
        ConditionsBlock(),
        blank=True,
        use_json_field=True,
        verbose_name=_("conditions"),
        help_text=_(
            "Usually Journey conditions (product pages this session, conversions so far); none: every journey starts here"
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    panels = [
        MultiFieldPanel(
            [FieldPanel("name"), FieldPanel("slug"), FieldPanel("order"), FieldPanel("description")], heading=_("Stage")
        ),
        FieldPanel("enabled"),
        FieldPanel("match"),
        FieldPanel("conditions"),
    ]

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("journey stage")
        verbose_name_plural = _("journey stages")

    def __str__(self) -> str:
        return self.name

    def condition_spec(self) -> dict | None:
        return conditions_spec(list(self.conditions.raw_data), self.match)

    def clean(self) -> None:
        super().clean()
        if not self.slug and self.name:
            self.slug = slugify(self.name)[:100]
        spec = self.condition_spec()
        if spec is not None:
            if "journey_stage" in _types(spec):
                raise ValidationError({"conditions": gettext("A stage cannot depend on a journey stage")})
            try:
                registry.build(spec)
            except ConditionError as e:
                raise ValidationError({"conditions": str(e)}) from None


class PredictionModel(models.Model):
    """A conversion-likelihood model trained on the site's sessions (`manage.py tailor_predict train`):
    the trees as an .npz of plain arrays (read with allow_pickle=False) and the site's tables as JSON."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    arrays = models.BinaryField(_("arrays"))
    meta = models.JSONField(_("meta"), default=dict)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("prediction model")
        verbose_name_plural = _("prediction models")

    def __str__(self) -> str:
        return gettext("prediction model of %(date)s") % {"date": self.created_at}
