"""The benchmark's pages and segments: Tailor's demo home page (`sample_site/home/demo.py`) written
with wagtail-personalisation's own mechanism, and a plain page with the same content's defaults."""

import datetime
import json
import uuid

from django.core.management.base import BaseCommand
from django.db import transaction
from wagtail.models import Locale, Page, Site
from wagtail_personalisation.models import Segment
from wagtail_personalisation.rules import DeviceRule, QueryRule, TimeRule, VisitCountRule

from wp_home.models import HomePage

EVERYONE = "-1"


def block(kind, value):
    return {"type": kind, "value": value, "id": str(uuid.uuid4())}


def content(heading="", paragraph="", button_label="", button_url=""):
    return {"heading": heading, "paragraph": paragraph, "button_label": button_label, "button_url": button_url}


def personalised(segment, **value):
    return block("personalised", {"segment": segment, **content(**value)})


# Each region's default content, as Tailor's demo has it (and its plain page shows).
HERO_DEFAULT = content(
    heading="Content that fits the moment", paragraph="<p>Tailor shows each visitor the variant that fits them.</p>"
)
READING_DEFAULT = content(paragraph="<p>Browse our latest articles.</p>")
CTA_DEFAULT = content(button_label="Learn more", button_url="/features/")
INTRO = "Welcome to the Tailor demo"
OUTRO = "<p>Everything above was chosen for you. Ask the API why.</p>"


def segment(name, rules, *, match_any=False):
    found = Segment(
        name=name,
        status=Segment.STATUS_ENABLED,
        match_any=match_any,
    )
    found.save()
    for rule in rules:
        rule.segment = found
        rule.save()
    return str(found.pk)


class Command(BaseCommand):
    help = "Seed the personalised home page (/), its plain equivalent (/plain/) and their segments."

    @transaction.atomic
    def handle(self, *args, **options):
        if not Locale.objects.exists():
            Locale.objects.create(language_code="en")
        root = Page.get_first_root_node()
        for old in Page.objects.filter(depth=2):  # Wagtail's placeholder welcome page
            old.delete()
        root.refresh_from_db()
        home = root.add_child(instance=HomePage(title="Tailor demo", slug="home"))
        Site.objects.all().delete()
        Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)

        morning, evening = (datetime.time(6), datetime.time(11)), (datetime.time(18), datetime.time(23))
        rainy = segment("Rainy day", [QueryRule(parameter="weather", value="rain")])
        cheer_up = segment("Cheer up", [QueryRule(parameter="mood", value="sad")])
        morning_seg = segment("Morning", [TimeRule(start_time=morning[0], end_time=morning[1])])
        evening_seg = segment("Evening", [TimeRule(start_time=evening[0], end_time=evening[1])])
        readers = segment(
            "Mobile evening readers",
            [DeviceRule(mobile=True), TimeRule(start_time=evening[0], end_time=evening[1])],
        )
        # Tailor's call to action is a bandit (each visitor gets one of its arms). wagtail-personalisation's
        # random segments cannot stand for it: their draw is made again on every request and a visitor
        # once left out stays out, so a returning visitor ends in none. Its variants go instead to
        # returning visitors by device: the benchmark's visitor (a returning desktop one) is in one.
        returning = dict(counted_page=home, operator="more_than", count=1)
        trial = segment("Start free trial", [VisitCountRule(**returning), DeviceRule(desktop=True)])
        demo = segment("Book a demo", [VisitCountRule(**returning), DeviceRule(mobile=True, tablet=True)])

        home.body = json.dumps(
            [
                block("heading", INTRO),
                # hero: four variants and the default. wagtail-personalisation has no "otherwise": a
                # region's default is a block for everyone, shown beside a variant that matched.
                personalised(
                    rainy, heading="Rainy out there? Stay in with us", paragraph="<p>Cosy reads for a wet day.</p>"
                ),
                personalised(cheer_up, heading="Having a rough day? Here is something kind"),
                personalised(morning_seg, heading="Good morning! Start your day with us"),
                personalised(evening_seg, heading="Good evening! Unwind with our picks"),
                personalised(EVERYONE, **HERO_DEFAULT),
                # reading: a rule-defined segment's variant and the default
                personalised(
                    readers,
                    heading="Tonight's short reads for your phone",
                    button_label="Open the reading list",
                    button_url="/reading-list/",
                ),
                personalised(EVERYONE, **READING_DEFAULT),
                # call to action
                personalised(trial, button_label="Start free trial", button_url="/signup/"),
                personalised(demo, button_label="Book a demo", button_url="/demo/"),
                personalised(EVERYONE, **CTA_DEFAULT),
                block("paragraph", OUTRO),
            ]
        )
        home.save_revision().publish()

        plain = HomePage(
            title="Tailor demo",
            slug="plain",
            body=json.dumps(
                [
                    block("heading", INTRO),
                    block("content", HERO_DEFAULT),
                    block("content", READING_DEFAULT),
                    block("content", CTA_DEFAULT),
                    block("paragraph", OUTRO),
                ]
            ),
        )
        home.add_child(instance=plain)
        plain.save_revision().publish()
        self.stdout.write(f"seeded {home.url_path} and {plain.url_path}, {Segment.objects.count()} segments")
