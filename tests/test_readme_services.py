"""README, *Tests*: tests that need Redis or Chromium use the real thing; without them they skip and
say how to enable them, and with `CI=true` they fail instead.

Each case runs a one-test pytest session in a subprocess, pointed at a service that is not there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBES = {
    "redis": (
        "from tests.services import require_redis\n\ndef test_probe():\n    require_redis()\n",
        {"REDIS_URL": "redis://127.0.0.1:1/12"},  # port 1: nothing listens there
        "Start redis-server or set REDIS_URL",
    ),
    "chromium": (
        "from tests.services import require_chromium\n\ndef test_probe():\n    require_chromium()\n",
        {"TAILOR_CHROMIUM": "/nonexistent/chromium"},
        "apt-get install chromium",
    ),
}


def probe(tmp_path: Path, service: str, ci: bool) -> subprocess.CompletedProcess:
    source, env_extra, _ = PROBES[service]
    (tmp_path / "test_probe.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "REDIS_URL", "TAILOR_CHROMIUM")}
    env.update(env_extra, PYTHONPATH=str(ROOT))
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider", "-rsf", "-q", str(tmp_path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("service", sorted(PROBES))
def test_a_missing_service_skips_the_test_and_says_how_to_enable_it(tmp_path, service):
    done = probe(tmp_path, service, ci=False)

    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout
    assert PROBES[service][2] in done.stdout


@pytest.mark.parametrize("service", sorted(PROBES))
def test_with_ci_true_a_missing_service_fails_the_test(tmp_path, service):
    done = probe(tmp_path, service, ci=True)

    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 failed" in done.stdout
    assert "CI=true requires it" in done.stdout and PROBES[service][2] in done.stdout
