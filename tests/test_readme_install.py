"""README, *Add Tailor to an existing Wagtail site*: what `pip install wagtail-tailor` puts in an
environment, the `[demo]` extra, and the import paths the README documents.

The wheel is built from a copy of the checkout, so the build leaves nothing in the working tree.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(
    ".venv",
    ".git",
    ".*_cache",
    ".hypothesis",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "node_modules",
    ".next",
    "db.sqlite3",
    "media",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("checkout") / "wagtail-tailor"
    shutil.copytree(ROOT, source, ignore=SKIP)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        cwd=source,
        timeout=600,
    )
    (path,) = out.glob("wagtail_tailor-*.whl")
    return zipfile.ZipFile(path)


def metadata(wheel: zipfile.ZipFile):
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return Parser().parsestr(wheel.read(name).decode())


def test_the_package_installs_five_top_level_import_names(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist() if ".dist-info/" not in name}

    assert tops == {"tailor", "cms", "rules", "variants", "themes"}


def test_the_runtime_dependencies_are_compatible_ranges(wheel):
    runtime = [r for r in metadata(wheel).get_all("Requires-Dist") if "extra ==" not in r]

    assert runtime
    for requirement in runtime:
        assert "==" not in requirement and "<" in requirement, requirement


def test_the_sample_sites_needs_are_the_demo_extra_which_make_demo_installs(wheel):
    demo = [r for r in metadata(wheel).get_all("Requires-Dist") if re.search(r"extra == ['\"]demo['\"]", r)]
    names = {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower() for r in demo}

    assert {"whitenoise", "dj-database-url", "psycopg"} <= names
    runtime = {
        re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower()
        for r in metadata(wheel).get_all("Requires-Dist")
        if "extra ==" not in r
    }
    assert not {"whitenoise", "dj-database-url", "psycopg"} & runtime

    dry_run = subprocess.run(["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry_run.returncode == 0, dry_run.stderr
    assert re.search(r"pip install .*\.\[demo[\],]", dry_run.stdout), dry_run.stdout


def test_cms_blocks_hooks_and_settings_keep_the_documented_import_paths():
    import cms.blocks
    import cms.hooks
    import cms.settings
    import rules.blocks
    import tailor.settings
    import variants.blocks

    assert cms.blocks.PersonalizedBlock is variants.blocks.PersonalizedBlock
    assert cms.blocks.ConditionBlock is rules.blocks.ConditionBlock
    assert cms.hooks.HOOK_NAME == "register_tailor_conditions"
    assert cms.settings.tailor_settings is tailor.settings.tailor_settings
    assert cms.settings.DEFAULTS is tailor.settings.DEFAULTS
