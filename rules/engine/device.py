"""Device class from a User-Agent string and client hints: mobile, tablet, desktop or bot.

A pure function, shared by the context builder (which keeps only the class, never the raw
User-Agent) and the tests. It answers None when the input says nothing recognisable: an unknown
device is unknown, not guessed to be a desktop.

Order matters: bots first (a crawler often claims to be a phone: Googlebot's smartphone agent
carries "Android ... Mobile"), then the ``Sec-CH-UA-Mobile: ?1`` hint (the browser's own word, and
what DevTools' device emulation sets), then tablet tokens before phone tokens (Android tablets say
"Android" without "Mobile"; Kindle's Silk says "Mobile"-less too), then desktop platforms.

Bots: the maintained list of the `crawlerdetect` package decides (about 1,460 patterns: search
engines, AI crawlers, link previewers, monitors, headless browsers and HTTP libraries), with its own
method: its exclusions (browser tokens, and phone makers whose names contain "bot", such as CUBOT)
are removed from the agent, then any crawler pattern found in the rest makes a bot. Its matcher
tries every pattern at every position (about 1 ms for a browser's agent, 15 ms for 512 characters
of junk), so `_crawler_matcher` compiles the same data once, on the first call, into an equivalent
faster form: the plain-text patterns (all but about 80) as character tries, the others lower-cased
instead of matched ignoring case; tests check its verdicts equal the library's. `_is_bot` keeps the
verdicts for the last 1,024 distinct agents.

Our own rule, `_OWN_BOTS`, is only for what the library lacks. Design rule: an HTTP library's or a
runtime's own User-Agent counts as a bot, and the library does not know the bare ones sent by
``node`` (Node's fetch), ``Deno/…``, ``Bun/…``, ``Java-http-client/…``, ``httpx/…``, ``insomnia/…``
and ``Symfony HttpClient``; nor the automation tokens Puppeteer, Playwright, Selenium and
WebDriver add; nor KakaoTalk's link previewer (``kakaotalk-scrap``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from typing import NamedTuple

from .conditions import Condition, Outcome, outcome_by, register
from .context import Context
from .i18n import _, gettext_noop, join_or, pgettext
from .params import choice_list
from .vocabulary import DEVICE_CLASSES, DEVICE_WORDS

#: longest User-Agent prefix we look at: real agents are < 300 chars; the rest is noise or abuse
MAX_USER_AGENT = 512

# What crawlerdetect lacks (see the module docstring). Matched on the whole lower-cased agent.
_OWN_BOTS = re.compile(
    r"^(?:node|deno|bun)(?:/|$)|^java-http-client/|^httpx/|^insomnia/|^symfony httpclient|"
    r"puppeteer|playwright|selenium|webdriver|^kakaotalk-scrap"
)

# Checked before the phone tokens: iPads and Kindles also carry "Mobile".
_TABLET = re.compile(r"ipad|tablet(?! pc)|kindle|\bsilk\b|playbook|\bxoom\b")
_MOBILE = re.compile(
    r"iphone|ipod|windows phone|iemobile|blackberry|\bbb10\b|opera mini|mobi|webos|symbian|"
    r"series60|kaios|nokia|palmos|fennec|netfront|up\.browser|j2me|midp"
)
_DESKTOP = re.compile(
    r"windows nt|windows \d|win64|wow64|macintosh|mac os x|x11|linux|\bcros\b|freebsd|openbsd|netbsd|"
    r"sunos|smart-?tv|hbbtv|web0s|tizen|roku|appletv|crkey|playstation|xbox|nintendo"
)

_DESKTOP_PLATFORMS = frozenset({"windows", "macos", "linux", "chrome os", "chromeos", "fuchsia"})

# --- crawlerdetect's list, compiled once ----------------------------------------------------------

# A pattern that is plain text: no metacharacter, only escaped punctuation ("Googlebot\/", "Yahoo! Slurp").
_PLAIN = re.compile(r"(?:[^\\.^$*+?()\[\]{}|]|\\[^A-Za-z0-9])*")
# A leading "[...]*" may match nothing, so whether the pattern occurs anywhere does not depend on it.
_LEADING_STAR = re.compile(r"\[(?:\\.|[^\]\\])*\]\*")
# An escape whose meaning depends on its case (\S, \D, \W, \B, \A, \Z): such a pattern is not lower-cased.
_UPPER_ESCAPE = re.compile(r"\\[A-Z]")
# A regex that never matches (for an empty list).
_NOTHING = "(?!)"


class _CrawlerMatcher(NamedTuple):
    exclusions: re.Pattern[str]
    plain: re.Pattern[str]
    plain_at_start: re.Pattern[str]
    others: re.Pattern[str]

    def is_crawler(self, agent: str) -> bool:
        """crawlerdetect's verdict for a lower-cased `agent`."""
        rest = self.exclusions.sub("", agent)
        return bool(rest) and (
            self.plain.search(rest) is not None
            or self.plain_at_start.match(rest) is not None
            or self.others.search(rest) is not None
        )


def _lower_pattern(pattern: str) -> str:
    """`pattern` for lower-cased text: crawlerdetect matches ignoring case; plain letters are lowered instead."""
    if _UPPER_ESCAPE.search(pattern.replace("\\\\", "")):
        return f"(?i:{pattern})"
    return pattern.lower()


def _unescape(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern).lower()


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex finding any of `words`: a character trie, so each position tries one branch per letter."""
    root: dict[str, dict] = {}
    for word in sorted(set(words), key=len):
        node = root
        for char in word:
            if "" in node:  # a shorter word already ends here: this one adds nothing
                break
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        run = []  # a chain of single children is one literal run
        while len(node) == 1 and "" not in node:
            char, node = next(iter(node.items()))
            run.append(char)
        text = re.escape("".join(run))
        if "" in node:
            return text
        return text + "(?:" + "|".join(re.escape(char) + emit(child) for char, child in sorted(node.items())) + ")"

    return emit(root) if root else _NOTHING


@cache
def _crawler_matcher() -> _CrawlerMatcher:
    # Lazy for start-up cost: the crawler list is loaded and compiled on the first User-Agent.
    from crawlerdetect.providers.crawlers import data as crawler_patterns
    from crawlerdetect.providers.exclusions import data as exclusion_patterns

    plain, plain_at_start, others = [], [], []
    for pattern in crawler_patterns:
        if _PLAIN.fullmatch(pattern):
            plain.append(_unescape(pattern))
        elif pattern.startswith("^") and _PLAIN.fullmatch(pattern, 1):
            plain_at_start.append(_unescape(pattern[1:]))
        else:
            star = _LEADING_STAR.match(pattern)
            others.append(_lower_pattern(pattern[star.end() :] if star else pattern))
    return _CrawlerMatcher(
        # the same alternation in the same order as crawlerdetect's, so `sub` removes the same text
        exclusions=re.compile("(" + "|".join(_lower_pattern(p) for p in exclusion_patterns) + ")"),
        plain=re.compile(_trie_pattern(plain)),
        plain_at_start=re.compile(_trie_pattern(plain_at_start)),
        others=re.compile("|".join(others) or _NOTHING),
    )


@lru_cache(maxsize=1024)
def _is_bot(ua: str) -> bool:
    """Whether the lower-cased agent is a crawler, a monitor, a headless browser or an HTTP library.

    Cached: most requests come from a few thousand distinct agents (browsers freeze most of theirs).
    """
    return _OWN_BOTS.search(ua) is not None or _crawler_matcher().is_crawler(ua)


# --- the device class -----------------------------------------------------------------------------


def _hint(value: str | None) -> str:
    """A structured-header value as plain lower-case text: '"Android"' -> 'android', '?1' -> '?1'."""
    if not value:
        return ""
    return value[:64].strip().strip('"').strip().lower()


def classify_device(user_agent: str | None, ch_mobile: str | None = None, ch_platform: str | None = None) -> str | None:
    """The device class ("mobile", "tablet", "desktop", "bot") or None when it cannot be told.

    `ch_mobile` and `ch_platform` are the raw ``Sec-CH-UA-Mobile`` (``?1`` / ``?0``) and
    ``Sec-CH-UA-Platform`` (``"Android"``) header values, when the browser sent them.
    """
    ua = (user_agent or "")[:MAX_USER_AGENT].strip().lower()
    mobile_hint = _hint(ch_mobile)
    platform = _hint(ch_platform)

    if ua and _is_bot(ua):
        return "bot"
    if mobile_hint == "?1":
        return "mobile"
    if ua:
        if _TABLET.search(ua):
            return "tablet"
        if "android" in ua:
            # Android phones say "Mobile"; Android tablets do not (and send ?0 when hinting).
            return "mobile" if _MOBILE.search(ua) else "tablet"
        if _MOBILE.search(ua):
            return "mobile"
    if mobile_hint == "?0" and platform == "android":
        return "tablet"
    if ua and _DESKTOP.search(ua):
        return "desktop"
    if mobile_hint == "?0" and platform in _DESKTOP_PLATFORMS:
        return "desktop"
    return None


# --- the condition --------------------------------------------------------------------------------

#: a device class as a description names it, in lower case ("Device is mobile or tablet")
_DEVICE_NAMES = {
    "mobile": lambda: pgettext("device", "mobile"),
    "tablet": lambda: pgettext("device", "tablet"),
    "desktop": lambda: pgettext("device", "desktop"),
    "bot": lambda: pgettext("device", "bot"),
}


def device_name(device: str) -> str:
    name = _DEVICE_NAMES.get(device)
    return name() if name is not None else device


@register
class Device(Condition):
    """The visitor's device class is one of `devices`."""

    type = "device"
    label = gettext_noop("Device")
    facts = ("device",)

    def __init__(self, devices: Sequence[str]):
        self.devices = tuple(devices)

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(
            choice_list(params, "devices", DEVICE_CLASSES, noun=gettext_noop("device"), nouns=gettext_noop("devices"))
        )

    def to_params(self):
        return {"devices": list(self.devices)}

    def _wanted(self) -> str:
        return join_or([device_name(d) for d in self.devices])

    def describe(self) -> str:
        return _("Device is %(devices)s") % {"devices": self._wanted()}

    @outcome_by(lambda ctx: device if isinstance(device := ctx.get("device"), str) else None)
    def evaluate(self, ctx: Context) -> Outcome:
        device = ctx.get("device")
        if device is None:
            return self.unknown(_("device"))
        if device not in DEVICE_CLASSES:
            return self.unknown(_("device %(value)r") % {"value": device})
        if device in self.devices:
            return Outcome(True, _(DEVICE_WORDS[device]))
        return Outcome(
            False, _("%(observed)s, not %(wanted)s") % {"observed": _(DEVICE_WORDS[device]), "wanted": self._wanted()}
        )
