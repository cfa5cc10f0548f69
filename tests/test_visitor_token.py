"""Signed tokens: the visitor token a frontend gets back (the same one while it is fresh, a renewed one
later), and what a process remembers of tokens it has verified."""

from datetime import timedelta

import pytest
from django.test import override_settings
from freezegun import freeze_time

from tailor.signing import TokenError, dump, load, read_visitor_token, sign_visitor, visitor_token_for

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


@override_settings(TAILOR={"VISITOR_TOKEN_MAX_AGE": 10 * DAY, "SIGNING_KEY": "k" * 50})
def test_a_token_read_before_still_expires_and_fails_once_its_key_is_dropped():
    # A process checks a returning visitor's token's signature once and remembers it: the age and
    # the keys are still checked on every read.
    with freeze_time("2026-12-01 12:00:00") as clock:
        sent = sign_visitor("c" * 32)
        assert read_visitor_token(sent) == "c" * 32
        assert read_visitor_token(sent) == "c" * 32  # remembered

        with override_settings(TAILOR={"VISITOR_TOKEN_MAX_AGE": 10 * DAY, "SIGNING_KEY": "n" * 50}):
            with pytest.raises(TokenError) as dropped:
                read_visitor_token(sent)
            assert dropped.value.code == "forged"
        with override_settings(
            TAILOR={"VISITOR_TOKEN_MAX_AGE": 10 * DAY, "SIGNING_KEY": "n" * 50, "SIGNING_KEY_FALLBACKS": ["k" * 50]}
        ):
            assert read_visitor_token(sent) == "c" * 32  # the old key as a fallback: still good

        clock.tick(timedelta(days=11))
        with pytest.raises(TokenError) as expired:
            read_visitor_token(sent)
        assert expired.value.code == "expired"


def test_a_tampered_token_is_forged_even_when_its_original_was_read():
    sent = sign_visitor("d" * 32)
    assert read_visitor_token(sent) == "d" * 32
    payload, stamp, signature = sent.rsplit(":", 2)
    for tampered in (f"{payload}:{stamp}:{signature[:-2]}xx", f"{payload}:1:{signature}"):
        with pytest.raises(TokenError) as forged:
            read_visitor_token(tampered)
        assert forged.value.code == "forged"


def test_a_structured_payload_read_twice_is_an_equal_copy_and_still_expires():
    # decision tokens are read by the rate limit and again by recording: the second read is remembered
    with freeze_time("2026-12-01 12:00:00") as clock:
        token = dump({"s": "hero", "r": ["a reason"]}, "tailor.test")
        first = load(token, "tailor.test", 60)
        first["r"].append("changed by the caller")
        assert load(token, "tailor.test", 60) == {"s": "hero", "r": ["a reason"]}

        clock.tick(timedelta(seconds=61))
        with pytest.raises(TokenError) as expired:
            load(token, "tailor.test", 60)
        assert expired.value.code == "expired"
