"""The theme format, and where themes are found.

A theme is a folder::

    midnight/
        theme.json            name, label, version, palette, fonts, the block types it renders,
                              optional activation conditions (the condition language of variants)
        templates/page.html   the page: loops over `blocks` and calls `render(block)`
        templates/blocks/<block name>.html   one template per block type ("heading", "button", ...)
        static/theme.css      inlined into the rendered HTML, under the theme's root element

Themes are discovered in the ``tailor_themes/`` folder of every installed app, in INSTALLED_APPS
order (the bundled "daylight" and "midnight" live in this app's own). A name found twice is a
problem `manage.py tailor_themes check` reports; the first app wins, so a site can replace a bundled
theme by listing its app first.

Every problem is a `ThemeProblem` naming the file and the line, so an error reads like a compiler's.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils.translation import gettext, gettext_noop

THEMES_FOLDER = "tailor_themes"
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
#: palette entries every theme defines (the CSS reads them as --tailor-<name>)
PALETTE_KEYS = ("background", "surface", "text", "muted", "accent", "accent_text", "link", "border")
#: pairs (foreground, background) that must reach WCAG AA for normal text (4.5:1)
CONTRAST_PAIRS = (
    ("text", "background"),
    ("text", "surface"),
    ("muted", "background"),
    ("link", "background"),
    ("link", "surface"),
    ("accent_text", "accent"),
)
MIN_CONTRAST = 4.5
FONT_KEYS = ("body", "heading")
REQUIRED_KEYS = ("name", "label", "version", "palette", "fonts", "blocks")
#: the bundled themes' labels, for makemessages (a label is looked up in the translations when shown,
#: so a theme's app can ship translations of its own)
BUNDLED_LABELS = (gettext_noop("Daylight"), gettext_noop("Midnight"))


@dataclass(frozen=True)
class ThemeProblem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ThemeError(ValueError):
    """A theme that cannot be loaded; `problems` says where and why."""

    def __init__(self, problems: list[ThemeProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Theme:
    name: str
    label: str
    version: str
    path: Path
    palette: dict[str, str]
    fonts: dict[str, str]
    blocks: tuple[str, ...]
    description: str = ""
    #: activation conditions in the StreamField condition block format (see `rules.blocks`)
    conditions: tuple[dict[str, Any], ...] = ()
    match: str = "all"
    app: str = ""
    stamp: tuple = field(default=(), compare=False)

    @property
    def display_label(self) -> str:
        """The label in the active language (when some installed app translates it)."""
        return gettext(self.label)

    @property
    def manifest(self) -> Path:
        return self.path / "theme.json"

    @property
    def templates(self) -> Path:
        return self.path / "templates"

    @property
    def stylesheet(self) -> Path:
        return self.path / "static" / "theme.css"

    def css(self) -> str:
        try:
            return self.stylesheet.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""


def line_of(text: str, key: str, after: str | None = None) -> int:
    """The line of `"key":` in a JSON text (after the line of `"after":` if given); 1 if not found."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        start = max(0, line_of(text, after) - 1)
    pattern = re.compile(r'"%s"\s*:' % re.escape(key))
    for number, line in enumerate(lines[start:], start + 1):
        if pattern.search(line):
            return number
    return start + 1 if after is not None else 1


def relative_luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two #rrggbb colours, from 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def load_theme(path: Path, app: str = "") -> Theme:
    """Read and validate `path/theme.json`; raises ThemeError with every problem found."""
    manifest = path / "theme.json"
    try:
        text = manifest.read_text(encoding="utf-8")
    except OSError as e:
        raise ThemeError([ThemeProblem(manifest, 1, gettext("cannot read theme.json (%(error)s)") % {"error": e})])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ThemeError([ThemeProblem(manifest, e.lineno, gettext("invalid JSON: %(error)s") % {"error": e.msg})])
    if not isinstance(data, dict):
        raise ThemeError([ThemeProblem(manifest, 1, gettext("theme.json must hold an object"))])
    problems: list[ThemeProblem] = []

    def problem(key: str, message: str, after: str | None = None) -> None:
        problems.append(ThemeProblem(manifest, line_of(text, key, after), message))

    for key in REQUIRED_KEYS:
        if key not in data:
            problems.append(ThemeProblem(manifest, 1, gettext("missing key %(key)r") % {"key": key}))
    name = data.get("name")
    if "name" in data and not (isinstance(name, str) and NAME_RE.match(name)):
        problem("name", gettext("name: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter"))
    if name is not None and isinstance(name, str) and name != path.name:
        problem(
            "name",
            gettext("name %(name)r differs from the folder's name %(folder)r") % {"name": name, "folder": path.name},
        )
    for key in ("label", "version"):
        if key in data and not (isinstance(data[key], str) and data[key].strip()):
            problem(key, gettext("%(key)s: give a non-empty string") % {"key": key})
    palette = data.get("palette")
    if "palette" in data:
        if not isinstance(palette, dict):
            problem("palette", gettext("palette: give an object of colours"))
            palette = {}
        for key in PALETTE_KEYS:
            if key not in palette:
                problem("palette", gettext("palette: missing colour %(key)r") % {"key": key})
            elif not (isinstance(palette[key], str) and COLOR_RE.match(palette[key])):
                problem(key, gettext("palette.%(key)s: give a colour as #rrggbb") % {"key": key}, "palette")

        def colour(key: str) -> bool:
            return isinstance(palette.get(key), str) and bool(COLOR_RE.match(palette[key]))

        for fg, bg in CONTRAST_PAIRS:
            if colour(fg) and colour(bg):
                ratio = contrast_ratio(palette[fg], palette[bg])
                if ratio < MIN_CONTRAST:
                    problem(
                        fg,
                        gettext("palette: %(fg)s on %(bg)s has contrast %(ratio).2f:1, below WCAG AA's 4.5:1")
                        % {"fg": fg, "bg": bg, "ratio": ratio},
                        "palette",
                    )
    fonts = data.get("fonts")
    if "fonts" in data:
        if not isinstance(fonts, dict) or not all(isinstance(fonts.get(k), str) and fonts[k] for k in FONT_KEYS):
            problem("fonts", gettext("fonts: give 'body' and 'heading' font stacks"))
    blocks = data.get("blocks")
    if "blocks" in data and not (isinstance(blocks, list) and blocks and all(isinstance(b, str) for b in blocks)):
        problem("blocks", gettext("blocks: give the list of block types the theme renders"))
    conditions = data.get("conditions", [])
    match = data.get("match", "all")
    if match not in ("all", "any"):
        problem("match", gettext("match: 'all' or 'any'"))
    if not isinstance(conditions, list):
        problem("conditions", gettext("conditions: give a list of condition blocks"))
        conditions = []
    else:
        for message in condition_problems(conditions, match):
            problem("conditions", gettext("conditions: %(message)s") % {"message": message})
    if problems:
        raise ThemeError(problems)
    return Theme(
        name=name,
        label=data["label"],
        version=data["version"],
        path=path,
        palette={k: palette[k] for k in PALETTE_KEYS},
        fonts={k: fonts[k] for k in FONT_KEYS},
        blocks=tuple(blocks),
        description=data.get("description", ""),
        conditions=tuple(conditions),
        match=match,
        app=app,
        stamp=_stamp(path),
    )


def condition_problems(conditions: list, match: str) -> list[str]:
    """What is wrong with activation conditions, checked by building them with the engine."""
    # The condition language belongs to rules: build with it, so a theme's conditions mean what a
    # variant's do (imported here because loading the condition blocks needs the app registry).
    from rules.blocks import CONDITION_BLOCKS, conditions_spec, load_condition_hooks
    from rules.engine import ConditionError, registry

    load_condition_hooks()
    out = []
    for item in conditions:
        if isinstance(item, dict) and isinstance(item.get("type"), str) and item["type"] not in CONDITION_BLOCKS:
            out.append(
                gettext("unknown condition type %(type)r; known: %(known)s")
                % {"type": item["type"], "known": ", ".join(sorted(CONDITION_BLOCKS))}
            )
            continue
        if not (
            isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("value", {}), dict)
        ):
            out.append(gettext('each condition is {"type": ..., "value": {...}}'))
    if out:
        return out
    spec = conditions_spec(conditions, match)
    if spec is None:
        return []
    try:
        registry.build(spec)
    except ConditionError as e:
        return [str(e)]
    return []


def _stamp(path: Path) -> tuple:
    """What changes when a theme's manifest or stylesheet is edited (to reload in DEBUG)."""
    out = []
    for f in (path / "theme.json", path / "static" / "theme.css"):
        try:
            out.append(f.stat().st_mtime_ns)
        except OSError:
            out.append(None)
    return tuple(out)


def theme_folders() -> list[tuple[str, Path]]:
    """(app label, theme folder) for every folder under an installed app's `tailor_themes/`."""
    found = []
    for config in apps.get_app_configs():
        root = Path(config.path) / THEMES_FOLDER
        if root.is_dir():
            found.extend((config.label, p) for p in sorted(root.iterdir()) if (p / "theme.json").is_file())
    return found


class ThemeRegistry:
    """The discovered themes, loaded once (and re-read when their files change, under DEBUG)."""

    def __init__(self) -> None:
        self._themes: dict[str, Theme] | None = None
        self._seen: tuple = ()
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Theme]:
        themes: dict[str, Theme] = {}
        folders = theme_folders()
        self._seen = tuple((str(f), _stamp(f)) for _, f in folders)
        for app, folder in folders:
            try:
                theme = load_theme(folder, app)
            except ThemeError:
                continue  # `tailor_themes check` reports it; a broken theme is not offered
            themes.setdefault(theme.name, theme)
        return themes

    def all(self) -> dict[str, Theme]:
        with self._lock:
            if self._themes is None or (settings.DEBUG and self._stale()):
                self._themes = self._load()
            return self._themes

    def _stale(self) -> bool:
        return tuple((str(f), _stamp(f)) for _, f in theme_folders()) != self._seen

    def get(self, name: str) -> Theme | None:
        return self.all().get(name)

    def clear(self) -> None:
        with self._lock:
            self._themes = None


themes = ThemeRegistry()
