"""Verifying the published contacts (notice §(三)2: no 空号, no 停机; issue 23, item 5).

A lab calls each published contact and records what the call found (`record_call`); a contact is due to be called
again `recheck_days` after it was last found reachable (`to_verify`). A call that finds the number does not exist,
is out of service or reaches someone else opens a correction, due 5 working days after the call
(deadlines.corrections), which closes when the published phone changes or a later call reaches it. Nothing is ever
concluded from the number itself: a well-formed number may be dead, and only a call tells.
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.models import ContactCall, Instrument
from app.models.choices import CALL_RESULT

from app.services.actors import require_lab_side
from app.services.errors import PolicyDenied, RuleViolation
from app.services.inputs import free_text
from app.services.people import upkeep_notices

DEAD = ("vacant", "suspended", "wrong_person")  # the contact must be corrected
MSG_NO_CONTACT = _("This instrument publishes no phone number to call: fill in its contact first.")
MSG_RESULT = _("Choose what the call found.")


def record_call(session, actor, instrument_id: int, result: str, note: str | None, now) -> ContactCall:
    """A call to the instrument's published phone, by `actor` (its lab side) at `now`; a reachable contact is
    verified as of the day of the call."""
    instrument = session.get(Instrument, instrument_id)
    if instrument is None:
        raise PolicyDenied("out_of_scope", MSG_NO_CONTACT)
    require_lab_side(session, actor, instrument.id)
    errors = {}
    note = free_text(errors, "note", note, ContactCall.__table__.c.note.type.length)
    if result not in CALL_RESULT.codes:
        errors["result"] = MSG_RESULT
    if errors:
        raise RuleViolation(errors)
    if not (instrument.contact_phone or "").strip():
        raise RuleViolation({"result": MSG_NO_CONTACT})
    call = ContactCall(instrument_id=instrument.id, phone=instrument.contact_phone, result=result,
                       note=note, called_by_id=actor.user_id, called_at=now)
    session.add(call)
    if result == "reachable":
        instrument.contact_verified_on = clock.local_date(now)
        session.info["actor_id"] = actor.user_id
    elif result in DEAD and actor.unit_path != instrument.unit.path:  # found by the college or the school
        upkeep_notices.contact_dead(session, instrument, CALL_RESULT.label(result), now)
    return call


def to_verify(session, unit_ids, today, recheck_days: int):
    """Records in service that publish a phone not found reachable within `recheck_days` days (or never), in
    `unit_ids` (None: all), the longest unverified first."""
    scope = sa.true() if unit_ids is None else Instrument.unit_id.in_(unit_ids)
    return session.execute(
        sa.select(Instrument.id, Instrument.name, Instrument.asset_number, Instrument.unit_id, Instrument.contact_phone,
                  Instrument.contact_verified_on)
        .where(scope, Instrument.in_service, sa.func.coalesce(Instrument.contact_phone, "") != "",
               sa.or_(Instrument.contact_verified_on.is_(None),
                      Instrument.contact_verified_on < today - timedelta(days=recheck_days)))
        .order_by(Instrument.contact_verified_on.asc().nulls_first(), Instrument.id)).all()


def latest_calls():
    """Each instrument's latest call, as a subquery (instrument_id, phone, result, called_at)."""
    ranked = sa.select(ContactCall.instrument_id, ContactCall.phone, ContactCall.result, ContactCall.called_at,
                       sa.func.row_number().over(partition_by=ContactCall.instrument_id,
                                                 order_by=(ContactCall.called_at.desc(), ContactCall.id.desc()))
                       .label("n")).subquery()
    return sa.select(ranked.c.instrument_id, ranked.c.phone, ranked.c.result, ranked.c.called_at).where(ranked.c.n == 1).subquery()


def dead_call(result, called_phone, phone) -> str | None:
    """The latest call's result when it found the phone dead and the phone published is still the one called."""
    return result if result in DEAD and called_phone == phone else None


def calls_summary(session, unit_ids, first, last) -> dict:
    """The calls made between the instants `first` and `last` to records in `unit_ids` (None: all), by result; how
    many records they found dead, and how many of those have since been corrected (a new phone, or reached)."""
    scope = sa.true() if unit_ids is None else Instrument.unit_id.in_(unit_ids)
    rows = session.execute(sa.select(ContactCall.instrument_id, ContactCall.result)
                           .join(Instrument, Instrument.id == ContactCall.instrument_id)
                           .where(scope, ContactCall.called_at >= first, ContactCall.called_at <= last)).all()
    dead = {row.instrument_id for row in rows if row.result in DEAD}
    latest = latest_calls()
    still_dead = set(session.execute(sa.select(Instrument.id).join(latest, latest.c.instrument_id == Instrument.id)
                                     .where(Instrument.id.in_(dead), latest.c.result.in_(DEAD),
                                            Instrument.contact_phone == latest.c.phone)).scalars()) if dead else set()
    by_result = {code: 0 for code in CALL_RESULT.codes}
    for row in rows:
        by_result[row.result] += 1
    return {"calls": len(rows), "by_result": by_result, "dead": len(dead), "corrected": len(dead - still_dead)}
