"""iCalendar feeds (issue 13) at secret URLs, for calendars that cannot sign in (Outlook, phones):
`/calendar/<secret>.ics` a service user's own bookings, `/calendar/instrument/<secret>.ics` an
instrument's for its lab. Everyone, signed in or not, may fetch a feed (the Public role's permission);
the secret is what grants it, and its owner replaces it to cut off the old URL."""
from urllib.parse import urlsplit

from flask import Response, abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app import clock
from app.extensions import db
from app.models import Instrument, ServiceUser
from app.security.scope import own_service_user_id, unit_in_scope
from app.services.booking import ical

from .forms import back_on_this_site


def feed_host():
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"


def public_link(endpoint, **values):
    """The address of a page as users reach it: PUBLIC_URL and the page's path, never the request's Host
    header (which a client chooses, and a feed's address outlives the request)."""
    path = url_for(endpoint, **values)
    root = request.script_root if request else ""
    if root and path.startswith(root):
        path = path[len(root):]
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def _ics(body):
    if body is None:
        abort(404)
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


class CalendarFeedView(BaseView):
    route_base = "/calendar"

    @expose("/<string:token>.ics")
    @has_access
    def personal(self, token):
        return _ics(ical.personal_feed(db.session, token, feed_host(), clock.now()))

    @expose("/instrument/<string:token>.ics")
    @has_access
    def instrument(self, token):
        return _ics(ical.instrument_feed(db.session, token, feed_host(), clock.now()))

    @expose("/mine/renew", methods=["POST"])
    @has_access
    def renew_mine(self):
        own = own_service_user_id()
        if own is None:
            abort(404)
        ical.personal_token(db.session, db.session.get(ServiceUser, own), renew=True)
        db.session.commit()
        flash(gettext("A new subscription address was made; the old one no longer works."), "success")
        return redirect(back_on_this_site(request.referrer, url_for("MyBookingView.list")))

    @expose("/instrument/<int:instrument_id>/renew", methods=["POST"])
    @has_access
    def renew_instrument(self, instrument_id):
        instrument = db.session.get(Instrument, instrument_id)
        if instrument is None or not unit_in_scope(instrument.unit_id):
            abort(404)
        ical.instrument_token(db.session, instrument.id, actor_id=g.user.id, renew=True)
        db.session.commit()
        flash(gettext("A new subscription address was made; the old one no longer works."), "success")
        return redirect(url_for("BookingCalendarView.instrument_calendar", instrument_id=instrument.id))


def personal_feed_url(user: ServiceUser) -> str:
    token = ical.personal_token(db.session, user)
    db.session.commit()
    return public_link("CalendarFeedView.personal", token=token)


def instrument_feed_url(instrument_id) -> str:
    token = ical.instrument_token(db.session, instrument_id, actor_id=g.user.id)
    db.session.commit()
    return public_link("CalendarFeedView.instrument", token=token)
