"""The monthly self-check and the quarterly review (notice §(三)3; issue 23, item 4).

A lab goes through its networked records once a month (`confirm`: one record at a time) and signs the month's
check off (`sign`). Each record's run status, location, contact, fee standard and indicators are found confirmed
or corrected from what happened since the check was opened — an edit in the change log, a fee standard published —
so the lab corrects a record on its own form and the check says so; nobody claims a correction that is not there.
The unit above the lab (its college; for a lab directly under the school, the school) — or the school — reviews
the checks each quarter: approves each signed check or returns it with remarks (`decide`; never one its reviewer
signed), then signs its review off once the quarter has ended (`sign_review`). A check signed after its quarter's
review reopens the review. Due dates: check_periods.Terms and deadlines.py. A lab owes a check for each month from
the duty's first month, or from the month its first record was networked if later, while it holds networked
records (`checking_labs`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import clock
from app.models import ChangeLog, CheckItem, CheckRecord, FeeStandard, FeeStandardEvent, Instrument, Unit

from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation
from app.services.inputs import free_text
from app.services.people import upkeep_notices
from app.services.upkeep.check_periods import (Terms, is_month, is_quarter, last_day, month_of,  # noqa: F401
                                               months_between, months_of, quarter_of)

# the checklist: each item and the record's columns whose edit during the check makes it "corrected" (the fee
# standard also by a standard of the record published since: the published one is not an edited column)
CHECKLIST = {
    "run_status": ("run_status",),
    "location": ("location",),
    "contact": ("responsible_person_id", "contact_phone", "contact_email"),
    "fee_standard": ("public_standard_id",),
    "indicators": ("technical_indicators", "main_functions"),
}
DONE = ("signed", "approved")  # a monthly check the lab has done (approved: and its college has accepted it)
EDITABLE = ("open", "returned")  # the lab goes through its records and signs

MSG_PERIOD = _("Choose a month from the first month of self-checks to this month.")
MSG_NOT_LAB = _("Only a laboratory's own administrators, or those above it, do its self-check.")
MSG_CLOSED = _("This self-check is signed off; it can only be changed after the college returns it.")
MSG_NOT_CHECKED = _("This record is not among the laboratory's networked records.")
MSG_UNCONFIRMED = _("%(count)s networked records are not gone through yet.")
MSG_NOT_REVIEWER = _("Only the college above the laboratory (or the school) reviews its self-checks.")
MSG_OWN_WORK = _("A self-check is reviewed by someone other than the one who signed it off.")
MSG_NOT_SIGNED = _("Only a signed-off self-check can be approved or returned.")
MSG_REMARKS = _("Say why the self-check is returned.")
MSG_UNDECIDED = _("%(count)s signed-off self-checks of the quarter are still to be approved or returned.")
MSG_QUARTER = _("Choose a quarter that has ended, from the first quarter of self-checks.")
MSG_NO_LABS = _("No laboratory under this unit holds networked records: it has no quarterly review.")


# -- who owes, who checks, who reviews ----------------------------------------------------------------------

def owes_checks():
    """Which units owe the monthly self-check: labs holding networked records (the check goes through them)."""
    return sa.and_(Unit.level == "lab",
                   sa.exists().where(Instrument.unit_id == Unit.id, Instrument.networked.is_(True)))


def checking_labs(session, unit_ids, since: str) -> list:
    """The labs in `unit_ids` (None: all) that owe checks, each with `first`: the first month it owes (the duty's
    first month, or the month its first record was networked if later), in id order."""
    scope = sa.true() if unit_ids is None else Unit.id.in_(unit_ids)
    networked_on = (sa.select(sa.func.min(Instrument.networked_on)).where(Instrument.unit_id == Unit.id)
                    .scalar_subquery())
    rows = session.execute(sa.select(Unit.id, Unit.name, Unit.parent_id, networked_on.label("networked_on"))
                           .where(scope, owes_checks()).order_by(Unit.id)).all()
    return [Lab(r.id, r.name, r.parent_id, max(since, month_of(r.networked_on)) if r.networked_on else since)
            for r in rows]


@dataclass(frozen=True)
class Lab:
    id: int
    name: str
    parent_id: int | None
    first: str  # the first month it owes a check

    def owes(self, month: str, today: date) -> bool:
        return self.first <= month <= month_of(today)


def _lab(session, lab_id) -> Unit | None:
    unit = session.get(Unit, lab_id) if isinstance(lab_id, int) else None
    return unit if unit is not None and unit.level == "lab" else None


def _require_lab_side(actor: Actor, lab: Unit | None):
    if lab is None or not actor.is_admin or not actor.covers(lab.path):
        raise PolicyDenied("out_of_chain", MSG_NOT_LAB)


def may_review(actor: Actor, unit: Unit | None) -> bool:
    """The actor administers the reviewing unit (a lab's parent) or one above it."""
    return (unit is not None and unit.level != "lab" and actor.is_admin and actor.unit_level != "lab"
            and actor.covers(unit.path))


def checked_records(session, lab_id: int):
    """The lab's networked records, which its monthly self-check goes through."""
    return session.execute(sa.select(Instrument).where(Instrument.unit_id == lab_id, Instrument.networked.is_(True))
                           .options(selectinload(Instrument.responsible_person))
                           .order_by(Instrument.id)).scalars().all()


def _locked(session, check_id) -> CheckRecord | None:
    """The check, its row locked and read afresh (what another transaction committed before the lock counts)."""
    if not isinstance(check_id, int):
        return None
    return session.get(CheckRecord, check_id, with_for_update=True, populate_existing=True)


def _review_of(session, lab: Unit, period: str, lock=False) -> CheckRecord | None:
    query = sa.select(CheckRecord).where(CheckRecord.kind == "quarterly", CheckRecord.unit_id == lab.parent_id,
                                         CheckRecord.period == quarter_of(period))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar()


# -- the lab's monthly check ------------------------------------------------------------------------------

def open_check(session, actor: Actor, lab_id: int, period: str, now, since: str) -> CheckRecord:
    """The lab's check of `period`, opened now if it was not (two openings at once: the constraint keeps one)."""
    lab = _lab(session, lab_id)
    _require_lab_side(actor, lab)
    if not is_month(period) or not since <= period <= month_of(clock.local_date(now)):
        raise RuleViolation({"period": MSG_PERIOD})
    query = sa.select(CheckRecord).where(CheckRecord.unit_id == lab.id, CheckRecord.kind == "monthly",
                                         CheckRecord.period == period)
    check = session.execute(query).scalar()
    if check is None:
        try:
            with session.begin_nested():
                check = CheckRecord(unit_id=lab.id, kind="monthly", period=period, state="open", opened_at=now)
                session.add(check)
        except sa.exc.IntegrityError:
            check = session.execute(query).scalar_one()
    return check


def _editable(session, actor: Actor, check_id) -> CheckRecord:
    check = _locked(session, check_id)
    if check is None or check.kind != "monthly":
        raise PolicyDenied("not_found", MSG_NOT_LAB)
    _require_lab_side(actor, check.unit)
    if check.state not in EDITABLE:
        raise RuleViolation({"check": MSG_CLOSED})
    return check


def corrected_items(session, instrument_id: int, since) -> set:
    """The checklist items the record had corrected at or after `since`: its fields edited (the change log), a fee
    standard of it published."""
    fields = set(session.execute(sa.select(ChangeLog.field).where(
        ChangeLog.table_name == "instrument", ChangeLog.record_id == instrument_id, ChangeLog.changed_at >= since)).scalars())
    published = session.execute(sa.select(FeeStandardEvent.id).join(FeeStandard, FeeStandard.id == FeeStandardEvent.standard_id)
                                .where(FeeStandard.instrument_id == instrument_id, FeeStandardEvent.to_state == "published",
                                       FeeStandardEvent.at >= since).limit(1)).first()
    found = {item for item, columns in CHECKLIST.items() if fields & set(columns)}
    return found | {"fee_standard"} if published else found


def confirm(session, actor: Actor, check_id, instrument_id, note: str | None, now) -> CheckItem:
    """The lab has gone through one record: each item is confirmed, or corrected if corrected since the check
    opened."""
    check = _editable(session, actor, check_id)
    errors = {}
    note = free_text(errors, "note", note, CheckItem.__table__.c.note.type.length)
    if errors:
        raise RuleViolation(errors)
    record = session.get(Instrument, instrument_id) if isinstance(instrument_id, int) else None
    if record is None or record.unit_id != check.unit_id or not record.networked:
        raise RuleViolation({"instrument": MSG_NOT_CHECKED})
    corrected = corrected_items(session, record.id, check.opened_at)
    item = session.execute(sa.select(CheckItem).where(CheckItem.check_id == check.id,
                                                      CheckItem.instrument_id == record.id)).scalar()
    if item is None:
        item = CheckItem(instrument_id=record.id)
        check.items.append(item)
    for name in CHECKLIST:
        setattr(item, name, "corrected" if name in corrected else "confirmed")
    item.note, item.confirmed_by_id, item.confirmed_at = note, actor.user_id, now
    return item


def unconfirmed(session, check: CheckRecord) -> list:
    done = set(session.execute(sa.select(CheckItem.instrument_id).where(CheckItem.check_id == check.id)).scalars())
    return [r for r in checked_records(session, check.unit_id) if r.id not in done]


def sign(session, actor: Actor, check_id, findings: str | None, now) -> CheckRecord:
    """The lab signs its month's check off once every networked record has been gone through; a review of the
    quarter signed before it is reopened (the unit above reviews this check too)."""
    check = _editable(session, actor, check_id)
    errors = {}
    findings = free_text(errors, "findings", findings)
    if errors:
        raise RuleViolation(errors)
    left = unconfirmed(session, check)
    if left:
        raise RuleViolation({"check": MSG_UNCONFIRMED % {"count": len(left)}})
    check.state, check.signed_by_id, check.checked_on = "signed", actor.user_id, clock.local_date(now)
    check.findings = findings
    review = _review_of(session, check.unit, check.period, lock=True)
    if review is not None and review.state == "signed":
        review.state = "open"
    return check


# -- the quarterly review -----------------------------------------------------------------------------------

def decide(session, actor: Actor, check_id, approve: bool, remarks: str | None, now) -> CheckRecord:
    """The reviewing unit approves a lab's signed-off check, or returns it with remarks (the lab reworks it)."""
    check = _locked(session, check_id)
    if check is None or check.kind != "monthly":
        raise PolicyDenied("not_found", MSG_NOT_REVIEWER)
    if not may_review(actor, session.get(Unit, check.unit.parent_id)):
        raise PolicyDenied("out_of_chain", MSG_NOT_REVIEWER)
    if check.state != "signed":
        raise RuleViolation({"check": MSG_NOT_SIGNED})
    if check.signed_by_id is not None and check.signed_by_id == actor.user_id:
        raise RuleViolation({"check": MSG_OWN_WORK})
    errors = {}
    remarks = free_text(errors, "remarks", remarks)
    if not approve and remarks is None:
        errors.setdefault("remarks", MSG_REMARKS)
    if errors:
        raise RuleViolation(errors)
    check.state = "approved" if approve else "returned"
    check.reviewed_by_id, check.reviewed_at, check.remarks = actor.user_id, now, remarks
    if not approve:
        upkeep_notices.check_returned(session, check, now)
    return check


@dataclass(frozen=True)
class QuarterState:
    """A reviewing unit's quarter: its labs (checking_labs), their monthly checks by (lab id, month), the review."""

    unit: Unit
    quarter: str
    labs: list
    checks: dict
    review: CheckRecord | None

    def undecided(self) -> list:
        return [c for c in self.checks.values() if c.state == "signed"]

    def not_done(self, today: date) -> list:
        """(lab, month) owed by today with no check signed off (none, or still open)."""
        return [(lab, m) for lab in self.labs for m in months_of(self.quarter) if lab.owes(m, today)
                and (self.checks.get((lab.id, m)) is None or self.checks[lab.id, m].state == "open")]


def quarter_state(session, unit_id: int, quarter: str, since: str, lock=False) -> QuarterState:
    unit = session.get(Unit, unit_id)
    labs = [lab for lab in checking_labs(session, None, since) if lab.parent_id == unit_id]
    query = sa.select(CheckRecord).where(CheckRecord.kind == "monthly", CheckRecord.unit_id.in_([lab.id for lab in labs]),
                                         CheckRecord.period.in_(months_of(quarter)))
    if lock:  # a check signed meanwhile is seen, and waits for the review's decision
        query = query.with_for_update().execution_options(populate_existing=True)
    checks = session.execute(query).scalars().all()
    review = session.execute(sa.select(CheckRecord).where(
        CheckRecord.kind == "quarterly", CheckRecord.unit_id == unit_id, CheckRecord.period == quarter)).scalar()
    return QuarterState(unit, quarter, labs, {(c.unit_id, c.period): c for c in checks}, review)


def sign_review(session, actor: Actor, unit_id, quarter: str, findings: str | None, now, since: str) -> CheckRecord:
    """The reviewing unit signs its quarter's review off once the quarter has ended and no signed-off check of its
    labs awaits a decision; the findings say how many were approved, returned and not done."""
    unit = session.get(Unit, unit_id) if isinstance(unit_id, int) else None
    if not may_review(actor, unit):
        raise PolicyDenied("out_of_chain", MSG_NOT_REVIEWER)
    today = clock.local_date(now)
    if not is_quarter(quarter) or not quarter_of(since) <= quarter or not last_day(quarter) < today:
        raise RuleViolation({"period": MSG_QUARTER})
    errors = {}
    findings = free_text(errors, "findings", findings)
    if errors:
        raise RuleViolation(errors)
    state = quarter_state(session, unit.id, quarter, since, lock=True)
    if not state.labs:
        raise RuleViolation({"unit": MSG_NO_LABS})
    if state.undecided():
        raise RuleViolation({"check": MSG_UNDECIDED % {"count": len(state.undecided())}})
    review = state.review
    if review is None:
        review = CheckRecord(unit_id=unit.id, kind="quarterly", period=quarter, opened_at=now)
        session.add(review)
    states = [c.state for c in state.checks.values()]
    summary = _("Approved %(approved)s, returned %(returned)s, not done %(missing)s.") % {
        "approved": states.count("approved"), "returned": states.count("returned"),
        "missing": len(state.not_done(today))}
    review.state, review.signed_by_id, review.checked_on = "signed", actor.user_id, today
    review.findings = "\n".join(filter(None, [str(summary), findings]))
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:  # signed at the same moment by someone else
        raise RuleViolation({"check": MSG_CLOSED}) from None
    return review


# -- what the year's checks came to (附件1) ----------------------------------------------------------------

def year_summary(session, unit_ids, year: int, as_of: date, terms: Terms) -> dict:
    """The monthly checks and quarterly reviews owed in `year` up to `as_of` (months and quarters ended by then) by
    the labs in `unit_ids` that owe them, how many were done, and how many items the year's checks found corrected,
    by checklist item."""
    months = [m for m in months_between(f"{year}-01", f"{year}-12") if last_day(m) <= as_of]
    labs = checking_labs(session, unit_ids, terms.since)
    owed = [(lab.id, m) for lab in labs for m in months if m >= lab.first]
    quarters = {(lab.parent_id, quarter_of(m)) for lab in labs for m in months
                if m >= lab.first and last_day(quarter_of(m)) <= as_of}
    done = set(session.execute(sa.select(CheckRecord.unit_id, CheckRecord.period).where(
        CheckRecord.kind == "monthly", CheckRecord.state.in_(DONE), CheckRecord.unit_id.in_([lab.id for lab in labs]),
        CheckRecord.period.in_(months))).all())
    reviewed = set(session.execute(sa.select(CheckRecord.unit_id, CheckRecord.period).where(
        CheckRecord.kind == "quarterly", CheckRecord.state == "signed",
        CheckRecord.unit_id.in_({unit for unit, _q in quarters}))).all())
    corrected = session.execute(sa.select(*(sa.func.count().filter(getattr(CheckItem, name) == "corrected")
                                            for name in CHECKLIST))
                                .join(CheckRecord, CheckRecord.id == CheckItem.check_id)
                                .where(CheckRecord.unit_id.in_([lab.id for lab in labs]),
                                       CheckRecord.period.startswith(f"{year}-"))).one()
    return {"due": len(owed), "done": len(done & set(owed)), "reviews_due": len(quarters),
            "reviews_done": len(reviewed & quarters), "corrected": dict(zip(CHECKLIST, (int(n or 0) for n in corrected)))}
