"""The simulator's form: the context an editor wants to see a page through.

The form validates the way the API does: it shapes its fields like the GraphQL `ContextInput` and
hands them to `rules.context_builder.build_request_context`, so an invalid value is refused by the
same code with the same message, shown at the field it belongs to. Facts the API cannot be told
(segment membership, visit count) are then *forced* onto the context with the source "simulator".
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from wagtail import blocks as wagtail_blocks
from wagtail.models import Page, get_page_models
from wagtail.permission_policies.pages import PagePermissionPolicy

from cms.blocks import PersonalizedBlock
from rules.blocks import vocabulary_choices
from rules.context_builder import RequestContext, build_request_context
from rules.engine import DEVICE_CLASSES, Fact, InvalidContext, get_zone
from rules.engine.journey import simulated_summary
from rules.engine.vocabulary import DEVICE_LABELS, EMOTION_LABELS, EMOTION_NAMES, WEATHER_CONDITIONS, WEATHER_LABELS
from rules.models import Segment
from tailor.settings import tailor_settings
from variants.compiler import stream_fields

#: where the simulator keeps the editor's last context (JSON-safe; the text signal is never in it)
SESSION_KEY = "tailor_preview_context"
#: the source of facts the simulator sets directly rather than through the context builder
SOURCE_SIMULATOR = "simulator"

# The context builder names fields as the GraphQL input does; these are the form's names for them.
_FIELD_FOR_INPUT = {
    "now": "time",
    "weather": "weather",
    "weather.condition": "weather",
    "weather.temperature_c": "temperature",
    "weather.temperatureC": "temperature",
    "weather.temperature": "temperature",
    "utm": "utm_source",
    "utm.source": "utm_source",
    "utm.medium": "utm_medium",
    "utm.campaign": "utm_campaign",
}
# Form fields that make up the stored context (what the page preview mode replays).
_CONTEXT_FIELDS = (
    "date",
    "time",
    "timezone",
    "weather",
    "temperature",
    "device",
    "country",
    "city",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "referrer",
    "language",
    "emotion",
    "segments",
    "traits",
    "visit_count",
    "product_pages",
    "journey_minutes",
)


def _has_personalized_block(block: wagtail_blocks.Block) -> bool:
    if isinstance(block, PersonalizedBlock):
        return True
    if isinstance(block, (wagtail_blocks.BaseStreamBlock, wagtail_blocks.BaseStructBlock)):
        return any(_has_personalized_block(child) for child in block.child_blocks.values())
    if isinstance(block, wagtail_blocks.ListBlock):
        return _has_personalized_block(block.child_block)
    return False


@cache
def personalizable(model: type) -> bool:
    """Whether pages of this type can hold a personalized region (a StreamField with a PersonalizedBlock)."""
    return any(_has_personalized_block(f.stream_block) for f in stream_fields(model))


def personalizable_pages(user) -> Any:
    """The pages `user` may edit whose type can hold personalized regions, in tree order."""
    models = [m for m in get_page_models() if personalizable(m)]
    types = ContentType.objects.get_for_models(*models).values() if models else []
    editable = PagePermissionPolicy().instances_user_has_any_permission_for(user, {"change"})
    return editable.filter(content_type__in=list(types)).order_by("path")


class PageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Page) -> str:
        indent = "— " * max(0, obj.depth - 2)
        return f"{indent}{obj.get_admin_display_title()}"


def default_timezone() -> str:
    return tailor_settings.DEFAULT_TIMEZONE or settings.TIME_ZONE or "UTC"


@cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


class TimezoneInput(forms.TextInput):
    """A text input suggesting IANA names (a <datalist>), so any name can still be typed and checked."""

    template_name = "tailor_cms/simulator/timezone_input.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["list"] = f"{context['widget']['attrs'].get('id', name)}-zones"
        context["zones"] = timezone_names()
        return context


class TraitsField(forms.JSONField):
    """A JSON object field whose empty value looks empty (a plain JSONField shows `null`)."""

    def prepare_value(self, value):
        if value in (None, "", {}):
            return ""
        return super().prepare_value(value)

    def bound_data(self, data, initial):
        if data in (None, ""):
            return None
        return super().bound_data(data, initial)


def example(text: str) -> str:
    """A placeholder that reads as a hint, not as a value: "e.g. Asia/Seoul"."""
    return gettext("e.g. %(example)s") % {"example": text}


def _blank_choice(values: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, Any]]:
    """The vocabulary's choices after a blank one: the fact is unknown."""
    return [("", _("Unknown")), *vocabulary_choices(values, labels)]


class SimulatorForm(forms.Form):
    page = PageChoiceField(
        queryset=Page.objects.none(), label=_("Page"), help_text=_("Pages whose type has personalized regions")
    )
    revision = forms.ChoiceField(
        label=_("Revision"),
        choices=[("latest", _("Latest revision (includes unpublished drafts)")), ("live", _("Published version"))],
        initial="latest",
        widget=forms.RadioSelect,
    )

    date = forms.DateField(
        required=False,
        label=_("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The visitor's local date; empty: today"),
    )
    time = forms.TimeField(
        required=False,
        label=_("Local time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("The visitor's wall-clock time; empty: now"),
    )
    timezone = forms.CharField(
        required=False,
        max_length=64,
        label=_("Timezone"),
        widget=TimezoneInput(attrs={"autocomplete": "off"}),
        help_text=_("IANA name; empty: unknown (time rules then do not match unless the site sets a default)"),
    )

    weather = forms.ChoiceField(
        required=False, label=_("Weather"), choices=_blank_choice(WEATHER_CONDITIONS, WEATHER_LABELS)
    )
    temperature = forms.FloatField(required=False, label=_("Temperature (°C)"))

    device = forms.ChoiceField(required=False, label=_("Device"), choices=_blank_choice(DEVICE_CLASSES, DEVICE_LABELS))
    country = forms.CharField(
        required=False, max_length=100, label=_("Country"), help_text=_("A code (KR) or a name (South Korea)")
    )
    city = forms.CharField(required=False, max_length=100, label=_("City"))
    language = forms.CharField(
        required=False,
        max_length=500,
        label=_("Language"),
        help_text=_("A tag (ko-KR) or an Accept-Language value (ko-KR,ko;q=0.9,en;q=0.8)"),
    )

    utm_source = forms.CharField(required=False, max_length=200, label=_("UTM source"))
    utm_medium = forms.CharField(required=False, max_length=200, label=_("UTM medium"))
    utm_campaign = forms.CharField(required=False, max_length=200, label=_("UTM campaign"))
    referrer = forms.CharField(
        required=False, max_length=2048, label=_("Referrer"), help_text=_("The URL the visitor came from")
    )

    emotion = forms.ChoiceField(
        required=False, label=_("Emotion"), choices=_blank_choice(EMOTION_LABELS, EMOTION_NAMES)
    )
    text = forms.CharField(
        required=False,
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Or a text the visitor wrote: the emotion classifier reads it. It is not stored or logged."),
    )

    segments = forms.ModelMultipleChoiceField(
        queryset=None,
        to_field_name="slug",
        required=False,
        label=_("Segments"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Chosen segments are forced (the visitor is in exactly these); none chosen: worked out from the rules"
        ),
    )
    traits = TraitsField(
        required=False,
        label=_("Traits"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("A JSON object of custom facts"),
    )
    visit_count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000,
        label=_("Visit count"),
        help_text=_("This visit included; more than 1 is returning"),
    )
    product_pages = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=1000,
        label=_("Product pages this session"),
        help_text=_("A journey to simulate: its stage and conversion likelihood are worked out from it"),
    )
    journey_minutes = forms.FloatField(
        required=False, min_value=0, max_value=600, label=_("Minutes this session"), help_text=_("With product pages")
    )

    def __init__(self, *args, user=None, with_page: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segments"].queryset = Segment.objects.order_by("name")
        # The limit is a setting, so it is applied here rather than in the field declaration.
        self.fields["text"].validators.append(MaxLengthValidator(int(tailor_settings.MAX_TEXT_LENGTH)))
        # Placeholders are hints ("e.g. …"), styled apart from values, so an empty field looks empty.
        for name, hint in {
            "timezone": "Asia/Seoul",
            "country": "KR",
            "city": "Seoul",
            "language": "ko-KR",
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "spring-sale",
            "referrer": "https://www.google.com/",
            "traits": '{"plan": "pro"}',
            "temperature": "12",
            "visit_count": "3",
        }.items():
            self.fields[name].widget.attrs["placeholder"] = example(hint)
        if with_page:
            pages = personalizable_pages(user) if user is not None else Page.objects.none()
            self.fields["page"].queryset = pages
            only = list(pages[:2])
            if len(only) == 1:  # a lone page is the one to simulate
                self.fields["page"].empty_label = None
                self.fields["page"].initial = only[0].pk
        else:
            del self.fields["page"], self.fields["revision"]
        self.request_context: RequestContext | None = None

    # --- validation ----------------------------------------------------------------------------

    def clean_traits(self) -> dict | None:
        traits = self.cleaned_data.get("traits")
        if traits in (None, "", {}):
            return None
        if not isinstance(traits, dict):
            raise ValidationError(gettext('Enter a JSON object such as {"plan": "pro"}'))
        limit = int(tailor_settings.MAX_TRAITS)
        if len(traits) > limit:
            message = ngettext(
                "At most %(limit)d trait (got %(count)d)", "At most %(limit)d traits (got %(count)d)", limit
            )
            raise ValidationError(message % {"limit": limit, "count": len(traits)})
        return traits

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("emotion") and cleaned.get("text"):
            self.add_error("text", gettext("Choose an emotion or enter a text, not both"))
        if self.errors:
            return cleaned
        try:
            rc = build_request_context(None, self.context_input())
        except InvalidContext as e:
            self._add_context_error(e)
            return cleaned
        self.request_context = self._force_facts(rc)
        return cleaned

    def _add_context_error(self, error: InvalidContext) -> None:
        field = _FIELD_FOR_INPUT.get(error.field) or error.field.split(".", 1)[0]
        if field not in self.fields:
            field = None
        self.add_error(field, error.message)

    # --- what the form means -------------------------------------------------------------------

    def local_now(self) -> datetime | None:
        """The instant the editor asked for, in their chosen zone (None: the server clock)."""
        day: date | None = self.cleaned_data.get("date")
        at: time | None = self.cleaned_data.get("time")
        if day is None and at is None:
            return None
        zone_name = self.cleaned_data.get("timezone") or default_timezone()
        zone = get_zone(zone_name)
        now = datetime.now(zone)
        return datetime.combine(day or now.date(), at or now.time().replace(microsecond=0), tzinfo=zone)

    def context_input(self) -> dict[str, Any]:
        """The cleaned fields shaped like the GraphQL ContextInput (snake_case)."""
        c = self.cleaned_data
        data: dict[str, Any] = {"consent": {"personalization": True, "analytics": False}}
        if c.get("timezone"):
            data["timezone"] = c["timezone"]
        try:
            now = self.local_now()
        except InvalidContext:
            now = None  # the timezone's own error is reported at its field
        if now is not None:
            data["now"] = now
        for name in ("country", "city", "device", "language", "referrer", "emotion", "text"):
            if c.get(name):
                data[name] = c[name]
        if c.get("weather") or c.get("temperature") is not None:
            data["weather"] = {"condition": c.get("weather") or None, "temperature_c": c.get("temperature")}
        utm = {k: c.get(f"utm_{k}") for k in ("source", "medium", "campaign") if c.get(f"utm_{k}")}
        if utm:
            data["utm"] = utm
        if c.get("traits"):
            data["traits"] = c["traits"]
        return data

    def _force_facts(self, rc: RequestContext) -> RequestContext:
        c = self.cleaned_data
        forced = []
        if c.get("segments"):
            slugs = frozenset(s.slug for s in c["segments"])
            forced.append(Fact("segments", slugs, SOURCE_SIMULATOR, gettext("forced in the simulator")))
        if c.get("visit_count"):
            forced.append(Fact("visit_count", c["visit_count"], SOURCE_SIMULATOR))
            forced.append(Fact("returning", c["visit_count"] > 1, SOURCE_SIMULATOR))
        if c.get("product_pages") is not None or c.get("journey_minutes") is not None:
            journey = simulated_summary(c.get("product_pages") or 0, c.get("journey_minutes") or 0.0)
            forced.append(Fact("journey", journey, SOURCE_SIMULATOR, gettext("forced in the simulator")))
        if forced:
            rc.ctx = rc.ctx.with_facts(*forced)
        return rc

    def session_data(self) -> dict[str, Any]:
        """The context inputs as JSON-safe data for the session; never the text signal."""
        c = self.cleaned_data
        out: dict[str, Any] = {}
        for name in _CONTEXT_FIELDS:
            value = c.get(name)
            if name == "segments":
                value = sorted(s.slug for s in value or [])
            if value is None or (isinstance(value, (str, list, dict)) and not value):
                continue
            if name == "date":
                value = value.isoformat()
            elif name == "time":
                value = value.strftime("%H:%M")
            out[name] = value
        if c.get("page") is not None:
            out["page"] = c["page"].pk
        return out

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(field id or "", label, message) of every error, for the summary at the top of the form."""
        out = []
        for name, errors in self.errors.items():
            if name == "__all__" or name not in self.fields:
                out.extend(("", "", str(e)) for e in errors)
                continue
            bound = self[name]
            out.extend((bound.auto_id, str(bound.label), str(e)) for e in errors)
        return out

    def field_groups(self) -> list[tuple[str, list]]:
        """The fields in the order and groups the template lays them out."""
        groups = [
            (gettext("When"), ["date", "time", "timezone"]),
            (gettext("Weather"), ["weather", "temperature"]),
            (gettext("Visitor"), ["device", "country", "city", "language"]),
            (gettext("Campaign"), ["utm_source", "utm_medium", "utm_campaign", "referrer"]),
            (gettext("Mood"), ["emotion", "text"]),
            (gettext("Audience"), ["segments", "visit_count", "traits"]),
            (gettext("Journey"), ["product_pages", "journey_minutes"]),
        ]
        if "page" in self.fields:
            groups.insert(0, (gettext("Page"), ["page", "revision"]))
        return [(title, [self[name] for name in names]) for title, names in groups]
