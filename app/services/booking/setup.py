"""Rules for what a lab keeps about booking its instruments: authorisations to operate, booking
rules, opening hours and closures. Each raises RuleViolation {field: message}; nothing is written."""
from __future__ import annotations

from flask_babel import lazy_gettext as _
import sqlalchemy as sa

from app.models import Authorisation, BookingRule, OpeningHours

from app.services.iot import interlock
from app.services.errors import RuleViolation

MSG_AUTH_TWICE = _("This user already has an authorisation for this instrument; edit that one instead.")
MSG_AUTH_REASON = _("Give the reason for suspending or revoking the authorisation.")
MSG_AUTH_FUTURE = _("An authorisation cannot be granted on a future day.")
MSG_RULE_TWICE = _("This instrument already has booking rules; edit them instead.")
MSG_NO_MODE = _("Accept at least one kind of booking.")
MSG_SLOTS = _("The longest slot cannot be shorter than the shortest.")
MSG_POSITIVE = _("Enter a number above zero.")
MSG_NOT_NEGATIVE = _("Enter zero or more.")
MSG_HOURS_ORDER = _("Closing time must be after opening time.")
MSG_HOURS_OVERLAP = _("This interval overlaps another opening interval of the same weekday.")
MSG_WEEKDAY = _("Choose a weekday.")
MSG_CLOSURE_ORDER = _("The end must be after the start.")
MSG_GRACE = _("Give a grace of 0 to 240 minutes.")


def _id(item, relation, column):
    related = getattr(item, relation)
    return related.id if related is not None else getattr(item, column)


def validate_authorisation(session, item: Authorisation, today=None):
    errors = {}
    if item.state in ("suspended", "revoked") and not (item.reason or "").strip():
        errors["reason"] = MSG_AUTH_REASON
    if today is not None and item.granted_on is not None and item.granted_on > today:
        errors["granted_on"] = MSG_AUTH_FUTURE
    user_id, instrument_id = _id(item, "user", "user_id"), _id(item, "instrument", "instrument_id")
    query = sa.select(Authorisation.id).where(Authorisation.user_id == user_id, Authorisation.instrument_id == instrument_id)
    if item.id is not None:
        query = query.where(Authorisation.id != item.id)
    if user_id is not None and session.execute(query).first():
        errors["user"] = MSG_AUTH_TWICE
    if errors:
        raise RuleViolation(errors)


def validate_rule(session, item: BookingRule):
    errors = {}
    if not (item.accepts_self_operated or item.accepts_sample or item.accepts_service):
        errors["accepts_self_operated"] = MSG_NO_MODE
    for field in ("min_slot_minutes", "max_slot_minutes"):
        if getattr(item, field) is not None and getattr(item, field) <= 0:
            errors[field] = MSG_POSITIVE
    for field in ("max_days_ahead", "min_hours_ahead", "cancel_hours_before"):
        if getattr(item, field) is not None and getattr(item, field) < 0:
            errors[field] = MSG_NOT_NEGATIVE
    if not errors and item.max_slot_minutes is not None and item.min_slot_minutes is not None \
            and item.max_slot_minutes < item.min_slot_minutes:
        errors["max_slot_minutes"] = MSG_SLOTS
    instrument_id = _id(item, "instrument", "instrument_id")
    if item.interlock_grace_minutes is not None and not 0 <= item.interlock_grace_minutes <= 240:
        errors["interlock_grace_minutes"] = MSG_GRACE
    if item.interlock and instrument_id is not None:
        problem = interlock.check_terminal(session, instrument_id)
        if problem is not None:
            errors["interlock"] = problem
    query = sa.select(BookingRule.id).where(BookingRule.instrument_id == instrument_id)
    if item.id is not None:
        query = query.where(BookingRule.id != item.id)
    if session.execute(query).first():
        errors["instrument"] = MSG_RULE_TWICE
    if errors:
        raise RuleViolation(errors)


def validate_hours(session, item: OpeningHours):
    if item.weekday is None or not 0 <= int(item.weekday) <= 6:
        raise RuleViolation({"weekday": MSG_WEEKDAY})
    if item.opens is None or item.closes is None or item.closes <= item.opens:
        raise RuleViolation({"closes": MSG_HOURS_ORDER})
    instrument_id = _id(item, "instrument", "instrument_id")
    query = sa.select(OpeningHours).where(OpeningHours.instrument_id == instrument_id,
                                          OpeningHours.weekday == int(item.weekday),
                                          OpeningHours.opens < item.closes, OpeningHours.closes > item.opens)
    if item.id is not None:
        query = query.where(OpeningHours.id != item.id)
    if session.execute(query).first():
        raise RuleViolation({"opens": MSG_HOURS_OVERLAP})


def validate_closure(session, item):
    if item.starts_at is None or item.ends_at is None or item.ends_at <= item.starts_at:
        raise RuleViolation({"ends_at": MSG_CLOSURE_ORDER})
