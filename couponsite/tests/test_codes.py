import pytest

from couponsite.codes import (
    ALPHABET,
    display_code,
    generate_code,
    generate_codes,
    is_well_formed,
    normalize_code,
    normalize_prefix,
)


def test_million_codes_without_collision_using_the_whole_alphabet():
    codes = generate_codes(1_000_000)

    assert len(set(codes)) == 1_000_000
    assert set("".join(codes[:10_000])) == set(ALPHABET)
    assert all(len(code) == 10 for code in codes[:1000])


def test_codes_carry_at_least_fifty_bits():
    assert len(ALPHABET) == 32 and len(generate_code()) * 5 >= 50
    with pytest.raises(ValueError):
        generate_code(length=9)


def test_no_lookalike_symbols():
    assert not set("ILOU") & set(ALPHABET)


def test_display_groups_by_four():
    assert display_code("K7QM3XDP9T") == "K7QM-3XDP-9T"


@pytest.mark.parametrize(
    "typed", ["K7QM-3XDP-9T", "k7qm 3xdp 9t", " K7QM3XDP9T ", "k7qm_3xdp.9t"]
)
def test_normalisation_ignores_case_and_separators(typed):
    assert normalize_code(typed) == "K7QM3XDP9T"


def test_lookalikes_read_as_digits():
    assert normalize_code("oIL0") == "0110"


def test_round_trip():
    for code in generate_codes(1000):
        assert normalize_code(display_code(code).lower()) == code
        assert is_well_formed(code)


def test_prefix():
    code = generate_code(prefix="xmas")

    assert code.startswith("XMAS") and len(code) == 14
    with pytest.raises(ValueError):
        normalize_prefix("U2")
