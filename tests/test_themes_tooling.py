"""Theme tooling: `tailor_starttheme` scaffolds a theme that passes `tailor_themes check`, and the
check names the file and line of every problem."""

from __future__ import annotations

import json
import os
import re
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from themes import checks
from themes import theme as theme_module
from themes.checks import check_folder
from themes.theme import load_theme

ERROR_LINE = re.compile(r"^(/[^:]+):(\d+): .+")


@pytest.fixture
def scaffold(tmp_path) -> Path:
    call_command("tailor_starttheme", "harbour", directory=str(tmp_path), stdout=StringIO())
    return tmp_path / "harbour"


def problems_of(path: Path) -> list[str]:
    return [str(p) for p in check_folder(path)[1]]


@pytest.mark.django_db
def test_starttheme_scaffolds_a_theme_that_passes_its_own_check(scaffold):
    assert problems_of(scaffold) == []
    theme = load_theme(scaffold)
    assert (theme.name, theme.label, theme.version) == ("harbour", "Harbour", "0.1.0")
    assert ".tailor-theme--harbour" in theme.css()
    assert not (scaffold / "__init__.py").exists()


def test_starttheme_refuses_a_bad_name_and_an_existing_folder(scaffold, tmp_path):
    with pytest.raises(CommandError, match="lowercase"):
        call_command("tailor_starttheme", "Bad Name", directory=str(tmp_path))
    with pytest.raises(CommandError, match="already exists"):
        call_command("tailor_starttheme", "harbour", directory=str(tmp_path))


@pytest.mark.django_db
def test_check_reports_a_template_syntax_error_at_its_file_and_line(scaffold):
    path = scaffold / "templates" / "blocks" / "button.html"
    path.write_text("<p>\n{% if block.value %}\n<a>{{ block.value.label }}</a>\n")  # no endif
    (problem,) = problems_of(scaffold)
    assert problem.startswith(f"{path}:4: ") or problem.startswith(f"{path}:3: ")
    assert "endif" in problem


@pytest.mark.django_db
def test_check_reports_an_unknown_filter_at_its_line(scaffold):
    path = scaffold / "templates" / "blocks" / "heading.html"
    path.write_text("<h2>\n{{ block.value|shout }}\n</h2>\n")
    (problem,) = problems_of(scaffold)
    assert problem.startswith(f"{path}:2: ") and "shout" in problem


@pytest.mark.django_db
def test_check_reports_manifest_problems_at_their_lines(scaffold):
    manifest = scaffold / "theme.json"
    data = json.loads(manifest.read_text())
    data["palette"]["muted"] = "#bbbbbb"  # on white: 1.9:1
    data["palette"]["link"] = "blue"
    data["conditions"] = [{"type": "time_of_day", "value": {"start": "25:00:00", "end": "06:00:00"}}]
    manifest.write_text(json.dumps(data, indent=2))
    text = manifest.read_text().splitlines()
    problems = problems_of(scaffold)
    by_message = {p.split(": ", 1)[1]: int(ERROR_LINE.match(p).group(2)) for p in problems}
    for message, line in by_message.items():
        assert ERROR_LINE.match(f"{manifest}:{line}: {message}")
    link = next(line for m, line in by_message.items() if m.startswith("palette.link"))
    assert '"link"' in text[link - 1]
    contrast = next((m, line) for m, line in by_message.items() if "muted on background" in m)
    assert "below WCAG AA" in contrast[0] and '"muted"' in text[contrast[1] - 1]
    condition = next(line for m, line in by_message.items() if m.startswith("conditions:"))
    assert '"conditions"' in text[condition - 1]


@pytest.mark.django_db
def test_check_refuses_an_unknown_condition_type(scaffold):
    manifest = scaffold / "theme.json"
    data = json.loads(manifest.read_text())
    data["conditions"] = [{"type": "moon_phase", "value": {"phase": "full"}}]
    manifest.write_text(json.dumps(data, indent=2))
    (problem,) = problems_of(scaffold)
    assert "unknown condition type 'moon_phase'; known: " in problem and "time_of_day" in problem


@pytest.mark.django_db
def test_check_reports_block_types_of_the_site_a_theme_does_not_render(scaffold):
    manifest = scaffold / "theme.json"
    data = json.loads(manifest.read_text())
    data["blocks"] = ["heading", "paragraph", "image", "personalized", "quote"]  # no button; a quote
    manifest.write_text(json.dumps(data, indent=2))
    line = next(n for n, text in enumerate(manifest.read_text().splitlines(), 1) if '"blocks"' in text)
    problems = problems_of(scaffold)
    assert len(problems) == 2 and all(p.startswith(f"{manifest}:{line}: ") for p in problems)
    assert any("'button' (ButtonBlock, in home.HomePage.body > personalized)" in p for p in problems)
    assert any("templates/blocks/quote.html is missing" in p for p in problems)


def test_check_reports_invalid_json_at_its_line(scaffold):
    (scaffold / "theme.json").write_text('{\n  "name": "harbour",\n  "label": oops\n}\n')
    (problem,) = problems_of(scaffold)
    assert problem.startswith(f"{scaffold / 'theme.json'}:3: invalid JSON")


@pytest.fixture
def extra_theme_folder(monkeypatch, scaffold):
    """Install the scaffolded theme as if an app's tailor_themes/ held it (no file written in the tree)."""
    found = theme_module.theme_folders()
    monkeypatch.setattr(theme_module, "theme_folders", lambda: [*found, ("mysite", scaffold)])
    monkeypatch.setattr(checks, "theme_folders", theme_module.theme_folders)
    theme_module.themes.clear()
    yield scaffold
    monkeypatch.undo()
    theme_module.themes.clear()


@pytest.mark.django_db
def test_the_check_command_passes_on_the_bundled_themes_and_fails_with_file_and_line(extra_theme_folder):
    out = StringIO()
    call_command("tailor_themes", "check", stdout=out)
    assert "3 theme(s) checked: no problems" in out.getvalue()
    (extra_theme_folder / "theme.json").write_text('{"name": "harbour"}\n')
    err = StringIO()
    with pytest.raises(CommandError, match="problem"):
        call_command("tailor_themes", "check", stdout=StringIO(), stderr=err)
    lines = err.getvalue().strip().splitlines()
    assert lines and all(ERROR_LINE.match(line) for line in lines)
    assert f"{extra_theme_folder / 'theme.json'}:1: missing key 'palette'" in lines


WORKED_EXAMPLE = """
query { personalizedPage(urlPath: "/", inSite: true,
    context: {timezone: "Europe/London", now: "2026-11-30T12:00:00+00:00", weather: {condition: RAIN}}) {
  renderedHtml } }"""


@pytest.mark.django_db
def test_the_guides_worked_example_activates_a_rainy_day_theme(extra_theme_folder, home_page, gql):
    manifest = extra_theme_folder / "theme.json"
    data = json.loads(manifest.read_text())
    data["match"] = "any"
    data["conditions"] = [
        {
            "type": "weather",
            "value": {"conditions": ["rain", "drizzle"], "min_temperature": None, "max_temperature": None},
        }
    ]
    manifest.write_text(json.dumps(data, indent=2))
    css = extra_theme_folder / "static" / "theme.css"
    css.write_text(css.read_text() + ".tailor-theme--harbour .tt-button { border-radius: 0; }\n")
    theme_module.themes.clear()
    html = gql(WORKED_EXAMPLE)["data"]["personalizedPage"]["renderedHtml"]
    assert 'data-tailor-theme="harbour"' in html
    assert re.search(r'data-tailor-theme-reason="Theme Harbour: ([^"]+)"', html).group(1) == "Rainy"
    assert "border-radius: 0" in html


@pytest.mark.django_db
def test_theme_json_and_stylesheet_reload_in_debug(extra_theme_folder, settings):
    settings.DEBUG = True
    assert theme_module.themes.get("harbour").label == "Harbour"
    manifest = extra_theme_folder / "theme.json"
    data = json.loads(manifest.read_text())
    data["label"] = "Harbour at dusk"
    manifest.write_text(json.dumps(data, indent=2))
    later = time.time() + 5
    os.utime(manifest, (later, later))
    assert theme_module.themes.get("harbour").label == "Harbour at dusk"
