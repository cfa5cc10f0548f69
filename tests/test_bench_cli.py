"""`make bench` without wrk stops before measuring anything and says what to do (README, Benchmarks)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_without_wrk_stops_with_a_clear_message(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path), PYTHONPATH=str(ROOT))  # an empty PATH: no wrk on it
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--skip", "decision,requests,feedback,bandits,emotion"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "wrk is not installed" in done.stderr
    assert "--skip load" in done.stderr
    assert done.stdout == ""  # nothing was measured
