"""Where the time of a `personalizedPage` request goes: pyinstrument over many requests in one process.

    python -m benchmarks.profile [--requests 300] [--query page|personalizedPage] [--html out.html]

Same setup and documents as `benchmarks.page_requests` (test database, demo page, returning visitor).
Needs pyinstrument (`pip install pyinstrument`).
"""

from __future__ import annotations

import argparse
import json
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--query", choices=("page", "personalizedPage"), default="personalizedPage")
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django  # here: the settings module is chosen first

    django.setup()
    # Django's test tools and the documents need the app registry django.setup() just filled;
    # pyinstrument is a benchmark-only requirement, needed only when profiling.
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment  # after setup
    from pyinstrument import Profiler  # bench-only requirement

    from benchmarks.page_requests import documents  # after setup

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    client = Client()

    def post(doc: dict) -> dict:
        return client.post("/graphql/", json.dumps(doc), content_type="application/json").json()

    token = post(documents(None)["personalizedPage"])["data"]["personalizedPage"]["visitorToken"]
    doc = documents(token)[args.query]
    for _ in range(20):
        post(doc)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(args.requests):
            post(doc)
    print(profiler.output_text(unicode=True, color=False, show_all=os.environ.get("PROFILE_ALL") == "1"))
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())


if __name__ == "__main__":
    main()
