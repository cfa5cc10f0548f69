"""Device class from a User-Agent string and client hints: mobile, tablet, desktop or bot.

A pure function, shared by the context builder (which keeps only the class, never the raw
User-Agent) and the tests. It answers None when the input says nothing recognisable: an unknown
device is unknown, not guessed to be a desktop.

Order matters: bots first (a crawler often claims to be a phone: Googlebot's smartphone agent
carries "Android ... Mobile"), then the ``Sec-CH-UA-Mobile: ?1`` hint (the browser's own word, and
what DevTools' device emulation sets), then tablet tokens before phone tokens (Android tablets say
"Android" without "Mobile"; Kindle's Silk says "Mobile"-less too), then desktop platforms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .conditions import Condition, Outcome, register
from .context import Context
from .i18n import _, join_or
from .params import choice_list
from .vocabulary import DEVICE_CLASSES, DEVICE_WORDS

#: longest User-Agent prefix we look at: real agents are < 300 chars; the rest is noise or abuse
MAX_USER_AGENT = 512

_BOT = re.compile(
    # self-declared crawlers: "Googlebot/2.1", "bingbot/2.0", "DuckDuckBot-Https", "Baiduspider"
    r"bot\b|bot[/_;-]|spider|crawl|slurp|scraper|archiver|"
    # link previews, monitors, auditors and headless browsers that do not say "bot"
    r"facebookexternalhit|facebookcatalog|embedly|quora link preview|^whatsapp|vkshare|"
    r"w3c_validator|feedfetcher|mediapartners-google|adsbot|google-inspectiontool|googleother|"
    r"google-read-aloud|lighthouse|pagespeed|gtmetrix|pingdom|uptime|statuscake|site24x7|"
    r"headlesschrome|phantomjs|puppeteer|selenium|webdriver|"
    # HTTP libraries and command-line clients (they lead the string)
    r"^curl/|^wget/|^python-requests|^python-urllib|^python-httpx|^python/|^aiohttp|^httpx|"
    r"^go-http-client|^java/|^apache-httpclient|^libwww-perl|^lwp-|^ruby|^php/|^node-fetch|"
    r"^axios/|^undici|^got |^postmanruntime|^insomnia|^httpie|^scrapy|^nutch|^winhttp|^dart:io|"
    r"^rest-client|^guzzlehttp|^mechanize"
)
# A phone maker whose model names contain "bot" (CUBOT): removed before looking for crawler words.
_NOT_BOT = re.compile(r"cubot")

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

    if ua and _BOT.search(_NOT_BOT.sub(" ", ua)):
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


@register
class Device(Condition):
    """The visitor's device class is one of `devices`."""

    type = "device"
    label = "Device"
    facts = ("device",)

    def __init__(self, devices: Sequence[str]):
        self.devices = tuple(devices)

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(choice_list(params, "devices", DEVICE_CLASSES, noun="device"))

    def to_params(self):
        return {"devices": list(self.devices)}

    def describe(self) -> str:
        return f"Device is {join_or(self.devices)}"

    def evaluate(self, ctx: Context) -> Outcome:
        device = ctx.get("device")
        if device not in DEVICE_CLASSES:
            return self.unknown("device" if device is None else f"device {device!r}")
        if device in self.devices:
            return Outcome(True, _(DEVICE_WORDS[device]))
        return Outcome(False, f"{_(DEVICE_WORDS[device])}, not {join_or(self.devices)}")
