"""Throughput and tail latency of `personalizedPage` against grapple's plain `page`, under load.

    python -m benchmarks.load [--rounds 3] [--seconds 10] [--connections 8]   # prints JSON

The sample site runs under gunicorn (2 workers) on a database of its own (a fresh SQLite file, as
`tests/browser/frontend_stack.py` starts it), or on DATABASE_URL and REDIS_URL when they are set
(the database is migrated and seeded with `tailor_demo`). wrk (`apt-get install wrk`) sends the
two queries of `benchmarks.page_requests` (the same content; the personalized one for a returning
visitor) at equal concurrency in alternating rounds, so drift in the machine's load hits both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchmarks.page_requests import documents
from benchmarks.report import WRK_MISSING, Figure
from tests.browser.frontend_stack import Stack, wait_for

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = %s
"""


def fresh_postgres(url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the PostgreSQL server of `url` (so rows of earlier runs weigh on no
    figure), and a function that drops it."""
    import psycopg  # only with a PostgreSQL DATABASE_URL (the [postgres] extra)

    parts = urlsplit(url)
    name = f"tailor_load_{secrets.token_hex(4)}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


class DjangoServer(Stack):
    """The sample site alone under gunicorn (no Next.js), on DATABASE_URL/REDIS_URL when set (a fresh
    database of its own on DATABASE_URL's PostgreSQL server, dropped afterwards)."""

    secret_key = secrets.token_urlsafe(50)
    database_url: str | None = None
    drop_database: Callable[[], None] | None = None

    def django_env(self) -> dict[str, str]:
        env = super().django_env()
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        # The sample site refuses to start with DEBUG off and no secret key: a random one per run
        # (the tokens it signs live only as long as this server).
        env.setdefault("DJANGO_SECRET_KEY", self.secret_key)
        env["TAILOR_RATE_LIMITS"] = "off"  # one visitor, thousands of events a second: a load test
        # persistent database connections, as a production deployment runs (Django's default, 0,
        # opens one per request: on PostgreSQL that costs more than the request itself)
        env.setdefault("CONN_MAX_AGE", "60")
        return env

    def start(self, workers: int = 2) -> DjangoServer:
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://")):
            self.database_url, self.drop_database = fresh_postgres(url)
        elif url:
            self.database_url = url
        self.manage("migrate", "--noinput", timeout=300)
        self.manage("tailor_demo")
        process, log = self.spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "sample_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.django_port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
            ],
            cwd=Path(__file__).resolve().parent.parent,
            env=self.django_env(),
            name="gunicorn",
        )
        wait_for(self.django_url + "/graphql/", process, log, timeout=60)
        return self

    def stop(self) -> None:
        super().stop()
        if self.drop_database is not None:
            self.drop_database()
            self.drop_database = None


def post(url: str, doc: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(doc).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    if "errors" in body:
        raise RuntimeError(f"the benchmark's query failed: {body}")
    return body


def parse_wrk(output: str) -> dict[str, float]:
    """Requests per second and the latency percentiles (ms) from `wrk --latency`."""
    out: dict[str, float] = {}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rps:
        raise RuntimeError(f"wrk printed no throughput:\n{output}")
    out["rps"] = float(rps.group(1))
    for pct, number, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        out[f"p{pct}_ms"] = float(number) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    out["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return out


def run_wrk(url: str, seconds: float, connections: int, *options: str) -> dict[str, float]:
    """wrk against `url` for `seconds` at `connections` (2 threads at most), with its `options` (a
    script, headers); the figures `parse_wrk` reads."""
    done = subprocess.run(
        ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{int(seconds)}s", "--latency", *options, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


def wrk(url: str, doc: dict, seconds: float, connections: int, workdir: Path) -> dict[str, float]:
    script = workdir / f"{abs(hash(json.dumps(doc)))}.lua"
    script.write_text(LUA % json.dumps(json.dumps(doc)))
    return run_wrk(url, seconds, connections, "-s", str(script))


def measure(rounds: int, seconds: float, connections: int) -> list[Figure]:
    if not shutil.which("wrk"):
        raise SystemExit(WRK_MISSING)
    server = DjangoServer()
    workdir = Path(tempfile.mkdtemp(prefix="tailor-wrk-"))
    try:
        server.start()
        url = server.django_url + "/graphql/"
        token = post(url, documents(None)["personalizedPage"])["data"]["personalizedPage"]["visitorToken"]
        docs = documents(token)
        for doc in docs.values():  # warm both workers: compiled pages, segment index, arm statistics
            wrk(url, doc, 2, connections, workdir)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in docs}
        for r in range(rounds):
            order = list(docs) if r % 2 == 0 else list(reversed(docs))
            for name in order:
                results[name].append(wrk(url, docs[name], seconds, connections, workdir))

        ingest = ingest_figure(url, rounds, seconds, connections, workdir, docs)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return [*page_figures(results, rounds, seconds, connections, server), ingest]


def ingest_figure(url: str, rounds: int, seconds: int, connections: int, workdir: Path, docs: dict) -> Figure:
    """`recordEvent` (an impression, each token reported once) against a mutation that does nothing
    (`mutation { __typename }`) on the same server, alternating rounds."""
    noop = {"query": "mutation { __typename }"}
    results: dict[str, list[dict[str, float]]] = {"recordEvent": [], "noop": []}
    for r in range(rounds):
        order = ("noop", "recordEvent") if r % 2 == 0 else ("recordEvent", "noop")
        for name in order:
            if name == "noop":
                results[name].append(wrk(url, noop, seconds, connections, workdir))
                continue
            # a fresh decision token per event (a token's repeat is deduplicated, which is cheaper):
            # enough for a round at the fastest rate seen so far, three per page request
            known = [e["rps"] * 1.3 for e in results["recordEvent"]] or [n["rps"] for n in results["noop"]]
            tokens = fresh_tokens(url, docs["personalizedPage"], int(max(known) * seconds) + 100, connections)
            results[name].append(wrk_events(url, tokens, seconds, connections, workdir))
    ratio = sum(r["rps"] for r in results["recordEvent"]) / sum(r["rps"] for r in results["noop"])
    per_round = [e["rps"] / n["rps"] for e, n in zip(results["recordEvent"], results["noop"], strict=True)]
    return Figure(
        "ingest_ratio",
        round(ratio, 3),
        "× (throughput)",
        "≥ 0.80",
        ratio >= 0.80,
        {"min": round(min(per_round), 3), "max": round(max(per_round), 3), "rounds": results},
        f"recordEvent (impressions, fresh tokens) over `mutation {{ __typename }}`, wrk {connections} connections, "
        f"{rounds} alternating rounds of {seconds} s",
        note=f"recordEvent {sum(r['rps'] for r in results['recordEvent']) / rounds:.0f} req/s, "
        f"no-op {sum(r['rps'] for r in results['noop']) / rounds:.0f} req/s",
    )


def fresh_tokens(url: str, doc: dict, count: int, threads: int) -> list[str]:
    def tokens(_: int) -> list[str]:
        return [d["token"] for d in post(url, doc)["data"]["personalizedPage"]["decisions"]]

    with ThreadPoolExecutor(threads) as pool:
        batches = pool.map(tokens, range(-(-count // 3)))
        return [token for batch in batches for token in batch]


EVENTS_LUA = """
local tokens = {%s}
local i = 0
request = function()
  i = i + 1
  local token = tokens[((i - 1) %% #tokens) + 1]
  local body = '{"query":"mutation($t:String!){recordEvent(token:$t,kind:IMPRESSION){ok counted}}","variables":{"t":"' .. token .. '"}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""


def wrk_events(url: str, tokens: list[str], seconds: int, connections: int, workdir: Path) -> dict[str, float]:
    script = workdir / "events.lua"
    script.write_text(EVENTS_LUA % ",".join(json.dumps(t) for t in tokens))
    return run_wrk(url, seconds, connections, "-s", str(script))


def page_figures(results: dict, rounds: int, seconds: int, connections: int, server: DjangoServer) -> list[Figure]:
    def total(name: str, key: str) -> float:
        return sum(r[key] for r in results[name]) / len(results[name])

    ratios = [p["rps"] / g["rps"] for p, g in zip(results["personalizedPage"], results["page"], strict=True)]
    p99s = [p["p99_ms"] / g["p99_ms"] for p, g in zip(results["personalizedPage"], results["page"], strict=True)]
    overhead = total("personalizedPage", "rps") / total("page", "rps")
    p99 = total("personalizedPage", "p99_ms") / total("page", "p99_ms")
    how = (
        f"gunicorn 2 workers ({server.django_env()['DATABASE_URL'].split('://')[0]}"
        f"{', Redis' if os.environ.get('REDIS_URL') else ''}), wrk {connections} connections, "
        f"{rounds} alternating rounds of {seconds:g} s each"
    )
    rounds_detail = {name: results[name] for name in results}
    errors = sum(r["non_2xx"] for rs in results.values() for r in rs)
    note = (
        f"page {total('page', 'rps'):.0f} req/s, p99 {total('page', 'p99_ms'):.1f} ms; "
        f"personalizedPage {total('personalizedPage', 'rps'):.0f} req/s, p99 {total('personalizedPage', 'p99_ms'):.1f} ms"
        + (f"; {errors:.0f} non-2xx responses" if errors else "")
    )
    return [
        Figure(
            "overhead_ratio",
            round(overhead, 3),
            "× (throughput)",
            "≥ 0.90",
            overhead >= 0.90,
            {"min": round(min(ratios), 3), "max": round(max(ratios), 3), "rounds": rounds_detail},
            how,
            note=note,
        ),
        Figure(
            "p99_ratio",
            round(p99, 3),
            "× (p99 latency)",
            "≤ 1.15",
            p99 <= 1.15,
            {"min": round(min(p99s), 3), "max": round(max(p99s), 3)},
            how,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    figures = measure(args.rounds, args.seconds, args.connections)
    sys.stdout.write(json.dumps([asdict(f) for f in figures]) + "\n")


if __name__ == "__main__":
    main()
