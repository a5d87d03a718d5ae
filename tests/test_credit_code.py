"""统一社会信用代码 (GB 32100-2015) check characters (python-stdnum), including the embedded GB 11714
organisation code, which stdnum does not test and app/services/people/identifiers.py does."""
import pytest
from stdnum.cn import uscc

from app.services.people.identifiers import is_valid_credit_code, make_credit_code, normalised_credit_code, organisation_check

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: digits and capitals without I, O, S, V, Z


def organisation_code(body8):
    return body8 + organisation_check(body8)


def credit_code(first17):
    return first17 + uscc.calc_check_digit(first17)


# published codes; each also passes both checks, which a random string does about once in 341 tries
PUBLISHED = (
    # worked by hand: organisation body M000100Y -> 3·22 + 5·1 + 2·34 = 139, 11 - 139 % 11 = 4;
    # weighted credit sum of the first 17 = 1640, 31 - 1640 % 31 = 3
    "91350100M000100Y43",
    "914403001922038216",  # 华为技术有限公司 (organisation code 19220382-1)
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司 (organisation code 70846113-6)
)
# what the demo seed stores for its customer organisations (the seed must not drift)
GENERATED = {
    ("91430100", "MA4L2B8R"): "91430100MA4L2B8R68",
    ("91430200", "MA4R7T9K"): "91430200MA4R7T9K70",
    ("91430100", "MA4PK37N"): "91430100MA4PK37N74",
    ("12430000", "44876012"): "12430000448760120F",
    ("12430000", "44880297"): "124300004488029767",
}
VALID = PUBLISHED[0]


@pytest.mark.parametrize("code", PUBLISHED + tuple(GENERATED.values()))
def test_valid_codes(code):
    assert is_valid_credit_code(code)


def test_make_credit_code_is_stable():
    for (kind_and_region, body), expected in GENERATED.items():
        assert make_credit_code(kind_and_region, body) == expected


def test_organisation_code_values_letters_from_ten():
    # GB 11714 counts A=10 … Z=35 (M=22, L=21, R=27), not the credit alphabet's indices:
    # 3·22 + 7·10 + 9·4 + 10·21 + 5·2 + 8·11 + 4·8 + 2·27 = 566, 11 - 566 % 11 = 6
    assert organisation_code("MA4L2B8R") == "MA4L2B8R6"


def test_organisation_check_ten_and_eleven():
    # 10·1 + 2·1 = 12 -> 11 - 1 = 10, written X; a zero sum -> 11, written 0
    assert organisation_code("00010001") == "00010001X"
    assert organisation_code("00000000") == "000000000"


def test_wrong_final_check_character():
    for c in CREDIT_CHARS:
        if c != VALID[17]:
            assert not is_valid_credit_code(VALID[:17] + c)


def test_wrong_organisation_check_character():
    # a wrong 17th character with the 18th recomputed: only the organisation-code check can catch it
    for c in "0123456789X":
        if c != VALID[16]:
            tampered = credit_code(VALID[:16] + c)
            assert uscc.is_valid(tampered)  # stdnum alone would accept it
            assert not is_valid_credit_code(tampered)


def test_wrong_length():
    assert not is_valid_credit_code("")
    assert not is_valid_credit_code(VALID[:17])
    assert not is_valid_credit_code(VALID + "0")
    assert not is_valid_credit_code(" " + VALID)


def test_lowercase_is_invalid():
    assert not is_valid_credit_code(VALID.lower())
    assert not is_valid_credit_code("91440300708461136t")


def test_typed_forms_normalise_to_the_valid_code():
    assert normalised_credit_code(" 9144 0300 7084 6113 6t ") == "91440300708461136T"
    assert is_valid_credit_code(normalised_credit_code("91440300-708461136t"))


def test_illegal_letters():
    for c in "IOSVZ":
        assert not is_valid_credit_code(VALID[:8] + c + VALID[9:])
        assert not is_valid_credit_code(VALID[:17] + c)


def test_not_a_string():
    assert not is_valid_credit_code(None)
    assert not is_valid_credit_code(91350100)
