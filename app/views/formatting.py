"""Display formats: money in 元 with thousands separators (万元 where forms use it), ISO dates, instants in
Beijing time."""
from decimal import Decimal

from flask import current_app
from flask_babel import gettext
from markupsafe import Markup, escape

from app import clock
from app.models.choices import DEVICE_STATE
from app.services.iot.status import offline_window, shown_state


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


def beijing_datetime(value):
    """An instant as the offices read it: Beijing time (app/clock.py), to the minute."""
    return clock.display(value)


def yes_no(value):
    return gettext("Yes") if value else gettext("No")


def multiline(value):
    if not value:
        return ""
    return Markup("<br>".join(escape(line) for line in str(value).splitlines()))


# bootstrap 3 label classes of the terminal states
_BADGE = {"running": "success", "idle": "info", "off": "default", "fault": "danger", "offline": "warning"}


def offline_after():
    """The configured window after which a silent terminal shows as offline (IOT_OFFLINE_AFTER_MINUTES)."""
    return offline_window(current_app.config)


def device_badge(status):
    """(state reported, last heard) → a coloured badge of the state shown now (a terminal silent
    for longer than the offline window is offline) and the local time it was last heard; blank
    without a terminal."""
    reported, seen_at = status if status else (None, None)
    state = shown_state(reported, seen_at, clock.now(), offline_after())
    if state is None:
        return ""
    seen = gettext("last seen %(time)s", time=clock.display(seen_at, "%m-%d %H:%M")) if seen_at else ""
    return Markup('<span class="label label-{}">{}</span> <small class="text-muted">{}</small>').format(
        _BADGE.get(state, "default"), DEVICE_STATE.label(state), seen)


def ratings(averages):
    """4.6 (12 evaluations; attitude 4.7, timeliness 4.5, quality 4.6), or that there are none yet."""
    from flask_babel import gettext

    if not averages.count:
        return gettext("No evaluations yet")
    text = gettext("%(score)s of 5 (%(count)s evaluations)", score=averages.score, count=averages.count)
    if averages.attitude is not None:
        text += " " + gettext("attitude %(a)s, timeliness %(t)s, quality %(q)s", a=averages.attitude,
                              t=averages.timeliness, q=averages.quality)
    return text
