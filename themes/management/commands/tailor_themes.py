"""`manage.py tailor_themes check` validates every installed theme; `tailor_themes list` lists them."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from themes.checks import check_all
from themes.theme import themes


class Command(BaseCommand):
    help = "Check the installed Tailor themes (theme.json, templates, block coverage) or list them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="Validate every theme; each error names its file and line")
        sub.add_parser("list", help="The themes found, with where they come from")

    def handle(self, *args, action, **options):
        if action == "list":
            themes.clear()
            for name, theme in sorted(themes.all().items()):
                when = " (activates on conditions)" if theme.conditions else ""
                self.stdout.write(f"{name}\t{theme.label} {theme.version}\t{theme.path}{when}")
            return
        results = check_all()
        errors = [p for problems in results.values() for p in problems]
        for problem in errors:
            self.stderr.write(str(problem))
        if errors:
            raise CommandError(f"{len(errors)} problem(s) in {sum(1 for p in results.values() if p)} theme(s)")
        self.stdout.write(self.style.SUCCESS(f"{len(results)} theme(s) checked: no problems"))
