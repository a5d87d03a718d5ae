"""Identifiers people type, checked by the libraries made for them: mainland phone numbers
(phonenumbers, region CN, so a number no operator assigns is refused), e-mail addresses
(email-validator) and the 统一社会信用代码 (python-stdnum's `stdnum.cn.uscc`)."""
from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
import phonenumbers
from phonenumbers import PhoneNumberType
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as NumberInvalid

MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
LANDLINE_TYPES = {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
# a landline's extension as offices write it — 0731-88988715-123, 0731-88988715转123 (转 is U+8F6C) —
# which phonenumbers reads as part of the number (and then refuses)
_EXTENSION = re.compile(r"^(?P<number>.+?)\s*(?:-|\u8f6c|ext\.?|x)\s*(?P<extension>\d{1,6})$", re.IGNORECASE)


def _mainland_number(text: str):
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    return number


# The checks are pure functions of the text; a school's self-check asks them of tens of thousands of
# records whose contacts repeat (one responsible person, many instruments), so answers are cached.
@lru_cache(maxsize=8192)
def is_mobile(text: str | None) -> bool:
    """A mainland mobile number in use (e.g. 13800138000; 154… or 140… are assigned to no one)."""
    number = _mainland_number((text or "").strip())
    return number is not None and not number.extension and phonenumbers.number_type(number) in MOBILE_TYPES


@lru_cache(maxsize=8192)
def is_phone(text: str | None) -> bool:
    """A mobile, or a landline with its area code and perhaps an extension (0731-88988715-123)."""
    text = (text or "").strip()
    number = _mainland_number(text)
    if number is not None:
        return phonenumbers.number_type(number) in MOBILE_TYPES | LANDLINE_TYPES
    match = _EXTENSION.match(text)
    if match is None:
        return False
    number = _mainland_number(match["number"])
    return number is not None and phonenumbers.number_type(number) in LANDLINE_TYPES


@lru_cache(maxsize=8192)
def is_email(text: str | None) -> bool:
    """A well-formed address (its domain is not looked up)."""
    try:
        validate_email((text or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# GB 11714 weights of the organisation code's 8-character body. The 统一社会信用代码 embeds that code
# (characters 9–17) with its own check character, which stdnum.cn.uscc does not test.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_check(body8: str) -> str:
    """The GB 11714 check character of an organisation code's body (letters count A=10 … Z=35)."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, _ORG_WEIGHTS))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def is_valid_credit_code(code) -> bool:
    """A 统一社会信用代码 exactly as issued (18 capitals and digits, no spaces) whose check
    character (GB 32100, by stdnum) and embedded organisation code's check character (GB 11714) are right."""
    if not isinstance(code, str):
        return False
    try:
        if uscc.validate(code) != code:  # validate() also accepts spaces and lower case
            return False
    except NumberInvalid:
        return False
    return code[16] == organisation_check(code[8:16])


def normalised_credit_code(text: str) -> str:
    """What a person typed, as the code is written: capitals, no spaces or dashes."""
    return uscc.compact(text or "")


def make_credit_code(kind_and_region: str, org_body8: str) -> str:
    """A valid code from its first 8 characters and an organisation code body (for demo data)."""
    first17 = kind_and_region + org_body8 + organisation_check(org_body8)
    return first17 + uscc.calc_check_digit(first17)
