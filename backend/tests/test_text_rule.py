"""The one text rule: the published JSON Schema patterns accept exactly what the validator accepts."""

from __future__ import annotations

import re

import pytest

from app.schemas.text import NOT_BLANK_STORABLE_PATTERN, STORABLE_PATTERN, clean_text

SAMPLES = ["ok", " padded ", "", " ", "\x1f", "\u3000", "\t\n", "a\x00b", "\x00", "emoji 😀", "\u00a0x", "ünïcode"]


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize(("required", "pattern"), [(False, STORABLE_PATTERN), (True, NOT_BLANK_STORABLE_PATTERN)])
def test_pattern_and_validator_agree(text, required, pattern):
    try:
        clean_text(text, max_length=100, required=required, strip=True)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == bool(re.search(pattern, text)), (text, required)


def test_lone_surrogates_and_lengths_are_refused_before_trimming():
    with pytest.raises(ValueError, match="valid Unicode"):
        clean_text("a\ud800", max_length=10, required=False, strip=False)
    with pytest.raises(ValueError, match="at most 3"):
        clean_text("  ab  ", max_length=3, required=True, strip=True)  # the published maxLength counts what was sent
    assert clean_text(" ab ", max_length=4, required=True, strip=True) == "ab"
