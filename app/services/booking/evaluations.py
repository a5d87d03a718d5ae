"""Service evaluation (notice §(三)1 服务评价, issue 14): after its booking is completed, the booking's own
user rates the service once — overall and for the lab's attitude, timeliness and quality, each 1 (极差)
to 5 (非常满意) — with a comment, within a configurable number of days (config EVALUATION_WINDOW_DAYS);
the lab replies once. Averages per instrument feed the admin and public instrument pages and the
annual report.

- Given only the overall score, the three aspects take it; given only the aspects, the overall score
  is their rounded mean. A score outside 1–5 is refused.
- The window runs from the completion: the end of the booking's registered use, else its slot's end.

Services take the user or the acting administrator and `now`; they flush, and the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.models import Booking, Evaluation, ServiceUser, UsageRecord

from app.services.actors import Actor, require_lab_side
from app.services.batch import Batch
from app.services.errors import PolicyDenied, RuleViolation
from app.services.inputs import whole_number

ASPECTS = ("attitude", "timeliness", "quality")
SCALE = {1: _("Very poor"), 2: _("Poor"), 3: _("Fair"), 4: _("Satisfied"), 5: _("Very satisfied")}
DEFAULT_WINDOW_DAYS = 30
MSG_SCORE = _("Give a whole number from 1 (very poor) to 5 (very satisfied).")
MSG_NOT_YOURS = _("Only the booking's own user can evaluate it.")
MSG_NOT_COMPLETED = _("A booking can be evaluated once it is completed.")
MSG_TWICE = _("This booking has already been evaluated.")
MSG_WINDOW_CLOSED = _("The time for evaluating this booking ended on %(day)s.")
MSG_REPLIED = _("The lab has already replied to this evaluation.")
MSG_REPLY = _("Write the reply.")


def window_days(config) -> int:
    return int(config.get("EVALUATION_WINDOW_DAYS", DEFAULT_WINDOW_DAYS))


def _score(errors, field, value):
    return whole_number(errors, field, value, MSG_SCORE, minimum=1, maximum=5)


def completed_at(session, booking: Booking) -> datetime | None:
    ended = session.execute(sa.select(sa.func.max(UsageRecord.ended_at)).where(
        UsageRecord.booking_id == booking.id, UsageRecord.source == "manual")).scalar()
    return ended or booking.scheduled_end


def deadline(session, booking: Booking, days: int) -> datetime | None:
    done = completed_at(session, booking)
    return None if done is None else done + timedelta(days=days)


def may_evaluate(session, user_id, booking: Booking, now: datetime, days: int) -> bool:
    if booking.user_id != user_id or booking.state != "completed" or booking.evaluation is not None:
        return False
    until = deadline(session, booking, days)
    return until is None or now <= until


def evaluate(session, user: ServiceUser, booking: Booking, now: datetime, days: int, *, score=None, attitude=None,
             timeliness=None, quality=None, comment=None) -> Evaluation:
    if user is None or booking.user_id != user.id:
        raise PolicyDenied("not_yours", MSG_NOT_YOURS)
    if booking.state != "completed":
        raise PolicyDenied("not_completed", MSG_NOT_COMPLETED)
    if session.execute(sa.select(Evaluation.id).where(Evaluation.booking_id == booking.id)).first():
        raise PolicyDenied("evaluated", MSG_TWICE)
    until = deadline(session, booking, days)
    if until is not None and now > until:
        raise PolicyDenied("window_closed", gettext(str(MSG_WINDOW_CLOSED), day=clock.local_date(until).isoformat()))
    errors = {}
    overall, aspects = _scores(errors, score, attitude, timeliness, quality)
    if errors:
        raise RuleViolation(errors)
    evaluation = Evaluation(booking_id=booking.id, score=overall, comment=(comment or "").strip() or None,
                            created_at=now, **aspects)
    session.add(evaluation)
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError as error:  # the same booking evaluated at once in two requests
        raise PolicyDenied("evaluated", MSG_TWICE) from error
    return evaluation


def reply(session, actor: Actor, evaluation: Evaluation, now: datetime, text) -> Evaluation:
    require_lab_side(session, actor, evaluation.booking.instrument_id)
    if evaluation.reply:
        raise PolicyDenied("replied", MSG_REPLIED)
    if not (text or "").strip():
        raise RuleViolation({"reply": MSG_REPLY})
    evaluation.reply, evaluation.replied_at, evaluation.replied_by_id = text.strip(), now, actor.user_id
    session.flush()
    return evaluation


def _scores(errors, score, attitude, timeliness, quality):
    """(overall, {aspect: score}) as `evaluate` reads them, errors into `errors`."""
    overall = _score(errors, "score", score)
    aspects = {a: _score(errors, a, v) for a, v in zip(ASPECTS, (attitude, timeliness, quality))}
    if overall is None and "score" not in errors:
        given = [v for v in aspects.values() if v is not None]
        if not given and not errors:
            errors["score"] = MSG_SCORE
        elif given:
            overall = int((Decimal(sum(given)) / len(given)).quantize(Decimal(1), ROUND_HALF_UP))
    return overall, {a: (v if v is not None else overall) for a, v in aspects.items()}


@dataclass(frozen=True)
class Given:
    """One evaluation of a batch: the booking, who gives it, when, the scores and the comment."""

    booking_id: int
    user_id: int
    at: datetime
    score: int | None = None
    attitude: int | None = None
    timeliness: int | None = None
    quality: int | None = None
    comment: str | None = None


def evaluate_batch(session, entries: list[Given], days: int) -> Batch:
    """Evaluations in one batch (the demo's history; a ledger's), each checked as `evaluate` checks one: the
    booking's own user, a completed booking, once, within the window from its completion, scores 1–5."""
    result = Batch()
    ids = {e.booking_id for e in entries}
    bookings = {b.id: b for b in session.execute(sa.select(Booking.id, Booking.user_id, Booking.state,
                                                           Booking.scheduled_end).where(Booking.id.in_(ids))).all()}
    ended = dict(session.execute(sa.select(UsageRecord.booking_id, sa.func.max(UsageRecord.ended_at)).where(
        UsageRecord.booking_id.in_(ids), UsageRecord.source == "manual").group_by(UsageRecord.booking_id)).all())
    evaluated = set(session.execute(sa.select(Evaluation.booking_id).where(Evaluation.booking_id.in_(ids))).scalars())
    rows, kept = [], []
    for index, e in enumerate(entries):
        booking = bookings.get(e.booking_id)
        if booking is None or booking.user_id != e.user_id:
            result.refuse(index, MSG_NOT_YOURS)
            continue
        if booking.state != "completed":
            result.refuse(index, MSG_NOT_COMPLETED)
            continue
        if e.booking_id in evaluated:
            result.refuse(index, MSG_TWICE)
            continue
        done = ended.get(e.booking_id) or booking.scheduled_end
        if done is not None and e.at > done + timedelta(days=days):
            result.refuse(index, gettext(str(MSG_WINDOW_CLOSED), day=clock.local_date(done + timedelta(days=days)).isoformat()))
            continue
        errors = {}
        overall, aspects = _scores(errors, e.score, e.attitude, e.timeliness, e.quality)
        if errors:
            result.refuse(index, "；".join(str(m) for m in errors.values()))
            continue
        evaluated.add(e.booking_id)
        rows.append({"booking_id": e.booking_id, "score": overall, "comment": (e.comment or "").strip() or None,
                     "created_at": e.at, **aspects})
        kept.append(index)
    if rows:
        table = Evaluation.__table__
        id_of = dict(session.connection().execute(sa.insert(table).returning(table.c.booking_id, table.c.id), rows).all())
        for index, row in zip(kept, rows):
            result.done[index] = id_of[row["booking_id"]]
    session.expire_all()
    return result


@dataclass(frozen=True)
class Averages:
    count: int
    score: Decimal | None
    attitude: Decimal | None
    timeliness: Decimal | None
    quality: Decimal | None


def _mean(total, count):
    return None if not count or total is None else (Decimal(total) / count).quantize(Decimal("0.1"), ROUND_HALF_UP)


def averages(session, instrument_id) -> Averages:
    """An instrument's evaluations: how many, and the mean of each score (one query)."""
    columns = [Evaluation.score, Evaluation.attitude, Evaluation.timeliness, Evaluation.quality]
    row = session.execute(
        sa.select(sa.func.count(Evaluation.id), *(sa.func.sum(c) for c in columns),
                  *(sa.func.count(c) for c in columns[1:]))
        .join(Booking, Booking.id == Evaluation.booking_id).where(Booking.instrument_id == instrument_id)).one()
    count = row[0]
    return Averages(count, _mean(row[1], count), *(_mean(row[2 + i], row[5 + i]) for i in range(3)))
