"""SQL queries per request (Django's test client on the seeded database), printed as JSON: the
personalised page for a returning visitor (their session kept) and the plain page."""

import json

from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
#: the call to action's variant for returning desktop visitors (`wp_seed`)
CTA_VARIANT = b'href="/signup/"'


def returning_visitor(user_agent: str) -> Client:
    """A visitor who has seen the home page three times (the call to action's segment took them in),
    like the load test's visitor."""
    client = Client(HTTP_USER_AGENT=user_agent)
    for _ in range(3):
        response = client.get("/")
        assert response.status_code == 200, response.status_code
    assert CTA_VARIANT in response.content, "the returning visitor is in no call to action's segment"
    return client


class Command(BaseCommand):
    help = "Count the SQL queries of the personalised and the plain page for a returning visitor."

    def add_arguments(self, parser):
        parser.add_argument("--user-agent", default="")

    def handle(self, *args, user_agent="", **options):
        client = returning_visitor(user_agent)
        out = {}
        for name, url in (("personalised", "/"), ("plain", "/plain/")):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, response.status_code
            sql = [q["sql"] for q in queries.captured_queries]
            out[name] = {
                "queries": len(sql),
                "writes": sum(s.lstrip().upper().startswith(WRITES) for s in sql),
                "bytes": len(response.content),
            }
        self.stdout.write(json.dumps(out))
