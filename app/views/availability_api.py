"""The REST API beside the bookings (issue 13, item 10), scoped exactly like the screens:

- `/api/v1/authorisation/` — authorisations to operate: a service user reads its own, the lab side its
  subtree's, and the lab side grants, suspends and revokes them (the same rules as the screen).
- `/api/v1/availability/` — which instruments of a class are free at a time (`class`, `start`,
  `hours`), over the next two weeks; `/api/v1/availability/<instrument_id>` an instrument's busy slots
  (others' anonymous to a service user), closures, opening hours and next free slots over [start, end).
Times are Beijing time, as in the booking API.
"""
from datetime import timedelta

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext as _msg
from marshmallow import Schema, fields

from app import clock
from app.extensions import db
from app.models import Authorisation, Instrument, InstrumentClass
from app.security.scope import own_service_user_id, unit_in_scope
from app.services.booking import rules as booking_rules, setup as booking_setup, calendar
from app.services.workdays import load_calendar

from .api_fields import read
from .base import ScopedModelApi, interface

SEARCH_DAYS = 14
SPAN_DAYS = 62
LIMIT = 50


class AuthorisationSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    instrument_id = fields.Integer()
    state = fields.String()
    granted_on = fields.Date()
    trainer = fields.String()
    training_id = fields.Integer()
    reason = fields.String()
    last_used_on = fields.Date()


class AuthorisationListSchema(AuthorisationSchema):
    """The same fields in a list."""


class AuthorisationApi(ScopedModelApi):
    resource_name = "authorisation"
    datamodel = interface(Authorisation)
    list_columns = show_columns = list(AuthorisationSchema._declared_fields)
    list_model_schema = AuthorisationListSchema()
    show_model_schema = AuthorisationSchema()
    add_columns = edit_columns = ["user", "instrument", "state", "granted_on", "trainer", "training", "reason"]
    # like the screen: the lab trains any active service user, an on-campus researcher of another lab
    # included (ServiceUser.reference_clause)
    search_columns = ["user", "instrument", "state", "granted_on"]
    order_columns = ["id", "granted_on", "state"]
    base_order = ("id", "desc")
    openapi_spec_tag = "Authorisations"

    @staticmethod
    def validate(session, item):
        booking_setup.validate_authorisation(session, item, clock.today())


def _minute(value):
    return clock.local(value).strftime("%Y-%m-%dT%H:%M")


class AvailabilityApi(BaseApi):
    resource_name = "availability"
    openapi_spec_tag = "Availability"
    allow_browser_login = True

    @staticmethod
    def _parse(name, errors):
        """A required Beijing time from the query string."""
        if not request.args.get(name):
            errors[name] = _msg("This field is required.")
            return None
        return read(request.args, name, errors, "instant")

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def search(self):
        """Which instruments of a class are free at a time.
        ---
        get:
          summary: The bookable instruments of a class a user could book itself at a time (next two weeks)
          parameters:
          - {in: query, name: class, required: true, schema: {type: string, example: "010100"}}
          - {in: query, name: start, required: true, schema: {type: string, example: "2026-12-08T10:00"}}
          - {in: query, name: hours, schema: {type: number, default: 1}}
          responses:
            200: {description: "result: [{id, name, model, unit_id, location}]"}
            422: {description: "bad input, in Chinese"}
        """
        errors, now = {}, clock.now()
        code = request.args.get("class", "")
        start = self._parse("start", errors)
        hours = request.args.get("hours", 1, type=float)
        if db.session.get(InstrumentClass, code) is None:
            errors["class"] = _msg("Choose a class, a time and a duration of up to 12 hours.")
        if not hours or not 0 < hours <= 12:
            errors["hours"] = _msg("Choose a class, a time and a duration of up to 12 hours.")
        if start is not None and not now <= start <= now + timedelta(days=SEARCH_DAYS):
            errors["start"] = _msg("Choose a time within the next two weeks.")
        if errors:
            return self.response(422, message=errors)
        prefix = code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
        found = calendar.available(db.session, prefix, start, start + timedelta(hours=hours), now,
                                   load_calendar(db.session), limit=LIMIT)
        return self.response(200, count=len(found), result=[
            {"id": i.id, "name": i.name, "model": i.model, "unit_id": i.unit_id, "location": i.location} for i in found])

    @expose("/<int:instrument_id>", methods=["GET"])
    @protect()
    @safe
    def instrument(self, instrument_id):
        """An instrument's calendar over a span.
        ---
        get:
          summary: Busy slots, closures, opening hours and the next free slots of a bookable instrument
          parameters:
          - {in: path, name: instrument_id, required: true, schema: {type: integer}}
          - {in: query, name: start, required: true, schema: {type: string, example: "2026-12-07T00:00"}}
          - {in: query, name: end, required: true, schema: {type: string, example: "2026-12-14T00:00"}}
          responses:
            200: {description: "busy [{start, end, mine, state (own bookings, or the lab side's)}], closures [{start, end, reason}],
              opening_hours, next_free"}
            404: {description: not a bookable instrument}
            422: {description: bad input}
        """
        instrument = db.session.get(Instrument, instrument_id)
        if instrument is None or not instrument.can_be_booked:
            return self.response_404()
        errors = {}
        start, end = self._parse("start", errors), self._parse("end", errors)
        if start is not None and end is not None and not timedelta(0) < end - start <= timedelta(days=SPAN_DAYS):
            errors["end"] = _msg("The end must be after the start.")
        if errors:
            return self.response(422, message=errors)
        own, now = own_service_user_id(), clock.now()
        lab_side = own is None and unit_in_scope(instrument.unit_id)
        busy = []
        for b in calendar.busy_slots(db.session, instrument.id, start, end):
            mine = own is not None and b.user_id == own
            # as on the calendar screen: another user's booking is only busy time, its state is the lab side's
            busy.append({"start": _minute(b.start), "end": _minute(b.end), "mine": mine,
                         **({"state": b.state} if (mine or lab_side) else {})})
        closures = [{"start": _minute(c.start), "end": _minute(c.end), "reason": c.label}
                    for c in calendar.closures(db.session, instrument.id, start, end)]
        week = booking_rules.weekly_hours(db.session, instrument.id)
        hours = {str(day): [[o.strftime("%H:%M"), c.strftime("%H:%M")] for o, c in spans] for day, spans in week.items()}
        free = calendar.next_free_slots(db.session, instrument, now, load_calendar(db.session))
        return self.response(200, instrument_id=instrument.id, busy=busy, closures=closures, opening_hours=hours,
                             next_free=[{"start": _minute(s), "end": _minute(e)} for s, e in free],
                             fault=calendar.current_fault(db.session, instrument.iot_terminal_id))


