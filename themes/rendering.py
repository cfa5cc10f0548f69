"""Render a personalized page through a theme, in Jinja2's sandbox.

Templates never see a model instance, a request or the settings: the page's StreamFields are turned
into plain data first (strings, numbers, lists and dicts; rich text as its stored source, images as
an `ImageRef`), and the few things that need the database are filters this module controls::

    {{ block.value|richtext }}                  rich text, links to pages and documents expanded
    {{ block.value|image("fill-800x450") }}     an <img> of a rendition (width, height, alt, lazy)
    {% set r = block.value|rendition("width-400") %}{{ r.url }} {{ r.width }}
    {{ block.value.url|link }}                  a safe href (javascript: and the like become "#")
    {{ render(child) }}                         a block through the theme's template for its type

Every template also sees `theme` (name, label, palette, fonts), `page` (title, url), `blocks` (the
page's blocks), `decisions` (each slot's decision, with its reasons), `context` (the resolved facts:
``context.timezone``, ``context.device``, ``context.local_time``...) and `theme_reason`. The
environment is an `ImmutableSandboxedEnvironment` with autoescaping: no attribute starting with "_",
no method that alters data, no mutation of lists or dicts.

The renderer wraps the theme's output in one root element that carries ``data-tailor-theme`` and the
palette as CSS custom properties (``--tailor-background``...), with the theme's stylesheet inlined.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext, gettext_noop, ngettext
from jinja2 import FileSystemLoader, pass_context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup
from wagtail import blocks as wagtail_blocks
from wagtail.images import get_image_model
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import Page
from wagtail.rich_text import RichText, expand_db_html

from rules.engine import Context
from themes.selection import ThemeChoice, choose_theme
from themes.theme import Theme
from variants.blocks import PersonalizedBlock
from variants.compiler import stream_fields
from variants.engine.vocabulary import DEFAULT_VARIANT
from variants.rendering import ThemeExplanation

logger = logging.getLogger("tailor.themes")

SAFE_SCHEMES = ("http", "https", "mailto", "tel")
#: what the bundled themes' templates translate with `_()`, for makemessages (it reads no Jinja2)
TEMPLATE_STRINGS = (gettext_noop("Why am I seeing this?"),)


@dataclass(frozen=True)
class ImageRef:
    """What a template knows of an image: pass it to the `image` or `rendition` filter."""

    id: int
    title: str
    alt: str
    width: int
    height: int


@dataclass(frozen=True)
class PageRef:
    id: int
    title: str


# --- filters --------------------------------------------------------------------------------------


def richtext(value: Any) -> Markup:
    """Rich text's stored source (or a RichText) as HTML, with page and document links expanded."""
    if value is None:
        return Markup("")
    if isinstance(value, RichText):
        value = value.source
    return Markup(expand_db_html(str(value)))


def rendition(ref: ImageRef | None, spec: str = "max-1200x800") -> dict[str, Any] | None:
    """A rendition of the image as {url, width, height, alt}; None when the image or spec is unusable."""
    if not isinstance(ref, ImageRef):
        return None
    try:
        r = get_image_model().objects.get(pk=ref.id).get_rendition(spec)
    except Exception:  # a deleted image, a bad spec or a missing file must not break the page
        logger.warning("theme: no rendition %r of image %s", spec, ref.id, exc_info=True)
        return None
    return {"url": r.url, "width": r.width, "height": r.height, "alt": ref.alt}


def image(ref: ImageRef | None, spec: str = "max-1200x800", css_class: str = "") -> Markup:
    """An <img> of a rendition of the image (empty when there is none)."""
    r = rendition(ref, spec)
    if r is None:
        return Markup("")
    return Markup('<img src="{}" width="{}" height="{}" alt="{}" loading="lazy"{}>').format(
        r["url"], r["width"], r["height"], r["alt"], Markup(' class="{}"').format(css_class) if css_class else ""
    )


def link(value: Any) -> str:
    """A safe href: a page (or its id) becomes its URL; only http(s), mailto, tel and relative URLs pass."""
    if isinstance(value, PageRef | int) and not isinstance(value, bool):
        page = Page.objects.filter(pk=value.id if isinstance(value, PageRef) else value).first()
        return (page.specific_deferred.url or "#") if page else "#"
    text = str(value or "").strip()
    if not text:
        return "#"
    if text.startswith(("/", "#", "?")) and not text.startswith("//"):
        return text
    scheme = urlsplit(text).scheme.lower()
    return text if scheme in SAFE_SCHEMES else "#"


# --- turning the page into plain data ------------------------------------------------------------


def plain_fact(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | datetime | date | time):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain_fact(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain_fact(v) for k, v in value.items()}
    return str(value)


def plain_decision(decision, token: str = "") -> dict[str, Any]:
    return {
        "slot": decision.slot_name,
        "slot_id": decision.slot_id,
        "variant": decision.variant_id,
        "variant_name": decision.variant_name,
        "policy": decision.policy,
        "probability": decision.probability,
        "reasons": list(decision.reasons),
        "token": token,
    }


class Flattener:
    """Turns StreamField values into the plain data templates see, resolving personalized regions
    through the decisions of `result` (their default content when there is no decision)."""

    def __init__(self, result=None):
        self.result = result

    def child(self, child) -> dict[str, Any]:
        return {
            "type": child.block_type,
            "kind": type(child.block).__name__,
            "id": child.id,
            "value": self.value(child.block, child.value, child.id),
        }

    def stream(self, value) -> list[dict[str, Any]]:
        return [self.child(c) for c in value or []]

    def value(self, block, value, block_id=None) -> Any:
        if isinstance(block, PersonalizedBlock):
            return self.personalized(value, block_id)
        if isinstance(block, wagtail_blocks.RichTextBlock):
            return value.source if isinstance(value, RichText) else str(value or "")
        if isinstance(block, ImageChooserBlock):
            if value is None:
                return None
            alt = getattr(value, "default_alt_text", None) or value.title
            return ImageRef(value.pk, value.title, alt, value.width, value.height)
        if isinstance(block, wagtail_blocks.PageChooserBlock):
            return PageRef(value.pk, value.title) if value is not None else None
        if isinstance(block, wagtail_blocks.BaseStreamBlock):
            return self.stream(value)
        if isinstance(block, wagtail_blocks.BaseStructBlock):
            return {name: self.value(child, value.get(name)) for name, child in block.child_blocks.items()}
        if isinstance(block, wagtail_blocks.ListBlock):
            return [self.value(block.child_block, v) for v in value or []]
        return plain_fact(value)

    def personalized(self, value, block_id) -> dict[str, Any]:
        decision = self.result.decision_for(block_id) if self.result is not None and block_id else None
        content = value.get("default")
        if decision is not None and decision.variant_id != DEFAULT_VARIANT:
            slot = self.result.compiled.slot(block_id)
            ids = [v.id for v in slot.variants] if slot else []
            variants = list(value.get("variants") or [])
            if decision.variant_id in ids and ids.index(decision.variant_id) < len(variants):
                content = variants[ids.index(decision.variant_id)].get("content")
        token = self.result.tokens.get(block_id, "") if self.result is not None and block_id else ""
        return {
            "slot": value.get("slot"),
            "slot_id": block_id,
            "decision": plain_decision(decision, token) if decision is not None else None,
            "content": self.stream(content),
        }


# --- the sandbox ----------------------------------------------------------------------------------


@pass_context
def render_block(context, block: Any) -> Markup:
    """A block through the theme's template for its type: ``blocks/<type>.html``, else
    ``blocks/<kind>.html`` (the block class, e.g. ``blocks/CharBlock.html``)."""
    if not isinstance(block, dict) or "type" not in block:
        return Markup("")
    env = context.environment
    template = env.select_template([f"blocks/{block['type']}.html", f"blocks/{block.get('kind', '')}.html"])
    return Markup(template.render({**context.get_all(), "block": block}))


def make_environment(theme: Theme) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(theme.templates)),
        autoescape=True,
        auto_reload=settings.DEBUG,  # re-read a template when its file changes, while developing
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    env.filters.update({"richtext": richtext, "image": image, "rendition": rendition, "link": link})
    env.globals.update({"render": render_block})
    return env


_environments: dict[tuple, ImmutableSandboxedEnvironment] = {}
_env_lock = threading.Lock()


def environment(theme: Theme) -> ImmutableSandboxedEnvironment:
    """The theme's environment (one per theme; Jinja caches its compiled templates)."""
    key = (theme.name, str(theme.path), settings.DEBUG)
    with _env_lock:
        env = _environments.get(key)
        if env is None:
            env = _environments[key] = make_environment(theme)
        return env


# --- rendering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    html: str
    choice: ThemeChoice


def template_context(page, result, choice: ThemeChoice) -> dict[str, Any]:
    flat = Flattener(result)
    fields = {}
    for f in stream_fields(page) if page is not None else []:
        fields[f.name] = flat.stream(getattr(page, f.attname, None))
    ctx: Context | None = result.context if result is not None else None
    facts = {f.name: plain_fact(f.value) for f in ctx.facts()} if ctx is not None else {}
    if ctx is not None:
        facts["local_time"] = ctx.local_now()
    theme = choice.theme
    return {
        "theme": {
            "name": theme.name,
            "label": theme.display_label,
            "version": theme.version,
            "palette": dict(theme.palette),
            "fonts": dict(theme.fonts),
        },
        "theme_reason": choice.reason,
        "page": {
            "id": getattr(page, "pk", None),
            "title": getattr(page, "title", ""),
            "url": getattr(page, "url", None) if getattr(page, "pk", None) else None,
        },
        "fields": fields,
        "blocks": [b for stream in fields.values() for b in stream],
        "decisions": [plain_decision(d, result.tokens.get(d.slot_id, "")) for d in result.decisions] if result else [],
        "context": facts,
    }


def wrap(theme: Theme, inner: str, reason: str) -> str:
    style = ";".join(f"--tailor-{k.replace('_', '-')}:{v}" for k, v in theme.palette.items())
    style += ";" + ";".join(f"--tailor-font-{k}:{v}" for k, v in theme.fonts.items())
    css = theme.css().replace("</", "<\\/")  # a stylesheet cannot close the <style> element
    return str(
        Markup(
            '<div class="tailor-theme tailor-theme--{}" data-tailor-theme="{}" data-tailor-theme-reason="{}" style="{}">'
        ).format(theme.name, theme.name, reason, style)
        + Markup("<style>{}</style>").format(Markup(css))
        + Markup(inner)
        + Markup("</div>")
    )


def render_page(page, result=None, *, theme: str | None = None, request=None) -> Rendered:
    """`page` (with `result`'s decisions) rendered through the theme named or selected.

    Raises `variants.rendering.UnknownTheme` for a name no theme has."""
    ctx = result.context if result is not None else None
    choice = choose_theme(page, ctx, theme, request)
    env = environment(choice.theme)
    inner = env.get_template("page.html").render(template_context(page, result, choice))
    return Rendered(wrap(choice.theme, inner, choice.reason), choice)


def render_personalized_page(result, theme: str | None, request) -> str:
    """The renderer `themes` registers with `variants.rendering`."""
    return render_page(result.page, result, theme=theme, request=request).html


def explain_personalized_page(result, theme: str | None, request) -> ThemeExplanation:
    """The chooser `themes` registers with `variants.rendering`: the theme `render_personalized_page`
    would use, and why, without rendering."""
    choice = choose_theme(result.page, result.context, theme, request)
    return ThemeExplanation(choice.theme.name, choice.theme.display_label, choice.source, choice.reason)


def render_sample(theme: Theme, block: dict[str, Any]) -> str:
    """One plain block through a theme (tests, the theme check)."""
    env = environment(theme)
    return str(render_block(env.from_string("").new_context({}), block))
