"""A/B test reviews in the admin: the Experiments report, an experiment's detail page (table, charts,
CSV and PNG exports), the permission that guards them, and `manage.py tailor_simulate`."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from PIL import Image
from wagtail.models import PageLogEntry

from cms.experiments import CSV_COLUMNS
from sample_site.home.demo import heading, personalized, variant
from variants.engine.statistics import MIN_IMPRESSIONS_PER_ARM
from variants.experiments import near_duplicates, review, sync_experiments
from variants.feedback import stats_store
from variants.models import Event, EventAggregate, Experiment

REPORT = "/admin/tailor/experiments/"
RATES = '{"Learn more": 0.02, "Start free trial": 0.15, "Book a demo": 0.02}'


def cta_of() -> Experiment:
    """The demo home page's call to action (the Korean home page has its own)."""
    return Experiment.objects.get(slot_name="cta", page__url_path="/home/")


def simulate(*args) -> str:
    out = io.StringIO()
    call_command("tailor_simulate", "--yes", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def admin_client(client, home_page):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


@pytest.fixture
def cta(home_page) -> Experiment:
    sync_experiments()
    return cta_of()


@pytest.fixture
def simulated(home_page) -> str:
    return simulate("--seed", "4", "--visitors", "900", "--rates", RATES)


def test_every_slot_with_two_or_more_variants_is_an_experiment(home_page):
    assert sync_experiments() == Experiment.objects.count()
    names = set(Experiment.objects.values_list("slot_name", flat=True))
    assert "cta" in names and "hero" in names
    cta = cta_of()
    assert (cta.policy, cta.variant_count, cta.status, cta.page_id) == ("BANDIT", 3, "running", home_page.pk)


def test_before_any_traffic_nothing_is_called_best(admin_client, cta):
    response = admin_client.get(f"{REPORT}{cta.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No impressions have been recorded" in html
    assert " wins" not in html and "w-status--primary" not in html and "leading" not in html.lower()
    assert "Best so far" not in html
    listing = admin_client.get(REPORT).content.decode()
    assert "No traffic yet" in listing


def test_the_log_keeps_each_decisions_propensity_in_every_state_backend(home_page, state_backend):
    out = simulate("--seed", "3", "--visitors", "200", "--rates", RATES)
    # recorded in the database's event log with or without Redis (exactly once: see variants.event_log)
    assert "event(s) folded into hourly aggregates" in out
    exp = cta_of()
    rows = EventAggregate.objects.filter(slot_id=exp.slot_id, kind="impression")
    # a bandit's propensity is at most 1, so each impression weighs at least 1, and some far more
    assert sum(r.count for r in rows) == 200
    assert all(r.weight >= r.count and r.weight_sq >= r.weight for r in rows)
    assert sum(r.weight for r in rows) > 300
    ipw = {a.counts.name: a.ipw for a in review(exp).analysis.arms}
    assert all(w is not None and w.low <= w.rate <= w.high for w in ipw.values())


def test_simulate_records_real_events_with_their_propensities_and_prints_the_review(simulated):
    assert "900 visitors on /home/ · cta (BANDIT) over 48 h" in simulated
    assert "variant" in simulated and "Start free trial" in simulated
    # every event keeps its decision's probability, and the aggregates its inverse
    assert not Event.objects.filter(slot_id=cta_of().slot_id, probability__isnull=True).exists()
    impressions = EventAggregate.objects.filter(kind="impression")
    assert impressions.exists() and all(a.weight >= a.count for a in impressions)


def test_simulate_refuses_bad_input(home_page):
    with pytest.raises(CommandError, match="no slot 'nope'"):
        simulate("--slot", "nope")
    with pytest.raises(CommandError, match="a rate for each variant"):
        simulate("--rates", '{"Learn more": 0.1}')
    with pytest.raises(CommandError, match="between 0 and 1"):
        simulate("--rates", '{"Learn more": 2, "Start free trial": 0.1, "Book a demo": 0.1}')


def test_report_lists_the_cta_with_its_leader_and_decision(admin_client, simulated):
    response = admin_client.get(REPORT)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Experiments" in html and "cta" in html
    r = review(cta_of())
    assert r.visitors == sum(a.counts.impressions for a in r.analysis.arms) >= 900
    assert r.analysis.leader is not None and r.analysis.leader.counts.name == "Start free trial"
    assert "Start free trial" in html
    assert f"{r.analysis.leader.p_best:.0%}" in html


@pytest.mark.parametrize(("query", "shown"), [("policy=BANDIT", True), ("policy=AB", False), ("status=paused", False)])
def test_report_filters(admin_client, simulated, query, shown):
    html = admin_client.get(f"{REPORT}?{query}").content.decode()
    assert (f'href="{REPORT}{cta_of().pk}/"' in html) is shown


def test_report_is_under_reports_and_guarded_by_its_own_permission(client, home_page):
    user = get_user_model().objects.create_user("editor", password="x")
    group = Group.objects.create(name="Reviewers")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    user.groups.add(group)
    client.force_login(user)
    assert client.get(REPORT).status_code in (302, 403)
    group.permissions.add(Permission.objects.get(codename="review_experiment"))
    assert client.get(REPORT).status_code == 200
    admin = client.get("/admin/").content.decode()
    assert REPORT in admin


def test_detail_shows_every_statistic_per_variant(admin_client, simulated):
    exp = cta_of()
    response = admin_client.get(f"{REPORT}{exp.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for column in (
        "Wilson",
        "Uplift",
        "Probability of being best",
        "Expected loss",
        "Holm",
        "Always-valid",
        "IPW",
        "Current share",
    ):
        assert column in html
    for name in ("Learn more", "Start free trial", "Book a demo"):
        assert f'data-variant="{name}"' in html
    assert html.count("tailor-chart") == 2 and "<polyline" in html
    rows = response.context["rows"]
    trial = next(r for r in rows if r["arm"].counts.name == "Start free trial")
    assert trial["arm"].ipw is not None and trial["is_leader"]


def test_csv_export_has_exactly_the_issues_columns(admin_client, simulated):
    exp = cta_of()
    response = admin_client.get(f"{REPORT}{exp.pk}/?export=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.content.decode()))
    assert tuple(reader.fieldnames) == CSV_COLUMNS == (
        "variant", "impressions", "conversions", "conversion_rate", "ci_low", "ci_high",
        "uplift", "p_best", "expected_loss", "p_value",
    )  # fmt: skip
    rows = list(reader)
    analysis = review(exp).analysis
    assert [r["variant"] for r in rows] == [a.counts.name for a in analysis.arms]
    for row, arm in zip(rows, analysis.arms, strict=True):
        assert int(row["impressions"]) == arm.counts.impressions
        assert int(row["conversions"]) == arm.counts.conversions
        assert float(row["ci_low"]) <= float(row["conversion_rate"] or 0) <= float(row["ci_high"])
    assert sum(float(r["p_best"]) for r in rows) == pytest.approx(1, abs=1e-5)
    assert rows[0]["p_value"] == "" and rows[0]["uplift"] == ""  # the baseline


@pytest.mark.parametrize("chart", ["rate", "share"])
def test_charts_download_as_png(admin_client, simulated, chart):
    exp = cta_of()
    response = admin_client.get(f"{REPORT}{exp.pk}/?chart={chart}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1440, 560)
    assert len(image.getcolors(maxcolors=1 << 20)) > 3  # more than a blank canvas


def test_unknown_export_or_chart_is_a_404(admin_client, cta):
    assert admin_client.get(f"{REPORT}{cta.pk}/?export=xml").status_code == 404
    assert admin_client.get(f"{REPORT}{cta.pk}/?chart=pie").status_code == 404
    assert admin_client.get(f"{REPORT}999999/").status_code == 404


def test_minimum_sample_guard_rail_on_a_short_run(admin_client, home_page):
    simulate("--seed", "1", "--visitors", "60", "--rates", RATES)
    exp = cta_of()
    analysis = review(exp).analysis
    assert analysis.impressions < MIN_IMPRESSIONS_PER_ARM * 3
    assert analysis.leader is None and analysis.winner is None
    html = admin_client.get(f"{REPORT}{exp.pk}/").content.decode()
    assert "Not yet" in html and "No variant is called best" in html


# --- the simulator's guard rail ----------------------------------------------------------------------


def simulator_cta(client, page):
    response = client.post(
        "/admin/tailor/simulator/", {"page": page.pk, "revision": "live", "date": "2026-11-30", "time": "08:00"}
    )
    assert response.status_code == 200
    return next(s for s in response.context["simulation"].slots if s.name == "cta")


def test_simulator_calls_nothing_best_before_any_traffic(admin_client, home_page):
    cta = simulator_cta(admin_client, home_page)
    assert not any(r.startswith("Best so far") for r in cta.decision.reasons)
    assert any(r.startswith("Exploring") for r in cta.decision.reasons)
    assert not cta.evidence_ready
    assert cta.evidence.startswith("0 impressions so far: too early to call any variant best")


def test_simulator_names_the_leader_once_the_sample_is_enough(admin_client, home_page):
    simulate("--seed", "5", "--visitors", "1500", "--rates", RATES)
    cta = simulator_cta(admin_client, home_page)
    assert cta.evidence_ready
    assert "Start free trial leads" in cta.evidence


# --- actions -------------------------------------------------------------------------------------------


def test_reset_asks_first_then_counts_from_now_and_is_audited(admin_client, simulated, home_page):
    exp = cta_of()
    url = f"{REPORT}{exp.pk}/reset/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "Yes, reset the statistics" in page.content.decode()
    assert review(exp).visitors >= 900  # a GET changes nothing
    response = admin_client.post(url)
    assert response.status_code == 302 and response["Location"] == f"{REPORT}{exp.pk}/"
    exp.refresh_from_db()
    assert exp.started_at is not None
    assert review(exp).analysis is None  # nothing counted since
    assert not stats_store().slot_stats(exp.slot_id)  # the bandit explores again
    entry = PageLogEntry.objects.get(page=home_page, action="tailor.experiment.reset")
    assert entry.data["slot"] == "cta" and entry.user.username == "admin"


@pytest.mark.parametrize("publish", [False, True])
def test_declaring_a_winner_makes_it_the_default_in_a_new_revision(admin_client, simulated, home_page, publish):
    exp = cta_of()
    url = f"{REPORT}{exp.pk}/winner/"
    form = admin_client.get(url)
    assert form.status_code == 200
    trial = next(v for v in review(exp).slot.variants if v.name == "Start free trial")
    assert form.context["form"].initial["variant"] == trial.id  # the leader is proposed
    revisions = home_page.revisions.count()
    response = admin_client.post(url, {"variant": trial.id, "publish": "publish" if publish else "draft"})
    assert response.status_code == 302
    assert home_page.revisions.count() == revisions + 1
    home_page.refresh_from_db()
    latest = home_page.get_latest_revision_as_object()
    cta = next(b for b in latest.body if b.block_type == "personalized" and b.value["slot"] == "cta")
    assert list(cta.value["variants"]) == []
    default_text = str(cta.value["default"][0].value)
    assert "free trial" in default_text.lower()
    assert home_page.has_unpublished_changes is not publish
    exp.refresh_from_db()
    assert (exp.status, exp.winner_variant_id) == ("winner", trial.id)
    entry = PageLogEntry.objects.get(page=home_page, action="tailor.experiment.declare_winner")
    assert entry.data["variant"] == "Start free trial" and entry.data["published"] is publish
    # still listed, as concluded
    sync_experiments()
    assert cta_of().status == "winner"


def test_unknown_variant_is_refused_at_the_field(admin_client, cta):
    response = admin_client.post(f"{REPORT}{cta.pk}/winner/", {"variant": "nope", "publish": "draft"})
    assert response.status_code == 200
    assert "variant" in response.context["form"].errors


def test_declaring_a_winner_needs_page_edit_permission(client, cta):
    user = get_user_model().objects.create_user("reviewer", password="x")
    group = Group.objects.create(name="Reviewers only")
    group.permissions.add(*Permission.objects.filter(codename__in=["access_admin", "review_experiment"]))
    user.groups.add(group)
    client.force_login(user)
    assert client.get(f"{REPORT}{cta.pk}/").status_code == 200
    # Wagtail's admin answers a PermissionDenied with a redirect to the dashboard and a message
    refused = client.post(f"{REPORT}{cta.pk}/winner/", {"variant": cta.slot_id, "publish": "draft"})
    assert refused.status_code in (302, 403) and refused.get("Location", "/admin/") == "/admin/"
    cta.refresh_from_db()
    assert cta.status == "running"


def test_the_page_editor_links_to_the_pages_experiments(admin_client, cta, home_page):
    html = admin_client.get(f"/admin/pages/{home_page.pk}/edit/").content.decode()
    assert f"/admin/tailor/experiments/?page={home_page.pk}" in html
    listing = admin_client.get(f"{REPORT}?page={home_page.pk}").content.decode()
    assert f'href="{REPORT}{cta.pk}/"' in listing


def test_near_duplicate_variants_are_flagged(admin_client, make_page):
    page = make_page(
        "dupes",
        personalized(
            "banner",
            [],
            [
                variant("d", "Sale", [heading("Winter sale: 20% off everything", "d", "a")], []),
                variant("d", "Sale!", [heading("Winter sale: 20% off everything!", "d", "b")], []),
                variant("d", "Story", [heading("How our bakers start at 4 am", "d", "c")], []),
            ],
            policy="BANDIT",
        ),
    )
    sync_experiments()
    exp = Experiment.objects.get(page=page, slot_name="banner")
    assert [(a, b) for a, b, _ in near_duplicates(exp)] == [("Sale", "Sale!")]
    html = admin_client.get(f"{REPORT}{exp.pk}/").content.decode()
    assert html.count("data-near-duplicate") == 1 and "“Sale” and “Sale!” read almost the same" in html


def test_editing_the_page_while_the_experiment_runs_shows_in_its_timeline(admin_client, simulated, home_page):
    exp = cta_of()
    home_page.title = "Tailor demo, edited"
    home_page.save_revision(user=get_user_model().objects.get(username="admin"), log_action=True)
    html = admin_client.get(f"{REPORT}{exp.pk}/").content.decode()
    assert 'data-action="wagtail.edit"' in html


def test_the_report_itself_exports_as_csv(admin_client, simulated):
    response = admin_client.get(f"{REPORT}?export=csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "Page", "Slot", "Policy", "Status", "Visitors", "Leading variant", "Probability of being best",
        "Can a decision be made?",
    ]  # fmt: skip
    cta = next(r for r in rows[1:] if r[0] == "Tailor demo" and r[1] == "cta")
    assert int(cta[4]) >= 900 and cta[5] == "Start free trial"


# --- what API visitors are told: "best" only past the minimum sample --------------------------------

CTA_REASONS = 'query { personalizedPage(urlPath: "/", inSite: true) { decisions { slot variantName reasons token } } }'
EXPLAIN_REASONS = "query ($t: String!) { explainDecision(token: $t) { reasons } }"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def api_cta_reasons(gql, visitors: int = 40) -> list[tuple[str, str, str]]:
    """(variant name, learning reason, token) of the demo cta for fresh visitors, through GraphQL."""
    out = []
    for _ in range(visitors):
        body = gql(CTA_REASONS, HTTP_USER_AGENT=BROWSER_UA)
        d = next(d for d in body["data"]["personalizedPage"]["decisions"] if d["slot"] == "cta")
        out.append((d["variantName"], d["reasons"][-1], d["token"]))
    return out


def test_api_visitors_are_not_told_of_a_best_variant_before_any_traffic(home_page, gql):
    reasons = api_cta_reasons(gql, 12)
    assert all(r.startswith("Exploring: ") for _, r, _ in reasons), reasons


def test_api_visitors_hear_leading_so_far_before_the_minimum_sample(home_page, gql):
    simulate("--seed", "1", "--visitors", "60", "--rates", RATES)
    assert review(cta_of()).analysis.leader is None  # below the minimum sample
    reasons = api_cta_reasons(gql)
    assert not any("Best so far" in r or "best" in r.replace("too early to call it best", "") for _, r, _ in reasons)
    leading = [(name, r, t) for name, r, t in reasons if r.startswith("Leading so far: ")]
    assert leading and all(r.endswith("(Thompson sampling, too early to call it best)") for _, r, _ in leading)
    assert len({name for name, _, _ in leading}) == 1  # one leader
    # the explanation of a decision says the same
    assert gql(EXPLAIN_REASONS, {"t": leading[0][2]})["data"]["explainDecision"]["reasons"][-1] == leading[0][1]


def test_api_visitors_hear_best_so_far_once_the_sample_is_enough(simulated, gql):
    assert review(cta_of()).analysis.leader.counts.name == "Start free trial"
    reasons = api_cta_reasons(gql, 20)
    best = {name for name, r, _ in reasons if r.startswith("Best so far: ")}
    assert best == {"Start free trial"}
    assert all(r.startswith("Exploring: ") for name, r, _ in reasons if name != "Start free trial")


def test_the_page_editor_links_to_each_regions_experiment(admin_client, home_page):
    sync_experiments()
    html = admin_client.get(f"/admin/pages/{home_page.pk}/edit/").content.decode()
    experiments = Experiment.objects.filter(page=home_page)
    assert experiments.count() >= 2
    assert f"{REPORT}?page={home_page.pk}" in html
    for exp in experiments:
        assert f'href="{REPORT}{exp.pk}/"' in html
        assert f"Experiment: {exp.slot_name}" in html


def test_the_page_editor_shows_no_experiment_links_to_an_editor_who_cannot_review(client, home_page):
    sync_experiments()
    editors = Group.objects.get(name="Editors") if Group.objects.filter(name="Editors").exists() else None
    if editors is None:
        pytest.skip("the demo has no Editors group")
    user = get_user_model().objects.create_user("plain-editor", password="x")
    user.groups.add(editors)
    client.force_login(user)
    html = client.get(f"/admin/pages/{home_page.pk}/edit/").content.decode()
    assert REPORT not in html


def test_the_report_shows_how_predicted_likelihood_spreads_across_audiences(admin_client, cta):
    from django.core.cache import cache

    from tests.test_prediction import run as predict
    from tests.test_prediction import seed_journeys

    cache.delete("tailor:experiments:likelihood")
    assert "No consented journeys yet." in admin_client.get(REPORT).content.decode()
    cache.delete("tailor:experiments:likelihood")
    seed_journeys(n=80)
    predict("train", "--min-sessions", "50")
    page = admin_client.get(REPORT).content.decode()
    assert "Predicted likelihood to convert, by audience" in page
    rows = re.findall(r"<th scope=\"row\">(Device|Segment): ([^<]+)</th>\s*<td>(\d+)</td>", page)
    devices = {value: int(n) for group, value, n in rows if group == "Device"}
    assert set(devices) == {"mobile", "desktop"} and sum(devices.values()) == 80
    assert any(group == "Segment" for group, _value, _n in rows)
