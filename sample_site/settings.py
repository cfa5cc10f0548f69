"""A demo Wagtail site using Tailor the way a customer would.

SQLite by default; `DATABASE_URL` (e.g. postgres://postgres@127.0.0.1:5432/test) and `REDIS_URL`
come from the environment.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "tailor-sample-site-insecure-key-change-me-in-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

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

AUTH_PASSWORD_VALIDATORS = []
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
    "loggers": {"tailor": {"handlers": ["console"], "level": "INFO"}},
}
