from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from grapple.schema import schema

DEFAULT_PATH = Path(settings.BASE_DIR) / "graphql" / "schema.graphql"


def schema_sdl() -> str:
    return str(schema).rstrip() + "\n"


class Command(BaseCommand):
    help = "Write the live GraphQL schema (SDL) to graphql/schema.graphql, or print it with --print."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(DEFAULT_PATH), help="Where to write the SDL")
        parser.add_argument("--print", dest="print_only", action="store_true", help="Print instead of writing a file")

    def handle(self, *args, out, print_only, **options):
        sdl = schema_sdl()
        if print_only:
            self.stdout.write(sdl, ending="")
            return
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sdl, encoding="utf-8")
        self.stdout.write(f"Wrote {path} ({len(sdl.splitlines())} lines)")
