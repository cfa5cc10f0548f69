"""Facts from providers, asked only for the facts a page's conditions read.

Weather: Open-Meteo for the visitor's 0.1° cell (`rules.providers.open_meteo`), cached through Django's
cache framework, ``caches[TAILOR["WEATHER_CACHE"]]`` (shared between processes when that cache is
Redis), with an in-process LocMemCache standing in while the shared cache fails. Emotion: the shipped
classifier, on the text signal, with personalization consent only; the text is not kept. The text's
script picks the model (Korean or English; both for mixed text; the visitor's language decides for
text without letters) and the fact's detail names the model that read it.
"""

from __future__ import annotations

import threading

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils.connection import ConnectionProxy
from django.utils.translation import gettext as _

from rules.engine import Context, Fact
from rules.engine.context import SOURCE_PROVIDER
from rules.ml import emotion
from rules.providers.open_meteo import OpenMeteoProvider
from rules.request_budget import allow_weather
from tailor.settings import on_reload, tailor_settings

# Django's own in-process cache, used by the provider only while the shared cache is failing.
_WEATHER_FALLBACK = LocMemCache("tailor-weather-fallback", {"OPTIONS": {"MAX_ENTRIES": 4096}})

_weather_provider: OpenMeteoProvider | None = None
_provider_lock = threading.Lock()


def weather_provider() -> OpenMeteoProvider | None:
    """The process's weather provider, built from the TAILOR settings; None when weather is disabled."""
    global _weather_provider
    if not tailor_settings.WEATHER_ENABLED:
        return None
    if _weather_provider is None:
        with _provider_lock:
            if _weather_provider is None:
                alias = tailor_settings.WEATHER_CACHE
                caches[alias]  # an unknown alias fails here, loudly, rather than as a cache miss per request
                _weather_provider = OpenMeteoProvider(
                    tailor_settings.WEATHER_URL,
                    # Resolved per use: Django's cache connections are per thread, and follow CACHES changes.
                    cache=ConnectionProxy(caches, alias),
                    fallback=_WEATHER_FALLBACK,
                    timeout=float(tailor_settings.WEATHER_TIMEOUT),
                    ttl=float(tailor_settings.WEATHER_CACHE_SECONDS),
                    key_prefix=f"{tailor_settings.REDIS_PREFIX}weather:",
                )
    return _weather_provider


@on_reload
def _reset_providers() -> None:
    global _weather_provider
    with _provider_lock:
        if _weather_provider is not None:
            _weather_provider.close()
        _weather_provider = None


def provider_facts(
    ctx: Context,
    needed: frozenset[str],
    *,
    coordinates: tuple[float, float] | None,
    text: str | None,
    personalization: bool,
) -> list[Fact]:
    """Provider facts for the `needed` facts that `ctx` does not hold yet."""
    facts = []
    if "weather" in needed and "weather" not in ctx and coordinates is not None:
        provider = weather_provider()
        # a request looks up at most WEATHER_LOOKUPS_PER_REQUEST cells; past that weather stays unknown
        if provider is not None and allow_weather(provider.cell(*coordinates).key):
            w = provider.current(*coordinates)
            if w is not None:
                cell = provider.cell(*coordinates)
                facts.append(
                    Fact(
                        "weather",
                        {"condition": w.condition, "temperature_c": w.temperature_c},
                        SOURCE_PROVIDER,
                        _("Open-Meteo, cell %(cell)s") % {"cell": cell.label},
                    )
                )
    if "emotion" in needed and "emotion" not in ctx and text and personalization:
        languages = ctx.get("language") or ()
        result = emotion.classify(text, languages[0] if languages else None)
        facts.append(
            Fact(
                "emotion",
                {"label": result.label, "confidence": round(result.confidence, 4)},
                SOURCE_PROVIDER,
                _emotion_detail(result.languages),
            )
        )
    return facts


def _emotion_detail(languages: tuple[str, ...]) -> str:
    """Which model read the text (the fact's detail, echoed in `context.facts` and the simulator)."""
    if languages == ("ko",):
        return _("Korean emotion classifier (text not kept)")
    if languages == ("en",):
        return _("English emotion classifier (text not kept)")
    return _("Korean and English emotion classifiers, mixed text (text not kept)")
