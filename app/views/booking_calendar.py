"""The calendar on screen (issue 13): an instrument's week of bookings, closures and terminal faults,
booking a slot by dragging over it (a service user), the standard terms, and which instruments of a
class are free at a time. Split from bookings.py, which keeps the lists and answers."""

from datetime import timedelta

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import Instrument, InstrumentClass, ServiceUser
from app.models.choices import BOOKING_STATE
from app.security.scope import own_service_user_id, unit_in_scope
from app.services.booking import authorisations, bookings
from app.services.booking import rules as booking_rules, calendar
from app.services.people import contracts
from app.services.errors import PolicyDenied, RuleViolation
from app.services.workdays import load_calendar

from .forms import form_day, form_instant
from .bookings import MODE_LABELS
from .feeds import instrument_feed_url


def _bookable_instrument(instrument_id):
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None or not instrument.can_be_booked:
        abort(404)
    return instrument


def _calendar_instrument(instrument_id):
    """The instrument whose calendar is asked for: a bookable one, or — to its own lab side, which moves and
    refuses the bookings of an instrument that broke down — one in its scope whatever its state."""
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None:
        abort(404)
    if not instrument.can_be_booked and (own_service_user_id() is not None or not unit_in_scope(instrument.unit_id)):
        abort(404)
    return instrument


def _span_param(name):
    value = request.args.get(name, "")
    try:
        return clock.parse_local(value[:19])
    except ValueError:
        abort(400)


def _fc(moment):
    """FullCalendar runs in 'UTC' mode here and shows times as given: Beijing wall-clock times."""
    return clock.local(moment).strftime("%Y-%m-%dT%H:%M:%S")


class BookingCalendarView(BaseView):
    route_base = "/bookings"
    default_view = "search"

    @expose("/calendar/<int:instrument_id>/events")
    @has_access
    def events(self, instrument_id):
        """An instrument's busy slots, closures, faults and holidays over [start, end) as FullCalendar events.
        Others' bookings are anonymous to a service user; the instrument's lab side sees who booked."""
        instrument = _calendar_instrument(instrument_id)
        start, end = _span_param("start"), _span_param("end")
        if end <= start or end - start > timedelta(days=62):
            abort(400)
        own = own_service_user_id()
        lab_side = own is None and unit_in_scope(instrument.unit_id)
        busy = calendar.busy_slots(db.session, instrument.id, start, end)
        names = {}
        if lab_side and busy:
            names = dict(db.session.execute(sa.select(ServiceUser.id, ServiceUser.name)
                                            .where(ServiceUser.id.in_({b.user_id for b in busy}))).all())
        events = []
        for b in busy:
            mine = own is not None and b.user_id == own
            title = (gettext("My booking") if mine else names.get(b.user_id, "") if lab_side else gettext("Booked"))
            events.append({"id": f"b{b.booking_id}", "title": f"{title}（{BOOKING_STATE.label(b.state)}）" if (mine or lab_side) else title,
                           "start": _fc(b.start), "end": _fc(b.end),
                           # others' states are the lab side's to see, in the title as in the style
                           "classNames": ["booking-mine" if mine else "booking-busy"]
                           + ([f"booking-{b.state}"] if (mine or lab_side) else [])})
        spans = calendar.closures(db.session, instrument.id, start, end)
        spans += calendar.faults(db.session, instrument.iot_terminal_id, start, end, clock.now())
        spans += calendar.holidays(load_calendar(db.session), clock.local_date(start), clock.local_date(end))
        titles = {"closure": None, "fault": gettext("Terminal reported a fault"), "holiday": gettext("Statutory holiday")}
        for s in spans:
            events.append({"title": s.label or titles[s.kind], "start": _fc(s.start), "end": _fc(s.end), "display": "background",
                           "classNames": [f"calendar-{s.kind}"]})
            if s.kind != "holiday":
                events.append({"title": s.label or titles[s.kind], "start": _fc(s.start), "end": _fc(s.end),
                               "classNames": [f"calendar-{s.kind}-label"]})
        return jsonify(events)

    def _calendar_context(self, instrument):
        rules = booking_rules.rules_of(db.session, instrument.id)
        return {"instrument": instrument, "rules": rules, "business_hours": calendar.business_hours(db.session, instrument.id),
                "fault_now": calendar.current_fault(db.session, instrument.iot_terminal_id),
                "modes": [(m, MODE_LABELS[m]) for m in bookings.MODES if rules.accepts(m)]}

    @expose("/calendar/<int:instrument_id>")
    @has_access
    def instrument_calendar(self, instrument_id):
        instrument = _calendar_instrument(instrument_id)
        if own_service_user_id() is None and not unit_in_scope(instrument.unit_id):
            abort(404)  # another lab's calendar with its users' names: as if it did not exist
        if not instrument.can_be_booked:  # its lab side, to move or refuse what was booked before
            flash(str(instrument.not_bookable_message), "warning")
        feed_url = instrument_feed_url(instrument.id) if own_service_user_id() is None else None
        return self.render_template("bookings/calendar.html", title=gettext("Calendar: %(name)s", name=instrument.name),
                                    booking_form=False, feed_url=feed_url, **self._calendar_context(instrument))

    @expose("/book/<int:instrument_id>", methods=["GET", "POST"])
    @has_access
    def book(self, instrument_id):
        instrument = _bookable_instrument(instrument_id)
        own = own_service_user_id()
        if own is None:
            flash(gettext("Only a service user's account can book."), "warning")
            return redirect(url_for(".instrument_calendar", instrument_id=instrument_id))
        user = db.session.get(ServiceUser, own)
        context = self._calendar_context(instrument)
        settings = bookings.Settings.of(current_app.config)
        contract = contracts.valid_contract(db.session, user.org_id, instrument.id, clock.today()) \
            if contracts.is_outside(user) else None
        ask_terms = contracts.is_outside(user) and contract is None and bool(settings.standard_terms)
        form, errors = request.form, {}
        if request.method == "POST":
            mode = form.get("mode")
            start, end, day = form_instant(form.get("start")), form_instant(form.get("end")), form_day(form.get("date"))
            count = form.get("sample_count", type=int) if form.get("sample_count") else None
            if form.get("sample_count") and count is None:
                errors["sample_count"] = gettext("Enter a whole number.")
            for key, value in (("start", start), ("end", end), ("date", day)):
                if value == "bad":
                    errors[key] = gettext("Enter a date and time as YYYY-MM-DDTHH:MM (Beijing time).") if key != "date" \
                        else gettext("Enter a date as YYYY-MM-DD.")
            if not errors:
                try:
                    booking = bookings.submit(
                        db.session, user, instrument.id, mode, clock.now(), settings,
                        accept_terms=(form.get("accept_terms") == "1") if ask_terms else None,
                        start=start if mode == "self_operated" else None, end=end if mode == "self_operated" else None,
                        day=day if mode != "self_operated" else None, sample_count=count, purpose=form.get("purpose"),
                        samples=form.get("samples"), hazards=form.get("sample_hazards"), disposal=form.get("sample_disposal"))
                    db.session.commit()
                    message = gettext("Booked: the lab answers by %(day)s.", day=booking.respond_by.isoformat()) \
                        if booking.state == "pending" else gettext("Booked and confirmed.")
                    flash(message, "success")
                    return redirect(url_for("MyBookingView.show", pk=booking.id))
                except RuleViolation as refusal:
                    db.session.rollback()
                    errors = refusal.errors
                except bookings.SlotTaken as refusal:
                    db.session.rollback()
                    errors = {"start": refusal.message}
                except PolicyDenied as refusal:
                    db.session.rollback()
                    errors = {"form": refusal.message}
        authorised = authorisations.valid_authorisation(db.session, user.id, instrument.id, clock.today(), settings) is not None
        return self.render_template("bookings/calendar.html", title=gettext("Book: %(name)s", name=instrument.name),
                                    booking_form=True, form=form, errors=errors, authorised=authorised, user=user,
                                    contract=contract, ask_terms=ask_terms,
                                    needs_contract=contracts.is_outside(user) and contract is None and not ask_terms,
                                    **context)

    @expose("/terms")
    @has_access
    def terms(self):
        """The school's standard service terms (Art. 16), which an outside user without a contract accepts."""
        return self.render_template("bookings/terms.html", title=gettext("Standard service terms"))

    @expose("/search")
    @has_access
    def search(self):
        """Which instruments of a class are free at a time, over the next two weeks."""
        classes = db.session.execute(sa.select(InstrumentClass.code, InstrumentClass.name, InstrumentClass.parent_code)
                                     .order_by(InstrumentClass.code)).all()
        codes = {c.code for c in classes}
        chosen, at = request.args.get("class", ""), request.args.get("at")
        hours = request.args.get("hours", 1, type=float)
        results, error = None, None
        if at:
            start, now = form_instant(at), clock.now()
            if start == "bad" or chosen not in codes or not 0 < (hours or 0) <= 12:
                error = gettext("Choose a class, a time and a duration of up to 12 hours.")
            elif start < now or start > now + timedelta(days=14):
                error = gettext("Choose a time within the next two weeks.")
            else:
                prefix = chosen[:2] if chosen.endswith("0000") else chosen[:4] if chosen.endswith("00") else chosen
                results = calendar.available(db.session, prefix, start, start + timedelta(hours=hours), now,
                                             load_calendar(db.session), limit=SEARCH_LIMIT)
        return self.render_template("bookings/search.html", title=gettext("Find a free instrument"), classes=classes,
                                    chosen=chosen, at=at or "", hours=hours, results=results, error=error,
                                    limit=SEARCH_LIMIT)


SEARCH_LIMIT = 50
