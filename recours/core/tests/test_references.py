import re

from recours.core.references import ALPHABET, new_reference, normalize_reference


def test_it_has_no_look_alike_characters():
    for ambiguous in "0O1IL":
        assert ambiguous not in ALPHABET
    assert len(set(ALPHABET)) == len(ALPHABET)


def test_it_draws_references_from_the_alphabet():
    # when
    references = {new_reference("RC") for _ in range(200)}

    # then
    pattern = re.compile(rf"RC-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")
    assert all(pattern.fullmatch(reference) for reference in references)
    assert len(references) == 200


def test_it_normalizes_what_people_type():
    canonical = "RC-7KQ4-M9XP"
    for typed in [
        "RC-7KQ4-M9XP",
        "rc-7kq4-m9xp",
        "rc 7kq4 m9xp",
        "RC7KQ4M9XP",
        "7KQ4M9XP",
        " 7kq4-m9xp ",
        "RC_7KQ4.M9XP",
    ]:
        assert normalize_reference(typed, "RC") == canonical, typed


def test_it_keeps_a_code_that_starts_like_the_prefix():
    # given: a code whose first group starts with "RC", typed without the prefix
    typed = "rc23 4567"

    # when / then
    assert normalize_reference(typed, "RC") == "RC-RC23-4567"
    assert normalize_reference("RCRC234567", "RC") == "RC-RC23-4567"


def test_it_returns_other_text_unchanged_but_trimmed_and_upper_case():
    assert normalize_reference(" rc-12 ", "RC") == "RC-12"
