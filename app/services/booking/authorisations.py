"""Who may operate an instrument themselves: an authorisation (上机资格) is active until it is suspended or
revoked, and lapses after the configured months without use (counted from its grant or its last use, month by
calendar month, the 31st falling back to a short month's last day)."""
from datetime import date

import sqlalchemy as sa

from app.models import Authorisation


def _months_before(day: date, months: int) -> date:
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, last))


def effective_state(authorisation: Authorisation, today: date, settings) -> str:
    """Its state, with the lapse after the configured months without use applied."""
    if authorisation.state != "active":
        return authorisation.state
    last = max(d for d in (authorisation.granted_on, authorisation.last_used_on) if d is not None)
    return "lapsed" if last < _months_before(today, settings.authorisation_lapse_months) else "active"


def valid_authorisation(session, user_id, instrument_id, today: date, settings):
    found = session.execute(sa.select(Authorisation).where(Authorisation.user_id == user_id,
                                                           Authorisation.instrument_id == instrument_id)).scalar_one_or_none()
    return found if found is not None and effective_state(found, today, settings) == "active" else None
