"""Serial numbers: the type's pattern, then Luhn or ISO 7064 MOD 97-10."""

import pytest

from recours.commerce import serials
from recours.core.errors import InvalidInput

PATTERN = r"[A-Z]{2}-[0-9]{4,12}"


@pytest.mark.parametrize(
    "number", ["79927398713", "4539578763621486", "0", "18", "059"]
)
def test_it_accepts_known_luhn_numbers(number):
    assert serials.luhn_valid(number) is (len(number) >= 2)


@pytest.mark.parametrize("number", ["79927398710", "4539578763621487", "81"])
def test_it_refuses_a_wrong_luhn_digit(number):
    assert not serials.luhn_valid(number)


def test_luhn_ignores_letters_and_separators():
    # given
    serial = serials.with_check_digit("BR-7992739871", serials.LUHN)

    # then
    assert serial == "BR-79927398713"
    assert serials.luhn_valid(serial)
    assert serials.luhn_valid("BR 7992-7398-713")


@pytest.mark.parametrize(
    "text",
    # ISO 7064 MOD 97-10: IBANs, rearranged (country and check digits last).
    ["WEST12345698765432GB82", "30006000011234567890189FR76"],
)
def test_it_accepts_known_mod97_numbers(text):
    assert serials.mod97_valid(text)


def test_mod97_check_digits_complete_a_payload():
    # given
    payload = "BR-2024-000123"

    # when
    serial = serials.with_check_digit(payload, serials.MOD97)

    # then
    assert serial == payload + serials.mod97_check_digits(payload)
    assert serials.mod97_valid(serial)
    assert len(serial) == len(payload) + 2


def test_mod97_catches_a_swap_of_two_digits():
    serial = serials.with_check_digit("BR-2024-000123", serials.MOD97)
    swapped = serial.replace("0123", "0213")
    assert not serials.mod97_valid(swapped)


@pytest.mark.parametrize(
    "check_digit,serial,problem",
    [
        (serials.NONE, "br-1234", None),
        (serials.NONE, "BR1234", "expected format"),
        (serials.NONE, "  ", "empty"),
        (serials.LUHN, "BR-79927398713", None),
        (serials.LUHN, "BR-79927398711", "check digit"),
        (serials.MOD97, serials.with_check_digit("BR-4711", "mod97"), None),
        (serials.MOD97, "BR-471100", "check digit"),
    ],
)
def test_serial_problem_says_what_is_wrong(check_digit, serial, problem):
    found = serials.serial_problem(PATTERN, check_digit, serial)
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_check_serial_normalizes_or_raises():
    assert serials.check_serial(PATTERN, serials.NONE, " br-1234 ") == "BR-1234"
    with pytest.raises(InvalidInput) as raised:
        serials.check_serial(PATTERN, serials.LUHN, "BR-1235")
    assert "serial" in raised.value.fields
