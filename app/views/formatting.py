"""Display formats: money in 元 with thousands separators (万元 where forms use it), ISO dates."""
from decimal import Decimal

from flask_babel import gettext, to_user_timezone
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


def local_datetime(value):
    """A stored (naive UTC) time in the platform's time zone."""
    return to_user_timezone(value).strftime("%Y-%m-%d %H:%M") if value else ""


def yes_no(value):
    return gettext("Yes") if value else gettext("No")


def multiline(value):
    if not value:
        return ""
    return Markup("<br>".join(escape(line) for line in str(value).splitlines()))


# bootstrap 3 label classes of the terminal states
_BADGE = {"running": "success", "idle": "info", "off": "default", "fault": "danger", "offline": "warning"}


def device_badge(status):
    """(state, last heard) → a coloured badge and the local time it was last heard; blank without a terminal."""
    from app.models.choices import DEVICE_STATE

    state, seen_at = status if status else (None, None)
    if state is None:
        return ""
    seen = gettext("last seen %(time)s", time=to_user_timezone(seen_at).strftime("%m-%d %H:%M")) if seen_at else ""
    return Markup('<span class="label label-{}">{}</span> <small class="text-muted">{}</small>').format(
        _BADGE.get(state, "default"), DEVICE_STATE.label(state), seen)
