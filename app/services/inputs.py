"""Typed or sent values read once for the rules: a whole number within bounds (a sample count, a score),
text that fits its column."""
from flask_babel import lazy_gettext as _


def too_long(errors, field, value, column):
    """Put a Chinese message in errors[field] when `value` is longer than `column` holds (a String's length;
    PostgreSQL refuses the row, SQLite stores it whole). True when it is."""
    length = getattr(column.type, "length", None)
    if length is None or value is None or len(str(value).strip()) <= length:
        return False
    errors.setdefault(field, _("At most %(n)s characters.", n=length))
    return True


def whole_number(errors, field, value, message, minimum=0, maximum=None):
    """`value` (an int, or its digits as text) as an int within [minimum, maximum]; None when blank.
    Anything else — a fraction, a word, true/false, out of bounds — puts `message` in errors[field]."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    fits = number is not None and number >= minimum and (maximum is None or number <= maximum)
    if isinstance(value, bool) or not fits or str(value).strip().lstrip("+") != str(number):
        errors[field] = message
        return None
    return number


MSG_UNSTORABLE = _("This text holds characters that cannot be stored (a NUL or a broken character).")


def free_text(errors, field, value, length=None):
    """Typed text (a note, remarks, findings) stripped, or None when blank; text a database cannot store (a NUL,
    which PostgreSQL refuses; a lone surrogate) or longer than `length` puts a Chinese message in errors[field]."""
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        errors[field] = MSG_UNSTORABLE
        return None
    if length is not None and len(text) > length:
        errors[field] = _("At most %(n)s characters.", n=length)
        return None
    return text or None
