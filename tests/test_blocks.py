"""Editors get the engine's validation messages at the right field of the block."""

import pytest
from wagtail.blocks.struct_block import StructBlockValidationError

from rules.blocks import DayOfWeekBlock, TimeOfDayBlock
from sample_site.home.demo import hero_slot
from variants.blocks import PersonalizedBlock


def errors_of(block, raw):
    value = block.to_python(raw)
    with pytest.raises(StructBlockValidationError) as exc:
        block.clean(value)
    return {name: [m for e in [err] for m in e.messages] for name, err in exc.value.block_errors.items()}


def test_time_window_with_equal_start_and_end_is_refused_at_the_end_field():
    errors = errors_of(TimeOfDayBlock(), {"negate": False, "start": "10:00:00", "end": "10:00:00"})

    assert errors == {"end": ["start and end must differ (an empty window never matches)"]}


def test_a_valid_overnight_window_is_accepted():
    block = TimeOfDayBlock()
    value = block.to_python({"negate": False, "start": "22:00:00", "end": "02:00:00"})

    assert block.clean(value)["start"].hour == 22


def test_day_of_week_needs_at_least_one_day():
    errors = errors_of(DayOfWeekBlock(), {"negate": False, "days": []})

    assert "days" in errors


def test_slot_name_must_be_a_simple_identifier_and_variant_names_unique():
    raw = hero_slot()["value"]
    raw["slot"] = "Hero Banner!"
    raw["variants"][1]["value"]["name"] = "morning"

    errors = errors_of(PersonalizedBlock(), raw)

    assert set(errors) == {"slot", "variants"}
    assert "unique" in errors["variants"][0]


def test_the_demo_slot_is_valid():
    block = PersonalizedBlock()

    cleaned = block.clean(block.to_python(hero_slot()["value"]))

    assert cleaned["slot"] == "hero"
