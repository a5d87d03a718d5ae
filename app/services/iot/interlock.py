"""The power interlock (issue 14, item 3; SPEC §5 "MQTT commands"): an instrument whose booking rule
switches the interlock on, and whose terminal is a plug the bridge can command (Tasmota, Shelly Gen2,
or a native terminal), has power only during an authorised use.

- 开始使用 (app/services/booking/usage.py) asks `check_start` first: a booking's session starts only within its
  slot (from the grace before its start to its end) and, when self-operated, only for a user holding a
  valid authorisation; then `request` queues the plug's ON. 结束使用 queues its OFF.
- A command is a row of the outbox (InterlockCommand), never a message sent from a web request: the
  bridge takes the due rows (`take_due`), publishes them at QoS 1, and `confirm` marks one confirmed
  when the plug's own status report says so. Nothing is assumed: an unconfirmed command is published
  again every `retry_seconds`, and after `max_attempts` it stays unconfirmed (failed) and the lab is
  told (app/services/iot/interlock_sweep.py). A newer command for the same plug supersedes an older one
  that was never confirmed, so a plug never receives a stale ON after its OFF.

Services take `now`; they flush, and the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.models import BookingRule, Instrument, InterlockCommand, IotTerminal

from app.services.errors import PolicyDenied

ADAPTERS = ("native", "tasmota", "shelly")  # the terminals the bridge knows how to command
UNCONFIRMED = ("pending", "sent")
MSG_OUTSIDE_SLOT = _("The power can only be switched on within the booking's slot (%(start)s–%(end)s, "
                     "from %(grace)s minutes before its start).")
MSG_NOT_AUTHORISED = _("This user is not authorised to operate this instrument: the power stays off.")
MSG_NO_TERMINAL = _("The interlock needs the instrument's IoT terminal: bind a Tasmota or Shelly plug, or a "
                    "native terminal, to the instrument first.")
MSG_TERMINAL_ID = _("The bridge cannot command a terminal whose id contains +, #, / or spaces: give the plug an "
                    "id of letters, digits, - and _.")
MSG_UNKNOWN_ADAPTER = _("The bridge cannot command this terminal: the interlock needs a Tasmota or Shelly Gen2 plug, "
                        "or a native terminal.")


@dataclass(frozen=True)
class Settings:
    retry_seconds: int = 30  # an unconfirmed command is published again after this long
    max_attempts: int = 20  # then it stays unconfirmed and the lab is told

    @classmethod
    def of(cls, config) -> "Settings":
        values = config.get("INTERLOCK", {})
        return cls(**{k: int(v) for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Plug:
    """An interlocked instrument's plug: which terminal, how it is commanded, the slot's grace."""

    instrument_id: int
    terminal_id: str
    adapter: str
    grace: timedelta
    cuts_running: bool


def plug_of(session, instrument_id) -> Plug | None:
    """The plug of an instrument whose interlock is on, or None (no interlock: nothing is switched)."""
    row = session.execute(
        sa.select(BookingRule.interlock_grace_minutes, BookingRule.interlock_cuts_running, Instrument.iot_terminal_id,
                  IotTerminal.adapter)
        .join(Instrument, Instrument.id == BookingRule.instrument_id)
        .outerjoin(IotTerminal, IotTerminal.terminal_id == Instrument.iot_terminal_id)
        .where(BookingRule.instrument_id == instrument_id, BookingRule.interlock.is_(True))).first()
    if row is None or not row.iot_terminal_id:
        return None
    return Plug(instrument_id, row.iot_terminal_id, row.adapter or "native", timedelta(minutes=row.interlock_grace_minutes),
                row.interlock_cuts_running)


def commandable(terminal_id: str) -> bool:
    """A terminal id that names one MQTT topic level: no wildcards, no level separator."""
    return bool(terminal_id) and terminal_id.isprintable() and not set(terminal_id) & {"+", "#", "/", " "}


def check_terminal(session, instrument_id) -> str | None:
    """Why the interlock cannot be switched on for this instrument (a message), or None."""
    terminal_id = session.execute(sa.select(Instrument.iot_terminal_id).where(Instrument.id == instrument_id)).scalar()
    if not terminal_id:
        return MSG_NO_TERMINAL
    if not commandable(terminal_id):
        return MSG_TERMINAL_ID
    adapter = session.execute(sa.select(IotTerminal.adapter).where(IotTerminal.terminal_id == terminal_id)).scalar()
    return None if (adapter or "native") in ADAPTERS else MSG_UNKNOWN_ADAPTER


def start_window(booking, grace: timedelta):
    """(from, until) within which a booking's session may start: the grace before its slot, to its end."""
    if booking is None or booking.scheduled_start is None:
        return None
    return booking.scheduled_start - grace, booking.scheduled_end


def require_within_slot(booking, grace: timedelta, now: datetime):
    window = start_window(booking, grace)
    if window is not None and not window[0] <= now < window[1]:
        raise PolicyDenied("outside_slot", gettext(
            str(MSG_OUTSIDE_SLOT), start=clock.display(booking.scheduled_start),
            end=clock.display(booking.scheduled_end, "%H:%M"), grace=int(grace.total_seconds() // 60)))


def request(session, plug: Plug, action: str, now: datetime, *, reason: str, usage=None, booking=None,
            actor_id=None) -> InterlockCommand:
    """Queue a command for the plug; what it had queued and not yet confirmed is superseded."""
    session.execute(sa.update(InterlockCommand).where(
        InterlockCommand.terminal_id == plug.terminal_id, InterlockCommand.state.in_(UNCONFIRMED))
        .values(state="superseded").execution_options(synchronize_session="fetch"))
    command = InterlockCommand(instrument_id=plug.instrument_id, terminal_id=plug.terminal_id, adapter=plug.adapter,
                               action=action, reason=reason, state="pending", usage=usage, booking=booking,
                               requested_by_id=actor_id, created_at=now, attempts=0, next_attempt_at=now)
    session.add(command)
    session.flush()
    return command


# -- the bridge's side -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    """A command to publish now (the bridge encodes it for the plug's adapter)."""

    id: int
    terminal_id: str
    adapter: str
    action: str
    attempt: int


def take_due(session, now: datetime, settings: Settings, limit: int = 200) -> list[Due]:
    """The commands due for (re)publication, marked sent; one past its attempts is marked failed. Row
    locks skip what another bridge instance is taking (PostgreSQL); each write is conditional on the row
    still being unconfirmed, so a command superseded meanwhile (SQLite takes no lock on the read) stays
    superseded and is never published."""
    rows = session.execute(
        sa.select(InterlockCommand.id, InterlockCommand.terminal_id, InterlockCommand.adapter, InterlockCommand.action,
                  InterlockCommand.attempts, InterlockCommand.first_sent_at)
        .where(InterlockCommand.state.in_(UNCONFIRMED), InterlockCommand.next_attempt_at <= now)
        .order_by(InterlockCommand.id).limit(limit).with_for_update(skip_locked=True)).all()
    due = []
    for row in rows:
        still = sa.update(InterlockCommand).where(InterlockCommand.id == row.id, InterlockCommand.state.in_(UNCONFIRMED),
                                                  InterlockCommand.attempts == row.attempts)
        if row.attempts >= settings.max_attempts:
            session.execute(still.values(state="failed").execution_options(synchronize_session=False))
            continue
        taken = session.execute(still.values(
            state="sent", attempts=row.attempts + 1, sent_at=now, first_sent_at=row.first_sent_at or now,
            next_attempt_at=now + timedelta(seconds=settings.retry_seconds)).execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            due.append(Due(row.id, row.terminal_id, row.adapter, row.action, row.attempts + 1))
    session.expire_all()  # written behind the ORM's back
    return due


def give_up_unsent(session, now: datetime, settings: Settings) -> int:
    """Commands the bridge never confirmed within the time its attempts would take (the bridge may be down
    and have sent nothing at all): left unconfirmed as failed, for the lab to be told."""
    patience = timedelta(seconds=settings.retry_seconds * settings.max_attempts + 60)
    result = session.execute(sa.update(InterlockCommand).where(
        InterlockCommand.state.in_(UNCONFIRMED), InterlockCommand.created_at < now - patience)
        .values(state="failed").execution_options(synchronize_session=False))
    session.expire_all()
    return result.rowcount


@dataclass(frozen=True)
class Report:
    """What a plug said about its relay: the command it answers (by id), or the output it now has."""

    terminal_id: str
    command_id: str | None = None
    output: str | None = None  # "on" / "off"
    error: str | None = None  # the plug refused the command (an RPC error)
    at: datetime | None = None  # when the plug said so (a report from before the command confirms nothing)


MAX_COMMAND_ID = 2 ** 31 - 1


def confirm(session, reports, now: datetime) -> int:
    """Mark confirmed what the plugs' reports confirm; returns how many commands were confirmed.

    A report naming a command (native `command_id`, Shelly's RPC answer) confirms that command, if it is
    the terminal's; a report of the relay's output (Tasmota `stat/…/POWER`, Shelly's switch status)
    confirms the terminal's latest command if it is of that action and was published before the report.
    An error answer keeps the command unconfirmed (it is retried) with the plug's words beside it."""
    confirmed = 0
    for report in reports:
        command = _answered(session, report)
        if command is None or command.state not in ("sent", "failed"):
            continue
        if report.error is not None:
            command.detail = report.error[:200]
            continue
        if report.command_id is None and (command.action != report.output or (
                report.at is not None and command.first_sent_at is not None and report.at < command.first_sent_at)):
            continue
        command.state, command.confirmed_at = "confirmed", now
        confirmed += 1
    session.flush()
    return confirmed


def _answered(session, report: Report) -> InterlockCommand | None:
    if report.command_id is not None:
        try:
            command_id = int(report.command_id)
        except ValueError:
            return None
        if not 0 < command_id <= MAX_COMMAND_ID:
            return None
        command = session.get(InterlockCommand, command_id)
        return command if command is not None and command.terminal_id == report.terminal_id else None
    if report.output not in ("on", "off"):
        return None
    return session.execute(sa.select(InterlockCommand).where(
        InterlockCommand.terminal_id == report.terminal_id, InterlockCommand.state != "superseded")
        .order_by(InterlockCommand.id.desc()).limit(1)).scalar()


def latest_for_booking(session, booking_id) -> list[InterlockCommand]:
    return session.execute(sa.select(InterlockCommand).where(InterlockCommand.booking_id == booking_id)
                           .order_by(InterlockCommand.id.desc()).limit(10)).scalars().all()
