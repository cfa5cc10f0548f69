"""What editors and visitors read on the Django side is marked for translation.

Two complementary checks:

- the pseudo-locale (`tests.pseudo_locale`) installed as Django's translation of every language:
  block labels, help texts, choices and validation messages, the segment admin, the simulator's form,
  page and preview, the admin menu, and what GraphQL returns (reasons, the default's name, input
  errors) then hold no ASCII word but the data the test put in;
- ``makemessages`` over a copy of the packages finds the strings a translator needs, the engine's
  included (they are marked with gettext's own names: ``_``, ``gettext``, ``ngettext``,
  ``pgettext``, ``gettext_noop``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.utils.translation import trans_real
from wagtail import blocks as wagtail_blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.models import Page

from cms.forms import SimulatorForm
from cms.models import PREVIEW_MODE
from cms.wagtail_hooks import SimulatorViewSet, TailorViewSetGroup, simulate_personalization_button
from rules.apps import RulesConfig
from rules.blocks import CONDITION_BLOCKS, ConditionsBlock
from rules.engine import i18n
from rules.models import Segment
from rules.views import SegmentViewSet
from sample_site.home.demo import condition, heading, personalized, variant
from sample_site.home.models import HomePage
from tests.pseudo_locale import pseudo, unmarked_words
from variants.blocks import PersonalizedBlock
from variants.compiler import compile_slot

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = "/admin/tailor/simulator/"


# --- the pseudo-locale as Django's translation ---------------------------------------------------


class PseudoTranslation:
    """Stands in for Django's translation object of any language (other attributes: English's)."""

    def __init__(self, base):
        self._base = base

    def gettext(self, message: str) -> str:
        # pgettext asks for "context\x04message"; the context is not part of what is shown
        return pseudo(message.split(trans_real.CONTEXT_SEPARATOR, 1)[-1])

    def ngettext(self, singular: str, plural: str, number: int) -> str:
        return self.gettext(singular if number == 1 else plural)

    def __getattr__(self, name: str):
        return getattr(self._base, name)


@contextmanager
def pseudo_django() -> Iterator[PseudoTranslation]:
    """Every language Django activates (the admin activates the user's own) is the pseudo-locale."""
    fake = PseudoTranslation(trans_real.translation(settings.LANGUAGE_CODE))
    saved = trans_real.translation, trans_real._default, getattr(trans_real._active, "value", None)
    trans_real.translation = lambda language: fake
    trans_real._default = fake
    trans_real._active.value = fake
    i18n.clear_memo()  # the engine remembers translations per language: not those of real English
    try:
        yield fake
    finally:
        trans_real.translation, trans_real._default, active = saved
        if active is None:
            del trans_real._active.value
        else:
            trans_real._active.value = active
        i18n.clear_memo()


@pytest.fixture
def pseudo_locale():
    with pseudo_django():
        yield


def assert_marked(texts, data=()) -> None:
    for text in texts:
        text = str(text)
        assert unmarked_words(text, data) == [], f"unmarked English in {text!r}"


# --- blocks --------------------------------------------------------------------------------------


def _choices(block: wagtail_blocks.Block) -> list:
    choices = block._constructor_args[1].get("choices") if hasattr(block, "_constructor_args") else None
    return [] if choices is None or callable(choices) else [label for _value, label in choices]


def block_texts(block: wagtail_blocks.Block) -> Iterator[str]:
    """The label, help text and choice labels of `block` and its children, Tailor's blocks only."""
    yield block.label
    help_text = getattr(block.meta, "help_text", None) or getattr(getattr(block, "field", None), "help_text", None)
    if help_text:
        yield help_text
    yield from _choices(block)
    if isinstance(block, ConditionsBlock):
        return  # every condition block is checked on its own
    children = block.child_blocks.values() if hasattr(block, "child_blocks") else ()
    if isinstance(block, wagtail_blocks.ListBlock):
        children = [block.child_block]
    for child in children:
        yield from block_texts(child)


def test_condition_blocks_labels_help_texts_and_choices_are_marked(pseudo_locale):
    built_in = {name: cls for name, cls in CONDITION_BLOCKS.items() if cls.__module__ == "rules.blocks"}
    assert len(built_in) == 20  # 16, and the journey, journey stage, likely-to-convert and next-section conditions
    for name, cls in built_in.items():
        block = cls()
        block.set_name(name)
        assert_marked(block_texts(block))


def test_personalized_block_labels_help_texts_and_choices_are_marked(pseudo_locale):
    block = PersonalizedBlock()
    block.set_name("personalized")
    texts = list(block_texts(block))
    assert len(texts) > 30
    assert_marked(texts)


def test_personalized_block_validation_messages_are_marked(pseudo_locale):
    block = PersonalizedBlock()
    twin = {"name": "겨울", "content": [], "match": "all", "conditions": [], "weight": 1}
    value = block.to_python({"slot": "Hero!", "policy": "RULES", "default": [], "variants": [twin, twin]})
    with pytest.raises(StructBlockValidationError) as caught:
        block.clean(value)
    errors = caught.value.block_errors
    assert set(errors) == {"slot", "variants"}
    assert_marked([m for error in errors.values() for m in error.messages])


def test_a_condition_blocks_error_is_the_engines_translated_message(pseudo_locale):
    block = CONDITION_BLOCKS["visit_count"]()
    with pytest.raises(StructBlockValidationError) as caught:
        block.clean(block.to_python({"min": 5, "max": 2, "negate": False}))
    assert_marked(caught.value.block_errors["max"].messages)


def test_a_compiled_condition_speaks_the_language_of_each_request():
    """Compiled pages are cached and shared by every request, so their words are made when shown."""
    raw = {
        "slot": "greeting",
        "variants": [
            {"name": "저녁", "conditions": [condition("time_of_day", {"start": "18:00", "end": "23:00"}, "t")]},
            {"name": "깨짐", "conditions": [condition("visit_count", {"min": 5, "max": 2}, "v")]},
        ],
    }
    conditions = [v.condition for v in compile_slot("s", raw).variants]
    english = [c.describe() for c in conditions]
    assert english == ["Evening 18:00–23:00", "invalid condition (max: the maximum is below the minimum)"]
    with pseudo_django():
        assert_marked((c.describe() for c in conditions), data={"max"})
    assert [c.describe() for c in conditions] == english


# --- the segment admin, menus, buttons -----------------------------------------------------------


def test_segment_model_and_admin_are_marked(pseudo_locale):
    meta = Segment._meta
    texts = [meta.verbose_name, meta.verbose_name_plural, SegmentViewSet.menu_label, RulesConfig.verbose_name]
    for field in meta.get_fields():
        if getattr(field, "auto_created", False) or not hasattr(field, "verbose_name"):
            continue
        texts += [field.verbose_name, field.help_text or ""]
        texts += [label for _value, label in field.choices or ()]
    texts += [panel.heading for panel in Segment.panels if getattr(panel, "heading", "")]
    assert_marked(texts)


@pytest.mark.parametrize(
    ("fields", "what"),
    [
        ({"kind": "rules", "enabled": True}, "conditions"),
        ({"kind": "discovered", "enabled": True}, "kind"),
        ({"conditions": json.dumps([condition("in_segment", {"segment": "vip"}, "s")])}, "conditions"),
    ],
)
def test_segment_validation_messages_are_marked(pseudo_locale, fields, what):
    segment = Segment(name="단골", slug="vip", **fields)
    with pytest.raises(Exception) as caught:
        segment.clean()
    assert_marked(caught.value.message_dict[what], data={"manage", "py", "tailor_discover_segments"})


def test_menu_items_buttons_and_the_preview_mode_are_marked(pseudo_locale, home_page):
    admin = get_user_model().objects.get(username="admin")
    buttons = list(simulate_personalization_button(home_page, admin, "edit"))
    texts = [str(TailorViewSetGroup.menu_label), str(SimulatorViewSet.menu_label), *(b.label for b in buttons)]
    texts.append(dict(home_page.preview_modes)[PREVIEW_MODE])
    assert len(texts) == 4
    assert_marked(texts)


# --- the simulator -------------------------------------------------------------------------------


def test_simulator_form_labels_help_texts_choices_and_groups_are_marked(pseudo_locale, db):
    form = SimulatorForm(user=get_user_model()(is_superuser=True))
    texts = [title for title, _fields in form.field_groups()]
    for name, field in form.fields.items():
        texts += [field.label, field.help_text]
        if name not in ("page", "segments"):  # their choices are pages and segments (data)
            texts += [label for _value, label in getattr(field, "choices", ())]
    assert_marked(texts)


def test_simulator_form_errors_are_marked(pseudo_locale, db):
    form = SimulatorForm(data={"traits": "[1]", "emotion": "joy", "text": "행복"}, with_page=False)
    assert not form.is_valid()
    too_many = SimulatorForm(data={"traits": json.dumps({f"k{i}": i for i in range(51)})}, with_page=False)
    assert not too_many.is_valid()
    unknown_zone = SimulatorForm(data={"timezone": "Mars/Base"}, with_page=False)
    assert not unknown_zone.is_valid()
    messages = [m for f in (form, too_many, unknown_zone) for errors in f.errors.values() for m in errors]
    assert len(messages) == 4
    assert_marked((re.sub(r"'[^']*'", "", m) for m in messages), data={"IANA"})


@pytest.fixture
def korean_page(home_page):
    """A page whose own words are Korean, so whatever ASCII is left on screen is Tailor's."""
    greeting = personalized(
        "greeting",
        default=[heading("기본 인사", "i18n")],
        variants=[
            variant(
                "greeting",
                "저녁",
                [heading("저녁 인사", "i18n", "evening")],
                [condition("time_of_day", {"start": "18:00", "end": "23:00"}, "i18n", "evening")],
            ),
            variant(
                "greeting",
                "휴대폰",
                [heading("휴대폰 인사", "i18n", "phone")],
                [condition("device", {"devices": ["mobile"]}, "i18n", "phone")],
            ),
        ],
    )
    page = HomePage(title="번역 확인", slug="i18n", body=json.dumps([greeting]))
    home_page.add_child(instance=page)
    page.save_revision(log_action=False).publish(log_action=False)
    page.refresh_from_db()
    return page


class _VisibleText(HTMLParser):
    """The text inside the element with class `root`, without code, data lists, scripts and the
    choosers of pages and segments (their options are data)."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
    SKIPPED = frozenset({"code", "datalist", "script", "style", "template", "svg", "textarea"})

    def __init__(self, root: str):
        super().__init__()
        self.root = root
        self.stack: list[tuple[str, bool, bool]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        inside, skipping = self.stack[-1][1:] if self.stack else (False, False)
        inside = inside or self.root in (attrs.get("class") or "").split()
        skipping = skipping or tag in self.SKIPPED or attrs.get("name") == "page" or attrs.get("id") == "id_segments"
        self.stack.append((tag, inside, skipping))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if self.stack and self.stack[-1][1] and not self.stack[-1][2] and data.strip():
            self.texts.append(data.strip())


def visible_text(html: str, root: str) -> list[str]:
    parser = _VisibleText(root)
    parser.feed(html)
    return parser.texts


def page_data() -> set[str]:
    """Words of the site's own content shown in the simulator: page titles and segment names."""
    names = [*Page.objects.values_list("title", flat=True), *Segment.objects.values_list("name", flat=True)]
    return {word for name in names for word in re.findall(r"[A-Za-z][A-Za-z_]+", name)}


#: values the simulations below put on screen (the context's facts as data)
FACT_DATA = {"Asia", "Seoul", "mobile", "desktop", "personalization", "analytics", "greeting", "UTC"}


@pytest.fixture
def editor_client(client, home_page):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


@pytest.mark.parametrize(
    "context",
    [
        {"date": "2026-11-30", "time": "20:00", "timezone": "Asia/Seoul", "device": "mobile"},
        {"date": "2026-11-30", "time": "12:00", "timezone": "Asia/Seoul", "device": "desktop"},
        {"device": "desktop", "text": "오늘은 비가 와서 슬퍼요"},
    ],
    ids=["chosen-and-matched", "default", "unknown"],
)
def test_simulator_page_shows_no_unmarked_english(pseudo_locale, editor_client, korean_page, context):
    response = editor_client.post(SIMULATOR, {"page": korean_page.pk, "revision": "latest", **context})
    assert response.status_code == 200
    assert response.context["simulation"].slots
    texts = visible_text(response.content.decode(), "tailor-sim")
    assert len(texts) > 50
    assert_marked(texts, data=page_data() | FACT_DATA)


def test_preview_mode_shows_no_unmarked_english(pseudo_locale, editor_client, korean_page):
    editor_client.post(
        SIMULATOR, {"page": korean_page.pk, "revision": "latest", "time": "20:00", "timezone": "Asia/Seoul"}
    )
    request = RequestFactory().get("/", HTTP_COOKIE=f"sessionid={editor_client.cookies['sessionid'].value}")
    html = korean_page.make_preview_request(request, PREVIEW_MODE).content.decode()
    texts = visible_text(html, "tailor-preview")
    assert len(texts) > 20
    assert_marked(texts, data=page_data() | FACT_DATA)


# --- GraphQL -------------------------------------------------------------------------------------

DECISIONS = """
query ($ctx: ContextInput) {
  personalizedPage(urlPath: "/i18n/", context: $ctx) { decisions { variantName reasons } }
}
"""


def test_graphql_reasons_and_the_defaults_name_follow_the_language(pseudo_locale, gql, korean_page):
    ctx = {"timezone": "Asia/Seoul", "now": "2026-11-30T12:00:00+09:00", "device": "DESKTOP"}
    decision = gql(DECISIONS, {"ctx": ctx})["data"]["personalizedPage"]["decisions"][0]
    assert len(decision["reasons"]) == 3
    assert_marked([decision["variantName"], *decision["reasons"]], data=FACT_DATA)


def test_graphql_input_errors_are_marked(pseudo_locale, gql, korean_page):
    error = gql(DECISIONS, {"ctx": {"timezone": "Mars/Base"}})["errors"][0]
    assert error["extensions"]["field"] == "context.timezone"
    assert_marked([re.sub(r"'[^']*'", "", error["message"])], data={"context", "timezone"})


# --- makemessages --------------------------------------------------------------------------------

#: (context, message) a translator must find in the catalogue; a sample from every area
EXPECTED = [
    # condition blocks, the personalized region, the segment admin
    (None, "Time of day"),
    (None, "Visitor's local time, inclusive"),
    ("utm", "Medium"),
    ("operator", "is present"),
    (None, "Personalized region"),
    (None, "Learning options"),
    (None, "Use 1-64 lowercase letters, digits, '-' or '_', starting with a letter"),
    (None, "segments"),
    (None, "An enabled segment needs at least one condition"),
    # the simulator and the preview (Python and templates)
    (None, "Personalization simulator"),
    (None, "Simulate personalization"),
    (None, "Context used"),
    (None, "Matched, but %(variant)s comes first"),
    (None, "Shows <strong data-chosen>%(variant)s</strong> (the default content)"),
    (None, "For the context last set in the simulator:"),
    ("variant", "Chosen"),
    ("fact source", "simulator"),
    # the engine: reasons, wording helpers, vocabularies, validation
    (None, "Exploring: %(share)s share (%(method)s)"),
    (None, "No variant matched; showing the default"),
    (None, "Audience: %(audience)s"),
    ("variant", "Default"),
    ("daypart", "evening"),
    (None, "Thompson sampling"),
    (None, "%(condition)s (%(timezone)s)"),
    (None, "%(observed)s; needed: %(wanted)s"),
    (None, "%(rest)s or %(last)s"),
    (None, "%(n)drd"),
    (None, "“%(text)s”"),
    (None, "Rainy"),
    (None, "Mondays"),
    ("weather", "rain"),
    (None, "pick at least one %(noun)s"),
    (None, "weather conditions"),
    (None, "All of"),
    (None, "unknown timezone %(name)r; use an IANA name such as 'Asia/Seoul'"),
    # discovered segments' summaries
    (None, "late nights"),
    (None, "reads %(sections)s"),
]
#: (singular, plural) a translator must find as plural forms
EXPECTED_PLURALS = [
    ("at most %(count)d character", "at most %(count)d characters"),
    ("%(items)s or %(count)d more", "%(items)s or %(count)d more"),
    ("At most %(limit)d trait (got %(count)d)", "At most %(limit)d traits (got %(count)d)"),
]


def _po_string(lines: list[str], i: int) -> tuple[str, int]:
    """The (possibly multi-line) quoted string starting on line i, and the next line's index."""
    text = json.loads(lines[i].split(" ", 1)[1])
    i += 1
    while i < len(lines) and lines[i].startswith('"'):
        text += json.loads(lines[i])
        i += 1
    return text, i


def read_po(path: Path) -> tuple[set[tuple[str | None, str]], set[tuple[str, str]]]:
    """The (msgctxt, msgid) pairs and the (msgid, msgid_plural) pairs of a .po file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    ids, plurals = set(), set()
    context = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("msgctxt "):
            context, i = _po_string(lines, i)
        elif line.startswith("msgid "):
            msgid, i = _po_string(lines, i)
            if i < len(lines) and lines[i].startswith("msgid_plural "):
                plural, i = _po_string(lines, i)
                plurals.add((msgid, plural))
            ids.add((context, msgid))
            context = None
        else:
            i += 1
    return ids, plurals


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) is not installed")
def test_makemessages_finds_the_strings_translators_need(tmp_path):
    for package in ("tailor", "rules", "variants", "cms"):
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=lambda directory, names: [
                n
                for n in names
                # the packages' own catalogs stay behind: makemessages writes to ./locale only
                if n == "locale" or not (n.endswith((".py", ".html")) or (Path(directory) / n).is_dir())
            ],
        )
    (tmp_path / "locale").mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "--locale", "ko", "--no-obsolete"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    ids, plurals = read_po(tmp_path / "locale" / "ko" / "LC_MESSAGES" / "django.po")

    assert [entry for entry in EXPECTED if entry not in ids] == []
    assert [entry for entry in EXPECTED_PLURALS if entry not in plurals] == []
