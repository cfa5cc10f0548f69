import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from rules.models import JourneyStage, Segment
from sample_site.home.demo import (
    JOURNEY_STAGES,
    KOREAN_SLUG,
    MOBILE_EVENING_READERS,
    home_body,
    korean_home_body,
    shop_pages,
)
from sample_site.home.models import HomePage

DEMO_USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Seed the demo home page (personalized hero), its Korean translation (/ko/) and an admin user. "
        "Safe to run again."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        self.ensure_segments()
        page = self.ensure_home_page()
        korean = self.ensure_korean_home_page(page)
        self.ensure_journey_demo(page)
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "admin@example.com"}
        )
        # Never a constant: TAILOR_DEMO_PASSWORD when set (checked by AUTH_PASSWORD_VALIDATORS), else a
        # random one made for this database, printed once (a re-run on the same database prints a new one).
        password = os.environ.get("TAILOR_DEMO_PASSWORD") or secrets.token_urlsafe(12)
        try:
            validate_password(password, user)
        except ValidationError as e:
            raise CommandError(f"TAILOR_DEMO_PASSWORD: {' '.join(e.messages)}") from None
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(self.style.SUCCESS(f"Demo page: {page.title} ({page.url_path})"))
        self.stdout.write(self.style.SUCCESS(f"Korean demo page: {korean.title} ({korean.url_path})"))
        self.stdout.write(f"Admin: http://127.0.0.1:8000/admin/  username: {DEMO_USERNAME}  password: {password}")

    def ensure_journey_demo(self, home: HomePage) -> None:
        """The funnel's stages and a small shop (products, about, pricing with its `next-step` slot)."""
        for data in JOURNEY_STAGES:
            stage, _ = JourneyStage.objects.get_or_create(slug=data["slug"], defaults={"name": data["name"]})
            stage.name, stage.order, stage.enabled = data["name"], data["order"], True
            stage.conditions = json.dumps(data["conditions"])
            stage.full_clean()
            stage.save()
        for slug, title, body in shop_pages():
            page = home.get_children().filter(slug=slug).specific().first()
            if page is None:
                page = HomePage(title=title, slug=slug, body=json.dumps(body))
                home.add_child(instance=page)
            else:
                page.title, page.body = title, json.dumps(body)
            page.save_revision(log_action=False).publish(log_action=False)

    def ensure_segments(self) -> None:
        data = dict(MOBILE_EVENING_READERS)
        conditions = data.pop("conditions")
        segment, _ = Segment.objects.get_or_create(slug=data["slug"], defaults={"name": data["name"]})
        for key, value in data.items():
            setattr(segment, key, value)
        segment.conditions = json.dumps(conditions)
        segment.enabled = True
        segment.full_clean()
        segment.save()

    def ensure_home_page(self) -> HomePage:
        # Wagtail's migrations create the default locale and the tree's root; a flushed database
        # (e.g. after transactional tests) has neither.
        if not Locale.objects.exists():
            Locale.objects.create(language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
        root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
        page = HomePage.objects.filter(depth=2).first()
        body = home_body()
        if page is None:
            page = HomePage(title="Tailor demo", slug="home", body=json.dumps(body))
            # Wagtail's own migration creates a placeholder welcome page with slug "home"
            for old in Page.objects.filter(depth=2, slug="home").exclude(content_type__model="homepage"):
                old.slug = f"welcome-{old.pk}"
                old.save(update_fields=["slug"])
            root.add_child(instance=page)
        else:
            page.body = json.dumps(body)
        revision = page.save_revision(log_action=False)
        revision.publish(log_action=False)
        page.refresh_from_db()
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(
                hostname="localhost", port=80, root_page=page, is_default_site=True, site_name="Tailor demo"
            )
        elif site.root_page_id != page.pk:
            site.root_page = page
            site.save()
        # Wagtail's placeholder welcome page would otherwise shadow ours for `urlPath: "/"`.
        for old in Page.objects.filter(depth=2, slug__startswith="welcome-", content_type__model="page"):
            if not old.get_children().exists() and not Site.objects.filter(root_page=old).exists():
                old.delete()
        return page

    def ensure_korean_home_page(self, home: HomePage) -> HomePage:
        """The home page's Korean translation (same translation key, locale ``ko``) with its own
        personalized regions, served as ``personalizedPage(urlPath: "/ko/", inSite: true)``.

        It lives under the home page (the site's root, ``/ko/``) rather than beside it: the demo site
        has one root page, so a frontend finds both languages in one site by path."""
        locale, _ = Locale.objects.get_or_create(language_code=get_supported_content_language_variant("ko"))
        page = HomePage.objects.filter(translation_key=home.translation_key, locale=locale).first()
        body = json.dumps(korean_home_body())
        if page is None:
            page = HomePage(
                title="Tailor 데모",
                slug=KOREAN_SLUG,
                locale=locale,
                translation_key=home.translation_key,
                body=body,
            )
            home.add_child(instance=page)
        else:
            page.body = body
        revision = page.save_revision(log_action=False)
        revision.publish(log_action=False)
        page.refresh_from_db()
        return page
