"""What a lab keeps for booking its instruments (scoped like every screen): authorisations to operate
(上机资格), booking rules, opening hours and closures."""
from flask_babel import lazy_gettext as _
from wtforms import SelectField, TimeField
from wtforms.validators import DataRequired, InputRequired

from app import clock
from app.models import Authorisation, BookingRule, Closure, OpeningHours
from app.models.choices import AUTHORISATION_STATE, CLOSURE_KIND
from app.services.booking import setup as booking_setup

from . import formatting
from .base import ScopedModelView, interface

WEEKDAYS = [("0", _("Monday")), ("1", _("Tuesday")), ("2", _("Wednesday")), ("3", _("Thursday")), ("4", _("Friday")),
            ("5", _("Saturday")), ("6", _("Sunday"))]


class AuthorisationView(ScopedModelView):
    datamodel = interface(Authorisation)
    list_title = _("Authorisations to operate")
    show_title = _("Authorisation to operate")
    add_title = _("Grant an authorisation to operate")
    edit_title = _("Edit the authorisation to operate")
    label_columns = {
        "user": _("Service user"), "user.name": _("Service user"), "user.org": _("Organisation"),
        "instrument": _("Instrument"), "instrument.name": _("Instrument"), "state": _("State"),
        "granted_on": _("Granted on"), "trainer": _("Trainer"), "training": _("Training session"),
        "reason": _("Reason (suspension or revocation)"), "last_used_on": _("Last used on"), "changed_at": _("Last changed"),
    }
    description_columns = {
        "state": _("Self-operated booking needs a valid authorisation; it lapses after the configured months without use."),
        "training": _("The training the user attended, if any."),
    }
    choice_columns = {"state": AUTHORISATION_STATE}
    list_columns = ["user.name", "user.org", "instrument.name", "state", "granted_on", "trainer", "last_used_on"]
    search_columns = ["user", "instrument", "state", "granted_on"]
    add_columns = edit_columns = ["user", "instrument", "state", "granted_on", "trainer", "training", "reason"]
    show_columns = ["user", "instrument", "state", "granted_on", "trainer", "training", "reason", "last_used_on", "changed_at"]
    base_order = ("granted_on", "desc")

    @staticmethod
    def validate(session, item):
        booking_setup.validate_authorisation(session, item, clock.today())


class BookingRuleView(ScopedModelView):
    datamodel = interface(BookingRule)
    list_title = _("Booking rules")
    show_title = _("Booking rules")
    add_title = _("Set booking rules")
    edit_title = _("Edit booking rules")
    label_columns = {
        "instrument": _("Instrument"), "instrument.name": _("Instrument"),
        "accepts_self_operated": _("Takes self-operated bookings"), "accepts_sample": _("Takes sample testing"),
        "accepts_service": _("Takes technical service"), "min_slot_minutes": _("Shortest slot (minutes)"),
        "max_slot_minutes": _("Longest slot (minutes)"), "max_days_ahead": _("Bookable up to (days ahead)"),
        "min_hours_ahead": _("Bookable until (hours before)"), "auto_confirm": _("Confirm an authorised user's free slot at once"),
        "cancel_hours_before": _("Cancellation deadline (hours before)"), "open_on_holidays": _("Open on statutory holidays"),
        "interlock": _("Power interlock (the plug is on only during an authorised use)"),
        "interlock_grace_minutes": _("Interlock grace (minutes before the slot, and after its end)"),
        "interlock_cuts_running": _("Cut the power at the slot's end even during a run"),
    }
    list_columns = ["instrument.name", "accepts_self_operated", "accepts_sample", "accepts_service", "auto_confirm",
                    "max_days_ahead", "cancel_hours_before", "interlock"]
    add_columns = edit_columns = show_columns = [
        "instrument", "accepts_self_operated", "accepts_sample", "accepts_service", "min_slot_minutes", "max_slot_minutes",
        "max_days_ahead", "min_hours_ahead", "auto_confirm", "cancel_hours_before", "open_on_holidays", "interlock",
        "interlock_grace_minutes", "interlock_cuts_running"]
    search_columns = ["instrument", "auto_confirm"]
    validate = staticmethod(booking_setup.validate_rule)


class OpeningHoursView(ScopedModelView):
    datamodel = interface(OpeningHours)
    list_title = _("Opening hours")
    show_title = _("Opening hours")
    add_title = _("Add opening hours")
    edit_title = _("Edit opening hours")
    label_columns = {"instrument": _("Instrument"), "instrument.name": _("Instrument"), "weekday": _("Weekday"),
                     "opens": _("Opens"), "closes": _("Closes")}
    description_columns = {"weekday": _("Without any opening hours an instrument is open 08:30–17:30 on working days; "
                                         "statutory holidays close it, a make-up working day opens with Monday's hours.")}
    list_columns = ["instrument.name", "weekday", "opens", "closes"]
    add_columns = edit_columns = show_columns = ["instrument", "weekday", "opens", "closes"]
    search_columns = ["instrument", "weekday"]
    base_order = ("weekday", "asc")
    formatters_columns = {"weekday": lambda d: dict(WEEKDAYS).get(str(d), d),
                          "opens": lambda t: t.strftime("%H:%M") if t else "", "closes": lambda t: t.strftime("%H:%M") if t else ""}
    add_form_extra_fields = edit_form_extra_fields = {
        "weekday": SelectField(_("Weekday"), choices=WEEKDAYS, coerce=int, validators=[InputRequired()],  # Monday is 0
                               render_kw={"class": "form-control"}),
        "opens": TimeField(_("Opens"), format="%H:%M", validators=[DataRequired()], render_kw={"class": "form-control"}),
        "closes": TimeField(_("Closes"), format="%H:%M", validators=[DataRequired()], render_kw={"class": "form-control"}),
    }
    validate = staticmethod(booking_setup.validate_hours)


class ClosureView(ScopedModelView):
    datamodel = interface(Closure)
    list_title = _("Closures")
    show_title = _("Closure")
    add_title = _("Add a closure")
    edit_title = _("Edit the closure")
    label_columns = {"instrument": _("Instrument"), "instrument.name": _("Instrument"), "kind": _("Kind"),
                     "starts_at": _("From"), "ends_at": _("Until"), "reason": _("Reason")}
    description_columns = {"starts_at": _("Beijing time, YYYY-MM-DD HH:MM."), "ends_at": _("Beijing time, YYYY-MM-DD HH:MM.")}
    choice_columns = {"kind": CLOSURE_KIND}
    list_columns = ["instrument.name", "kind", "starts_at", "ends_at", "reason"]
    add_columns = edit_columns = show_columns = ["instrument", "kind", "starts_at", "ends_at", "reason"]
    search_columns = ["instrument", "kind", "starts_at"]
    base_order = ("starts_at", "desc")
    formatters_columns = {"starts_at": formatting.beijing_datetime, "ends_at": formatting.beijing_datetime}
    validate = staticmethod(booking_setup.validate_closure)
