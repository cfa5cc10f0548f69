"""Korean in the engine: Hangul provinces and districts in city conditions, and which emotion model
reads a text (pure Python: no Django needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.engine import Context, Fact
from rules.engine.geo import City, normalize_city
from rules.ml.emotion import detect_language, script_shares

# -- places ------------------------------------------------------------------------------------

SYLLABLES = st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=2, max_size=4)
SUFFIXES = ("도", "특별자치도", "시", "특별시", "광역시", "구", "군", "읍", "면")


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("경기도", "경기"),
        ("Gyeonggi-do", "Gyeonggi Province"),
        ("제주특별자치도", "제주"),
        ("Jeju", "Jeju Special Self-Governing Province"),
        ("강남구", "강남"),
        ("Gangnam-gu", "Gangnam"),
        ("가평군", "가평"),
    ],
)
def test_korean_provinces_and_districts_match_with_or_without_their_suffix(written, sent):
    condition = City([written])
    assert condition.evaluate(Context({"city": Fact("city", sent, "input")})).value is True


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("서울", "서울특별시 강남구"),
        ("강남구", "서울특별시 강남구"),
        ("성남", "경기도 성남시 분당구"),
        ("경기도", "경기도 성남시 분당구"),
        ("분당", "경기도 성남시 분당구"),
    ],
)
def test_a_korean_address_matches_its_province_city_or_district(written, address):
    outcome = City([written]).evaluate(Context({"city": Fact("city", address, "input")}))
    assert outcome.value is True
    assert written in outcome.reason


def test_a_korean_address_does_not_match_another_place():
    outcome = City(["부산"]).evaluate(Context({"city": Fact("city", "경기도 성남시 분당구", "input")}))
    assert outcome.value is False


def test_latin_names_are_not_split_into_words():
    assert City(["York"]).match("New York") is None


@given(SYLLABLES, st.sampled_from(SUFFIXES), st.sampled_from(SUFFIXES))
def test_an_administrative_suffix_never_changes_which_place_it_is(stem, a, b):
    # Stems that themselves end in a suffix syllable lose it too; both spellings still agree.
    assert normalize_city(stem + a) == normalize_city(stem + b) == normalize_city(stem)


@given(SYLLABLES, st.sampled_from(SUFFIXES))
def test_stripping_never_leaves_less_than_two_syllables(stem, suffix):
    assert len(normalize_city(stem + suffix)) >= 2


# -- which model reads a text --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("오늘 너무 우울해요", None, {"ko": 1.0}),
        ("I miss her so much", "ko-KR", {"en": 1.0}),  # the script wins over the visitor's language
        ("너무 좋아요 ㅋㅋㅋ", "en", {"ko": 1.0}),
        ("😢😢", "ko-KR", {"ko": 1.0}),  # no letters: the visitor's language decides
        ("😢😢", None, {"en": 1.0}),
        ("12345", "en-US", {"en": 1.0}),
        ("I love my new iPhone 진짜", None, {"en": 1.0}),  # an incidental Korean word
        ("[NAME] 너무 보고 싶어요", None, {"ko": 1.0}),  # the name mask is not English
    ],
)
def test_the_model_is_chosen_by_script_then_by_the_visitors_language(text, hint, expected):
    assert detect_language(text, hint) == expected


def test_mixed_text_is_read_by_both_models_weighted_by_script():
    weights = detect_language("오늘 진짜 sad and tired 했어")
    assert set(weights) == {"ko", "en"}
    assert sum(weights.values()) == pytest.approx(1.0)


@given(st.text(max_size=200), st.one_of(st.none(), st.sampled_from(["ko", "ko-KR", "en", "fr", ""])))
def test_detection_always_names_a_shipped_model_with_weights_summing_to_one(text, hint):
    weights = detect_language(text, hint)
    assert set(weights) <= {"ko", "en"} and weights
    assert sum(weights.values()) == pytest.approx(1.0)
    hangul, latin = script_shares(text)
    assert 0 <= hangul <= 1 and 0 <= latin <= 1
