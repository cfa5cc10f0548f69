"""A page with 5 slots × 8 variants × 4 conditions decides without SQL and agrees with a plain
re-evaluation of the rules (first matching variant in editor order, else the default)."""

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from benchmarks.workloads import heavy_page_body, visitor_context
from sample_site.home.models import HomePage
from variants.compiler import compiled_page
from variants.services import personalize_page


def test_heavy_page_decides_without_sql_and_like_the_rules_say(home_page):
    page = HomePage(title="Heavy", slug="heavy", body=json.dumps(heavy_page_body()))
    home_page.add_child(instance=page)
    page.save_revision(log_action=False).publish(log_action=False)
    page = HomePage.objects.get(pk=page.pk)
    personalize_page(page, visitor_context(0))  # compile once

    contexts = [visitor_context(seed) for seed in range(200)]
    with CaptureQueriesContext(connection) as queries:
        results = [personalize_page(page, ctx) for ctx in contexts]

    assert len(queries) == 0
    compiled = compiled_page(page)
    assert len(compiled.slots) == 5 and all(len(s.variants) == 8 for s in compiled.slots)
    chosen = set()
    for ctx, result in zip(contexts, results, strict=True):
        for slot, decision in zip(compiled.slots, result.decisions, strict=True):
            expected = next((v.id for v in slot.variants if v.condition.evaluate(ctx).value is True), "default")
            assert decision.variant_id == expected
            chosen.add(expected)
    # the workload exercises real choices, not just the default
    assert len(chosen) > 10
