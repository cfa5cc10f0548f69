"""Safe by default: the sample settings refuse to start with DEBUG off and no real secret key, DEBUG
is off unless asked, local development gets a random per-checkout key, `check --deploy` lists only
the HTTPS settings a TLS proxy takes care of, password validators are on, the demo's admin password
is random per database; decision and visitor tokens can have a key of their own that rotates, and an
event's value is bounded."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_KEY = "tailor-sample-site-insecure-key-change-me-in-production"
REAL_KEY = "k3y-" + "x7Qp9zR2" * 7
PRINT = (
    "import django; django.setup(); from django.conf import settings; print(settings.DEBUG, len(settings.SECRET_KEY))"
)


def sample_site(tmp_path: Path, code: str = PRINT, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` (or manage.py `args`) under sample_site.settings with only the given DJANGO_* env."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k not in ("DATABASE_URL",)}
    base.update(
        DJANGO_SETTINGS_MODULE="sample_site.settings",
        DJANGO_SECRET_KEY_FILE=str(tmp_path / "secret-key"),
        PYTHONPATH=str(ROOT),
        **env,
    )
    command = [sys.executable, "manage.py", *args] if args else [sys.executable, "-c", code]
    return subprocess.run(command, env=base, capture_output=True, text=True, cwd=ROOT, timeout=120)


# --- the secret key and DEBUG --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="no-key"),
        pytest.param({"DJANGO_SECRET_KEY": PUBLIC_KEY}, id="the-old-public-key"),
        pytest.param({"DJANGO_SECRET_KEY": "short"}, id="a-short-key"),
        pytest.param({"DJANGO_SECRET_KEY": PUBLIC_KEY, "DJANGO_DEBUG": "1"}, id="public-key-even-with-debug"),
    ],
)
def test_the_sample_settings_refuse_to_start_without_a_real_secret_key(tmp_path, env):
    done = sample_site(tmp_path, **env)

    assert done.returncode != 0
    assert "No usable SECRET_KEY: set DJANGO_SECRET_KEY" in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "secret-key").exists()


def test_debug_is_off_unless_asked(tmp_path):
    done = sample_site(tmp_path, DJANGO_SECRET_KEY=REAL_KEY)

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", str(len(REAL_KEY))]


def test_local_development_gets_a_random_per_checkout_key_kept_in_a_private_file(tmp_path):
    first = sample_site(tmp_path, DJANGO_DEBUG="1")
    key_file = tmp_path / "secret-key"
    second = sample_site(tmp_path, DJANGO_DEBUG="1")
    # once it exists, the same checkout starts without DEBUG too (a real, private key)
    third = sample_site(tmp_path)

    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.split()[0] == "True"
    key = key_file.read_text().strip()
    assert len(key) >= 50 and key != PUBLIC_KEY
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert second.stdout == first.stdout and key_file.read_text().strip() == key  # kept, not regenerated
    assert third.returncode == 0 and third.stdout.split()[0] == "False"
    assert ".django-secret-key" in (ROOT / ".gitignore").read_text().split()


def test_check_deploy_lists_only_the_https_settings_a_tls_proxy_covers(tmp_path):
    plain = sample_site(tmp_path, PRINT, "check", "--deploy", DJANGO_SECRET_KEY=REAL_KEY)
    https = sample_site(tmp_path, PRINT, "check", "--deploy", DJANGO_SECRET_KEY=REAL_KEY, DJANGO_HTTPS="1")
    preload = sample_site(
        tmp_path, PRINT, "check", "--deploy", DJANGO_SECRET_KEY=REAL_KEY, DJANGO_HTTPS="1", DJANGO_HSTS_PRELOAD="1"
    )

    warnings = sorted(set(re.findall(r"\((\w+\.\w+)\)", plain.stderr + plain.stdout)))
    # HSTS, the https redirect and https-only cookies: what DJANGO_HTTPS=1 turns on behind a TLS proxy
    assert warnings == ["security.W004", "security.W008", "security.W012", "security.W016"], plain.stderr
    assert re.findall(r"\((\w+\.\w+)\)", https.stderr + https.stdout) == ["security.W021"]  # HSTS preload: opt-in
    assert preload.returncode == 0 and "no issues" in preload.stdout, preload.stderr


# --- passwords -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["tailor-demo", "password1234", "12345678901234", "admin"])
def test_password_validators_refuse_weak_passwords(db, password):
    from django.contrib.auth.password_validation import validate_password

    with pytest.raises(ValidationError):
        validate_password(password)


def test_the_demo_admin_password_is_random_per_database_and_printed(db, client, monkeypatch):
    monkeypatch.delenv("TAILOR_DEMO_PASSWORD", raising=False)

    def demo() -> str:
        out = io.StringIO()
        call_command("tailor_demo", stdout=out)
        return re.search(r"username: admin\s+password: (\S+)", out.getvalue()).group(1)

    first, second = demo(), demo()

    assert first != second and len(first) >= 12
    assert not client.login(username="admin", password=first)  # replaced by the second run's
    assert client.login(username="admin", password=second)
    source = (ROOT / "sample_site/home/management/commands/tailor_demo.py").read_text()
    assert first not in source and "tailor-demo" not in source


def test_a_weak_chosen_demo_password_is_refused(db, monkeypatch):
    from django.core.management.base import CommandError

    monkeypatch.setenv("TAILOR_DEMO_PASSWORD", "tailor-demo")

    with pytest.raises(CommandError, match="TAILOR_DEMO_PASSWORD"):
        call_command("tailor_demo", stdout=io.StringIO())


# --- tokens: forged with the old public key, a key of Tailor's own, rotation ----------------------------------

PAGE = """query ($v: String) { personalizedPage(urlPath: "/", inSite: true, visitorToken: $v) {
  visitorToken decisions { slot token } } }"""
RECORD = """mutation ($token: String!, $kind: EventKind!, $goal: String, $value: Float) {
  recordEvent(token: $token, kind: $kind, goal: $goal, value: $value) { ok counted errors { field message } } }"""
EXPLAIN = "query ($t: String!) { explainDecision(token: $t) { slot } }"
KEY_A = "signing-key-A-" + "a" * 40
KEY_B = "signing-key-B-" + "b" * 40


def cta_token(gql) -> str:
    page = gql(PAGE)["data"]["personalizedPage"]
    return next(d["token"] for d in page["decisions"] if d["slot"] == "cta")


def test_a_conversion_forged_with_the_old_public_key_is_refused(home_page, gql):
    from variants.models import Event

    payload = {"p": home_page.pk, "s": "x", "v": "y", "po": "BANDIT", "pr": 1.0, "n": "forged-nonce-1", "a": 1}
    forged = signing.dumps(payload, key=PUBLIC_KEY, salt="tailor.decision", compress=True)

    answer = gql(RECORD, {"token": forged, "kind": "CONVERSION", "goal": "buy", "value": 1e9})["data"]["recordEvent"]

    assert answer["counted"] is False and answer["errors"][0]["field"] == "token"
    assert not Event.objects.exists()


@pytest.mark.parametrize("value", [1e12, 1e9 + 1, -5.0])
def test_a_conversion_value_out_of_bounds_is_refused(home_page, gql, value):
    answer = gql(RECORD, {"token": cta_token(gql), "kind": "CONVERSION", "goal": "buy", "value": value})

    errors = answer["data"]["recordEvent"]["errors"]
    assert errors and errors[0]["field"] == "value" and "between 0 and 1e+09" in errors[0]["message"]


def test_the_value_bound_follows_max_event_value(home_page, gql, settings):
    settings.TAILOR = {**settings.TAILOR, "MAX_EVENT_VALUE": 500}

    too_much = gql(RECORD, {"token": cta_token(gql), "kind": "CONVERSION", "goal": "buy", "value": 501.0})
    fine = gql(RECORD, {"token": cta_token(gql), "kind": "CONVERSION", "goal": "buy", "value": 500.0})

    assert too_much["data"]["recordEvent"]["errors"][0]["field"] == "value"
    assert fine["data"]["recordEvent"]["counted"] is True


def test_tokens_signed_with_a_signing_key_of_their_own_survive_a_rotation_with_fallbacks(home_page, gql, settings):
    settings.TAILOR = {"SIGNING_KEY": KEY_A}
    old_decision = cta_token(gql)
    old_visitor = gql(PAGE)["data"]["personalizedPage"]["visitorToken"]
    # not signed with Django's SECRET_KEY
    with pytest.raises(signing.BadSignature):
        signing.loads(old_visitor, salt="tailor.visitor")

    settings.TAILOR = {"SIGNING_KEY": KEY_B, "SIGNING_KEY_FALLBACKS": [KEY_A]}
    during = gql(RECORD, {"token": old_decision, "kind": "IMPRESSION"})["data"]["recordEvent"]
    renewed = gql(PAGE, {"v": old_visitor})["data"]["personalizedPage"]
    new_decision = next(d["token"] for d in renewed["decisions"] if d["slot"] == "cta")

    settings.TAILOR = {"SIGNING_KEY": KEY_B}  # the old key dropped
    after_old = gql(RECORD, {"token": old_decision, "kind": "CLICK"})["data"]["recordEvent"]
    after_new = gql(RECORD, {"token": new_decision, "kind": "CLICK"})["data"]["recordEvent"]

    assert during["counted"] is True
    assert gql(EXPLAIN, {"t": new_decision})["data"]["explainDecision"]["slot"] == "cta"
    assert after_old["counted"] is False and after_old["errors"][0]["field"] == "token"
    assert after_new["counted"] is True


def test_without_a_signing_key_django_secret_key_fallbacks_rotate_tokens(home_page, gql, settings):
    from django.conf import settings as django_settings

    old_key = django_settings.SECRET_KEY
    token = cta_token(gql)

    with override_settings(SECRET_KEY="new-secret-" + "n" * 50, SECRET_KEY_FALLBACKS=[old_key]):
        with_fallback = gql(EXPLAIN, {"t": token})["data"]["explainDecision"]
    with override_settings(SECRET_KEY="new-secret-" + "n" * 50, SECRET_KEY_FALLBACKS=[]):
        without = gql(EXPLAIN, {"t": token})["data"]["explainDecision"]

    assert with_fallback == {"slot": "cta"} and without is None


@pytest.mark.parametrize(
    ("tailor", "key"),
    [
        ({"SIGNING_KEY": "too-short"}, "SIGNING_KEY"),
        ({"SIGNING_KEY_FALLBACKS": "one-key-not-a-list"}, "SIGNING_KEY_FALLBACKS"),
        ({"MAX_EVENT_VALUE": 0}, "MAX_EVENT_VALUE"),
        ({"PURGE_INTERVAL_SECONDS": 5}, "PURGE_INTERVAL_SECONDS"),
    ],
)
def test_signing_and_bound_settings_are_checked(tailor, key):
    from tailor.settings import tailor_settings

    with override_settings(TAILOR=tailor), pytest.raises(ImproperlyConfigured, match=key):
        tailor_settings.user_settings  # noqa: B018
