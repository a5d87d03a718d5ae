"""What the screens' forms read and say: a service rule as a field validator, a refusal flashed, a typed
day or Beijing time, a step's fields read from a form (app/services/steps.py), a redirect kept on this site,
and the date-time field typed in Beijing time."""
from datetime import date
from urllib.parse import urlsplit

from flask import flash, request
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from wtforms import DateTimeField, ValidationError

from app import clock
from app.extensions import db
from app.services.errors import RuleViolation

from .api_fields import MSG_DAY, MSG_INSTANT, MSG_WHOLE, integer_text


def field_rule(check, *other_fields):
    """Wrap a service check (value[, other values]) -> message|None as a WTForms validator."""

    def validator(form, field):
        others = [form[name].data for name in other_fields]
        message = check(*others, field.data) if others else check(field.data)
        if message:
            raise ValidationError(str(message))

    return validator


def flash_refusal(refusal):
    """A rule's refusal on a screen's action: nothing written, each message flashed (in Chinese)."""
    db.session.rollback()
    for message in (refusal.errors.values() if isinstance(refusal, RuleViolation) else [refusal.message]):
        flash(message, "danger")


def form_instant(value):
    """A form's Beijing date and time (YYYY-MM-DDTHH:MM); None when blank, "bad" when it is not one."""
    try:
        return clock.parse_local(value) if value else None
    except ValueError:
        return "bad"


def form_day(value):
    """A form's day (YYYY-MM-DD); None when blank, "bad" when it is not one."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return "bad"


def form_fields(form, step):
    """The values of a step's fields (app/services/steps.py) from a screen's form: {name: value}; a day or a
    time that is not one is refused with its field's message."""
    values, errors = {}, {}
    for name, kind in step.fields:
        raw = form.get(name)
        if kind in ("instant", "day"):
            value = (form_instant if kind == "instant" else form_day)(raw)
            if value == "bad":
                errors[name] = MSG_INSTANT if kind == "instant" else MSG_DAY
                value = None
        elif kind == "integer":
            value = integer_text(raw) if raw else None
            if raw and value is None:
                errors[name] = MSG_WHOLE
        elif kind in ("amount", "number"):
            value = raw or None  # the service reads the number, and says what is wrong with it
        else:
            value = raw
        values[name] = value
    if errors:
        raise RuleViolation(errors)
    return values


def back_on_this_site(target, fallback):
    """A redirect target from the request (a form's field, the Referer) only when it is a page of this site,
    as a path: never an open redirect to another host (`//evil.example`, `https:evil.example`, `/\\evil`)."""
    parts = urlsplit(target or "")
    same_host = not parts.netloc or parts.netloc == request.host
    path = parts.path or ""
    if not target or not same_host or parts.scheme not in ("", "http", "https") or not path.startswith("/") \
            or path.startswith("//") or "\\" in target:
        return fallback
    return path + (f"?{parts.query}" if parts.query else "")


class BeijingDateTimeField(DateTimeField):
    """A date and time typed as Beijing time (YYYY-MM-DD HH:MM; a bare date is its midnight), shown back
    in Beijing time. A plain text box: FAB's date-time picker writes dates only."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("widget", BS3TextFieldWidget())
        kwargs.setdefault("render_kw", {"placeholder": "2026-12-08 10:00"})
        super().__init__(label, validators, format=["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"], **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return clock.display(self.data) if self.data else ""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = clock.aware(self.data)  # typed without an offset: Beijing time


def blank_if_none(value):
    return "" if value is None else value
