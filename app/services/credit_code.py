"""统一社会信用代码 (GB 32100-2015) and the organisation code embedded in it (GB 11714-1997).

Layout of the 18 characters: registration authority (1), organisation kind (1), region (6),
organisation code (9 = 8-character body + its own check character), check character (1).
"""
from __future__ import annotations

# the 31 characters allowed in a credit code: digits and capitals without I, O, S, V, Z
# (easily confused with 1, 0, 5, U, 2); a character's value is its index here
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# 3**(i-1) mod 31 for the first 17 positions
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714 weights for the 8-character organisation code body
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_check(body8: str) -> str:
    # GB 11714 values letters as A=10 … Z=35 (not their CREDIT_CHARS index)
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, ORG_WEIGHTS))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def _credit_check(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def organisation_code(body8: str) -> str:
    """8-character body + GB 11714 check character."""
    return body8 + _org_check(body8)


def credit_code(first17: str) -> str:
    """17 characters + GB 32100 check character."""
    return first17 + _credit_check(first17)


def make_credit_code(kind_and_region: str, org_body8: str) -> str:
    """e.g. make_credit_code("91430100", "MA4L2B8R") -> an 18-character valid code."""
    return credit_code(kind_and_region + organisation_code(org_body8))


def is_valid_credit_code(code: str) -> bool:
    """18 characters from CREDIT_CHARS (upper case only) with both check characters right:
    the organisation code's (9th of positions 9–17) and the credit code's own (18th)."""
    if not isinstance(code, str) or len(code) != 18 or any(c not in CREDIT_CHARS for c in code):
        return False
    return code[16] == _org_check(code[8:16]) and code[17] == _credit_check(code[:17])
