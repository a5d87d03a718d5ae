"""Booking lists on screen (issue 13): a service user follows its own bookings and authorisations; the
lab answers from its queue (ordered by respond-by, overdue in red), sees today's schedule and each
booking's use, charges, measured time and evaluation on its page. The calendar and booking from it are
in booking_calendar.py. Everything is scoped by the one scope filter: a lab its subtree, a service
user its own records."""

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _
from markupsafe import Markup
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import Authorisation, Booking, DeviceStatus, Instrument, ServiceUser
from app.models.choices import (AUTHORISATION_STATE, BOOKING_MODE, BOOKING_OUTCOME, BOOKING_STATE, CHARGE_STATE,
                                DEVICE_STATE, INTERLOCK_ACTION, INTERLOCK_REASON, INTERLOCK_STATE, TERMINAL_ADAPTER,
                                USAGE_DIRECTION)
from app.security.scope import own_service_user_id
from app.services.booking import bookings
from app.services import steps
from app.services.booking import evaluations, usage
from app.services.iot import interlock, status as iot, machine_time
from app.services.people import notifications
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from . import formatting
from .base import ScopedModelView, interface
from .forms import flash_refusal, form_fields
from .feeds import personal_feed_url

MODE_LABELS = dict(BOOKING_MODE.select_choices())


def respond_by_badge(due):
    """The respond-by (Booking.respond_by_status), red when it has passed unanswered; flagged when official
    calendar data was missing."""
    if due is None:
        return ""
    text = due.respond_by.isoformat()
    if not due.respond_by_official:
        text += gettext(" (no official calendar data)")
    if bookings.is_overdue(due, clock.today()):
        return Markup('<span class="label label-danger booking-overdue">{}</span>').format(gettext("Overdue: %(day)s", day=text))
    return text


BOOKING_LABELS = {
    "instrument": _("Instrument"), "instrument.name": _("Instrument"), "user": _("Service user"), "user.name": _("Service user"),
    "mode": _("Kind"), "state": _("State"), "slot": _("Time or day"), "respond_by_status": _("Respond by"),
    "respond_by": _("Respond by"), "submitted_at": _("Submitted at"), "responded_at": _("Answered at"), "purpose": _("Purpose"),
    "sample_count": _("Samples"), "samples": _("Samples' description"), "sample_hazards": _("Hazards"),
    "sample_disposal": _("Disposal after testing"), "response_reason": _("Reason given"), "alternative": _("Alternative offered"),
    "alternative_instrument": _("Comparable instrument offered"), "late_cancellation": _("Late cancellation"),
    "delayed": _("Delayed"), "contract": _("Service contract"), "terms_accepted_at": _("Standard terms accepted at"),
}


class _BookingScreen(ScopedModelView):
    datamodel = interface(Booking)
    label_columns = BOOKING_LABELS
    choice_columns = {"mode": BOOKING_MODE, "state": BOOKING_STATE}
    show_columns = ["instrument", "user", "mode", "state", "slot", "respond_by_status", "submitted_at", "responded_at", "purpose",
                    "sample_count", "samples", "sample_hazards", "sample_disposal", "response_reason", "alternative",
                    "alternative_instrument", "delayed", "late_cancellation", "contract", "terms_accepted_at"]
    search_columns = ["instrument", "state", "mode", "respond_by"]
    formatters_columns = {"samples": formatting.multiline, "purpose": formatting.multiline, "slot": notifications.slot_text,
                          "respond_by_status": respond_by_badge}


class BookingRecordView(_BookingScreen):
    """Every booking of the lab's (college's, school's) instruments, newest first, each answered from its page."""

    list_title = _("Booking records")
    show_title = _("Booking")
    show_template = "bookings/lab_show.html"
    list_columns = ["instrument.name", "user.name", "mode", "slot", "state", "respond_by_status", "submitted_at"]
    base_order = ("submitted_at", "desc")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        booking = self.datamodel.get(pk, self._base_filters)
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, booking=booking,
                                    comparable=_comparable(booking), directions=USAGE_DIRECTION.select_choices(),
                                    charge_states=dict(CHARGE_STATE.select_choices()),
                                    measured=_measured(booking), outcome_labels=dict(BOOKING_OUTCOME.select_choices()),
                                    interlock=_interlock(booking))

    @expose("/answer/<int:pk>/<string:step>", methods=["POST"])
    @has_access
    def answer(self, pk, step):
        booking = self.datamodel.get(pk, self._base_filters)
        if booking is None or step not in steps.ANSWER_STEPS:
            abort(404)
        chosen = steps.ANSWER_STEPS[step]
        try:
            chosen.call(db.session, Actor.of(g.user), booking, clock.now(), bookings.Settings.of(current_app.config),
                        **form_fields(request.form, chosen))
            db.session.commit()
            flash(gettext("Done: %(step)s.", step=STEP_LABELS[step]), "success")
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for(".show", pk=pk))


class PendingFilter(BaseFilter):
    name = _("Awaiting response")
    arg_name = "pending"

    def apply(self, query, value):
        return query.filter(Booking.state == "pending")


def _answer_link(pk):
    return Markup('<a class="btn btn-xs btn-primary booking-open" href="{}">{}</a>').format(
        url_for("BookingRecordView.show", pk=pk), gettext("Answer"))


class BookingQueueView(_BookingScreen):
    """The lab's queue: what waits for an answer, the most urgent respond-by first (overdue in red).
    Each is answered on its record's page (BookingRecordView), which the row links to."""

    list_title = _("Bookings to answer")
    base_filters = [["id", PendingFilter, None]]
    list_columns = ["id", "instrument.name", "user.name", "mode", "slot", "respond_by_status", "submitted_at"]
    label_columns = {**BOOKING_LABELS, "id": _("Booking")}
    formatters_columns = {**_BookingScreen.formatters_columns, "id": _answer_link}
    base_order = ("respond_by", "asc")


STEP_LABELS = {"schedule": _("scheduled"), "delay": _("delayed, with the reason"), "refuse": _("refused, with an alternative"),
               "cancel": _("cancelled")}


def _measured(booking):
    """What the terminal measured in the slot, beside the registered hours (None: nothing to show)."""
    if booking is None:
        return None
    return machine_time.measure(db.session, [booking], clock.now(),
                                machine_time.Settings.of(current_app.config)).get(booking.id)


def _comparable(booking):
    """Bookable instruments of the same class, for a refusal's alternative."""
    if booking is None:
        return []
    instrument = booking.instrument
    query = sa.select(Instrument.id, Instrument.name, Instrument.model).where(
        Instrument.can_be_booked, Instrument.id != instrument.id, Instrument.public_standard_id.isnot(None))
    if instrument.class_code:
        query = query.where(Instrument.class_code.startswith(instrument.class_code[:4]))
    return db.session.execute(query.order_by(Instrument.name).limit(30)).all()


INTERLOCK_LABELS = {"actions": dict(INTERLOCK_ACTION.select_choices()), "reasons": dict(INTERLOCK_REASON.select_choices()),
                    "states": dict(INTERLOCK_STATE.select_choices()), "adapters": dict(TERMINAL_ADAPTER.select_choices()),
                    "device_states": dict(DEVICE_STATE.select_choices())}
AWAIT_CONFIRMATION = 300  # s: the page reloads itself this long while a plug command waits for its plug


def _interlock(booking):
    """The booking's instrument's plug under the interlock, its latest commands and what it reports."""
    if booking is None:
        return None
    plug = interlock.plug_of(db.session, booking.instrument_id)
    commands = interlock.latest_for_booking(db.session, booking.id)
    if plug is None and not commands:
        return None
    now = clock.now()
    status = None
    if plug is not None:
        row = db.session.get(DeviceStatus, plug.terminal_id)
        status = iot.shown_state(row.state, row.received_at, now, iot.offline_window(current_app.config)) if row else None
    waiting = any(c.state in interlock.UNCONFIRMED and (now - c.created_at).total_seconds() < AWAIT_CONFIRMATION
                  for c in commands)
    return {"plug": plug, "commands": commands, "status": status, "waiting": waiting,
            "window": interlock.start_window(booking, plug.grace) if plug is not None else None, **INTERLOCK_LABELS}


class TodayFilter(BaseFilter):
    name = _("Today")
    arg_name = "today"

    def apply(self, query, value):
        start, end = clock.day_bounds(clock.today())
        today = clock.today()
        return query.filter(Booking.state == "scheduled", sa.or_(
            sa.and_(Booking.scheduled_start >= start, Booking.scheduled_start < end), Booking.scheduled_date == today))


class TodayScheduleView(_BookingScreen):
    """What the lab runs today (Beijing): the scheduled slots and sample days."""

    list_title = _("Today's schedule")
    show_title = _("Booking")
    base_filters = [["id", TodayFilter, None]]
    list_columns = ["slot", "instrument.name", "user.name", "mode", "purpose"]
    base_order = ("scheduled_start", "asc")


class MyBookingView(_BookingScreen):
    """A service user's own bookings (the scope filter gives it nothing else)."""

    list_title = _("My bookings")
    show_title = _("My booking")
    show_template = "bookings/my_show.html"
    list_template = "bookings/my_list.html"
    list_columns = ["instrument.name", "mode", "slot", "state", "respond_by", "response_reason"]
    show_columns = [c for c in _BookingScreen.show_columns if c != "user"]
    base_order = ("submitted_at", "desc")
    formatters_columns = {**_BookingScreen.formatters_columns,
                          "respond_by": lambda d: d.isoformat() if d else ""}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        booking = self.datamodel.get(pk, self._base_filters)
        until = evaluations.deadline(db.session, booking, evaluations.window_days(current_app.config)) \
            if booking is not None and booking.state == "completed" else None
        open_use = usage.open_session_of_booking(db.session, booking.id) if booking is not None else None
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, booking=booking, scale=evaluations.SCALE,
                                    evaluation_until=until, evaluation_open=until is None or clock.now() <= until,
                                    open_use=open_use, interlock=_interlock(booking))

    def _own(self, pk):
        booking = self.datamodel.get(pk, self._base_filters)
        if booking is None or own_service_user_id() is None:
            abort(404)
        return booking

    @expose("/start/<int:pk>", methods=["POST"])
    @has_access
    def start(self, pk):
        """开始使用 by the booking's own user, within its slot: an interlocked instrument's plug goes on."""
        booking = self._own(pk)
        try:
            usage.start(db.session, Actor.of(g.user), clock.now(), bookings.Settings.of(current_app.config), booking=booking)
            db.session.commit()
            flash(gettext("Use started."), "success")
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for(".show", pk=pk))

    @expose("/end/<int:pk>", methods=["POST"])
    @has_access
    def end(self, pk):
        """结束使用 by the booking's own user: the use is priced (the lab confirms it), the plug goes off."""
        booking = self._own(pk)
        record = usage.open_session_of_booking(db.session, booking.id)
        if record is None:
            flash(str(usage.MSG_NOT_OPEN), "danger")
            return redirect(url_for(".show", pk=pk))
        try:
            usage.end(db.session, Actor.of(g.user), record, clock.now())
            db.session.commit()
            flash(gettext("Use ended."), "success")
        except (RuleViolation, PolicyDenied) as refusal:
            flash_refusal(refusal)
        return redirect(url_for(".show", pk=pk))

    @expose("/list/")
    @has_access
    def list(self):
        own = own_service_user_id()
        feed_url = personal_feed_url(db.session.get(ServiceUser, own)) if own else None
        widgets = self._list()
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets, feed_url=feed_url)

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    def cancel(self, pk):
        booking = self.datamodel.get(pk, self._base_filters)
        own = own_service_user_id()
        if booking is None or own is None:
            abort(404)
        try:
            bookings.cancel(db.session, booking, clock.now(), user=db.session.get(ServiceUser, own))
            db.session.commit()
            flash(gettext("Booking cancelled."), "success")
            if booking.late_cancellation:
                flash(gettext("Cancelled after the instrument's cancellation deadline: it counts as a late cancellation."),
                      "warning")
        except PolicyDenied as refusal:
            db.session.rollback()
            flash(refusal.message, "danger")
        return redirect(url_for(".show", pk=pk))


class MyAuthorisationView(ScopedModelView):
    """The instruments a service user may operate itself, and the state of each authorisation."""

    datamodel = interface(Authorisation)
    list_title = _("My authorisations to operate")
    show_title = _("Authorisation to operate")
    label_columns = {"instrument.name": _("Instrument"), "instrument": _("Instrument"), "state": _("State"),
                     "granted_on": _("Granted on"), "trainer": _("Trainer"), "reason": _("Reason"),
                     "last_used_on": _("Last used on")}
    choice_columns = {"state": AUTHORISATION_STATE}
    list_columns = ["instrument.name", "state", "granted_on", "trainer", "last_used_on", "reason"]
    show_columns = ["instrument", "state", "granted_on", "trainer", "last_used_on", "reason"]
    search_columns = ["instrument", "state"]
