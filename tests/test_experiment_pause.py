"""Pausing and resuming an experiment: the admin actions (permissions, audit, status in the report and
the detail page), what visitors get from `personalizedPage` while paused (the default, for everyone),
that nothing shown while paused counts, and that deciding still runs no SQL."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import GroupPagePermission, PageLogEntry

from rules.segments import shared_version
from variants.aggregation import flush_events
from variants.experiments import ACTION_PAUSE, ACTION_RESUME, review, sync_experiments
from variants.feedback import stats_store
from variants.models import Event, Experiment

REPORT = "/admin/tailor/experiments/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
DECISIONS = """
query ($u: String!, $c: ContextInput) {
  personalizedPage(urlPath: $u, inSite: true, context: $c) {
    decisions { slot slotId variant variantName policy probability reasons token }
  }
}"""
RECORD = "mutation ($t: String!, $k: EventKind!) { recordEvent(token: $t, kind: $k) { ok counted reason } }"
EXPLAIN = "query ($t: String!) { explainDecision(token: $t) { variant policy reasons } }"


@pytest.fixture
def admin_client(client, home_page):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


@pytest.fixture
def cta(home_page) -> Experiment:
    sync_experiments()
    return Experiment.objects.get(slot_name="cta", page__url_path="/home/")


def cta_decisions(gql, n: int = 12) -> list[dict]:
    """`n` fresh visitors' decisions for the demo's cta region, through GraphQL."""
    out = []
    for _ in range(n):
        body = gql(DECISIONS, {"u": "/", "c": {"timezone": "Asia/Seoul"}}, HTTP_USER_AGENT=BROWSER)
        assert "errors" not in body, body
        out.extend(d for d in body["data"]["personalizedPage"]["decisions"] if d["slot"] == "cta")
    return out


def post_action(client, experiment, action, capture):
    with capture(execute=True):  # other processes learn of it once the change commits
        return client.post(f"{REPORT}{experiment.pk}/{action}/")


def test_pausing_shows_everyone_the_default_and_resuming_restores_the_variants(
    admin_client, cta, gql, state_backend, django_capture_on_commit_callbacks
):
    before = cta_decisions(gql)
    assert {d["policy"] for d in before} == {"BANDIT"}
    assert {d["variant"] for d in before} <= {v for v in cta_variant_ids(cta)}

    version = shared_version()
    response = post_action(admin_client, cta, "pause", django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response.url == f"{REPORT}{cta.pk}/"
    cta.refresh_from_db()
    assert cta.status == Experiment.STATUS_PAUSED and cta.paused_at is not None
    # every process recompiles: the version compiled pages are cached under moved
    assert shared_version() > version

    paused = cta_decisions(gql)
    assert {(d["variant"], d["policy"], d["probability"]) for d in paused} == {("default", "DEFAULT", 1.0)}
    assert all(d["reasons"] == ["The experiment is paused: everyone sees the default"] for d in paused)
    explained = gql(EXPLAIN, {"t": paused[0]["token"]})["data"]["explainDecision"]
    assert explained["policy"] == "DEFAULT" and "paused" in explained["reasons"][0]

    response = post_action(admin_client, cta, "resume", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    cta.refresh_from_db()
    assert cta.status == Experiment.STATUS_RUNNING and cta.paused_at is None
    resumed = cta_decisions(gql)
    assert {d["policy"] for d in resumed} == {"BANDIT"}
    assert "default" not in {d["variant"] for d in resumed}

    actions = list(
        PageLogEntry.objects.filter(page_id=cta.page_id, action__in=[ACTION_PAUSE, ACTION_RESUME])
        .order_by("timestamp", "pk")
        .values_list("action", flat=True)
    )
    assert actions == [ACTION_PAUSE, ACTION_RESUME]


def cta_variant_ids(experiment: Experiment) -> set[str]:
    from variants.experiments import live_slot

    return {v.id for v in live_slot(experiment).variants}


def test_only_the_paused_region_changes(admin_client, cta, gql, django_capture_on_commit_callbacks):
    post_action(admin_client, cta, "pause", django_capture_on_commit_callbacks)
    body = gql(DECISIONS, {"u": "/", "c": {"timezone": "Asia/Seoul"}}, HTTP_USER_AGENT=BROWSER)
    others = [d for d in body["data"]["personalizedPage"]["decisions"] if d["slot"] != "cta"]
    assert others and all("paused" not in " ".join(d["reasons"]) for d in others)


def test_nothing_shown_while_paused_counts_for_the_experiment_or_the_bandit(
    admin_client, cta, gql, state_backend, django_capture_on_commit_callbacks
):
    post_action(admin_client, cta, "pause", django_capture_on_commit_callbacks)
    stats_before = stats_store().slot_stats(cta.slot_id)
    for d in cta_decisions(gql, 5):
        for kind in ("IMPRESSION", "CONVERSION"):
            result = gql(RECORD, {"t": d["token"], "k": kind}, HTTP_USER_AGENT=BROWSER)["data"]["recordEvent"]
            assert result["ok"] and result["counted"], result  # logged, as every event is
    flush_events()
    assert Event.objects.filter(slot_id=cta.slot_id, bucket="paused").count() == 10
    assert stats_store().slot_stats(cta.slot_id) == stats_before  # the bandit learns nothing
    r = review(cta, draws=2_000)
    assert r.visitors == 0 and r.analysis is None  # the review counts nothing from the pause


def test_the_status_shows_in_the_report_and_the_detail_page(admin_client, cta, django_capture_on_commit_callbacks):
    detail = admin_client.get(f"{REPORT}{cta.pk}/").content.decode()
    assert 'data-action="pause"' in detail and 'data-action="resume"' not in detail
    post_action(admin_client, cta, "pause", django_capture_on_commit_callbacks)
    detail = admin_client.get(f"{REPORT}{cta.pk}/").content.decode()
    assert 'data-status="paused"' in detail and "data-paused" in detail
    assert 'data-action="resume"' in detail and 'data-action="pause"' not in detail
    assert "Paused experiment “cta”: everyone sees the default" in detail  # the timeline's audit entry
    listing = admin_client.get(f"{REPORT}?status=paused").content.decode()
    assert "Paused" in listing and f"{REPORT}{cta.pk}/" in listing
    assert f"{REPORT}{cta.pk}/" not in admin_client.get(f"{REPORT}?status=running").content.decode()


def test_pausing_twice_or_a_concluded_experiment_is_refused_with_a_message(
    admin_client, cta, django_capture_on_commit_callbacks
):
    post_action(admin_client, cta, "pause", django_capture_on_commit_callbacks)
    response = admin_client.post(f"{REPORT}{cta.pk}/pause/", follow=True)
    assert "This experiment is already paused" in response.content.decode()
    Experiment.objects.filter(pk=cta.pk).update(status=Experiment.STATUS_WINNER)
    response = admin_client.post(f"{REPORT}{cta.pk}/pause/", follow=True)
    assert "A winner was declared" in response.content.decode()
    response = admin_client.post(f"{REPORT}{cta.pk}/resume/", follow=True)
    assert "This experiment is not paused" in response.content.decode()
    assert admin_client.get(f"{REPORT}{cta.pk}/pause/").status_code == 302  # GET changes nothing
    assert Experiment.objects.get(pk=cta.pk).status == Experiment.STATUS_WINNER


def refused(response) -> bool:
    """Wagtail answers a permission denied in the admin with a redirect to the dashboard (or a 403)."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")


def test_pausing_needs_the_review_and_the_publish_permissions(client, cta, home_page):
    reviewers = Group.objects.create(name="Reviewers")
    reviewers.permissions.add(
        Permission.objects.get(codename="access_admin"), Permission.objects.get(codename="review_experiment")
    )
    user = get_user_model().objects.create_user("reviewer", password="x")
    user.groups.add(reviewers)
    client.force_login(user)
    assert client.get(f"{REPORT}{cta.pk}/").status_code == 200
    assert 'data-action="pause"' not in client.get(f"{REPORT}{cta.pk}/").content.decode()
    assert refused(client.post(f"{REPORT}{cta.pk}/pause/"))
    assert Experiment.objects.get(pk=cta.pk).status == Experiment.STATUS_RUNNING
    GroupPagePermission.objects.create(
        group=reviewers, page=home_page, permission=Permission.objects.get(codename="publish_page")
    )
    assert client.post(f"{REPORT}{cta.pk}/pause/")["Location"] == f"{REPORT}{cta.pk}/"
    assert Experiment.objects.get(pk=cta.pk).status == Experiment.STATUS_PAUSED

    publishers = Group.objects.create(name="Publishers only")
    publishers.permissions.add(Permission.objects.get(codename="access_admin"))
    GroupPagePermission.objects.create(
        group=publishers, page=home_page, permission=Permission.objects.get(codename="publish_page")
    )
    publisher = get_user_model().objects.create_user("publisher", password="x")
    publisher.groups.add(publishers)
    client.force_login(publisher)
    assert refused(client.post(f"{REPORT}{cta.pk}/resume/"))  # publishing without reviewing
    assert Experiment.objects.get(pk=cta.pk).status == Experiment.STATUS_PAUSED


def _count(client, query: str, variables: dict) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/graphql/",
            json.dumps({"query": query, "variables": variables}),
            content_type="application/json",
            HTTP_USER_AGENT=BROWSER,
        )
    assert response.status_code == 200 and "errors" not in response.json()
    return [q["sql"] for q in captured.captured_queries]


def test_deciding_a_paused_region_runs_no_sql(admin_client, cta, client, django_capture_on_commit_callbacks):
    post_action(admin_client, cta, "pause", django_capture_on_commit_callbacks)
    client.logout()
    variables = {"u": "/", "c": {"timezone": "Asia/Seoul"}}
    _count(client, DECISIONS, variables)  # the process compiles the page (and reads what is paused) once
    for _ in range(3):
        statements = _count(client, DECISIONS, variables)
        assert [s for s in statements if "tailor_" in s] == [], statements


def test_resetting_a_paused_experiment_keeps_it_paused(admin_client, cta, django_capture_on_commit_callbacks):
    post_action(admin_client, cta, "pause", django_capture_on_commit_callbacks)
    assert admin_client.post(f"{REPORT}{cta.pk}/reset/").status_code == 302
    cta.refresh_from_db()
    assert cta.status == Experiment.STATUS_PAUSED and cta.started_at is not None
