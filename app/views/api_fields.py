"""Instants in the REST API (SPEC §5): answered in Beijing time with its offset
(2026-06-09T07:30:00+08:00); taken without an offset as Beijing time, with one as the instant it names.
And the one reader of a request's fields for the hand-written endpoints (`read`).

FAB builds every API schema through marshmallow-sqlalchemy's ModelConverter and offers no hook for a
converter of our own, so the instant column type is registered in the converter's type table here,
once, when the views are imported."""
import json
import math
import re
from datetime import date

from flask import jsonify
from flask_babel import lazy_gettext as _
import prison
import sqlalchemy as sa
from marshmallow import fields
from marshmallow_sqlalchemy.convert import ModelConverter

from app import clock
from app.models.base import UtcDateTime
from app.services.money import settlement


class BeijingDateTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(clock.local(value), attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return clock.aware(super()._deserialize(value, attr, data, **kwargs))


ModelConverter.SQLA_TYPE_MAPPING[UtcDateTime] = BeijingDateTime


class DecimalNumber(fields.Decimal):
    """An exact amount (a Numeric column) read as a Decimal and answered as a JSON number, as the OpenAPI
    document says and the hand-written endpoints answer money (Flask would write a Decimal as text)."""

    def _serialize(self, value, attr, obj, **kwargs):
        number = super()._serialize(value, attr, obj, **kwargs)
        return None if number is None else float(number)


ModelConverter.SQLA_TYPE_MAPPING[sa.Numeric] = DecimalNumber


class BeijingMinute(fields.Field):
    """A slot's time as SPEC §5 writes it, Beijing time to the minute: 2026-12-08T10:00."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else clock.local(value).strftime("%Y-%m-%dT%H:%M")


# An Integer column (every primary key, every count) holds 32 bits on PostgreSQL; SQLite refuses past 64.
INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
MAX_DEPTH = 20  # nesting of a query's Rison or a body's JSON beyond any this API reads


_WHOLE = re.compile(r"-?[0-9]{1,19}")


def integer_text(value, minimum=INT_MIN, maximum=INT_MAX):
    """`value` (text from a URL, a query or a form) as an int when it is ASCII digits with an optional minus,
    within [minimum, maximum]; None for anything else ("²" and "--5" pass str.isdigit() or lstrip("-") and then
    crash int(); a number past a column crashes the query)."""
    text = str(value)
    if not _WHOLE.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def storable_text(value) -> bool:
    """Text a database can store: UTF-8 encodable (no lone surrogate) and without NUL (PostgreSQL refuses it)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _whole(value):
    if isinstance(value, bool) or not isinstance(value, int) or not INT_MIN <= value <= INT_MAX:
        raise TypeError(value)
    return value


def _string(value):
    if not isinstance(value, str) or not storable_text(value):
        raise TypeError(value)
    return value


# kind -> (conversion, message when it fails, whether "" counts as absent)
MSG_INSTANT = _("Enter a date and time as YYYY-MM-DDTHH:MM (Beijing time).")
MSG_DAY = _("Enter a date as YYYY-MM-DD.")
MSG_WHOLE = _("Enter a whole number.")
MSG_NUMBER = _("Enter a number.")
_READERS = {
    "instant": (lambda v: clock.parse_local(str(v)), MSG_INSTANT, True),
    "day": (lambda v: date.fromisoformat(str(v)), MSG_DAY, True),
    "integer": (_whole, MSG_WHOLE, False),
    "text": (_string, _("Enter text (without control characters that cannot be stored)."), False),
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


def read_fields(data, step, errors):
    """The values of a step's fields (app/services/steps.py) from a JSON body: {name: value}, each read by its
    kind; a number (an amount, hours) is passed on as a number or its text, which the service reads."""
    values = {}
    for name, kind in step.fields:
        if kind in ("amount", "number"):
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float, str, type(None))):
                errors[name] = str(settlement.MSG_AMOUNT if kind == "amount" else MSG_NUMBER)
            values[name] = value
        else:
            values[name] = read(data, name, errors, kind)
    return values


class BadInput(Exception):
    """Fields of a request that are not what they should be: {field: message}, answered 422."""

    def __init__(self, errors):
        self.errors = errors


MSG_BODY = _("The request body must be a JSON object of numbers a record can hold and storable text.")
MSG_ID = _("Give the related record's id (a whole number), or a list of ids where several are taken.")
MSG_KIND = _("This field takes a value of another kind (text, a whole number, a number, true/false or a date).")
MSG_TOO_BIG = _("This amount is larger than the field can hold.")


def body():
    """The request's JSON object ({} for an empty body); anything else is bad input."""
    from flask import request

    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not within_bounds(data):
        raise BadInput({"body": str(MSG_BODY)})
    return data


def _fits(column_type, value) -> bool:
    """Whether a JSON value is of the kind a column takes, and within its size (null is FAB's to judge)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(column_type, sa.Boolean):
        return isinstance(value, bool)
    if isinstance(column_type, sa.String):  # Text and the choices' Enum too
        return isinstance(value, str)
    if isinstance(column_type, sa.Numeric):
        whole_digits = (column_type.precision or 15) - (column_type.scale or 0)
        return number and abs(value) < 10 ** whole_digits
    if isinstance(column_type, sa.Integer):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(column_type, (sa.Date, sa.DateTime, sa.Time)):
        return isinstance(value, str)
    return True


def generic_write_problems(model, columns, data) -> dict:
    """{field: message} for a body FAB's generic add or edit would crash on (a nested object where an id is
    expected, a boolean where text is, an amount past its column): one reader for every API's write, which
    leaves what it passes to FAB's schema and the rules."""
    if data is None:
        return {}  # not JSON at all: FAB answers that itself (400)
    if not isinstance(data, dict) or not within_bounds(data):
        return {"body": str(MSG_BODY)}
    mapper, errors = sa.inspect(model), {}
    for key, value in data.items():
        if key not in columns or value is None:
            continue  # unknown fields and nulls: FAB's schema answers them
        if key in mapper.relationships:
            relation = mapper.relationships[key]
            text_key = isinstance(relation.mapper.primary_key[0].type, sa.String)

            def is_key(v, text_key=text_key):
                return isinstance(v, str) if text_key else (isinstance(v, int) and not isinstance(v, bool))

            if not (all(is_key(v) for v in value) if relation.uselist and isinstance(value, list) else
                    not relation.uselist and is_key(value)):
                errors[key] = str(MSG_ID)
        elif key in mapper.columns and not _fits(mapper.columns[key].type, value):
            kind = mapper.columns[key].type
            errors[key] = str(MSG_TOO_BIG if isinstance(kind, sa.Numeric) and isinstance(value, (int, float))
                              and not isinstance(value, bool) else MSG_KIND)
    return errors


def refusal_status(error, forbidden, conflict) -> int:
    """The HTTP status of a refusal: 422 bad input, 403 not allowed, 409 a state that does not allow it."""
    code = getattr(error, "code", None)
    if code in conflict:
        return 409
    if code in forbidden:
        return 403
    return 422


def within_bounds(value, depth=0) -> bool:
    """Whether a parsed query or body holds only what this API can read: numbers a database column can hold,
    storable text, and nesting no deeper than MAX_DEPTH (prison and FAB's schemas crash on the rest)."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return INT_MIN <= value <= INT_MAX
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) < 1e15
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return all(within_bounds(k, depth + 1) and within_bounds(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(within_bounds(v, depth + 1) for v in value)
    return False


def parse_query(value):
    """The `q` argument of FAB's lists and `_info`, as FAB reads it (Rison, else JSON); None when it is neither."""
    try:
        return prison.loads(value)
    except Exception:  # noqa: BLE001  (prison raises IndexError, RecursionError, TypeError… beside ParserException)
        pass
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


def guard_query():
    """Every REST list and `_info` reads `q` (one guard for all of them): anything FAB's Rison decorator would
    crash on — not an object, numbers past a column, unstorable text, runaway nesting — is answered 400."""
    from flask import request

    if not request.path.startswith("/api/") or "q" not in request.args:
        return None
    parsed = parse_query(request.args["q"])
    if not isinstance(parsed, dict) or not within_bounds(parsed):
        return jsonify(message=str(_("The query argument q is not a valid Rison object."))), 400
    return None
