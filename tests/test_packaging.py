"""A plugin that only works from a checkout is broken: the wheel must carry every template, static
file, migration and shipped data file of the four apps."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cms", "rules", "variants", "themes")
RESOURCE_DIRS = ("templates", "static", "migrations", "data")


def shipped_resources() -> set[str]:
    files = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*"):
            rel = path.relative_to(ROOT)
            if path.is_file() and "__pycache__" not in rel.parts and set(rel.parts) & set(RESOURCE_DIRS):
                files.add(rel.as_posix())
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        cwd=tmp_path_factory.mktemp("build-cwd"),
    )
    (path,) = out.glob("wagtail_tailor-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_carries_templates_static_files_migrations_and_data(wheel):
    names = set(wheel.namelist())
    expected = shipped_resources()

    assert any("/templates/" in f for f in expected) and any("/static/" in f for f in expected)
    assert sorted(expected - names) == []


def test_wheel_holds_the_four_apps_and_not_the_sample_site_or_tests(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist() if not name.startswith("wagtail_tailor-")}

    assert tops == set(APPS)


def test_wheel_metadata_pins_graphene_django(wheel):
    metadata = next(n for n in wheel.namelist() if n.endswith("METADATA"))

    assert "Requires-Dist: graphene-django==3.2.3" in wheel.read(metadata).decode()
