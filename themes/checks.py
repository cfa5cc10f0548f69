"""`manage.py tailor_themes check`: what is wrong with the installed themes, with file and line.

Checked: theme.json (keys, names, colours and their WCAG contrast, fonts, activation conditions built
with the rules engine), the syntax of every template (filters and tags included: Jinja compiles them),
``page.html`` present, a template for every block type theme.json lists, and coverage: every block type
the site's page models can hold (top level, and inside personalized regions) has a template.
"""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext
from jinja2 import TemplateSyntaxError
from wagtail import blocks as wagtail_blocks
from wagtail.models import get_page_models

from themes.rendering import make_environment
from themes.theme import Theme, ThemeError, ThemeProblem, line_of, load_theme, theme_folders
from variants.blocks import PersonalizedBlock
from variants.compiler import stream_fields


def site_block_types() -> dict[str, tuple[str, str]]:
    """{block name: (block class name, where it is used)} for every block a page can render."""
    found: dict[str, tuple[str, str]] = {}

    def walk(stream: wagtail_blocks.BaseStreamBlock, where: str) -> None:
        for name, block in stream.child_blocks.items():
            found.setdefault(name, (type(block).__name__, where))
            if isinstance(block, PersonalizedBlock):
                walk(block.child_blocks["default"], f"{where} > {name}")

    for model in get_page_models():
        for f in stream_fields(model):
            walk(f.stream_block, f"{model._meta.label}.{f.name}")
    return found


def template_problems(theme: Theme) -> list[ThemeProblem]:
    env = make_environment(theme)
    problems = []
    for path in sorted(theme.templates.rglob("*.html")):
        try:
            env.parse(path.read_text(encoding="utf-8"), path.name, str(path))
        except TemplateSyntaxError as e:
            problems.append(ThemeProblem(path, e.lineno or 1, e.message or str(e)))
        except UnicodeDecodeError as e:
            problems.append(ThemeProblem(path, 1, gettext("not UTF-8 (%(error)s)") % {"error": e}))
    # Unknown filters and tests are found at compile time, so compile too.
    for path in sorted(theme.templates.rglob("*.html")):
        try:
            env.compile(path.read_text(encoding="utf-8"), path.name, str(path))
        except TemplateSyntaxError as e:
            problem = ThemeProblem(path, e.lineno or 1, e.message or str(e))
            if problem not in problems:
                problems.append(problem)
        except UnicodeDecodeError:
            pass
    return problems


def coverage_problems(theme: Theme) -> list[ThemeProblem]:
    text = theme.manifest.read_text(encoding="utf-8")
    line = line_of(text, "blocks")
    blocks_dir = theme.templates / "blocks"
    problems = []
    if not (theme.templates / "page.html").is_file():
        problems.append(ThemeProblem(theme.manifest, 1, gettext("templates/page.html is missing")))
    for name in theme.blocks:
        if not (blocks_dir / f"{name}.html").is_file():
            problems.append(
                ThemeProblem(
                    theme.manifest,
                    line,
                    gettext("block type %(name)r is listed but templates/blocks/%(name)s.html is missing")
                    % {"name": name},
                )
            )
    for name, (kind, where) in sorted(site_block_types().items()):
        if name in theme.blocks or (blocks_dir / f"{kind}.html").is_file():
            continue
        problems.append(
            ThemeProblem(
                theme.manifest,
                line,
                gettext("the site's block type %(name)r (%(kind)s, in %(where)s) has no template: add it to blocks")
                % {"name": name, "kind": kind, "where": where},
            )
        )
    return problems


def check_folder(path: Path, app: str = "") -> tuple[Theme | None, list[ThemeProblem]]:
    try:
        theme = load_theme(path, app)
    except ThemeError as e:
        return None, e.problems
    return theme, template_problems(theme) + coverage_problems(theme)


def check_all() -> dict[Path, list[ThemeProblem]]:
    """{theme folder: problems} for every theme folder of every installed app (an empty list: fine)."""
    results: dict[Path, list[ThemeProblem]] = {}
    seen: dict[str, Path] = {}
    for app, folder in theme_folders():
        theme, problems = check_folder(folder, app)
        if theme is not None:
            if theme.name in seen:
                problems.append(
                    ThemeProblem(
                        theme.manifest,
                        line_of(theme.manifest.read_text(encoding="utf-8"), "name"),
                        gettext("a theme named %(name)r is already installed from %(other)s; this one is ignored")
                        % {"name": theme.name, "other": seen[theme.name]},
                    )
                )
            else:
                seen[theme.name] = folder
        results[folder] = problems
    return results
