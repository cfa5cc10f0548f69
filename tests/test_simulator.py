"""The personalization simulator (admin) and the "Personalization" page preview mode."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from cms.forms import SESSION_KEY
from cms.models import PREVIEW_MODE

URL = "/admin/tailor/simulator/"


@pytest.fixture
def editor_client(client, home_page):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def simulate(client, page, **fields):
    data = {"page": page.pk, "revision": "latest", **fields}
    response = client.post(URL, data)
    assert response.status_code == 200, response.content[:500]
    return response


def slot(response, name: str):
    return next(s for s in response.context["simulation"].slots if s.name == name)


def row(slot_report, variant: str):
    return next(r for r in slot_report.rows if r.name == variant)


def test_get_renders_the_form_with_the_demo_page(editor_client, home_page):
    response = editor_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Personalization simulator" in html
    assert f'<option value="{home_page.pk}">Tailor demo</option>' in html
    assert 'id="id_timezone"' in html and "<datalist" in html
    assert "simulation" not in response.context


def test_page_query_parameter_preselects_the_page(editor_client, home_page):
    response = editor_client.get(f"{URL}?page={home_page.pk}")
    assert f'<option value="{home_page.pk}" selected>' in response.content.decode()


def test_seoul_morning_chooses_morning_and_says_why_evening_lost(editor_client, home_page):
    response = simulate(editor_client, home_page, date="2026-11-30", time="08:00", timezone="Asia/Seoul")
    hero = slot(response, "hero")
    assert hero.decision.variant_name == "Morning"
    assert hero.decision.reasons == ("Morning 06:00–11:00 (Asia/Seoul)",)
    assert row(hero, "Morning").status == "chosen"
    evening = row(hero, "Evening")
    assert evening.status == "not-matched"
    assert "it is 08:00 there" in evening.lost_because
    # Every variant is listed, in the editor's order, with the default last.
    names = [r.name for r in hero.rows]
    assert names.index("Morning") < names.index("Evening")
    html = response.content.decode()
    assert 'data-variant="Evening" data-status="not-matched"' in html
    assert "Evening 18:00–23:00 (Asia/Seoul): it is 08:00 there" in html
    assert "Mon 30 Nov 2026, 08:00 (Asia/Seoul)" in html
    # The context the decision used, with each fact's source.
    facts = {f.name: f for f in response.context["simulation"].facts}
    assert facts["timezone"].value == "Asia/Seoul" and facts["timezone"].source == "input"
    assert facts["now"].value == "2026-11-30 08:00+09:00"


def test_afternoon_shows_the_default_and_every_variant_as_lost(editor_client, home_page):
    response = simulate(editor_client, home_page, date="2026-11-30", time="14:00", timezone="Asia/Seoul")
    hero = slot(response, "hero")
    assert hero.default_chosen and hero.decision.variant_name == "Default"
    assert hero.policy_label == "Rules (first match)"
    assert "it is 14:00 there" in row(hero, "Morning").lost_because
    assert 'data-variant="Default" data-status="chosen"' in response.content.decode()


def test_unknown_timezone_is_an_error_at_the_timezone_field(editor_client, home_page):
    response = simulate(editor_client, home_page, time="08:00", timezone="Mars/Base")
    form = response.context["form"]
    assert "unknown timezone 'Mars/Base'" in " ".join(form.errors["timezone"])
    assert list(form.errors) == ["timezone"]
    assert "simulation" not in response.context
    assert SESSION_KEY not in editor_client.session


def test_invalid_inputs_are_refused_at_their_fields(editor_client, home_page):
    response = simulate(editor_client, home_page, country="Atlantis", temperature="99", traits="[1, 2]")
    errors = response.context["form"].errors
    assert "traits" in errors
    # The context builder reports one field at a time; fix one and the next one shows.
    assert set(errors) == {"traits"}
    response = simulate(editor_client, home_page, country="Atlantis", temperature="99")
    assert set(response.context["form"].errors) == {"country"}
    response = simulate(editor_client, home_page, country="KR", temperature="99")
    assert "outside" in " ".join(response.context["form"].errors["temperature"])


def test_text_over_the_limit_is_a_field_error(editor_client, home_page):
    response = simulate(editor_client, home_page, text="sad " * 501)
    assert "at most 2000 characters" in " ".join(response.context["form"].errors["text"])


def test_emotion_and_text_together_are_refused(editor_client, home_page):
    response = simulate(editor_client, home_page, emotion="joy", text="What a day")
    assert "not both" in " ".join(response.context["form"].errors["text"])


def test_forced_facts_decide_weather_emotion_and_segment_variants(editor_client, home_page):
    from rules.models import Segment

    response = simulate(
        editor_client,
        home_page,
        time="20:00",
        timezone="Asia/Seoul",
        weather="rain",
        temperature="12",
        emotion="sadness",
        device="mobile",
        segments=list(Segment.objects.values_list("slug", flat=True)),
        visit_count="3",
    )
    facts = {f.name: f for f in response.context["simulation"].facts}
    assert facts["weather"].value == "condition: rain, temperature_c: 12.0"
    assert facts["visit_count"].source == "simulator" and facts["returning"].value == "yes"
    hero = slot(response, "hero")
    if any(r.name == "Rainy day" for r in hero.rows):
        assert hero.decision.variant_name == "Rainy day"
        # Later variants that match too lose because the rainy one comes first.
        assert row(hero, "Evening").lost_because == "Matched, but Rainy day comes first"
    if Segment.objects.exists():
        assert facts["segments"].source == "simulator"


def test_anonymous_users_are_sent_to_the_login(client, home_page):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.post(URL, {"page": home_page.pk}).status_code == 302


def test_editors_without_page_permissions_are_refused(client, home_page):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("viewer", password="x")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code in (302, 403)


def test_the_simulator_is_in_the_tailor_menu_and_on_the_page_header(editor_client, home_page):
    html = editor_client.get("/admin/").content.decode()
    assert URL in html and "Simulator" in html
    html = editor_client.get(f"/admin/pages/{home_page.pk}/edit/").content.decode()
    assert f"{URL}?page={home_page.pk}" in html and "Simulate personalization" in html


def _rename_variant(page, old: str, new: str) -> None:
    body = list(page.body.raw_data)
    for block in body:
        if block["type"] == "personalized":
            for item in block["value"]["variants"]:
                if item["value"]["name"] == old:
                    item["value"]["name"] = new
    page.body = json.dumps(body)


def test_unpublished_draft_changes_show_in_the_simulator(editor_client, home_page):
    _rename_variant(home_page, "Morning", "Sunrise")
    home_page.save_revision(log_action=False)  # saved, not published

    response = simulate(editor_client, home_page, time="08:00", timezone="Asia/Seoul")
    assert slot(response, "hero").decision.variant_name == "Sunrise"
    assert "a draft that is not published" in response.content.decode()

    live = simulate(editor_client, home_page, time="08:00", timezone="Asia/Seoul", revision="live")
    assert slot(live, "hero").decision.variant_name == "Morning"
    assert "the published version" in live.content.decode()


def test_simulating_records_nothing_and_keeps_the_inputs_without_the_text(editor_client, home_page):
    from variants.compiler import compiled_pages

    simulate(editor_client, home_page, time="20:00", timezone="Asia/Seoul", device="mobile")
    stored = editor_client.session[SESSION_KEY]
    assert stored == {"time": "20:00", "timezone": "Asia/Seoul", "device": "mobile", "page": home_page.pk}
    assert json.loads(json.dumps(stored)) == stored
    assert not compiled_pages._items  # preview compiles without caching

    # The form comes back prefilled with the last context.
    html = editor_client.get(URL).content.decode()
    assert 'value="Asia/Seoul"' in html and 'value="20:00"' in html


def test_the_text_is_classified_but_never_kept(editor_client, home_page):
    emotion = pytest.importorskip("rules.ml.emotion")
    try:
        emotion.get_model()
    except FileNotFoundError:
        pytest.skip("the emotion model is not trained yet (rules/ml/data)")
    secret = "I lost my job today and I feel miserable and hopeless"
    response = simulate(editor_client, home_page, time="20:00", timezone="Asia/Seoul", text=secret)
    facts = {f.name: f for f in response.context["simulation"].facts}
    assert facts["emotion"].source == "provider"
    assert secret not in json.dumps(editor_client.session[SESSION_KEY])


def test_a_failing_classifier_is_an_error_at_the_text_field(editor_client, home_page, monkeypatch):
    emotion = pytest.importorskip("rules.ml.emotion")

    def broken(text):
        raise RuntimeError("model missing")

    monkeypatch.setattr(emotion, "classify", broken)
    response = simulate(editor_client, home_page, time="20:00", timezone="Asia/Seoul", text="a rainy, sad day")
    assert "emotion classifier could not read this text" in " ".join(response.context["form"].errors["text"])
    assert SESSION_KEY not in editor_client.session


# --- the page preview mode -----------------------------------------------------------------------


def preview(client, page):
    """Ask Wagtail to preview `page` (an unsaved object) in the Personalization mode, as the
    preview panel does: a dummy request carrying the editor's session cookie."""
    request = RequestFactory().get("/", HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}")
    response = page.make_preview_request(request, PREVIEW_MODE)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_keeps_its_default_preview_mode_and_gains_personalization(home_page):
    assert home_page.preview_modes[0][0] == home_page.default_preview_mode == ""
    assert (PREVIEW_MODE, "Personalization") in home_page.preview_modes


def test_preview_mode_explains_the_decisions_for_the_sessions_context(editor_client, home_page):
    simulate(editor_client, home_page, date="2026-11-30", time="20:00", timezone="Asia/Seoul")
    html = preview(editor_client, home_page)
    assert 'data-variant="Evening" data-status="chosen"' in html
    assert "Morning 06:00–11:00 (Asia/Seoul): it is 20:00 there" in html
    assert f'href="{URL}?page={home_page.pk}"' in html and "Change context" in html
    assert "Asia/Seoul" in html


def test_preview_mode_uses_unsaved_edits(editor_client, home_page):
    simulate(editor_client, home_page, time="20:00", timezone="Asia/Seoul")
    _rename_variant(home_page, "Evening", "Night owls")  # in memory only, as the editor's form is
    html = preview(editor_client, home_page)
    assert 'data-variant="Night owls" data-status="chosen"' in html


def test_preview_mode_without_a_simulated_context_uses_now_in_the_default_timezone(editor_client, home_page):
    html = preview(editor_client, home_page)
    assert "For a visitor right now in UTC" in html
    assert 'data-slot="hero"' in html


def test_preview_mode_falls_back_when_the_stored_context_is_stale(editor_client, home_page):
    session = editor_client.session
    session[SESSION_KEY] = {"timezone": "Mars/Base"}
    session.save()
    html = preview(editor_client, home_page)
    assert "no longer valid" in html and 'data-slot="hero"' in html
