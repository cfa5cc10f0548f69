"""Geo conditions: the visitor's country (ISO code) and city (fuzzy name match).

Facts (shapes in `audience.py`'s table): ``country``, ISO 3166-1 alpha-2 upper case (``"KR"``);
``city``, free text as the frontend or a geo header sent it (``"Seoul"``, ``"seoul-si"``, ``"서울"``).

Countries: editors may write codes or names; names resolve to codes through the bundled table below
(every ISO 3166-1 country's English short name, plus common aliases and native names), so the stored
condition always holds codes. Cities: both sides are normalised (case, accents, punctuation, and
administrative suffixes such as "-si", " City", "特別市", "市" dropped), then compared with
rapidfuzz's `ratio`. There is no transliteration: "서울" matches only when the editor lists "서울".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process

from .conditions import Condition, ConditionError, Outcome, register
from .context import Context
from .i18n import join_or, quoted
from .params import number_param, text_list

# ISO 3166-1 alpha-2 code and English short name, plus XK (Kosovo, user-assigned but sent by CDNs).
_COUNTRY_TABLE = """
AD Andorra|AE United Arab Emirates|AF Afghanistan|AG Antigua and Barbuda|AI Anguilla|AL Albania
AM Armenia|AO Angola|AQ Antarctica|AR Argentina|AS American Samoa|AT Austria|AU Australia|AW Aruba
AX Åland Islands|AZ Azerbaijan|BA Bosnia and Herzegovina|BB Barbados|BD Bangladesh|BE Belgium
BF Burkina Faso|BG Bulgaria|BH Bahrain|BI Burundi|BJ Benin|BL Saint Barthélemy|BM Bermuda|BN Brunei
BO Bolivia|BQ Caribbean Netherlands|BR Brazil|BS Bahamas|BT Bhutan|BV Bouvet Island|BW Botswana
BY Belarus|BZ Belize|CA Canada|CC Cocos (Keeling) Islands|CD DR Congo|CF Central African Republic
CG Congo|CH Switzerland|CI Côte d'Ivoire|CK Cook Islands|CL Chile|CM Cameroon|CN China|CO Colombia
CR Costa Rica|CU Cuba|CV Cabo Verde|CW Curaçao|CX Christmas Island|CY Cyprus|CZ Czechia|DE Germany
DJ Djibouti|DK Denmark|DM Dominica|DO Dominican Republic|DZ Algeria|EC Ecuador|EE Estonia|EG Egypt
EH Western Sahara|ER Eritrea|ES Spain|ET Ethiopia|FI Finland|FJ Fiji|FK Falkland Islands
FM Micronesia|FO Faroe Islands|FR France|GA Gabon|GB United Kingdom|GD Grenada|GE Georgia
GF French Guiana|GG Guernsey|GH Ghana|GI Gibraltar|GL Greenland|GM Gambia|GN Guinea|GP Guadeloupe
GQ Equatorial Guinea|GR Greece|GS South Georgia and the South Sandwich Islands|GT Guatemala|GU Guam
GW Guinea-Bissau|GY Guyana|HK Hong Kong|HM Heard Island and McDonald Islands|HN Honduras|HR Croatia
HT Haiti|HU Hungary|ID Indonesia|IE Ireland|IL Israel|IM Isle of Man|IN India
IO British Indian Ocean Territory|IQ Iraq|IR Iran|IS Iceland|IT Italy|JE Jersey|JM Jamaica
JO Jordan|JP Japan|KE Kenya|KG Kyrgyzstan|KH Cambodia|KI Kiribati|KM Comoros|KN Saint Kitts and Nevis
KP North Korea|KR South Korea|KW Kuwait|KY Cayman Islands|KZ Kazakhstan|LA Laos|LB Lebanon
LC Saint Lucia|LI Liechtenstein|LK Sri Lanka|LR Liberia|LS Lesotho|LT Lithuania|LU Luxembourg
LV Latvia|LY Libya|MA Morocco|MC Monaco|MD Moldova|ME Montenegro|MF Saint Martin|MG Madagascar
MH Marshall Islands|MK North Macedonia|ML Mali|MM Myanmar|MN Mongolia|MO Macao
MP Northern Mariana Islands|MQ Martinique|MR Mauritania|MS Montserrat|MT Malta|MU Mauritius
MV Maldives|MW Malawi|MX Mexico|MY Malaysia|MZ Mozambique|NA Namibia|NC New Caledonia|NE Niger
NF Norfolk Island|NG Nigeria|NI Nicaragua|NL Netherlands|NO Norway|NP Nepal|NR Nauru|NU Niue
NZ New Zealand|OM Oman|PA Panama|PE Peru|PF French Polynesia|PG Papua New Guinea|PH Philippines
PK Pakistan|PL Poland|PM Saint Pierre and Miquelon|PN Pitcairn Islands|PR Puerto Rico|PS Palestine
PT Portugal|PW Palau|PY Paraguay|QA Qatar|RE Réunion|RO Romania|RS Serbia|RU Russia|RW Rwanda
SA Saudi Arabia|SB Solomon Islands|SC Seychelles|SD Sudan|SE Sweden|SG Singapore|SH Saint Helena
SI Slovenia|SJ Svalbard and Jan Mayen|SK Slovakia|SL Sierra Leone|SM San Marino|SN Senegal
SO Somalia|SR Suriname|SS South Sudan|ST São Tomé and Príncipe|SV El Salvador|SX Sint Maarten
SY Syria|SZ Eswatini|TC Turks and Caicos Islands|TD Chad|TF French Southern Territories|TG Togo
TH Thailand|TJ Tajikistan|TK Tokelau|TL Timor-Leste|TM Turkmenistan|TN Tunisia|TO Tonga|TR Türkiye
TT Trinidad and Tobago|TV Tuvalu|TW Taiwan|TZ Tanzania|UA Ukraine|UG Uganda
UM United States Minor Outlying Islands|US United States|UY Uruguay|UZ Uzbekistan|VA Vatican City
VC Saint Vincent and the Grenadines|VE Venezuela|VG British Virgin Islands|VI U.S. Virgin Islands
VN Vietnam|VU Vanuatu|WF Wallis and Futuna|WS Samoa|XK Kosovo|YE Yemen|YT Mayotte|ZA South Africa
ZM Zambia|ZW Zimbabwe
"""

# Other names editors write: official and former names, abbreviations, and native names.
_COUNTRY_ALIASES = {
    "AE": "UAE|الإمارات",
    "BA": "Bosnia",
    "BN": "Brunei Darussalam",
    "BO": "Plurinational State of Bolivia",
    "BQ": "Bonaire|Bonaire, Sint Eustatius and Saba",
    "BR": "Brasil",
    "BE": "België|Belgique|Belgien",
    "BG": "България",
    "CD": "Democratic Republic of the Congo|Congo, Democratic Republic of the|DRC|Congo-Kinshasa",
    "CG": "Republic of the Congo|Congo-Brazzaville",
    "CH": "Schweiz|Suisse|Svizzera",
    "CI": "Ivory Coast",
    "CN": "中国|中國|People's Republic of China|PRC",
    "CV": "Cape Verde",
    "CZ": "Czech Republic|Česko|Česká republika",
    "DE": "Deutschland|Allemagne|Alemania",
    "DK": "Danmark",
    "EG": "مصر",
    "ES": "España|Espagne",
    "FI": "Suomi",
    "FK": "Falklands|Malvinas",
    "FM": "Federated States of Micronesia",
    "GB": "UK|Great Britain|Britain|England|Scotland|Wales|Northern Ireland|"
    "United Kingdom of Great Britain and Northern Ireland",
    "GR": "Ελλάδα|Hellas",
    "HK": "香港",
    "HR": "Hrvatska",
    "HU": "Magyarország",
    "IE": "Éire|Republic of Ireland",
    "IL": "ישראל",
    "IN": "भारत|Bharat",
    "IR": "Persia|ایران",
    "IS": "Ísland",
    "IT": "Italia",
    "JP": "日本|Nippon|Nihon",
    "KP": "DPRK|Democratic People's Republic of Korea|북한",
    "KR": "Korea|Republic of Korea|Korea, Republic of|대한민국|한국|남한",
    "LA": "Lao PDR|Lao People's Democratic Republic",
    "MD": "Republic of Moldova",
    "MK": "Macedonia",
    "MM": "Burma",
    "MO": "Macau|澳門|澳门",
    "MX": "México",
    "NL": "Nederland|Holland|The Netherlands",
    "NO": "Norge",
    "PH": "Pilipinas",
    "PL": "Polska",
    "PS": "State of Palestine",
    "RO": "România",
    "RS": "Srbija|Србија",
    "RU": "Russian Federation|Россия",
    "SA": "KSA|السعودية",
    "SE": "Sverige",
    "SG": "新加坡",
    "SI": "Slovenija",
    "SK": "Slovensko",
    "SY": "Syrian Arab Republic",
    "SZ": "Swaziland",
    "TH": "ประเทศไทย|ไทย",
    "TL": "East Timor",
    "TR": "Turkey",
    "TW": "台灣|台湾",
    "TZ": "United Republic of Tanzania",
    "UA": "Україна",
    "US": "USA|U.S.|U.S.A.|United States of America|America",
    "VA": "Holy See|Vatican",
    "VE": "Bolivarian Republic of Venezuela",
    "VI": "US Virgin Islands",
    "VN": "Việt Nam",
}


def _name_key(name: str) -> str:
    """Lookup key for a country name: no accents, case, punctuation, spaces or leading "the"."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = unicodedata.normalize("NFC", text).casefold().replace("&", " and ")
    text = re.sub(r"[.'’]", "", text)
    words = re.sub(r"[\W_]+", " ", text).split()
    if words[:1] == ["the"]:
        words = words[1:]
    # Spaces go too, so "Cote d Ivoire" and "Côte d'Ivoire" meet.
    return "".join(words)


def _load_countries() -> tuple[dict[str, str], dict[str, str]]:
    names: dict[str, str] = {}
    for entry in _COUNTRY_TABLE.replace("\n", "|").split("|"):
        if entry.strip():
            code, name = entry.strip().split(" ", 1)
            names[code] = name
    lookup = {_name_key(name): code for code, name in names.items()}
    for code, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases.split("|"):
            lookup.setdefault(_name_key(alias), code)
    return names, lookup


#: code -> English short name; name key -> code
COUNTRY_NAMES, _COUNTRY_LOOKUP = _load_countries()


def resolve_country(value: str) -> str | None:
    """The ISO alpha-2 code for a code ("kr") or a known name ("South Korea", "대한민국"); else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) == 2 and text.upper() in COUNTRY_NAMES:
        return text.upper()
    return _COUNTRY_LOOKUP.get(_name_key(text[:100]))


def _suggest_country(value: str) -> str:
    best = process.extractOne(_name_key(value[:100]), list(_COUNTRY_LOOKUP), scorer=fuzz.WRatio, score_cutoff=80)
    if best is None:
        return ""
    code = _COUNTRY_LOOKUP[best[0]]
    return f"; did you mean {COUNTRY_NAMES[code]} ({code})?"


@register
class Country(Condition):
    """The visitor's country is one of `countries` (stored as ISO alpha-2 codes)."""

    type = "country"
    label = "Country"
    facts = ("country",)

    def __init__(self, countries: Sequence[str]):
        self.countries = tuple(countries)
        self._set = frozenset(self.countries)

    @classmethod
    def from_params(cls, params, registry=None):
        codes: list[str] = []
        for entry in text_list(params, "countries", noun="country", split_commas=True, max_len=100):
            code = resolve_country(entry)
            if code is None:
                if len(entry) == 2 and entry.isalpha():
                    raise ConditionError("countries", f"unknown country code {entry!r}")
                raise ConditionError("countries", f"unknown country {entry!r}{_suggest_country(entry)}")
            if code not in codes:
                codes.append(code)
        return cls(codes)

    def to_params(self):
        return {"countries": list(self.countries)}

    def describe(self) -> str:
        return f"Country is {join_or([COUNTRY_NAMES[c] for c in self.countries])}"

    def evaluate(self, ctx: Context) -> Outcome:
        raw = ctx.get("country")
        if raw is None:
            return self.unknown("country")
        # CDNs send placeholders such as "XX" (unknown) or "T1" (Tor): not a country, so unknown.
        code = resolve_country(raw) if isinstance(raw, str) else None
        if code is None:
            return self.unknown(f"country {str(raw)[:20]!r}")
        name = COUNTRY_NAMES[code]
        if code in self._set:
            return Outcome(True, f"In {name}")
        return Outcome(False, f"In {name}, not {join_or([COUNTRY_NAMES[c] for c in self.countries])}")


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
    ],
    key=len,
    reverse=True,
)
_PREFIX_WORDS = (("city", "of"),)
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}
# The same in Korean, Chinese and Japanese, written without a space: "서울특별시", "東京都", "北京市".
_CJK_SUFFIXES = ("특별자치시", "특별시", "광역시", "시", "구", "군", "市", "都", "区", "區", "府")


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
    label = "City"
    facts = ("city",)

    def __init__(self, cities: Sequence[str], threshold: float = DEFAULT_CITY_THRESHOLD):
        self.cities = tuple(cities)
        self.threshold = threshold
        # Precomputed once: normalised name -> the editor's spelling (for the reason).
        self._by_key: dict[str, str] = {}
        for city in self.cities:
            key = normalize_city(city)
            if not key:
                raise ConditionError("cities", f"{city!r} is not a city name")
            self._by_key.setdefault(key, city)
        self._keys = list(self._by_key)

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(
            text_list(params, "cities", noun="city", split_commas=True, max_len=MAX_CITY),
            number_param(params, "threshold", minimum=0, maximum=100, default=DEFAULT_CITY_THRESHOLD),
        )

    def to_params(self):
        return {"cities": list(self.cities), "threshold": self.threshold}

    def describe(self) -> str:
        return f"City is {join_or(self.cities)}"

    def match(self, city: str) -> tuple[str, float] | None:
        """The configured name `city` matches and the score, or None."""
        candidates = [city]
        if "," in city:  # "Seoul, South Korea": the city is the first part
            candidates.append(city.split(",", 1)[0])
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

    def evaluate(self, ctx: Context) -> Outcome:
        raw = ctx.get("city")
        if not isinstance(raw, str) or not raw.strip():
            return self.unknown("city")
        sent = raw.strip()[:MAX_CITY]
        found = self.match(sent)
        if found is None:
            return Outcome(False, f"In {quoted(sent[:80])}, not {join_or(self.cities)}")
        name, score = found
        if sent == name:
            return Outcome(True, f"In {name}")
        detail = "" if score >= 100 else f", {score:.0f}% alike"
        return Outcome(True, f"In {name} ({quoted(sent[:80])}{detail})")
