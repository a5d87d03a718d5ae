"""Display formats: money in 元 with thousands separators (万元 where forms use it), ISO dates."""
from decimal import Decimal

from flask_babel import gettext
from markupsafe import Markup, escape


def yuan(value):
    if value is None:
        return ""
    return gettext("%(amount)s yuan", amount=f"{Decimal(value):,.2f}")


def wan_yuan(value):
    if value is None:
        return ""
    return gettext("%(amount)s ten-thousand yuan", amount=f"{Decimal(value) / 10000:,.2f}")


def iso_date(value):
    return value.strftime("%Y-%m-%d") if value else ""


def iso_datetime(value):
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def yes_no(value):
    return gettext("Yes") if value else gettext("No")


def multiline(value):
    if not value:
        return ""
    return Markup("<br>".join(escape(line) for line in str(value).splitlines()))
