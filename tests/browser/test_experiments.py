"""A reviewer reads a simulated experiment in the real admin: Reports → Experiments, then the `cta`
detail with its table, charts and CSV export. Screenshots are saved for the record."""

from __future__ import annotations

import csv
import io
import os

import pytest
from django.core.management import call_command

from cms.experiments import CSV_COLUMNS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT_REPORT = "/tmp/tailor-experiments-report.png"
SCREENSHOT_DETAIL = "/tmp/tailor-experiment-cta.png"
RATES = '{"Learn more": 0.02, "Start free trial": 0.15, "Book a demo": 0.02}'


def log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "tailor-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")


def test_reviewer_reads_the_cta_experiment_after_a_simulated_run(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    out = io.StringIO()
    call_command("tailor_simulate", "--yes", "--seed", "7", "--visitors", "1500", "--rates", RATES, stdout=out)
    print(out.getvalue())  # the run's detail table, for the record (pytest -s shows it)
    log_in(page, live_server)

    # Reports → Experiments
    page.click("#wagtail-sidebar button:has-text('Reports')")
    page.click("#wagtail-sidebar a:has-text('Experiments')")
    page.wait_for_url("**/admin/tailor/experiments/")
    table = page.locator("table.listing")
    table.wait_for()
    row = table.locator("tr", has_text="cta").filter(has_text="Tailor demo").first
    assert "Bandit" in row.inner_text()
    assert "Start free trial" in row.inner_text()
    page.screenshot(path=SCREENSHOT_REPORT, full_page=True)

    # the cta's detail
    row.locator("a", has_text="cta").click()
    page.wait_for_url("**/admin/tailor/experiments/*/")
    detail = page.locator("#tailor-experiment-table")
    detail.wait_for()
    trial = detail.locator('tr[data-variant="Start free trial"]')
    assert "leading" in trial.inner_text().lower() or "winner" in trial.inner_text().lower()
    assert page.locator("svg.tailor-chart").count() == 2
    assert page.locator("svg.tailor-chart polyline").count() >= 3
    page.screenshot(path=SCREENSHOT_DETAIL, full_page=True)

    # the CSV export downloads with exactly the columns
    with page.expect_download() as download:
        page.click("a:has-text('Download CSV')")
    text = open(download.value.path(), encoding="utf-8").read()
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    names = [r["variant"] for r in reader]
    assert set(names) == {"Learn more", "Start free trial", "Book a demo"}
    print(text)
    print(f"screenshots: {SCREENSHOT_REPORT} {SCREENSHOT_DETAIL}")
