"""Geo conditions: the visitor's country (ISO code) and city (fuzzy name match).

Facts (shapes in `audience.py`'s table): ``country``, ISO 3166-1 alpha-2 upper case (``"KR"``);
``city``, free text as the frontend or a geo header sent it (``"Seoul"``, ``"seoul-si"``, ``"서울"``).

Countries: editors may write codes or names; the stored condition always holds codes. The country
data comes from pycountry (ISO 3166-1: every country's code, name, official and common name), plus
XK (Kosovo: a user-assigned code, but CDNs send it). A name is looked up, after `_name_key`
normalisation, in two tables, each built once, on first use:

1. English: pycountry's names, official and common names, and `_COUNTRY_ALIASES`, the few names
   pycountry lacks (UK, USA, Korea, Holland, 한국, 남한, Россия...).
2. Other languages, only when the English table has no answer: pycountry's gettext catalogs of
   country names (domain ``iso3166-1``) in `_NAME_LANGUAGES`, the languages of the native names
   editors type (Deutschland, 日本, 대한민국, Україна); so Korean editors may write any country in
   Korean (독일, 일본). A name the catalogs give to two different countries is left out.

A country's shown name (reasons, descriptions, suggestions) is pycountry's common name, else its
name; ISO's inverted names ("Virgin Islands, British") read badly in a sentence and clash with the
commas of a list, so `_SHORT_NAMES` gives those. Cities: both sides are normalised (case, accents,
punctuation, and administrative suffixes such as "-si", " City", "特別市", "市" dropped), then
compared with rapidfuzz's `ratio`. There is no transliteration: "서울" matches only when the editor
lists "서울".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from functools import cache, lru_cache
from typing import NamedTuple

from rapidfuzz import fuzz, process

from .conditions import Condition, ConditionError, Outcome, outcome_by, register
from .context import Context
from .i18n import _, gettext_noop, join_or, quoted
from .params import number_param, text_list

#: codes pycountry lacks that geo headers send: Kosovo (user-assigned, used by CDNs and the EU)
_EXTRA_COUNTRIES = {"XK": "Kosovo"}

#: shown names for ISO names with a comma ("Congo, The Democratic Republic of the")
_SHORT_NAMES = {
    "BQ": "Caribbean Netherlands",
    "CD": "DR Congo",
    "FM": "Micronesia",
    "PS": "Palestine",
    "SH": "Saint Helena",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
}

#: names editors write that neither ISO 3166 nor the catalogs below give: abbreviations, former,
#: colloquial and constituent-country names, and native names the catalogs spell otherwise
_COUNTRY_ALIASES = {
    "AE": "UAE|الإمارات",
    "BA": "Bosnia",
    "BN": "Brunei",
    "BQ": "Bonaire",
    "CD": "Democratic Republic of the Congo|Congo, Democratic Republic of the|DRC|Congo-Kinshasa",
    "CG": "Congo-Brazzaville",
    "CI": "Ivory Coast",
    "CN": "PRC",
    "CV": "Cape Verde",
    "FK": "Falkland Islands|Falklands|Malvinas",
    "GB": "UK|Great Britain|Britain|England|Scotland|Wales|Northern Ireland",
    "GR": "Hellas",
    "IE": "Republic of Ireland",
    "IN": "Bharat",
    "IR": "Persia|ایران",
    "JP": "Nippon|Nihon",
    "KP": "DPRK|북한",
    "KR": "Korea|Republic of Korea|한국|남한",
    "LA": "Lao PDR",
    "MF": "Saint Martin",
    "MK": "Macedonia",
    "MM": "Burma",
    "MO": "Macau",
    "NL": "Holland",
    "PN": "Pitcairn Islands",
    "RU": "Russia|Россия",
    "SA": "KSA",
    "SX": "Sint Maarten",
    "SZ": "Swaziland",
    "TH": "ประเทศไทย",
    "TL": "East Timor",
    "TR": "Turkey",
    "US": "USA|U.S.|U.S.A.|America",
    "VA": "Vatican City|Vatican|Holy See",
}

#: pycountry catalogs whose country names resolve too: the languages of the native names editors
#: type (Korean first-class), e.g. Deutschland (de), 日本 (ja), 中國 (zh_TW), Ελλάδα (el), ไทย (th)
_NAME_LANGUAGES = (
    "ko",
    "ja",
    "zh_CN",
    "zh_TW",
    "zh_HK",
    "ar",
    "bg",
    "cs",
    "da",
    "de",
    "el",
    "es",
    "fa",
    "fi",
    "fil",
    "fr",
    "ga",
    "he",
    "hi",
    "hr",
    "hu",
    "is",
    "it",
    "nb_NO",
    "nl",
    "pl",
    "pt",
    "ro",
    "ru",
    "sk",
    "sl",
    "sr",
    "sr@latin",
    "sv",
    "th",
    "uk",
    "vi",
)

_DROPPED_IN_KEYS = re.compile(r"[.'’]")
_NON_WORD = re.compile(r"[\W_]+")


class _CombiningMarks(dict):
    """A `str.translate` table that drops combining marks (accents), filled in as characters are met."""

    def __missing__(self, codepoint: int) -> int | None:
        kept = None if unicodedata.combining(chr(codepoint)) else codepoint
        self[codepoint] = kept
        return kept


_DROP_COMBINING_MARKS = _CombiningMarks()


def _name_key(name: str) -> str:
    """Lookup key for a country name: no accents, case, punctuation, spaces or leading "the"."""
    if name.isascii():
        text = name.lower()
    else:
        text = unicodedata.normalize("NFKD", name).translate(_DROP_COMBINING_MARKS)
        text = unicodedata.normalize("NFC", text).casefold()
    text = _DROPPED_IN_KEYS.sub("", text.replace("&", " and "))
    words = _NON_WORD.sub(" ", text).split()
    if words[:1] == ["the"]:
        words = words[1:]
    # Spaces go too, so "Cote d Ivoire" and "Côte d'Ivoire" meet.
    return "".join(words)


class _Countries(NamedTuple):
    names: dict[str, str]  # code -> shown name
    lookup: dict[str, str]  # English name key -> code


@cache
def _countries() -> _Countries:
    # Lazy for start-up cost: importing pycountry takes ~0.1 s, paid on the first country instead.
    import pycountry

    names: dict[str, str] = {}
    lookup: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        common = getattr(country, "common_name", None)
        names[code] = _SHORT_NAMES.get(code) or common or country.name
        for name in (names[code], common, country.name, getattr(country, "official_name", None)):
            if name:
                lookup.setdefault(_name_key(name), code)
    for code, name in _EXTRA_COUNTRIES.items():
        names.setdefault(code, name)
        lookup.setdefault(_name_key(name), code)
    for code, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases.split("|"):
            lookup.setdefault(_name_key(alias), code)
    return _Countries(dict(sorted(names.items())), lookup)


@cache
def _translated_lookup() -> dict[str, str]:
    """Name key -> code from pycountry's catalogs in `_NAME_LANGUAGES` (names two countries share left out)."""
    # Lazy for start-up cost, like `_countries`: the catalogs load only when an English name misses.
    import gettext

    import pycountry

    msgids = [
        (country.alpha_2, name)
        for country in pycountry.countries
        for name in {country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)}
        if name
    ]
    codes_by_key: dict[str, set[str]] = {}
    keys: dict[str, str] = {}  # many languages share a spelling
    for language in _NAME_LANGUAGES:
        path = gettext.find("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        if path is None:  # a pycountry release without this language
            continue
        with open(path, "rb") as file:  # not gettext.translation(), which keeps every catalog for good
            catalog = gettext.GNUTranslations(file)
        for code, msgid in msgids:
            name = catalog.gettext(msgid)
            if name != msgid:
                key = keys.get(name)
                if key is None:
                    key = keys[name] = _name_key(name)
                codes_by_key.setdefault(key, set()).add(code)
    return {key: next(iter(codes)) for key, codes in codes_by_key.items() if len(codes) == 1 and key}


class _CountryNames(Mapping[str, str]):
    """ISO alpha-2 code -> shown name, read from pycountry on first use."""

    def __getitem__(self, code: str) -> str:
        return _countries().names[code]

    def __iter__(self) -> Iterator[str]:
        return iter(_countries().names)

    def __len__(self) -> int:
        return len(_countries().names)

    def __contains__(self, code: object) -> bool:
        return code in _countries().names


#: code -> shown name ("KR" -> "South Korea"), every ISO 3166-1 country and XK
COUNTRY_NAMES: Mapping[str, str] = _CountryNames()


def resolve_country(value: str) -> str | None:
    """The ISO alpha-2 code for a code ("kr") or a known name ("South Korea", "대한민국"); else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    countries = _countries()
    if len(text) == 2 and text.upper() in countries.names:
        return text.upper()
    key = _name_key(text[:100])
    code = countries.lookup.get(key)
    if code is None and key and not (len(text) <= 2 and text.isascii()):
        # Not for "XX" or "T1" (CDNs' unknown and Tor): no catalog needs loading for those.
        code = _translated_lookup().get(key)
    return code


def _unknown_country(value: str) -> str:
    """The error for a name that resolves to no country, with the closest name when one is close."""
    countries = _countries()
    best = process.extractOne(_name_key(value[:100]), list(countries.lookup), scorer=fuzz.WRatio, score_cutoff=80)
    if best is None:
        return _("unknown country %(value)r") % {"value": value}
    code = countries.lookup[best[0]]
    return _("unknown country %(value)r; did you mean %(name)s (%(code)s)?") % {
        "value": value,
        "name": countries.names[code],
        "code": code,
    }


@register
class Country(Condition):
    """The visitor's country is one of `countries` (stored as ISO alpha-2 codes)."""

    type = "country"
    label = gettext_noop("Country")
    facts = ("country",)

    def __init__(self, countries: Sequence[str]):
        self.countries = tuple(countries)
        self._set = frozenset(self.countries)

    @classmethod
    def from_params(cls, params, registry=None):
        codes: list[str] = []
        entries = text_list(
            params,
            "countries",
            noun=gettext_noop("country"),
            nouns=gettext_noop("countries"),
            split_commas=True,
            max_len=100,
        )
        for entry in entries:
            code = resolve_country(entry)
            if code is None:
                if len(entry) == 2 and entry.isalpha():
                    raise ConditionError("countries", _("unknown country code %(code)r") % {"code": entry})
                raise ConditionError("countries", _unknown_country(entry))
            if code not in codes:
                codes.append(code)
        return cls(codes)

    def to_params(self):
        return {"countries": list(self.countries)}

    def _wanted(self) -> str:
        return join_or([COUNTRY_NAMES[c] for c in self.countries])

    def describe(self) -> str:
        return _("Country is %(countries)s") % {"countries": self._wanted()}

    @outcome_by(lambda ctx: country if isinstance(country := ctx.get("country"), str) else None)
    def evaluate(self, ctx: Context) -> Outcome:
        raw = ctx.get("country")
        if raw is None:
            return self.unknown(_("country"))
        # CDNs send placeholders such as "XX" (unknown) or "T1" (Tor): not a country, so unknown.
        code = resolve_country(raw) if isinstance(raw, str) else None
        if code is None:
            return self.unknown(_("country %(value)r") % {"value": str(raw)[:20]})
        name = COUNTRY_NAMES[code]
        if code in self._set:
            return Outcome(True, _("In %(country)s") % {"country": name})
        return Outcome(False, _("In %(country)s, not %(wanted)s") % {"country": name, "wanted": self._wanted()})


# --- cities --------------------------------------------------------------------------------------

MAX_CITY = 200
DEFAULT_CITY_THRESHOLD = 85

# Trailing words that say what kind of place it is, not which one: "Seoul-si", "Busan Metropolitan
# City", "Tokyo-to", "Gangnam-gu". Longest first; dropped repeatedly, never down to nothing.
_SUFFIX_WORDS = sorted(
    [
        ("special", "city"),
        ("metropolitan", "city"),
        ("special", "self", "governing", "city"),
        ("city",),
        ("si",),
        ("shi",),
        ("gu",),
        ("ku",),
        ("gun",),
        ("to",),
        ("fu",),
        ("municipality",),
        ("metropolis",),
        ("teukbyeol",),
        ("teukbyeolsi",),
        ("gwangyeok",),
        ("gwangyeoksi",),
        ("teukbyeoljachisi",),
        # Korean provinces and their subdivisions: "Gyeonggi-do", "Jeju Special Self-Governing
        # Province", "Gapyeong-gun", "Hwado-eup", "Seorak-myeon"
        ("do",),
        ("province",),
        ("special", "self", "governing", "province"),
        ("teukbyeoljachido",),
        ("eup",),
        ("myeon",),
    ],
    key=len,
    reverse=True,
)
_PREFIX_WORDS = (("city", "of"),)
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}
# The same in Korean, Chinese and Japanese, written without a space: "서울특별시", "東京都", "北京市";
# Korean provinces ("경기도", "제주특별자치도") and districts ("강남구", "가평군", "화도읍", "서면").
_CJK_SUFFIXES = (
    "특별자치시",
    "특별자치도",
    "특별시",
    "광역시",
    "시",
    "도",
    "구",
    "군",
    "읍",
    "면",
    "市",
    "都",
    "区",
    "區",
    "府",
)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@lru_cache(maxsize=4096)
def normalize_city(name: str) -> str:
    """The comparable form of a city name: 'Seoul-si' -> 'seoul', 'São Paulo' -> 'saopaulo'."""
    text = unicodedata.normalize("NFKD", name[:MAX_CITY])
    text = "".join(c for c in text if not unicodedata.combining(c))
    # NFC puts Hangul syllables back together after NFKD split them into jamo.
    text = unicodedata.normalize("NFC", text).casefold()
    words = [_ABBREVIATIONS.get(w, w) for w in re.sub(r"[\W_]+", " ", text).split()]
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIX_WORDS:
            n = len(suffix)
            if len(words) > n and tuple(words[-n:]) == suffix:
                words, changed = words[:-n], True
                break
        for prefix in _PREFIX_WORDS:
            n = len(prefix)
            if len(words) > n and tuple(words[:n]) == prefix:
                words, changed = words[n:], True
    words = [_strip_cjk_suffix(w) for w in words]
    # Spaces go too: "New York" and "NewYork", "Los-Angeles" and "Los Angeles" are the same city.
    return "".join(words)


def _strip_cjk_suffix(word: str) -> str:
    # Keep at least two characters: "京都" (Kyoto) must not lose its "都" and become "京".
    changed = True
    while changed:
        changed = False
        for suffix in _CJK_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 2:
                word, changed = word[: -len(suffix)], True
                break
    return word


@register
class City(Condition):
    """The visitor's city matches one of `cities`, fuzzily, with a score of at least `threshold` (0–100)."""

    type = "city"
    label = gettext_noop("City")
    facts = ("city",)

    def __init__(self, cities: Sequence[str], threshold: float = DEFAULT_CITY_THRESHOLD):
        self.cities = tuple(cities)
        self.threshold = threshold
        # Precomputed once: normalised name -> the editor's spelling (for the reason).
        self._by_key: dict[str, str] = {}
        for city in self.cities:
            key = normalize_city(city)
            if not key:
                raise ConditionError("cities", _("%(city)r is not a city name") % {"city": city})
            self._by_key.setdefault(key, city)
        self._keys = list(self._by_key)

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(
            text_list(
                params,
                "cities",
                noun=gettext_noop("city"),
                nouns=gettext_noop("cities"),
                split_commas=True,
                max_len=MAX_CITY,
            ),
            number_param(params, "threshold", minimum=0, maximum=100, default=DEFAULT_CITY_THRESHOLD),
        )

    def to_params(self):
        return {"cities": list(self.cities), "threshold": self.threshold}

    def describe(self) -> str:
        return _("City is %(cities)s") % {"cities": join_or(self.cities)}

    def match(self, city: str) -> tuple[str, float] | None:
        """The configured name `city` matches and the score, or None."""
        candidates = [city]
        if "," in city:  # "Seoul, South Korea": the city is the first part
            candidates.append(city.split(",", 1)[0])
        if _HANGUL.search(city):
            # A Korean address names its places largest first, each with its own suffix
            # ("경기도 성남시 분당구"): a condition on the province, the city or the district matches.
            parts = re.split(r"[\s,]+", city.strip())
            if len(parts) > 1:
                candidates.extend(p for p in parts if p)
        best: tuple[str, float] | None = None
        for candidate in candidates:
            key = normalize_city(candidate)
            if not key:
                continue
            if key in self._by_key:
                return self._by_key[key], 100.0
            found = process.extractOne(key, self._keys, scorer=fuzz.ratio, score_cutoff=self.threshold)
            if found is not None and (best is None or found[1] > best[1]):
                best = (self._by_key[found[0]], found[1])
        return best

    @outcome_by(lambda ctx: city if isinstance(city := ctx.get("city"), str) else None)
    def evaluate(self, ctx: Context) -> Outcome:
        raw = ctx.get("city")
        if not isinstance(raw, str) or not raw.strip():
            return self.unknown(_("city"))
        sent = raw.strip()[:MAX_CITY]
        found = self.match(sent)
        if found is None:
            return Outcome(
                False, _("In %(city)s, not %(wanted)s") % {"city": quoted(sent[:80]), "wanted": join_or(self.cities)}
            )
        name, score = found
        if sent == name:
            return Outcome(True, _("In %(city)s") % {"city": name})
        if score >= 100:  # the same name once normalised: "seoul-si" for Seoul
            return Outcome(True, _("In %(city)s (%(sent)s)") % {"city": name, "sent": quoted(sent[:80])})
        return Outcome(
            True,
            _("In %(city)s (%(sent)s, %(score)s alike)")
            % {"city": name, "sent": quoted(sent[:80]), "score": f"{score:.0f}%"},
        )
