"""Discovered segments in the admin: "Run discovery" (a django-tasks task with a status page),
Approve and Dismiss, a plain explanation of how members are chosen, summaries that match the data,
and no crash on degenerate data."""

from __future__ import annotations

import io
import random
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from rules.models import Segment
from rules.profiles import DatabaseProfileStore, Profile
from tests.test_segments import synthetic_profiles

SEGMENTS = "/admin/snippets/tailor_rules/segment/"


@pytest.fixture
def editor(client, home_page):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def identical_profiles(n: int) -> list[Profile]:
    return [
        Profile(
            f"same-{i:04d}",
            visit_count=4,
            page_views=10,
            consent_personalization=True,
            devices={"mobile": 10},
            dayparts={"evening": 10},
            sections={"offers": 10},
        )
        for i in range(n)
    ]


def save(profiles) -> None:
    store = DatabaseProfileStore()
    for p in profiles:
        store.save(p)


def run(**options) -> str:
    out = io.StringIO()
    call_command("tailor_discover_segments", stdout=out, **options)
    return out.getvalue()


# --- the command on degenerate data ------------------------------------------------------------


def test_600_identical_profiles_propose_nothing_and_say_why(db):
    save(identical_profiles(600))

    out = run()

    assert "All 600 profiles behave the same" in out
    assert not Segment.objects.filter(kind=Segment.KIND_DISCOVERED).exists()


@pytest.mark.parametrize("clusters", [2, 5])
def test_asking_for_more_groups_than_distinct_behaviours_does_not_crash(db, clusters):
    profiles = identical_profiles(30)
    for p in profiles[:10]:
        p.devices = {"desktop": 10}
        p.dayparts = {"morning": 10}
    save(profiles)

    out = run(clusters=clusters, min_profiles=4)

    proposals = Segment.objects.filter(kind=Segment.KIND_DISCOVERED)
    assert sorted(s.size for s in proposals) == [10, 20]
    assert "nan" not in out.lower()


@pytest.mark.parametrize("count", [0, 1])
def test_one_profile_or_none_is_a_clear_refusal(db, count):
    save(identical_profiles(count))

    with pytest.raises(CommandError, match=f"Only {count} consented profiles with page views; need 4"):
        run(min_profiles=1)


# --- summaries that match the data ----------------------------------------------------------


def test_a_group_mixing_first_visits_and_3_to_6_visits_is_not_called_first_visit(db):
    rng = random.Random(3)
    profiles = identical_profiles(100)
    for i, p in enumerate(profiles):
        p.visit_count = 1 if i < 55 else rng.randint(3, 6)
    save(profiles)

    run(clusters=1, min_profiles=4)

    (segment,) = Segment.objects.filter(kind=Segment.KIND_DISCOVERED)
    assert "first visit" not in segment.summary
    assert re.search(r"1–[56] visits", segment.summary), segment.summary


def test_the_synthetic_groups_read_as_they_were_made(db):
    save(synthetic_profiles())

    run(clusters=3, min_profiles=10)

    assert sorted(Segment.objects.filter(kind=Segment.KIND_DISCOVERED).values_list("summary", flat=True)) == [
        "desktop, mornings, first visit, reads Blog",
        "mobile, evenings, 3–6 visits, reads Offers",
        "tablet, afternoons, returning, reads Docs",
    ]


# --- the admin: run, status, explanation, approve, dismiss ------------------------------------


def test_run_discovery_from_the_admin_shows_the_status_and_the_proposals(editor):
    save(synthetic_profiles())
    listing = editor.get(SEGMENTS).content.decode()
    assert "Run discovery" in listing

    form = editor.get(SEGMENTS + "discover/")
    assert form.status_code == 200
    response = editor.post(SEGMENTS + "discover/", {"clusters": "3", "min_profiles": "10"})
    assert response.status_code == 302
    status_url = response["Location"]

    status = editor.get(status_url).content.decode()
    assert "Done" in status
    assert "120 profiles gave 3 proposals" in status
    assert "mobile, evenings, 3–6 visits, reads Offers (40 visitors)" in status
    assert editor.get(status_url + "?format=json").json() == {
        "status": "SUCCESSFUL",
        "label": "Done",
        "finished": True,
        "error": "",
    }
    assert Segment.objects.filter(kind=Segment.KIND_DISCOVERED, enabled=False).count() == 3


def test_run_discovery_on_identical_profiles_says_so_in_the_admin(editor):
    save(identical_profiles(600))

    status_url = editor.post(SEGMENTS + "discover/", {"min_profiles": "50"})["Location"]
    status = editor.get(status_url).content.decode()

    assert "All 600 profiles behave the same" in status
    assert "there is nothing to split into segments" in status


def test_run_discovery_with_too_few_profiles_says_so_in_the_admin(editor):
    status_url = editor.post(SEGMENTS + "discover/", {"min_profiles": "50"})["Location"]

    assert "Only 0 consented profiles with page views; need 50" in editor.get(status_url).content.decode()


def test_an_unknown_run_is_not_found(editor):
    assert editor.get(SEGMENTS + "discover/not-a-run/").status_code == 404


def _proposals():
    save(synthetic_profiles())
    run(clusters=3, min_profiles=10)
    return list(Segment.objects.filter(kind=Segment.KIND_DISCOVERED).order_by("summary"))


def test_a_proposal_explains_how_members_are_chosen(editor):
    proposal = _proposals()[0]

    html = editor.get(f"{SEGMENTS}edit/{proposal.pk}/").content.decode()

    assert "How members are chosen" in html
    assert "closer to this group&#x27;s typical visitor than to the 2 other groups" in html
    assert "how many times they came" in html
    # no empty conditions editor for a discovered segment
    assert 'id="conditions-count"' not in html


def test_approve_names_and_enables_a_proposal(editor):
    proposal = _proposals()[1]
    listing = editor.get(SEGMENTS + "?kind=discovered").content.decode()
    assert f"{SEGMENTS}approve/{proposal.pk}/" in listing and f"{SEGMENTS}dismiss/{proposal.pk}/" in listing

    page = editor.get(f"{SEGMENTS}approve/{proposal.pk}/").content.decode()
    assert "closer to this group" in page
    response = editor.post(f"{SEGMENTS}approve/{proposal.pk}/", {"name": "Evening deal hunters"})

    assert response.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.name, proposal.slug, proposal.enabled) == ("Evening deal hunters", "evening-deal-hunters", True)


def test_approve_refuses_a_name_in_use(editor):
    proposal = _proposals()[0]

    response = editor.post(f"{SEGMENTS}approve/{proposal.pk}/", {"name": "Mobile evening readers"})

    assert response.status_code == 200
    assert "A segment with this name already exists" in response.content.decode()


def test_dismiss_deletes_a_proposal(editor):
    proposal = _proposals()[0]

    assert editor.post(f"{SEGMENTS}dismiss/{proposal.pk}/").status_code == 302

    assert not Segment.objects.filter(pk=proposal.pk).exists()
    assert Segment.objects.filter(kind=Segment.KIND_DISCOVERED).count() == 2


def test_with_a_worker_the_status_page_polls_until_the_run_is_done(editor, settings, monkeypatch):
    """The demo's setup: django-tasks-db queues the run; the page says it waits, then shows the result
    once a worker (`manage.py db_worker`) ran it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    save(synthetic_profiles())

    status_url = editor.post(SEGMENTS + "discover/", {"clusters": "3", "min_profiles": "10"})["Location"]
    waiting = editor.get(status_url).content.decode()
    assert "Waiting for a worker" in waiting and "<progress" in waiting
    assert editor.get(status_url + "?format=json").json()["finished"] is False
    assert not Segment.objects.filter(kind=Segment.KIND_DISCOVERED).exists()

    # The worker closes "old" connections between tasks: in a test that would close the test's own
    # transaction (PostgreSQL then refuses every later query), so it keeps it here.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    call_command("db_worker", batch=True, no_startup_delay=True, stdout=io.StringIO(), stderr=io.StringIO())

    state = editor.get(status_url + "?format=json").json()
    assert state == {"status": "SUCCESSFUL", "label": "Done", "finished": True, "error": ""}
    assert "120 profiles gave 3 proposals" in editor.get(status_url).content.decode()


def test_a_discovered_segments_reach_counts_the_recent_visitors_it_matches_now(editor):
    _proposals()
    listing = editor.get(SEGMENTS + "?kind=discovered").content.decode()

    # each synthetic group of 40 is matched by its own 40 of the 120 profiles
    assert listing.count("40 of 120 recent visitors match") == 3
    assert listing.count("40 visitors when found") == 3
