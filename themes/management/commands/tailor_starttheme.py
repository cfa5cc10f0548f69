"""`manage.py tailor_starttheme NAME [--app APP | --directory DIR]`: a new theme to edit, copied from
Daylight (every block type of Tailor's defaults covered), that passes `tailor_themes check` as it is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from themes.theme import NAME_RE, THEMES_FOLDER, themes

TEMPLATE_THEME = Path(__file__).resolve().parents[2] / THEMES_FOLDER / "daylight"


class Command(BaseCommand):
    help = "Create a new Tailor theme (theme.json, templates per block type, a stylesheet)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="lowercase letters, digits, '-' or '_', starting with a letter")
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--app", help="an installed app: the theme goes to its tailor_themes/ folder")
        where.add_argument("--directory", help="the folder to create the theme folder in (default: here)")
        parser.add_argument("--label", help="the name editors read (default: the name, capitalised)")

    def handle(self, *args, name, app=None, directory=None, label=None, **options):
        if not NAME_RE.match(name):
            raise CommandError(f"{name!r}: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter")
        if app:
            try:
                base = Path(apps.get_app_config(app).path) / THEMES_FOLDER
            except LookupError:
                raise CommandError(f"--app: no installed app labelled {app!r}") from None
        else:
            base = Path(directory or ".")
        target = base / name
        if target.exists():
            raise CommandError(f"{target} already exists")
        shutil.copytree(TEMPLATE_THEME, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
        manifest = json.loads((target / "theme.json").read_text(encoding="utf-8"))
        manifest.update({"name": name, "label": label or name.replace("-", " ").replace("_", " ").title()})
        manifest.update({"version": "0.1.0", "description": f"{manifest['label']}: describe your theme here."})
        (target / "theme.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        css = target / "static" / "theme.css"
        css.write_text(css.read_text(encoding="utf-8").replace("daylight", name).replace("Daylight", manifest["label"]))
        themes.clear()
        self.stdout.write(self.style.SUCCESS(f"Created theme {name!r} in {target}"))
        self.stdout.write("Next: edit theme.json and templates/, then run `manage.py tailor_themes check`.")
