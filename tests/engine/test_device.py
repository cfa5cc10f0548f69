"""Bots in `classify_device`: crawlerdetect's maintained list, our own rule only for what it lacks.

The device classes of real browsers are in test_conditions.py; here: who counts as a bot, that the
faster matcher gives the library's own verdicts, and the condition's words.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from crawlerdetect import CrawlerDetect
from crawlerdetect.providers.crawlers import data as CRAWLER_PATTERNS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import Context, classify_device, i18n, registry
from rules.engine import device as device_module

ROOT = Path(__file__).resolve().parents[2]

# Design rule: an HTTP library's or a runtime's own User-Agent is a bot.
HTTP_LIBRARIES = [
    "curl/8.4.0",
    "Wget/1.21.4",
    "python-requests/2.32.3",
    "Python-urllib/3.11",
    "python-httpx/0.27.2",
    "httpx/0.27",
    "Python/3.11 aiohttp/3.10.10",
    "node",  # Node's own fetch (undici)
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "undici",
    "axios/1.7.7",
    "got (https://github.com/sindresorhus/got)",
    "Deno/2.1.4",
    "Bun/1.1.38",
    "Go-http-client/1.1",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "Java/17.0.9",
    "Java-http-client/17.0.9",
    "Apache-HttpClient/4.5.14 (Java/17.0.9)",
    "ReactorNetty/1.1.13",
    "libwww-perl/6.72",
    "Ruby",
    "Faraday v2.9.0",
    "GuzzleHttp/7",
    "Symfony HttpClient/Php",
    "PHP/8.2",
    "PostmanRuntime/7.42.0",
    "insomnia/2023.5.8",
    "HTTPie/3.2.2",
    "Dart/3.2 (dart:io)",
    "reqwest/0.12.9",
    "Scrapy/2.11.0 (+https://scrapy.org)",
]

# Crawlers, previewers, monitors and automation the hand-written list missed or that need our rule.
OTHER_BOTS = [
    "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
    "Mozilla/5.0 (compatible; Daum/4.1; +http://cs.daum.net/faq/15/4118.html?faqId=28966)",
    "kakaotalk-scrap/1.0; +https://devtalk.kakao.com/",
    "Slack-ImgProxy (+https://api.slack.com/robots)",
    "Iframely/1.3.1 (+https://iframely.com/docs/about)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    "Mozilla/5.0 (compatible; NewRelicPinger/1.0; 12345)",
    "ELB-HealthChecker/2.0",
    "kube-probe/1.29",
    "GoogleHC/1.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 "
    "DatadogSynthetics",
    "Mozilla/5.0 (compatible; Google-Apps-Script; beanserver; +https://script.google.com)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Puppeteer",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Playwright/1.40",
    "Selenium/4.0 (python linux)",
    "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36 WebDriver",
]

# People: browsers, in-app browsers and desktop apps, including agents with "bot"-like words.
PEOPLE = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.0.0",
        "desktop",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Whale/4.29.282.14 Safari/537.36",
        "desktop",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S928N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
        "Chrome/122.0.0.0 Mobile Safari/537.36",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-G991N Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 KAKAOTALK 10.8.5",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918N Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 NAVER(inapp; search; 2000; 12.10.3)",
        "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 Instagram 350.0.0.0.0 (iPhone15,3; iOS 17_5; ko_KR; ko; scale=3.00; 1290x2796; 643474419)",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; CUBOT_X50) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Mobile Safari/537.36",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 9; CUBOT KING KONG Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        "mobile",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Electron/28.0.0 Safari/537.36",
        "desktop",
    ),
    ("Mozilla/5.0 (Android 13; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0", "tablet"),
]


@pytest.mark.parametrize("user_agent", HTTP_LIBRARIES + OTHER_BOTS)
def test_http_libraries_crawlers_previewers_monitors_and_automation_are_bots(user_agent):
    assert classify_device(user_agent) == "bot"
    assert classify_device(user_agent, "?1", '"Android"') == "bot"  # hints do not make a bot a person


@pytest.mark.parametrize(("user_agent", "expected"), PEOPLE)
def test_people_are_not_bots(user_agent, expected):
    assert classify_device(user_agent) == expected


@pytest.mark.parametrize(
    "user_agent", [ua for ua in HTTP_LIBRARIES + OTHER_BOTS if device_module._OWN_BOTS.search(ua.lower())]
)
def test_our_own_rule_covers_only_what_crawlerdetect_lacks(user_agent):
    # When a crawlerdetect release learns one of these, drop it from `_OWN_BOTS`.
    assert not CrawlerDetect().is_crawler(user_agent.lower())


# --- the compiled matcher gives crawlerdetect's own verdicts ---------------------------------------

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces agents are made of: the library's plain patterns, its exclusions' words, browser tokens.
_PLAIN_WORDS = sorted(
    {re.sub(r"\\(.)", r"\1", p) for p in CRAWLER_PATTERNS if device_module._PLAIN.fullmatch(p.lstrip("^"))}
)
PIECES = st.sampled_from(
    _PLAIN_WORDS
    + [
        "Mozilla/5.0 ",
        "(compatible; ",
        "; ",
        ") ",
        "AppleWebKit/537.36 (KHTML, like Gecko) ",
        "Chrome/131.0.0.0 ",
        "Safari/537.36",
        "Android 14; ",
        "CUBOT",
        "; M bot",
        "Yandex",
        "YandexSearch",
        "YandexModule2",
        "Java/",
        "Ruby/3",
        "Go 1.1 package http",
        "PTST/277",
        "Sitemaps Generator",
        "foo-bot",
        "b0t",
        "0",
        "/",
    ]
)
AGENTS = st.lists(
    PIECES | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 /;()-_.+:", max_size=12), max_size=8
).map("".join)


@SETTINGS
@given(AGENTS)
def test_the_compiled_matcher_agrees_with_crawlerdetect(agent):
    agent = agent.strip().lower()  # as classify_device hands it over
    assert device_module._crawler_matcher().is_crawler(agent) == CrawlerDetect().is_crawler(agent)


@pytest.mark.parametrize("user_agent", HTTP_LIBRARIES + OTHER_BOTS + [ua for ua, _ in PEOPLE])
def test_the_compiled_matcher_agrees_with_crawlerdetect_on_real_agents(user_agent):
    agent = user_agent.lower()
    assert device_module._crawler_matcher().is_crawler(agent) == CrawlerDetect().is_crawler(agent)


def test_the_crawler_list_is_compiled_once():
    classify_device("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")
    built = device_module._crawler_matcher.cache_info().misses
    for n in range(50):
        classify_device(f"Mozilla/5.0 (X11; Linux x86_64) Chrome/{n}.0 Safari/537.36 Test/{n}")
    assert device_module._crawler_matcher.cache_info().misses == built == 1


def test_importing_the_engine_loads_no_crawler_list():
    # the list is compiled on the first agent, not when a management command imports the engine
    code = "import sys, rules.engine; print('crawlerdetect' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


# --- words -----------------------------------------------------------------------------------------


@pytest.fixture
def pseudo_locale(monkeypatch):
    """Every string the engine asks to translate comes back in «»; returns the list of what was asked."""
    asked: list[str] = []

    def translate(message):
        asked.append(message)
        return f"«{message}»"

    monkeypatch.setattr(i18n, "_translator", translate)
    # counts and contexts fall back to the same function (the Django app may have installed its own)
    monkeypatch.setattr(i18n, "_plural_translator", None)
    monkeypatch.setattr(i18n, "_context_translator", None)
    return asked


@pytest.mark.parametrize(
    ("device", "fragment"),
    [
        ("mobile", "«Mobile device»"),
        ("desktop", "««Desktop», not ««mobile» or «tablet»»»"),
        ("phone", "'phone'"),
        (None, ""),
    ],
)
def test_device_words_are_translated_whole_with_named_placeholders(pseudo_locale, device, fragment):
    condition = registry.build({"type": "device", "devices": ["mobile", "tablet"]})
    for text in (condition.describe(), condition.evaluate(Context.build(device=device)).reason):
        assert text.startswith("«") and text.endswith("»"), text
        assert "%(" not in text
    assert fragment in condition.evaluate(Context.build(device=device)).reason
    assert all(not re.search(r"%[^(%]", message) for message in pseudo_locale), pseudo_locale
