"""The pieces the providers call a third party with (rules.providers.upstream): the pooled HTTP client
and its total deadline (HTTP and HTTPS), and the pybreaker circuit that lets one trial through."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pybreaker
import pytest

from rules.providers.open_meteo import OpenMeteoProvider
from rules.providers.upstream import Circuit, JsonClient, UpstreamError
from tests.openmeteo_server import FakeOpenMeteo
from tests.services import unavailable
from tests.weather_support import count_threads_started, fail, locmem_cache, ok

ROOT = Path(__file__).resolve().parents[1]
SEOUL = (37.5665, 126.978)
SEOUL_NEXT_CELL = (37.6001, 126.978)
# Room for a loaded CI machine: still far below the 2 s a slow or dripping server would take.
TIMING_MARGIN = 0.6


# -- the HTTP client -------------------------------------------------------------------------------


def test_a_huge_body_without_content_length_is_cut_off_at_the_size_cap(server):
    server.mode, server.declare_length = "huge", False

    with pytest.raises(UpstreamError, match="larger than 65536 bytes"):
        JsonClient().get_json(f"{server.base_url}/v1/forecast?latitude=1&longitude=2", timeout=2.0)


def test_the_same_answer_under_the_size_cap_is_accepted(server):
    server.mode, server.declare_length, server.huge_bytes = "huge", False, 1000

    data = JsonClient().get_json(f"{server.base_url}/v1/forecast?latitude=1&longitude=2", timeout=2.0)

    assert data["current"]["weather_code"] == 61


# -- HTTPS -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (certfile, keyfile)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        unavailable("openssl", "not installed", "Install it with `apt-get install openssl`.")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_https_answers_and_a_dripping_https_server_is_cut_at_the_deadline(tls_cert, monkeypatch):
    with FakeOpenMeteo(tls=tls_cert) as server:
        assert server.base_url.startswith("https://")
        provider = OpenMeteoProvider(
            server.base_url, cache=locmem_cache(), client=JsonClient(ca_certs=tls_cert[0]), timeout=0.3
        )
        started_threads = count_threads_started(monkeypatch)

        assert provider.current(*SEOUL).condition == "rain"
        server.mode, server.drip_interval = "drip", 0.02
        started = time.monotonic()
        weather = provider.current(*SEOUL_NEXT_CELL)
        elapsed = time.monotonic() - started

    assert weather is None
    assert elapsed < 0.3 + TIMING_MARGIN
    assert started_threads == []


def test_https_certificates_are_verified(tls_cert):
    with FakeOpenMeteo(tls=tls_cert) as server:
        url = f"{server.base_url}/v1/forecast?latitude=1&longitude=2"

        with pytest.raises(UpstreamError, match="connection failed"):
            JsonClient().get_json(url, timeout=2.0)  # the system's CAs do not know this certificate
        assert JsonClient(ca_certs=tls_cert[0]).get_json(url, timeout=2.0)["current"]["weather_code"] == 61


# -- the circuit ----------------------------------------------------------------------------------


def test_a_success_resets_the_failure_count(clock):
    circuit = Circuit(pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30.0))

    for outcome in (fail, fail, ok, fail, fail):
        try:
            circuit.call(outcome)
        except UpstreamError:
            pass

    assert circuit.state == "closed"
    with pytest.raises(UpstreamError):
        circuit.call(fail)
    assert circuit.state == "open"


def test_half_open_lets_exactly_one_of_many_concurrent_callers_through(clock):
    circuit = Circuit(pybreaker.CircuitBreaker(fail_max=1, reset_timeout=30.0))
    with pytest.raises(UpstreamError):
        circuit.call(fail)
    clock.advance(30)
    barrier = threading.Barrier(16)
    allowed, turned_away = [], []

    def trial():
        allowed.append(threading.current_thread())
        time.sleep(0.3)  # still under way while the other callers arrive
        return "answer"

    def ask():
        barrier.wait()
        try:
            circuit.call(trial)
        except pybreaker.CircuitBreakerError:
            turned_away.append(threading.current_thread())

    threads = [threading.Thread(target=ask) for _ in range(16)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(allowed) == 1
    assert len(turned_away) == 15
    assert circuit.state == "closed"
    assert time.monotonic() - started < 2.0  # turned away, not made to wait: queued, 16 x 0.3 s


def test_a_trial_whose_caller_crashes_does_not_wedge_the_breaker(clock):
    circuit = Circuit(pybreaker.CircuitBreaker(fail_max=1, reset_timeout=30.0))
    with pytest.raises(UpstreamError):
        circuit.call(fail)
    clock.advance(30)

    def crash():
        raise RuntimeError("a bug in the caller, mid-trial")

    with pytest.raises(RuntimeError):
        circuit.call(crash)  # the trial's caller goes away without an answer
    with pytest.raises(pybreaker.CircuitBreakerError):
        circuit.call(ok)

    clock.advance(30)

    assert circuit.call(ok) == "answer"


# -- layering and wording ----------------------------------------------------------------------------


def test_the_provider_modules_import_no_django_and_nothing_above_them():
    modules = ["rules.providers.upstream", "rules.providers.cells", "rules.providers.weather"]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in [*modules, "rules.providers.open_meteo"])
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'wagtail', 'graphene', 'tailor',"
        + " 'cms', 'variants', 'themes') or (m.startswith('rules.') and not m.startswith(('rules.engine',"
        + " 'rules.providers'))))\n"
        + "print(','.join(bad))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={"PATH": ""})

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
