"""Phone numbers through phonenumbers (region CN) and e-mail through email-validator: the cases the
old regular expressions got wrong, and the extension forms offices write."""
import pytest

from app.services.people.identifiers import is_email, is_mobile, is_phone
from app.services.upkeep.record_checks import contact_problems


@pytest.mark.parametrize("number", ["13800138000", "19912345678", "16612345678", "14712345678", "138-0013-8000",
                                    "+86 138 0013 8000"])
def test_mobiles_in_use(number):
    assert is_mobile(number) and is_phone(number)


@pytest.mark.parametrize("number", [
    "15412345678",  # matched 1[3-9]\d{9}; 154 is assigned to no operator
    "14012345678",  # likewise 140
    "12345678901", "1380013800", "138001380000", "", None,
    "0731-88880000",  # a landline is not a mobile
])
def test_not_mobiles(number):
    assert not is_mobile(number)


@pytest.mark.parametrize("number", ["0731-88880000", "073188988715", "0731 88988715", "(0731)88988715", "010-12345678",
                                    "0731-88988715-123", "0731-88988715转123", "0731-88988715 转 8", "0731-88988715 ext 12"])
def test_landlines_with_area_code_and_extension(number):
    assert is_phone(number)


@pytest.mark.parametrize("number", ["88988715", "0731-8898871", "0731-88988715-1234567", "13800138000-12", "12345",
                                    "15412345678", "0731-88988715转", "电话"])
def test_not_phones(number):
    assert not is_phone(number)


def test_email():
    assert is_email("lab@example.edu.cn")
    assert not is_email("zhang@") and not is_email("a b@c.cn") and not is_email(None)


def test_self_check_reads_contacts_alike(app):
    """The self-check's contact validity and the forms agree (both through these functions)."""
    from datetime import date

    today = date(2026, 6, 1)
    assert contact_problems("0731-88988715转123", "lab@example.edu.cn", today, today) == []
    assert contact_problems("15412345678", "lab@example", today, today) == ["phone_malformed", "email_malformed"]
