"""A demo Wagtail site using Tailor the way a customer would.

SQLite by default; `DATABASE_URL` (e.g. postgres://postgres@127.0.0.1:5432/test) and `REDIS_URL`
come from the environment.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# Safe by default: DEBUG only when asked (DJANGO_DEBUG=1, as `make demo` does), and never a public
# secret key. The key comes from DJANGO_SECRET_KEY; else, for local development only, from a random
# per-checkout key file (gitignored) that DEBUG creates on first start. With DEBUG off and neither,
# the site refuses to start: a key everyone can read would let anyone forge decision and visitor tokens.
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
# where that key file is (lower case here and below: not Django settings)
secret_key_file = Path(os.environ.get("DJANGO_SECRET_KEY_FILE") or BASE_DIR / ".django-secret-key")
#: keys that are public (in this repository's history, or Django's placeholder): never accepted
public_secret_keys = frozenset({"tailor-sample-site-insecure-key-change-me-in-production", "change-me", ""})


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()
    if not key and secret_key_file.is_file():
        key = secret_key_file.read_text().strip()
    if not key and DEBUG:
        key = secrets.token_urlsafe(50)
        secret_key_file.write_text(key + "\n")
        secret_key_file.chmod(0o600)
    if key in public_secret_keys or key.startswith("django-insecure") or len(key) < 32:
        raise ImproperlyConfigured(
            "No usable SECRET_KEY: set DJANGO_SECRET_KEY to a random value of 50 characters or more "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or run with DJANGO_DEBUG=1 for "
            f"local development (a random key is then kept in {secret_key_file}). A public key lets anyone "
            "forge Tailor's decision and visitor tokens."
        )
    return key


SECRET_KEY = _secret_key()
# Old keys still accepted for signatures while a new SECRET_KEY rolls out (comma separated).
SECRET_KEY_FALLBACKS = [k.strip() for k in os.environ.get("DJANGO_SECRET_KEY_FALLBACKS", "").split(",") if k.strip()]
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

# HTTPS: behind a TLS-terminating proxy set DJANGO_HTTPS=1 (the proxy must set X-Forwarded-Proto):
# redirects to https, HSTS, cookies only over https. Off by default so `make demo` works over plain
# http on 127.0.0.1; `manage.py check --deploy` then lists exactly these (SECURITY.md).
https = os.environ.get("DJANGO_HTTPS", "0") == "1"  # lower case: not a Django setting
if https:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("DJANGO_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
    SECURE_HSTS_PRELOAD = os.environ.get("DJANGO_HSTS_PRELOAD", "0") == "1"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "sample_site.home",
    # Tailor
    "cms",
    "rules",
    "variants",
    "themes",
    # GraphQL
    "grapple",
    "graphene_django",
    # The headless frontend (sample_site/frontend): CORS for its browser calls (`tailor.cors`), and
    # Wagtail's preview shown by it (HomePage's "Frontend" preview mode)
    "corsheaders",
    "wagtail_headless_preview",
    # Background tasks: a worker (`manage.py db_worker`, started by `make demo`) runs them
    "django_tasks_db",
    # Wagtail
    "wagtail.contrib.forms",
    # Tailor themes: the site's default theme is a site setting
    "wagtail.contrib.settings",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # First: it answers CORS preflights before anything else can answer (TAILOR["CORS_ORIGINS"] says
    # which origins; only Tailor's /graphql/ and /tailor/events/ get CORS headers)
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "sample_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sample_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "sample_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0"))
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
# The site speaks English and Korean: visitors' reasons follow their language (Accept-Language or
# context.language), editors choose Korean for the admin in their account, and the home page has a
# Korean translation (Wagtail's own i18n: one locale per language, /ko/ in the demo).
LANGUAGES = [("en", "English"), ("ko", "한국어")]
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static_collected"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

WAGTAIL_SITE_NAME = "Tailor demo"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

GRAPHENE = {"SCHEMA": "grapple.schema.schema"}  # for graphene tools; Tailor's URL passes it itself
GRAPPLE = {"APPS": {"home": ""}, "EXPOSE_GRAPHIQL": True}

# Django's cache (Tailor keeps weather per cell in it, TAILOR["WEATHER_CACHE"]): Redis, shared by every
# process, when REDIS_URL is set; else in-process memory. Short socket timeouts: a cache lookup must not
# cost more than the work it saves when Redis is slow or down.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
        if os.environ.get("REDIS_URL")
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tailor-demo",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    )
}

# Where the demo's Next.js frontend (sample_site/frontend) runs, and the origins its pages call from
# (lower case: not Django settings)
frontend_url = os.environ.get("TAILOR_FRONTEND_URL", "http://127.0.0.1:3000").rstrip("/")
frontend_origins = os.environ.get("TAILOR_FRONTEND_ORIGINS", "http://127.0.0.1:3000,http://localhost:3000")

TAILOR = {
    "REDIS_URL": os.environ.get("REDIS_URL") or None,
    # Browser origins that may call /graphql/ and /tailor/events/ (`tailor.cors`)
    "CORS_ORIGINS": [origin.strip() for origin in frontend_origins.split(",") if origin.strip()],
    # The publish webhook to the frontend's /api/revalidate, on when both sides share a secret
    # (the frontend reads the same TAILOR_REVALIDATE_SECRET)
    "REVALIDATE": {
        "URL": f"{frontend_url}/api/revalidate"
        if frontend_url and os.environ.get("TAILOR_REVALIDATE_SECRET")
        else None,
        "SECRET": os.environ.get("TAILOR_REVALIDATE_SECRET", ""),
    },
}
# TAILOR_RATE_LIMITS=off: no rate limits (a load benchmark plays thousands of events from one visitor)
if os.environ.get("TAILOR_RATE_LIMITS") == "off":
    TAILOR["RATE_LIMITS"] = dict.fromkeys(
        ("EVENTS_PER_VISITOR", "EVENTS_PER_ADDRESS", "CONSENT_PER_VISITOR", "CONSENT_PER_ADDRESS")
    )

# wagtail-headless-preview: HomePage's "Frontend" preview mode shows the draft through the frontend's
# preview route, <TAILOR_FRONTEND_URL>/api/preview?content_type=...&token=... (an empty TAILOR_FRONTEND_URL
# turns the mode off). No trailing slash: Next.js would redirect it away.
WAGTAIL_HEADLESS_PREVIEW = {
    "CLIENT_URLS": {"default": f"{frontend_url}/api/preview"} if frontend_url else {},
    "ENFORCE_TRAILING_SLASH": False,
}

# Background tasks (django-tasks): Wagtail's own, and Tailor's event flush (`variants.tasks`). They are
# queued in the database and a worker runs them (`manage.py db_worker`, which `make demo` starts beside
# the server), so no request waits for a flush.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "tailor": {"handlers": ["console"], "level": "INFO"},
        # A 500's traceback in the server's log whatever DEBUG says (Django's own handler for it
        # prints only with DEBUG on, and mails ADMINS otherwise).
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
