"""The monthly self-check and the quarterly review (notice §(三)3; issue 23, item 4).

A lab goes through its networked records once a month (`confirm`: one record at a time) and signs the month's
check off (`sign`). Each record's run status, location, contact, fee standard and indicators are found confirmed
or corrected from the change log since the check was opened — the lab edits a record on its own form, and the
check says so; nobody claims a correction that is not there. The college (for labs directly under the school, the
school) reviews its labs' checks each quarter: approves each signed check or returns it with remarks (`decide`),
then signs its review off (`sign_review`). Due dates count working days after the month's or the quarter's end
(SELF_CHECK_DUE_WORKING_DAYS, REVIEW_DUE_WORKING_DAYS); a returned check is due again as many working days after
its return. The duty starts with SELF_CHECKS_SINCE (the notice's own self-check, June 2026). Which labs owe a
check: those holding networked records.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import clock
from app.models import ChangeLog, CheckItem, CheckRecord, Instrument, Unit

from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation
from app.services.people import upkeep_notices

# the checklist: each item and the record's columns whose edit during the check makes it "corrected"
CHECKLIST = {
    "run_status": ("run_status",),
    "location": ("location",),
    "contact": ("responsible_person_id", "contact_phone", "contact_email"),
    "fee_standard": ("public_standard_id",),
    "indicators": ("technical_indicators", "main_functions"),
}
DONE = ("signed", "approved")  # a monthly check the lab has done (approved: and its college has accepted it)

MSG_PERIOD = _("Choose a month from the first month of self-checks to this month.")
MSG_NOT_LAB = _("Only a laboratory's own administrators, or those above it, do its self-check.")
MSG_CLOSED = _("This self-check is signed off; it can only be changed after the college returns it.")
MSG_NOT_CHECKED = _("This record is not among the laboratory's networked records.")
MSG_UNCONFIRMED = _("%(count)s networked records are not gone through yet.")
MSG_NOT_REVIEWER = _("Only the college above the laboratory (or the school) reviews its self-checks.")
MSG_NOT_SIGNED = _("Only a signed-off self-check can be approved or returned.")
MSG_REMARKS = _("Say why the self-check is returned.")
MSG_UNDECIDED = _("%(count)s signed-off self-checks of the quarter are still to be approved or returned.")
MSG_QUARTER = _("Choose a quarter from the first quarter of self-checks to this quarter.")


@dataclass(frozen=True)
class Terms:
    """The school's settings of the duty: the first month checked, and the working days after a month's (a
    quarter's) end by which its check (review) is due."""

    since: str = "2026-06"
    check_days: int = 5
    review_days: int = 10

    @classmethod
    def of(cls, config):
        return cls(config["SELF_CHECKS_SINCE"], config["SELF_CHECK_DUE_WORKING_DAYS"], config["REVIEW_DUE_WORKING_DAYS"])


# -- periods ------------------------------------------------------------------------------------------

def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def quarter_of(period_or_day) -> str:
    if isinstance(period_or_day, date):
        year, month = period_or_day.year, period_or_day.month
    else:
        year, month = int(period_or_day[:4]), int(period_or_day[5:7])
    return f"{year}-Q{(month - 1) // 3 + 1}"


def months_of(quarter: str) -> list[str]:
    year, q = int(quarter[:4]), int(quarter[-1])
    return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


def last_day(period: str) -> date:
    """The last day of a month ("2026-06") or a quarter ("2026-Q2")."""
    month = months_of(period)[-1] if "Q" in period else period
    year, m = int(month[:4]), int(month[5:7])
    return date(year + m // 12, m % 12 + 1, 1) - timedelta(days=1)


def months_between(first: str, last: str) -> list[str]:
    found, year, month = [], int(first[:4]), int(first[5:7])
    while f"{year}-{month:02d}" <= last:
        found.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _valid_month(period: str, since: str, today: date) -> bool:
    return (isinstance(period, str) and len(period) == 7 and period[4] == "-" and period[:4].isdigit()
            and period[5:].isdigit() and 1 <= int(period[5:]) <= 12 and since <= period <= month_of(today))


# -- who -------------------------------------------------------------------------------------------------

def _lab(session, lab_id) -> Unit | None:
    unit = session.get(Unit, lab_id) if isinstance(lab_id, int) else None
    return unit if unit is not None and unit.level == "lab" else None


def _require_lab_side(actor: Actor, lab: Unit | None):
    if lab is None or not actor.is_admin or not actor.covers(lab.path):
        raise PolicyDenied("out_of_chain", MSG_NOT_LAB)


def _require_reviewer(actor: Actor, lab: Unit):
    """Administrators of a unit above the lab: its college or the school, not the lab itself."""
    if not actor.is_admin or actor.unit_level == "lab" or actor.unit_path == lab.path or not actor.covers(lab.path):
        raise PolicyDenied("out_of_chain", MSG_NOT_REVIEWER)


def owes_checks():
    """Which units owe the monthly self-check: labs holding networked records (the check goes through them)."""
    return sa.and_(Unit.level == "lab",
                   sa.exists().where(Instrument.unit_id == Unit.id, Instrument.networked.is_(True)))


def checked_records(session, lab_id: int):
    """The lab's networked records, which its monthly self-check goes through."""
    return session.execute(sa.select(Instrument).where(Instrument.unit_id == lab_id, Instrument.networked.is_(True))
                           .options(selectinload(Instrument.responsible_person))
                           .order_by(Instrument.id)).scalars().all()


# -- the lab's monthly check ------------------------------------------------------------------------------

def open_check(session, actor: Actor, lab_id: int, period: str, now, since: str) -> CheckRecord:
    """The lab's check of `period`, opened now if it was not (two openings at once: the constraint keeps one)."""
    lab = _lab(session, lab_id)
    _require_lab_side(actor, lab)
    if not _valid_month(period, since, clock.local_date(now)):
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


def _editable(session, actor: Actor, check_id: int) -> CheckRecord:
    check = session.get(CheckRecord, check_id, with_for_update=True) if isinstance(check_id, int) else None
    if check is None or check.kind != "monthly":
        raise PolicyDenied("not_found", MSG_NOT_LAB)
    _require_lab_side(actor, check.unit)
    if check.state not in ("open", "returned"):
        raise RuleViolation({"check": MSG_CLOSED})
    return check


def corrected_items(session, instrument_id: int, since) -> set:
    """The checklist items whose fields the change log shows edited on the record at or after `since`."""
    fields = set(session.execute(sa.select(ChangeLog.field).where(
        ChangeLog.table_name == "instrument", ChangeLog.record_id == instrument_id, ChangeLog.changed_at >= since)).scalars())
    return {item for item, columns in CHECKLIST.items() if fields & set(columns)}


def confirm(session, actor: Actor, check_id: int, instrument_id: int, note: str | None, now) -> CheckItem:
    """The lab has gone through one record: each item is confirmed, or corrected if edited since the check opened."""
    check = _editable(session, actor, check_id)
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
    item.note = (note or "").strip()[:200] or None
    item.confirmed_by_id, item.confirmed_at = actor.user_id, now
    return item


def unconfirmed(session, check: CheckRecord) -> list:
    done = set(session.execute(sa.select(CheckItem.instrument_id).where(CheckItem.check_id == check.id)).scalars())
    return [r for r in checked_records(session, check.unit_id) if r.id not in done]


def sign(session, actor: Actor, check_id: int, findings: str | None, now) -> CheckRecord:
    """The lab signs its month's check off once every networked record has been gone through."""
    check = _editable(session, actor, check_id)
    left = unconfirmed(session, check)
    if left:
        raise RuleViolation({"check": MSG_UNCONFIRMED % {"count": len(left)}})
    check.state, check.signed_by_id, check.checked_on = "signed", actor.user_id, clock.local_date(now)
    check.findings = (findings or "").strip() or None
    return check


# -- the college's quarterly review -----------------------------------------------------------------------

def decide(session, actor: Actor, check_id: int, approve: bool, remarks: str | None, now) -> CheckRecord:
    """The reviewing unit approves a lab's signed-off check, or returns it with remarks (the lab reworks it)."""
    check = session.get(CheckRecord, check_id, with_for_update=True) if isinstance(check_id, int) else None
    if check is None or check.kind != "monthly":
        raise PolicyDenied("not_found", MSG_NOT_REVIEWER)
    _require_reviewer(actor, check.unit)
    if check.state != "signed":
        raise RuleViolation({"check": MSG_NOT_SIGNED})
    remarks = (remarks or "").strip() or None
    if not approve and remarks is None:
        raise RuleViolation({"remarks": MSG_REMARKS})
    check.state = "approved" if approve else "returned"
    check.reviewed_by_id, check.reviewed_at, check.remarks = actor.user_id, now, remarks
    if not approve:
        upkeep_notices.check_returned(session, check, now)
    return check


@dataclass(frozen=True)
class QuarterState:
    """A reviewing unit's quarter: its labs' monthly checks by (lab id, month), and the review if there is one."""

    unit: Unit
    quarter: str
    labs: list
    checks: dict
    review: CheckRecord | None

    def undecided(self) -> list:
        return [c for c in self.checks.values() if c.state == "signed"]

    def missing(self, today: date) -> list:
        months = [m for m in months_of(self.quarter) if m <= month_of(today)]
        return [(lab, m) for lab in self.labs for m in months if (lab.id, m) not in self.checks]


def quarter_state(session, unit_id: int, quarter: str) -> QuarterState:
    unit = session.get(Unit, unit_id)
    labs = session.execute(sa.select(Unit).where(Unit.parent_id == unit_id, owes_checks())
                           .order_by(Unit.name)).scalars().all()
    checks = session.execute(sa.select(CheckRecord).where(
        CheckRecord.kind == "monthly", CheckRecord.unit_id.in_([lab.id for lab in labs]),
        CheckRecord.period.in_(months_of(quarter)))).scalars().all()
    review = session.execute(sa.select(CheckRecord).where(
        CheckRecord.kind == "quarterly", CheckRecord.unit_id == unit_id, CheckRecord.period == quarter)).scalar()
    return QuarterState(unit, quarter, labs, {(c.unit_id, c.period): c for c in checks}, review)


def _valid_quarter(quarter: str, since: str, today: date) -> bool:
    return (isinstance(quarter, str) and len(quarter) == 7 and quarter[:4].isdigit() and quarter[4:6] == "-Q"
            and quarter[6] in "1234" and quarter_of(since) <= quarter <= quarter_of(today))


def sign_review(session, actor: Actor, unit_id: int, quarter: str, findings: str | None, now, since: str) -> CheckRecord:
    """The reviewing unit signs its quarter's review off once no signed-off check of its labs awaits a decision;
    the findings say how many were approved, returned and not done."""
    unit = session.get(Unit, unit_id) if isinstance(unit_id, int) else None
    if unit is None or unit.level == "lab" or not actor.is_admin or actor.unit_level == "lab" or not actor.covers(unit.path):
        raise PolicyDenied("out_of_chain", MSG_NOT_REVIEWER)
    if not _valid_quarter(quarter, since, clock.local_date(now)):
        raise RuleViolation({"period": MSG_QUARTER})
    state = quarter_state(session, unit.id, quarter)
    if state.undecided():
        raise RuleViolation({"check": MSG_UNDECIDED % {"count": len(state.undecided())}})
    review = state.review
    if review is None:
        review = CheckRecord(unit_id=unit.id, kind="quarterly", period=quarter, opened_at=now)
        session.add(review)
    states = [c.state for c in state.checks.values()]
    summary = _("Approved %(approved)s, returned %(returned)s, not done %(missing)s.") % {
        "approved": states.count("approved"), "returned": states.count("returned"),
        "missing": len(state.missing(clock.local_date(now)))}
    review.state, review.signed_by_id, review.checked_on = "signed", actor.user_id, clock.local_date(now)
    review.findings = "\n".join(filter(None, [str(summary), (findings or "").strip()]))
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:  # signed at the same moment by someone else
        raise RuleViolation({"check": MSG_CLOSED}) from None
    return review


# -- what the year's checks came to (附件1) ----------------------------------------------------------------

def year_summary(session, unit_ids, year: int, as_of: date, terms: Terms) -> dict:
    """The monthly checks and quarterly reviews due in `year` up to `as_of` (months and quarters ended before it,
    from `terms.since`) of the labs in `unit_ids` that owe them now, how many were done, and how many items the
    year's checks found corrected, by checklist item."""
    months = [m for m in months_between(max(terms.since, f"{year}-01"), f"{year}-12") if last_day(m) < as_of]
    quarters = sorted({quarter_of(m) for m in months if last_day(quarter_of(m)) < as_of})
    scope = sa.true() if unit_ids is None else Unit.id.in_(unit_ids)
    labs = session.execute(sa.select(Unit.id, Unit.parent_id).where(scope, owes_checks())).all()
    lab_ids, reviewers = [lab.id for lab in labs], {lab.parent_id for lab in labs}
    done = session.execute(sa.select(sa.func.count()).select_from(CheckRecord).where(
        CheckRecord.kind == "monthly", CheckRecord.state.in_(DONE), CheckRecord.unit_id.in_(lab_ids),
        CheckRecord.period.in_(months))).scalar()
    reviewed = session.execute(sa.select(sa.func.count()).select_from(CheckRecord).where(
        CheckRecord.kind == "quarterly", CheckRecord.state == "signed", CheckRecord.unit_id.in_(reviewers),
        CheckRecord.period.in_(quarters))).scalar()
    corrected = session.execute(sa.select(*(sa.func.count().filter(getattr(CheckItem, name) == "corrected")
                                            for name in CHECKLIST))
                                .join(CheckRecord, CheckRecord.id == CheckItem.check_id)
                                .where(CheckRecord.unit_id.in_(lab_ids), CheckRecord.period.startswith(f"{year}-"))).one()
    return {"due": len(lab_ids) * len(months), "done": done, "reviews_due": len(reviewers) * len(quarters),
            "reviews_done": reviewed, "corrected": dict(zip(CHECKLIST, (int(n or 0) for n in corrected)))}
