"""The decision engine stays plain Python: importing it (and the providers and the classifier) must
not import Django or Wagtail, so it can be tested and benchmarked alone."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "rules.engine",
    "variants.engine",
    "variants.engine.policies",
    "variants.engine.traffic",
    "variants.engine.traffic_report",
    "rules.providers.weather",
    "rules.providers.open_meteo",
    "rules.providers.upstream",
    "rules.providers.cells",
    "rules.ml.emotion",
]


def test_engine_modules_import_no_django():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'wagtail', 'graphene'))\n"
        + "print(','.join(bad))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={"PATH": ""})

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
