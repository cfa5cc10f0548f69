"""A plugin that only works from a checkout is broken: the wheel must carry every template, static
file, migration and shipped data file of the four apps, and the foundation package beside them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cms", "rules", "variants", "themes")
#: the foundation every app imports (`tailor.settings`, `tailor.redis`, `tailor.signing`)
FOUNDATION = "tailor"
RESOURCE_DIRS = ("templates", "static", "migrations", "data", "locale")


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


def test_wheel_holds_the_foundation_and_the_four_apps_and_not_the_sample_site_or_tests(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist() if not name.startswith("wagtail_tailor-")}

    assert tops == {FOUNDATION, *APPS}


def requirements(wheel: zipfile.ZipFile, extra: str | None = None) -> dict[str, Requirement]:
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith("METADATA"))).decode()
    found = {}
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist: "):
            req = Requirement(line.removeprefix("Requires-Dist: "))
            in_extra = req.marker is not None and req.marker.evaluate({"extra": extra or ""})
            if (req.marker is None and extra is None) or (extra is not None and in_extra):
                found[req.name.lower()] = req
    return found


def test_wheel_metadata_asks_for_a_graphene_django_range_that_holds_3_2_3(wheel):
    graphene_django = requirements(wheel)["graphene-django"]

    assert graphene_django.specifier.contains("3.2.3")
    assert not graphene_django.specifier.contains("3.3.0")


def test_every_runtime_dependency_is_a_bounded_range_and_the_demos_needs_are_an_extra(wheel):
    runtime = requirements(wheel)

    assert all(any(s.operator == "<" for s in req.specifier) for req in runtime.values()), runtime
    assert not {"whitenoise", "dj-database-url"} & set(runtime)
    assert {"whitenoise", "dj-database-url", "django-tasks-db"} <= set(requirements(wheel, "demo"))
