"""Instants in the REST API (SPEC §5): answered in Beijing time with its offset
(2026-06-09T07:30:00+08:00); taken without an offset as Beijing time, with one as the instant it names.
And the one reader of a request's fields for the hand-written endpoints (`read`).

FAB builds every API schema through marshmallow-sqlalchemy's ModelConverter and offers no hook for a
converter of our own, so the instant column type is registered in the converter's type table here,
once, when the views are imported."""
from datetime import date

from flask_babel import lazy_gettext as _
from marshmallow import fields
from marshmallow_sqlalchemy.convert import ModelConverter

from app import clock
from app.models.base import UtcDateTime


class BeijingDateTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(clock.local(value), attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return clock.aware(super()._deserialize(value, attr, data, **kwargs))


ModelConverter.SQLA_TYPE_MAPPING[UtcDateTime] = BeijingDateTime


class BeijingMinute(fields.Field):
    """A slot's time as SPEC §5 writes it, Beijing time to the minute: 2026-12-08T10:00."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else clock.local(value).strftime("%Y-%m-%dT%H:%M")


def _whole(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _string(value):
    if not isinstance(value, str):
        raise TypeError(value)
    return value


# kind -> (conversion, message when it fails, whether "" counts as absent)
_READERS = {
    "instant": (lambda v: clock.parse_local(str(v)), _("Enter a date and time as YYYY-MM-DDTHH:MM (Beijing time)."), True),
    "day": (lambda v: date.fromisoformat(str(v)), _("Enter a date as YYYY-MM-DD."), True),
    "integer": (_whole, _("Enter a whole number."), False),
    "text": (_string, _("Enter text."), False),
}


def read(data, key, errors, kind):
    """data[key] as `kind` (instant: Beijing time without an offset; day; integer; text), None when
    absent; a value that is not one puts its Chinese message in errors[key] and gives None."""
    convert, message, blank_is_absent = _READERS[kind]
    value = data.get(key)
    if value is None or (blank_is_absent and value == ""):
        return None
    try:
        return convert(value)
    except (ValueError, TypeError):
        errors[key] = str(message)
        return None


class BadInput(Exception):
    """Fields of a request that are not what they should be: {field: message}, answered 422."""

    def __init__(self, errors):
        self.errors = errors


def body():
    """The request's JSON object ({} for an empty body); anything else is bad input."""
    from flask import request

    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadInput({"body": str(_("The request body must be JSON."))})
    return data


def refusal_status(error, forbidden, conflict) -> int:
    """The HTTP status of a refusal: 422 bad input, 403 not allowed, 409 a state that does not allow it."""
    code = getattr(error, "code", None)
    if code in conflict:
        return 409
    if code in forbidden:
        return 403
    return 422
