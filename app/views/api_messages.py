"""Chinese messages for the REST API: FAB and marshmallow answer in English."""
import re

from flask import g
from flask_babel import gettext, lazy_gettext as _

KNOWN = {
    "Missing data for required field.": _("This field is required."),
    "Unknown field.": _("Unknown field."),
    "Field may not be null.": _("This field cannot be empty."),
    "Not a valid string.": _("Enter text."),
    "Not a valid number.": _("Enter a number."),
    "Not a valid integer.": _("Enter a whole number."),
    "Not a valid boolean.": _("Enter true or false."),
    "Not a valid date.": _("Enter a date as YYYY-MM-DD."),
    "Not a valid datetime.": _("Enter a date and time as YYYY-MM-DDTHH:MM:SS."),
    "Request is not JSON": _("The request body must be JSON."),
    "Arguments are not correct": _("The request arguments are not valid."),
    "Could not process entity": _("The record could not be processed."),
    "Not authorized": _("Sign in first."),
    "Forbidden": _("Your role does not allow this action."),
    "Not found": _("The record does not exist, or is outside your scope."),
    "Fatal error": _("Something went wrong on our side. The error has been logged."),
}
ONE_OF = re.compile(r"^Must be one of: (?P<choices>.*)\.$")
DATABASE = re.compile(r"^Database exception occurred: (?P<detail>.*)$", re.S)


def translate(message):
    """Translate a message, or a dict/list of them, leaving unknown text (e.g. our own) as is."""
    if isinstance(message, dict):
        return {key: translate(value) for key, value in message.items()}
    if isinstance(message, list):
        return [translate(value) for value in message]
    if not isinstance(message, str):
        return message
    if message in KNOWN:
        return str(KNOWN[message])
    match = ONE_OF.match(message)
    if match:
        return gettext("Must be one of: %(choices)s.", choices=match.group("choices"))
    match = DATABASE.match(message)
    if match:  # FAB puts the raw database error here: explain it, never show SQL
        return str(g.get("write_refusal") or KNOWN["Could not process entity"])
    return message
