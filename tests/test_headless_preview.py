"""The demo HomePage's "Frontend" preview mode (wagtail-headless-preview): the editor's unsaved draft is
stored as a `PagePreview` under a signed token and the preview shows the frontend's preview route with
``content_type`` and ``token``; Wagtail's own preview and Tailor's "Personalization" mode keep working."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from wagtail.test.utils.form_data import nested_form_data, streamfield
from wagtail_headless_preview.models import PagePreview

from cms.models import PREVIEW_MODE as PERSONALIZATION_MODE
from sample_site.home.models import FRONTEND_PREVIEW_MODE, HomePage

CLIENT = "http://127.0.0.1:3000/api/preview"


@pytest.fixture(autouse=True)
def client_url(settings):
    settings.WAGTAIL_HEADLESS_PREVIEW = {"CLIENT_URLS": {"default": CLIENT}, "ENFORCE_TRAILING_SLASH": False}


@pytest.fixture
def child(home_page) -> HomePage:
    page = HomePage(title="Offers", slug="offers", body="[]")
    home_page.add_child(instance=page)
    page.save_revision().publish()
    return HomePage.objects.get(pk=page.pk)


@pytest.fixture
def editor(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("editor", "editor@example.com", "x"))
    return client


def frontend_url(html: str) -> str:
    """The preview URL in wagtail-headless-preview's page (an iframe of the frontend)."""
    start = html.index('src="') + len('src="')
    return html[start : html.index('"', start)].replace("&amp;", "&")


def test_the_frontend_mode_is_offered_beside_the_others_only_while_a_client_url_is_configured(child, settings):
    assert [mode for mode, _ in child.preview_modes] == ["", PERSONALIZATION_MODE, FRONTEND_PREVIEW_MODE]
    assert dict(child.preview_modes)[FRONTEND_PREVIEW_MODE] == "Frontend"
    assert child.default_preview_mode == ""  # Wagtail's own preview stays the default

    settings.WAGTAIL_HEADLESS_PREVIEW = {"CLIENT_URLS": {}}

    assert [mode for mode, _ in child.preview_modes] == ["", PERSONALIZATION_MODE]


def test_the_frontend_mode_stores_the_draft_and_points_the_editor_at_the_frontend(child):
    child.title = "Offers (unsaved draft)"

    response = child.make_preview_request(preview_mode=FRONTEND_PREVIEW_MODE)

    assert response.status_code == 200
    url = urlsplit(frontend_url(response.content.decode()))
    assert f"{url.scheme}://{url.netloc}{url.path}" == CLIENT
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["content_type"] == "home.homepage"
    preview = PagePreview.objects.get(token=query["token"])
    assert preview.content_type == ContentType.objects.get_for_model(HomePage)
    # the frontend reads the draft back by that token
    draft = HomePage.get_page_from_preview_token(query["token"])
    assert (draft.pk, draft.title) == (child.pk, "Offers (unsaved draft)")
    assert HomePage.objects.get(pk=child.pk).title == "Offers"  # nothing was saved


def test_with_redirect_on_preview_the_editor_is_redirected_to_the_frontend(child, settings):
    settings.WAGTAIL_HEADLESS_PREVIEW = {
        "CLIENT_URLS": {"default": CLIENT},
        "ENFORCE_TRAILING_SLASH": False,
        "REDIRECT_ON_PREVIEW": True,
    }

    response = child.make_preview_request(preview_mode=FRONTEND_PREVIEW_MODE)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{CLIENT}?content_type=home.homepage&token=")
    token = parse_qs(urlsplit(response["Location"]).query)["token"][0]
    assert PagePreview.objects.filter(token=token).exists()


def test_the_other_modes_are_unchanged(child):
    default = child.make_preview_request(preview_mode="")
    personalization = child.make_preview_request(preview_mode=PERSONALIZATION_MODE)

    assert default.status_code == 200 and personalization.status_code == 200
    assert "Offers" in default.content.decode()
    assert personalization.template_name == "tailor_cms/preview/personalization.html"
    assert PagePreview.objects.count() == 0  # only the frontend mode stores a draft


def test_an_editor_previews_unsaved_edits_on_the_frontend_through_the_admin(child, editor):
    preview_url = f"/admin/pages/{child.pk}/edit/preview/"
    form = nested_form_data(
        {
            "title": "Winter offers (unsaved)",
            "slug": "offers",
            "body": streamfield([]),
            "comments": {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0, "MIN_NUM_FORMS": 0, "MAX_NUM_FORMS": 1000},
        }
    )

    posted = editor.post(preview_url, form)
    assert posted.json() == {"is_valid": True, "is_available": True}
    response = editor.get(preview_url, {"mode": FRONTEND_PREVIEW_MODE})

    assert response.status_code == 200
    url = frontend_url(response.content.decode())
    assert url.startswith(f"{CLIENT}?content_type=home.homepage&token=")
    token = parse_qs(urlsplit(url).query)["token"][0]
    assert HomePage.get_page_from_preview_token(token).title == "Winter offers (unsaved)"
    assert HomePage.objects.get(pk=child.pk).title == "Offers"
