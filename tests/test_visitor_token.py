"""The visitor token a frontend gets back: the same one while it is fresh, a renewed one later."""

from datetime import timedelta

from django.test import override_settings
from freezegun import freeze_time

from tailor.signing import read_visitor_token, sign_visitor, visitor_token_for

DAY = 24 * 3600


@override_settings(TAILOR={"VISITOR_TOKEN_MAX_AGE": 10 * DAY})
def test_a_fresh_token_is_handed_back_unchanged_and_an_old_one_is_renewed():
    with freeze_time("2026-12-01 12:00:00") as clock:
        sent = sign_visitor("a" * 32)
        clock.tick(timedelta(seconds=1))
        assert visitor_token_for("a" * 32, sent) == sent

        clock.tick(timedelta(days=6))  # older than half its lifetime: renewed, same visitor
        renewed = visitor_token_for("a" * 32, sent)
        assert renewed != sent
        assert read_visitor_token(renewed) == "a" * 32


def test_a_token_of_another_visitor_or_a_forged_one_is_never_handed_back():
    other = sign_visitor("b" * 32)

    assert visitor_token_for("a" * 32, other) != other
    assert read_visitor_token(visitor_token_for("a" * 32, "not-a-token")) == "a" * 32
