"""A reviewer reads a simulated experiment in the real admin: Tailor → Experiments, then the `cta`
detail with its table, charts, breakdowns and CSV export, and pauses and resumes it. Screenshots are
saved for the record."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from django.core.management import call_command

from cms.experiments import CSV_COLUMNS
from tests.browser.admin import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT_REPORT = "/tmp/tailor-experiments-report.png"
SCREENSHOT_DETAIL = "/tmp/tailor-experiment-cta.png"
SCREENSHOT_BREAKDOWNS = "/tmp/tailor/shots/experiment-detail.png"
SCREENSHOT_PAUSED = "/tmp/tailor/shots/experiment-paused.png"
CTA_DECISION = '{ personalizedPage(urlPath: "/", inSite: true) { decisions { slot variant policy reasons } } }'
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
RATES = '{"Learn more": 0.02, "Start free trial": 0.15, "Book a demo": 0.02}'


def test_reviewer_reads_the_cta_experiment_after_a_simulated_run(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    out = io.StringIO()
    call_command("tailor_simulate", "--yes", "--seed", "7", "--visitors", "1500", "--rates", RATES, stdout=out)
    print(out.getvalue())  # the run's detail table, for the record (pytest -s shows it)
    log_in(page, live_server)

    # Tailor → Experiments
    page.click("#wagtail-sidebar button:has-text('Tailor')")
    page.click("#wagtail-sidebar a:has-text('Experiments')")
    page.wait_for_url("**/admin/tailor/experiments/")
    table = page.locator("table.listing").first  # the experiments (the likelihood table follows)
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


def cta_decisions(page, live_server, n: int = 6) -> list[dict]:
    """What `n` fresh API visitors are shown in the cta region (GraphQL, from the browser's context)."""
    out = []
    for _ in range(n):
        response = page.request.post(
            f"{live_server.url}/graphql/",
            data=json.dumps({"query": CTA_DECISION}),
            headers={"Content-Type": "application/json", "User-Agent": BROWSER_UA},
        )
        assert response.ok, response.text()
        decisions = response.json()["data"]["personalizedPage"]["decisions"]
        out.append(next(d for d in decisions if d["slot"] == "cta"))
    return out


def test_reviewer_reads_the_breakdowns_then_pauses_and_resumes_the_experiment(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    call_command(
        "tailor_simulate", "--yes", "--seed", "7", "--visitors", "1500", "--rates", RATES, stdout=open(os.devnull, "w")
    )
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/tailor/experiments/")
    page.locator("table.listing tr", has_text="cta").filter(has_text="Tailor demo").first.locator(
        "a", has_text="cta"
    ).click()
    page.wait_for_url("**/admin/tailor/experiments/*/")
    detail_url = page.url

    # the breakdowns: one table per dimension, with the multiple-comparisons warning
    section = page.locator("#tailor-breakdowns-section")
    section.wait_for()
    assert section.locator("[data-multiple-comparisons]").is_visible()
    devices = section.locator('table[data-breakdown="device"]')
    assert {"mobile", "desktop", "tablet"} <= {r.get_attribute("data-value") for r in devices.locator("tbody tr").all()}
    assert section.locator('table[data-breakdown="daypart"] tbody tr').count() >= 2
    os.makedirs(os.path.dirname(SCREENSHOT_BREAKDOWNS), exist_ok=True)
    # the admin scrolls inside its own container: a viewport tall enough holds the whole page
    height = page.evaluate("document.querySelector('main').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 200, 6000)})
    page.screenshot(path=SCREENSHOT_BREAKDOWNS, full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1600})

    # pause: the status says so, and API visitors all get the default
    assert {d["policy"] for d in cta_decisions(page, live_server)} == {"BANDIT"}
    page.click("button[data-action=pause]")
    page.wait_for_url(detail_url)
    assert page.locator('dd[data-status="paused"]').is_visible()
    assert page.locator("[data-paused]").is_visible()
    assert "is paused" in page.locator(".messages").inner_text()
    assert {(d["variant"], d["policy"]) for d in cta_decisions(page, live_server)} == {("default", "DEFAULT")}
    page.screenshot(path=SCREENSHOT_PAUSED, full_page=True)

    # the report lists it as paused
    page.goto(f"{live_server.url}/admin/tailor/experiments/")
    row = page.locator("table.listing tr", has_text="cta").filter(has_text="Tailor demo").first
    assert "Paused" in row.inner_text()

    # resume: the variants are shown again, and both actions are in the timeline
    page.goto(detail_url)
    page.click("button[data-action=resume]")
    page.wait_for_url(detail_url)
    assert page.locator('dd[data-status="running"]').is_visible()
    assert {d["policy"] for d in cta_decisions(page, live_server)} == {"BANDIT"}
    timeline = page.locator(".tailor-exp__timeline").inner_text()
    assert "Paused experiment “cta”" in timeline and "Resumed experiment “cta”" in timeline
    print(f"screenshots: {SCREENSHOT_BREAKDOWNS} {SCREENSHOT_PAUSED}")
