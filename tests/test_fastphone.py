"""The fast E.164 path gives phonenumbers' verdict, only faster."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from console.lib import fastphone
from console.lib.phone import check_e164

TYPES = range(11)  # every phonenumbers.PhoneNumberType


def _examples() -> list[str]:
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return found


def _mutate(rng: random.Random, number: str) -> str:
    digits = list(number[1:])
    pick = rng.random()
    if pick < 0.35:
        for _ in range(rng.randint(1, 3)):
            digits[rng.randrange(len(digits))] = str(rng.randrange(10))
    elif pick < 0.5:
        digits.insert(rng.randrange(len(digits) + 1), str(rng.randrange(10)))
    elif pick < 0.65 and len(digits) > 4:
        del digits[rng.randrange(len(digits))]
    elif pick < 0.9:
        code = str(rng.choice(list(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)))
        rest = "".join(str(rng.randrange(10)) for _ in range(rng.randint(3, 14)))
        digits = list(code + rest)
    else:
        return rng.choice([" ", "", "00", "+0"]) + "".join(digits)
    return "+" + "".join(digits)


def test_it_agrees_with_phonenumbers_on_a_large_random_sample():
    rng = random.Random(20240601)
    examples = _examples()
    sample = examples + [_mutate(rng, rng.choice(examples)) for _ in range(40_000)]
    disagreements = [n for n in sample if fastphone.check(n) != check_e164(n)]
    assert disagreements == []
    valid = [n for n in sample if check_e164(n) is None]
    # Both kinds are well represented, or the test proves little.
    assert len(valid) > 5_000
    assert len(sample) - len(valid) > 15_000
    # The fast path, not the fallback, decides the great majority of valid numbers.
    assert sum(fastphone.is_fast_valid(n) for n in valid) > 0.85 * len(valid)


def test_fast_path_never_calls_an_invalid_number_valid():
    rng = random.Random(7)
    for _ in range(15_000):
        code = rng.choice(list(phonenumbers.COUNTRY_CODE_TO_REGION_CODE))
        number = f"+{code}" + "".join(str(rng.randrange(10)) for _ in range(rng.randint(4, 13)))
        if fastphone.is_fast_valid(number):
            assert check_e164(number) is None, number


@pytest.mark.parametrize(
    "number",
    ["+821012345678", "+82212345678", "+14155552671", "+447911123456", "+819012345678"],
)
def test_common_numbers_take_the_fast_path(number):
    assert fastphone.is_fast_valid(number)
    assert fastphone.check(number) is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("010-1234-5678", "phone_not_e164"),
        ("", "phone_missing"),
        ("+82101234", "phone_invalid"),
        ("+8201012345678x", "phone_not_e164"),
    ],
)
def test_unusual_input_gets_phonenumbers_answer_and_message(raw, code):
    problem = fastphone.check(raw)
    assert problem is not None
    assert problem == check_e164(raw)
    assert problem.code == code


def test_national_number_message_gives_the_e164_form():
    problem = fastphone.check("010-1234-5678")
    assert "+821012345678" in problem.message


@pytest.mark.parametrize("raw", ["+82１０12345678", "+８21012345678", "+82\u0661012345678"])
def test_digits_of_other_scripts_are_not_e164(raw):
    # phonenumbers reads them as digits; stored as written they reach no gateway.
    assert fastphone.is_fast_valid(raw) is False
    problem = fastphone.check(raw)
    assert problem is not None
    assert problem.code == "phone_not_e164"
