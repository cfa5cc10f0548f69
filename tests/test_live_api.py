"""The API from outside, as production runs it (gunicorn, 2 workers, DEBUG off, PostgreSQL, Redis):

- a load test: `wrk` (a real load generator, loopback only, bounded in time) drives concurrent visitors
  who ask for their decisions and report an impression for each; no errors, worker memory flat, and
  what the API said it counted is exactly what is stored;
- schemathesis generates GraphQL requests from the exported schema (`graphql/schema.graphql`): no
  request, however odd, gets a 5xx.

The figures (requests, errors, p99, memory before and after) are printed; performance goals live in
`make bench`, so nothing here is timed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.live_server import LiveServer
from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "load" / "decide_and_count.lua"
#: concurrent visitors (one connection per wrk thread: a visitor's calls are sequential) and seconds
VISITORS = 4
SECONDS = int(os.environ.get("TAILOR_LOAD_SECONDS", "20"))
#: schemathesis examples per GraphQL root field (about 40 fields: well over 500 requests)
EXAMPLES = int(os.environ.get("TAILOR_SCHEMATHESIS_EXAMPLES", "40"))
#: a worker may grow this much while serving the load after its warm-up (KiB)
MEMORY_SLACK_KIB = 24 * 1024


@pytest.fixture(scope="module")
def live():
    server = LiveServer()
    try:
        yield server.start()
    finally:
        server.stop()


def wrk(server: LiveServer, seconds: int) -> dict:
    binary = shutil.which("wrk")
    if binary is None:
        unavailable("wrk", "not on PATH", "Install it with `apt-get install wrk`.")
    done = subprocess.run(
        [
            binary,
            f"-t{VISITORS}",
            f"-c{VISITORS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(SCRIPT),
            server.url,
            "--",
            str(seconds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("WRK_RESULT "))
    return json.loads(line.removeprefix("WRK_RESULT "))


def stored(server: LiveServer) -> dict:
    code = (
        "import json; from variants.models import Event; "
        "print(json.dumps({'impressions': Event.objects.filter(kind='impression').count()}))"
    )
    return json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1])


def test_sustained_decisions_and_events_have_no_errors_flat_memory_and_reconcile_exactly(live, capsys):
    warm = wrk(live, 5)  # fills the workers' caches (compiled pages, the schema)
    before_memory = live.rss_kib()
    before = stored(live)
    result = wrk(live, SECONDS)
    after_memory = live.rss_kib()
    after = stored(live)

    with capsys.disabled():
        print(
            f"\n[load] {result['requests']} requests in {SECONDS} s by {VISITORS} visitors "
            f"({result['requests'] / SECONDS:.0f}/s): {result['decided']} decisions, {result['counted']} events "
            f"counted, {result['refused']} not counted; errors: {result['socket_errors']} socket, "
            f"{result['non_2xx']} non-2xx, {result['graphql_errors']} GraphQL; latency p50 "
            f"{result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms, max "
            f"{result['max_us'] / 1000:.1f} ms; worker RSS before {sorted(before_memory.values())} KiB, "
            f"after {sorted(after_memory.values())} KiB (warm-up: {warm['requests']} requests)"
        )
    assert result["requests"] > 100
    assert (result["socket_errors"], result["non_2xx"], result["graphql_errors"], result["bad_status"]) == (0, 0, 0, 0)
    assert result["refused"] == 0  # every token is reported once: each event counts
    # Exactly what the API said it counted is stored: nothing lost, nothing twice.
    assert after["impressions"] - before["impressions"] == result["counted"]
    assert set(after_memory) == set(before_memory)  # no worker was killed and replaced
    for pid, size in after_memory.items():
        assert size - before_memory[pid] < MEMORY_SLACK_KIB, (pid, before_memory[pid], size)
    log = live.log.read_text()
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log, log[-3000:]


# --- schemathesis: generated requests from the exported schema -----------------------------------------

schema = schemathesis.graphql.from_path(ROOT / "graphql" / "schema.graphql")
#: the status of every generated request sent (the test below checks there were enough)
SENT: list[int] = []


@pytest.fixture(scope="module")
def live_url(live):
    return live.url


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_server_error(case, live_url):
    response = case.call(base_url=live_url + "/graphql/", timeout=30)
    SENT.append(response.status_code)
    assert response.status_code < 500, (case.body, response.text[:500])
    assert response.headers.get("content-type", [""])[0].startswith("application/json")
    if response.status_code == 200 and "errors" in response.json():
        # An error a client can act on, never an internal message
        for error in response.json()["errors"]:
            assert not re.search(r"Traceback|File \"/|psycopg|django\.db", error.get("message", "")), error


def test_schemathesis_sent_at_least_500_requests(live_url, capsys):
    """Runs after the generated requests (pytest keeps a module's order); skips with them when the
    live server cannot start (no PostgreSQL or Redis), and fails with them under CI=true."""
    with capsys.disabled():
        statuses = {status: SENT.count(status) for status in sorted(set(SENT))}
        print(f"\n[schemathesis] {len(SENT)} generated requests; statuses {statuses}")
    assert len(SENT) >= 500
    assert all(status < 500 for status in SENT)
