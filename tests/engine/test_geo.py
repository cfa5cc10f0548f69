"""Countries from pycountry (codes, names, catalogs of native names) and the geo conditions' words.

The conditions' behaviour through the registry is in test_conditions.py; here: the country data,
what editors may type, what loads when, and the words.
"""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pycountry
import pytest

from rules.engine import ConditionError, Context, geo, i18n, registry
from rules.engine.geo import COUNTRY_NAMES, resolve_country

ROOT = Path(__file__).resolve().parents[2]

# Every alias of the hand-typed table pycountry replaced, and its shown names that differ from
# pycountry's: what editors wrote before (and conditions may hold) still resolves to the same code.
HAND_TYPED = {
    "AE": "UAE|الإمارات",
    "BA": "Bosnia",
    "BE": "België|Belgique|Belgien",
    "BG": "България",
    "BN": "Brunei|Brunei Darussalam",
    "BO": "Plurinational State of Bolivia",
    "BQ": "Caribbean Netherlands|Bonaire|Bonaire, Sint Eustatius and Saba",
    "BR": "Brasil",
    "CD": "DR Congo|Democratic Republic of the Congo|Congo, Democratic Republic of the|DRC|Congo-Kinshasa",
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
    "FK": "Falkland Islands|Falklands|Malvinas",
    "FM": "Micronesia|Federated States of Micronesia",
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
    "MF": "Saint Martin",
    "MK": "Macedonia",
    "MM": "Burma",
    "MO": "Macau|澳門|澳门",
    "MX": "México",
    "NL": "Nederland|Holland|The Netherlands",
    "NO": "Norge",
    "PH": "Pilipinas",
    "PL": "Polska",
    "PN": "Pitcairn Islands",
    "PS": "Palestine|State of Palestine",
    "RO": "România",
    "RS": "Srbija|Србија",
    "RU": "Russia|Russian Federation|Россия",
    "SA": "KSA|السعودية",
    "SE": "Sverige",
    "SG": "新加坡",
    "SH": "Saint Helena",
    "SI": "Slovenija",
    "SK": "Slovensko",
    "ST": "São Tomé and Príncipe",
    "SX": "Sint Maarten",
    "SY": "Syrian Arab Republic",
    "SZ": "Swaziland",
    "TH": "ประเทศไทย|ไทย",
    "TL": "East Timor",
    "TR": "Turkey",
    "TW": "台灣|台湾",
    "TZ": "United Republic of Tanzania",
    "UA": "Україна",
    "US": "USA|U.S.|U.S.A.|United States of America|America",
    "VA": "Vatican City|Holy See|Vatican",
    "VE": "Bolivarian Republic of Venezuela",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands|US Virgin Islands",
    "VN": "Việt Nam",
}


@pytest.mark.parametrize(("code", "names"), sorted(HAND_TYPED.items()))
def test_every_name_of_the_hand_typed_table_still_resolves(code, names):
    for name in names.split("|"):
        assert resolve_country(name) == code, name


def test_every_pycountry_country_and_kosovo_is_known():
    assert set(COUNTRY_NAMES) == {c.alpha_2 for c in pycountry.countries} | {"XK"}
    assert COUNTRY_NAMES["XK"] == "Kosovo" and resolve_country("Kosovo") == "XK"


def test_shown_names_are_pycountrys_common_names_without_commas():
    assert COUNTRY_NAMES["KR"] == "South Korea"  # pycountry's common name, not "Korea, Republic of"
    assert COUNTRY_NAMES["TW"] == "Taiwan"
    assert COUNTRY_NAMES["GB"] == "United Kingdom"
    assert COUNTRY_NAMES["VI"] == "U.S. Virgin Islands"  # ours: ISO says "Virgin Islands, U.S."
    # a comma inside a name would read as two countries in "Country is X, Y or Z"
    assert [name for name in COUNTRY_NAMES.values() if "," in name] == []


def test_official_and_common_names_resolve():
    for country in pycountry.countries:
        for name in (country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)):
            if name:
                assert resolve_country(name) == country.alpha_2, name


@pytest.mark.parametrize(
    ("name", "code"),
    [
        # Korean (a first-class language): any country, from pycountry's Korean catalog
        ("독일", "DE"),
        ("일본", "JP"),
        ("미국", "US"),
        ("영국", "GB"),
        ("베트남", "VN"),
        ("조선민주주의인민공화국", "KP"),
        # the native names editors type, from the other catalogs
        ("Deutschland", "DE"),
        ("Österreich", "AT"),
        ("Nederland", "NL"),
        ("Sverige", "SE"),
        ("日本", "JP"),
        ("ドイツ", "DE"),
        ("Україна", "UA"),
        ("Ελλάδα", "GR"),
        ("Polska", "PL"),
        ("Türkiye", "TR"),
    ],
)
def test_names_in_the_catalogs_languages_resolve(name, code):
    assert resolve_country(name) == code


def test_what_no_language_names_is_unknown():
    for value in ("Atlantis", "Seoul", "XX", "T1", "A1", "", "   "):
        assert resolve_country(value) is None, value


def test_codes_english_names_and_cdn_placeholders_load_no_catalog(monkeypatch):
    geo._translated_lookup.cache_clear()
    for value in ("KR", "kr", "South Korea", "UK", "한국", "XX", "T1"):
        resolve_country(value)
    assert geo._translated_lookup.cache_info().currsize == 0
    assert resolve_country("Deutschland") == "DE"
    assert geo._translated_lookup.cache_info().currsize == 1


def test_importing_the_engine_loads_no_country_data():
    code = "import sys, rules.engine; print('pycountry' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_a_name_two_countries_share_in_a_catalog_resolves_to_neither():
    # Left out rather than resolved to whichever catalog came first (normalisation drops the vowel
    # signs of some scripts, so a few names collide).
    codes_by_key: dict[str, set[str]] = {}
    names_by_key: dict[str, set[str]] = {}
    for language in geo._NAME_LANGUAGES:
        catalog = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
        for country in pycountry.countries:
            name = catalog.gettext(country.name)
            if name != country.name:
                key = geo._name_key(name)
                codes_by_key.setdefault(key, set()).add(country.alpha_2)
                names_by_key.setdefault(key, set()).add(name)
    shared = [key for key, codes in codes_by_key.items() if len(codes) > 1 and key not in geo._countries().lookup]
    if not shared:
        pytest.skip("no catalog name is shared by two countries in this pycountry release")
    for key in shared:
        for name in names_by_key[key]:
            assert resolve_country(name) is None, (name, codes_by_key[key])


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("Germny", "Germany (DE)"),
        ("Sout Korea", "South Korea (KR)"),
        ("Untied States", "United States (US)"),
        ("Frnace", "France (FR)"),
        ("Atlantis", None),
    ],
)
def test_unknown_countries_suggest_the_closest_name(typed, suggestion):
    with pytest.raises(ConditionError) as error:
        registry.build({"type": "country", "countries": [typed]})
    assert error.value.field == "countries"
    if suggestion is None:
        assert "did you mean" not in error.value.message
    else:
        assert error.value.message.endswith(f"did you mean {suggestion}?")


def test_an_unknown_two_letter_code_says_code():
    with pytest.raises(ConditionError, match="unknown country code 'QQ'"):
        registry.build({"type": "country", "countries": ["QQ"]})


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


def _whole_and_named(text: str, asked: list[str]) -> None:
    assert text.startswith("«") and text.endswith("»"), text
    assert "%(" not in text
    assert all(not re.search(r"%[^(%]", message) for message in asked), asked


@pytest.mark.parametrize("country", ["KR", "US", "XX", None])
def test_country_words_are_translated_whole_with_named_placeholders(pseudo_locale, country):
    condition = registry.build({"type": "country", "countries": ["KR", "JP"]})
    _whole_and_named(condition.describe(), pseudo_locale)
    _whole_and_named(condition.evaluate(Context.build(country=country)).reason, pseudo_locale)


@pytest.mark.parametrize("city", ["Seoul", "seoul-si", "Seould", "Busan", None])
def test_city_words_are_translated_whole_with_named_placeholders(pseudo_locale, city):
    condition = registry.build({"type": "city", "cities": ["Seoul"]})
    _whole_and_named(condition.describe(), pseudo_locale)
    _whole_and_named(condition.evaluate(Context.build(city=city)).reason, pseudo_locale)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "country", "countries": ["Germny"]}, "«unknown country 'Germny'; did you mean Germany (DE)?»"),
        ({"type": "country", "countries": ["QQ"]}, "«unknown country code 'QQ'»"),
        ({"type": "city", "cities": ["!!!"]}, "«'!!!' is not a city name»"),
    ],
)
def test_geo_errors_are_translated_whole(pseudo_locale, spec, message):
    with pytest.raises(ConditionError) as error:
        registry.build(spec)
    assert error.value.message == message
