"""`make bench`: Tailor's performance figures, printed as a table and written to
`benchmarks/out/latest.json` (the machine, the versions, each figure with its unit, spread and goal).

    python -m benchmarks [--quick] [--skip load,requests,...] [--out PATH]

Each figure is a ratio or a count measured side by side in one run where it can be; absolute times
come with their spread. The parts that need the sample site run in processes of their own
(`benchmarks.page_requests`, `benchmarks.load`, `benchmarks.feedback`), each on a database of its
own. No timing assertion goes into the test suite: the goals are checked here and reported, never
failed on. The load part needs wrk: without it the run stops before measuring anything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import redis

from benchmarks.report import ROOT, WRK_MISSING, Figure, machine, table, write

PARTS = ("decision", "requests", "load", "feedback", "bandits", "emotion", "growthbook", "wagtail_personalisation")


def in_subprocess(module: str, *args: str) -> list[Figure]:
    """Run `python -m module` (it prints its figures as JSON on its last line of output)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return [Figure(module.rsplit(".", 1)[-1], None, "", note=f"failed: {tail[0][:300]}")]
    return [Figure(**f) for f in json.loads(done.stdout.strip().splitlines()[-1])]


#: where `make bench` looks for the issue's setup when DATABASE_URL / REDIS_URL are not set
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/tailor_bench"
LOCAL_REDIS = "redis://127.0.0.1:6379/10"


def local_services() -> list[str]:
    """Point DATABASE_URL and REDIS_URL at this machine's PostgreSQL and Redis when they are unset and
    answer (the parts that serve the site then run on them, each on a database of its own); what
    was chosen, in words."""
    said = []
    if not os.environ.get("DATABASE_URL"):
        try:
            import psycopg  # the [postgres] extra; a machine without it measures on SQLite

            psycopg.connect(LOCAL_POSTGRES.rsplit("/", 1)[0] + "/postgres", connect_timeout=2).close()
            os.environ["DATABASE_URL"] = LOCAL_POSTGRES
        except Exception as e:  # noqa: BLE001 - no server, no driver: SQLite
            said.append(f"no PostgreSQL at 127.0.0.1:5432 ({type(e).__name__}): the site runs on SQLite")
    if not os.environ.get("REDIS_URL"):
        try:
            redis.Redis.from_url(LOCAL_REDIS, socket_connect_timeout=2).ping()
            os.environ["REDIS_URL"] = LOCAL_REDIS
        except Exception as e:  # noqa: BLE001 - no server: no Redis
            said.append(f"no Redis at 127.0.0.1:6379 ({type(e).__name__}): profiles are read from the database")
    db = os.environ.get("DATABASE_URL", "sqlite").split("://")[0]
    return [f"database {db}, Redis {'on' if os.environ.get('REDIS_URL') else 'off'}", *said]


def not_measured(name: str, goal: str, why: str) -> Figure:
    return Figure(name, None, "", goal, None, note=why)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and one short load round (a smoke run)")
    parser.add_argument("--skip", default="", help=f"comma-separated parts to leave out: {', '.join(PARTS)}")
    parser.add_argument("--out", type=Path, help="where to write the JSON (default benchmarks/out/latest.json)")
    args = parser.parse_args(argv)
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    if unknown := skip - set(PARTS):
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; the parts are {', '.join(PARTS)}")

    if "load" not in skip and not shutil.which("wrk"):
        print(f"make bench: {WRK_MISSING}", file=sys.stderr)
        return 2

    for line in local_services():
        print(f"make bench: {line}", file=sys.stderr)
    started = time.perf_counter()
    figures: list[Figure] = []
    if "decision" not in skip:
        # imported per part: a skipped part loads nothing (the engine and its models)
        from benchmarks.engine import decision_figures

        figures += decision_figures(1000 if args.quick else 5000)
    if "requests" not in skip:
        figures += in_subprocess("benchmarks.page_requests", "--requests", "30" if args.quick else "200")
    if "load" not in skip:
        load_args = ("--rounds", "1", "--seconds", "3") if args.quick else ("--rounds", "3", "--seconds", "10")
        figures += in_subprocess("benchmarks.load", *load_args)
    if "feedback" not in skip:
        figures += in_subprocess("benchmarks.feedback", "--trials", "1" if args.quick else "3")
    else:
        figures.append(not_measured("feedback_seconds", "≤ 5", "measured with the feedback part (skipped)"))
    if "bandits" not in skip:
        # imported per part: a skipped part loads nothing (the engine and its models)
        from benchmarks.engine import bandit_figures

        figures += bandit_figures()
    if "emotion" not in skip:
        # imported per part: a skipped part loads nothing (the engine and its models)
        from benchmarks.engine import emotion_figures

        figures += emotion_figures()
    if "load" in skip:
        figures.append(not_measured("ingest_ratio", "≥ 0.80", "measured with the load part (skipped)"))
    if "growthbook" not in skip:
        # imported per part: a skipped part loads nothing (GrowthBook's SDK, the engine)
        from benchmarks.growthbook import growthbook_figures

        figures += growthbook_figures(args.quick)
    else:
        figures.append(not_measured("vs_growthbook", "report", "measured with the growthbook part (skipped)"))
    if "wagtail_personalisation" not in skip:
        # imported per part: a skipped part builds no virtualenv
        from benchmarks.wagtail_personalisation import beside_tailor, wagtail_personalisation_figures

        figures += beside_tailor(wagtail_personalisation_figures(args.quick), figures)
    else:
        figures.append(
            not_measured(
                "vs_wagtail_personalisation", "report", "measured with the wagtail_personalisation part (skipped)"
            )
        )
    seconds = time.perf_counter() - started
    facts = machine()
    print(table(figures))
    print(
        f"\n{facts['cpu_count']} × {facts['cpu_model']}, {facts['ram_gb']} GB; Python {facts['python']}, "
        f"Django {facts['django']}, Wagtail {facts['wagtail']}; commit {facts['git_commit'][:10]}"
        f"{' (modified tree)' if facts['git_dirty'] else ''}; {seconds:.0f} s"
    )
    path = write(figures, facts, seconds, args.out)
    print(f"written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
