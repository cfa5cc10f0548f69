"""Test settings: the sample site, with fast password hashing and an isolated media root."""

import os
import secrets
import tempfile

# The sample settings refuse to start with DEBUG off and no secret key: the suite's own random key,
# inherited by the servers and commands tests start as subprocesses.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))

from sample_site.settings import *  # noqa: E402, F403
from tailor.settings import DEFAULTS as TAILOR_DEFAULTS  # noqa: E402

# A host site's app that adds its own condition type through `register_tailor_conditions`.
INSTALLED_APPS = ["tests.testapp", *INSTALLED_APPS]  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="tailor-test-media-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}

# Process-local caches whatever REDIS_URL says: concurrent runs must not share Wagtail's cached site
# roots or weather answers; tests of the Redis cache build their own.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Tasks run where they are enqueued, so a test sees their effect at once (tests of the queue pick
# their own backend).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# The embedded default (database) unless a test opts into Redis with the `redis_tailor` fixture. No
# CORS origins either: the sample site's INSTALLED_APPS ("corsheaders", "wagtail_headless_preview") and
# MIDDLEWARE (corsheaders' first) are kept, and tests of CORS set TAILOR["CORS_ORIGINS"] themselves.
TAILOR = {}
# Tests see their events' effect on the next request: weights are refreshed in the request, whatever
# TAILOR a test sets (tests/test_feedback.py tests the background refresh on a Feedback of its own).
TAILOR_DEFAULTS["REFRESH_IN_BACKGROUND"] = False
# The frontend preview mode's client URL, whatever TAILOR_FRONTEND_URL says.
WAGTAIL_HEADLESS_PREVIEW = {
    "CLIENT_URLS": {"default": "http://127.0.0.1:3000/api/preview"},
    "ENFORCE_TRAILING_SLASH": False,
}
