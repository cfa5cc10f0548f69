"""wagtail-personalisation 1.0 on the same page, same machine, same run: its throughput overhead
(the personalised page over a plain one on its own server) to report beside Tailor's `overhead_ratio`.

    python -m benchmarks.wagtail_personalisation [--quick] [--json]

wagtail-personalisation is installed from PyPI into a virtualenv of its own, `benchmarks/out/wp-venv`
(built once with the Wagtail, Django and gunicorn versions Tailor's own virtualenv has, reused while
its stamp file matches). `project/` is a minimal Wagtail site for it: Tailor's demo home page
(`sample_site/home/demo.py`) with its three personalised regions written with wagtail-personalisation's
own mechanism (a `PersonalisedStructBlock` per variant, segments of time, device, query and
visit-count rules), and a plain page with the same content's defaults at /plain/, served by the same
server without wagtail-personalisation's hooks. As `benchmarks.load` runs Tailor's side: a fresh
SQLite file, migrated and seeded, gunicorn with 2 workers, wrk at 8 connections in alternating
rounds; the visitor is a returning one (their session cookie kept, so the add-on's segment logic runs
as for a real visitor) on a desktop browser, in one of the call to action's segments.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from benchmarks.load import run_wrk
from benchmarks.report import OUT, Figure, table
from tests.browser.frontend_stack import Stack, wait_for

PROJECT = Path(__file__).resolve().parent / "project"
VENV = OUT / "wp-venv"
STAMP = VENV / "tailor-stamp.txt"
VERSION = "1.0.0"
#: a desktop browser's (the device rule reads the User-Agent header; wrk sends none of its own)
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
#: the call to action's variant for returning desktop visitors (`wp_seed`): the visitor measured sees it
CTA_VARIANT = 'href="/signup/"'
#: the issue's anchor (issue 13)
ANCHOR = "the anchor: 0.26× throughput, 64 SQL queries per request (2 writes) instead of 6"
NAME = "vs_wagtail_personalisation"


class Unavailable(Exception):
    """wagtail-personalisation's virtualenv cannot be built (no network, no index, ...)."""


def requirements() -> list[str]:
    """wagtail-personalisation with the framework versions Tailor runs on here: the comparison is
    between the personalisation layers, not between Wagtail or Django releases."""
    pins = [f"wagtail-personalisation=={VERSION}"]
    pins += [f"{name}=={importlib.metadata.version(name)}" for name in ("wagtail", "Django", "gunicorn")]
    return pins


def ensure_venv() -> tuple[Path, float | None]:
    """The virtualenv's Python, and how long building it took (None when it was reused)."""
    python = VENV / "bin" / "python"
    wanted = "\n".join(requirements()) + "\n"
    if python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return python, None
    started = time.perf_counter()
    shutil.rmtree(VENV, ignore_errors=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=300)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *requirements()],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as e:
        shutil.rmtree(VENV, ignore_errors=True)
        raise Unavailable(f"could not create its virtualenv: {e}") from None
    if done.returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or done.stderr.splitlines()
        raise Unavailable(f"pip could not install {' '.join(requirements())}: {(errors or ['no output'])[-1][:200]}")
    STAMP.write_text(wanted)
    return python, time.perf_counter() - started


@dataclass
class Site(Stack):
    """The wagtail-personalisation site: a fresh SQLite file, migrated and seeded, under gunicorn run
    by `python` (its virtualenv's); processes, logs and clean-up as `Stack` does them."""

    python: Path = field(default_factory=lambda: Path(sys.executable))

    @property
    def url(self) -> str:
        return self.django_url

    def django_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
        env.update(
            DJANGO_SETTINGS_MODULE="wp_site.settings",
            PYTHONPATH=str(PROJECT),
            WP_DATABASE=str(self.workdir / "wp.sqlite3"),
            DJANGO_SECRET_KEY=self.secret_key,
        )
        return env

    @cached_property
    def secret_key(self) -> str:
        return secrets.token_urlsafe(50)

    def django(self, *args: str, timeout: float = 300) -> str:
        command = [str(self.python), "-m", "django", *args]
        return self.run(command, cwd=PROJECT, env=self.django_env(), timeout=timeout, step=f"django-admin {args[0]}")

    def start(self, workers: int = 2) -> Site:
        self.django("migrate", "--noinput")
        self.django("wp_seed")
        bind = f"127.0.0.1:{self.django_port}"
        command = [str(self.python), "-m", "gunicorn", "wp_site.wsgi", "--bind", bind, "--workers", str(workers)]
        process, log = self.spawn([*command, "--timeout", "60"], cwd=PROJECT, env=self.django_env(), name="gunicorn")
        wait_for(self.url + "/plain/", process, log, timeout=60)
        return self


def get(url: str, cookie: str | None = None) -> tuple[str, str | None]:
    """The page's HTML and the session cookie it set (if any)."""
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        set_cookie = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []]
        return response.read().decode(), next((c for c in set_cookie if c.startswith("sessionid=")), None)


def returning_visitor(url: str) -> str:
    """The session cookie of a visitor who has seen the home page three times: the call to action's
    segment for returning desktop visitors has taken them in, as each visitor gets one of Tailor's arms."""
    html, cookie = get(url)
    if cookie is None:
        raise RuntimeError("wagtail-personalisation's page set no session cookie")
    for _ in range(2):
        html, _ = get(url, cookie)
    if CTA_VARIANT not in html:
        raise RuntimeError("the returning visitor is in no call to action's segment")
    return cookie


def wrk_get(url: str, cookie: str, seconds: float, connections: int) -> dict[str, float]:
    return run_wrk(url, seconds, connections, "-H", f"Cookie: {cookie}", "-H", f"User-Agent: {USER_AGENT}")


def measure(python: Path, rounds: int, seconds: float, connections: int) -> tuple[dict, dict]:
    """wrk's figures per round for both pages, and the SQL queries per request of each."""
    site = Site(python=python)
    try:
        site.start()
        queries = json.loads(site.django("wp_queries", "--user-agent", USER_AGENT).strip().splitlines()[-1])
        pages = {"personalised": site.url + "/", "plain": site.url + "/plain/"}
        cookie = returning_visitor(pages["personalised"])
        for url in pages.values():  # warm both workers
            wrk_get(url, cookie, 2, connections)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
        for r in range(rounds):
            for name in list(pages) if r % 2 == 0 else list(reversed(pages)):
                results[name].append(wrk_get(pages[name], cookie, seconds, connections))
    finally:
        site.stop()
    return results, queries


def figures_from(results: dict, queries: dict, rounds: int, seconds: float, connections: int) -> list[Figure]:
    def mean(name: str, key: str) -> float:
        return sum(r[key] for r in results[name]) / len(results[name])

    ratio = mean("personalised", "rps") / mean("plain", "rps")
    per_round = [p["rps"] / g["rps"] for p, g in zip(results["personalised"], results["plain"], strict=True)]
    errors = sum(r["non_2xx"] for rs in results.values() for r in rs)
    how = (
        f"wagtail-personalisation {VERSION} (Wagtail {importlib.metadata.version('wagtail')}, Django "
        f"{importlib.metadata.version('Django')}, its own virtualenv): Tailor's demo home page as HTML, 3 "
        f"personalised regions, 7 segments; gunicorn 2 workers (sqlite), wrk {connections} connections, "
        f"{rounds} alternating rounds of {seconds:g} s against the same content's plain page on the same server"
    )
    p, g = queries["personalised"], queries["plain"]
    rps = [r["rps"] for r in results["personalised"]]
    return [
        Figure(
            NAME,
            round(ratio, 3),
            "× (throughput)",
            "report",
            None,
            {"min": round(min(per_round), 3), "max": round(max(per_round), 3), "rounds": results},
            how,
            note=(
                f"wagtail-personalisation's personalised page over its plain page (Tailor's is overhead_ratio): "
                f"{mean('personalised', 'rps'):.0f} against {mean('plain', 'rps'):.0f} req/s, p99 "
                f"{mean('personalised', 'p99_ms'):.1f} against {mean('plain', 'p99_ms'):.1f} ms; {p['queries']} SQL "
                f"queries per request ({p['writes']} writes) against {g['queries']}"
                + (f"; {errors:.0f} non-2xx responses" if errors else "")
                + f"; {ANCHOR}"
            ),
        ),
        Figure(
            "wagtail_personalisation_rps",
            round(mean("personalised", "rps"), 1),
            "req/s",
            "report",
            None,
            {"min": round(min(rps), 1), "max": round(max(rps), 1)},
            how,
        ),
        Figure(
            "wagtail_personalisation_queries",
            p["queries"],
            "queries",
            "report",
            None,
            {},
            "Django's test client in its virtualenv: one request of the returning visitor to the personalised page",
            note=f"{p['writes']} of them writes; the plain page: {g['queries']} ({g['writes']} writes)",
        ),
    ]


def beside_tailor(figures: list[Figure], tailor: list[Figure]) -> list[Figure]:
    """`figures` with Tailor's own from the same run (`benchmarks.load`'s overhead_ratio) written into
    the comparison's note: both overhead ratios and both personalised pages' throughput."""
    ours = next((f for f in tailor if f.name == "overhead_ratio" and f.value is not None), None)
    theirs = next((f for f in figures if f.name == NAME and f.value is not None), None)
    if ours is None or theirs is None:
        return figures
    rounds = ours.spread.get("rounds", {}).get("personalizedPage") or []
    tailor_rps = sum(r["rps"] for r in rounds) / len(rounds) if rounds else None
    wp_rps = next((f.value for f in figures if f.name == "wagtail_personalisation_rps"), None)
    theirs.note = (
        f"Tailor {ours.value:.3f}× ({tailor_rps:.0f} req/s, personalizedPage over page, GraphQL JSON) against "
        f"wagtail-personalisation {theirs.value:.3f}× ({wp_rps:.0f} req/s, its personalised page over its plain "
        f"one, HTML); {theirs.note}"
        if tailor_rps is not None and wp_rps is not None
        else f"Tailor {ours.value:.3f}× against wagtail-personalisation {theirs.value:.3f}×; {theirs.note}"
    )
    return figures


def wagtail_personalisation_figures(quick: bool) -> list[Figure]:
    """The figures, or one not measured with the reason (its virtualenv cannot be built, no wrk, ...)."""
    rounds, seconds, connections = (1, 3, 8) if quick else (3, 10, 8)
    if not shutil.which("wrk"):
        return [Figure(NAME, None, "", "report", None, note="not measured: wrk is not installed")]
    try:
        python, built = ensure_venv()
    except Unavailable as e:
        return [Figure(NAME, None, "", "report", None, note=f"not measured: {e}")]
    try:
        results, queries = measure(python, rounds, seconds, connections)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        text = str(e).strip().splitlines() or [type(e).__name__]
        return [Figure(NAME, None, "", "report", None, note=f"failed: {text[0][:300]}")]
    figures = figures_from(results, queries, rounds, seconds, connections)
    if built is not None:
        figures[0].note += f"; its virtualenv was built in this run ({built:.0f} s)"
    if os.environ.get("DATABASE_URL"):
        figures[0].note += "; on SQLite, where Tailor's load part ran on DATABASE_URL"
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.wagtail_personalisation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on one line")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = wagtail_personalisation_figures(args.quick)
    if args.json:
        sys.stdout.write(json.dumps([asdict(f) for f in figures]) + "\n")
        return
    print(table(figures))
    print(f"\n{time.perf_counter() - started:.0f} s")
