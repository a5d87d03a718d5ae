"""Public, read-only fee-schedule pages (SPEC §5). Anonymous visitors reach them through the
Public role's permissions on this view (declared in app/security/roles.py), like everyone else."""

from flask import Response, abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _

from app import clock
from app.extensions import db
from app.models.choices import CUSTOMER_CATEGORY
from app.services.booking import calendar as booking_calendar
from app.services.catalogue import public as catalogue
from app.services.booking import evaluations
from app.services.workdays import load_calendar
from app.reports.excel import content_disposition, write_workbook
from app.reports.fees import fee_schedule
from app.services.errors import RuleViolation

from . import formatting


def _device_status(row):
    """(state reported, last heard) of a catalogue row; the badge applies the offline window."""
    return row.device_state, row.device_seen_at


def _parsed_query():
    """The catalogue query from the URL; anything malformed answers 400 (never 500)."""
    try:
        return catalogue.Query.parse(request.args)
    except RuleViolation:
        abort(400)


class PublicFeesView(BaseView):
    route_base = "/public"
    default_view = "fees"

    @expose("/fees")
    @has_access
    def fees(self):
        query = _parsed_query()
        total, rows = catalogue.search(db.session, query)
        pages = max(1, -(-total // catalogue.PAGE_SIZE))
        return self.render_template(
            "public/fees.html", title=_("Published fee schedules"), query=query, total=total, rows=rows,
            pages=pages, colleges=catalogue.colleges(db.session), classes=catalogue.top_classes(db.session),
            fmt=formatting, device_status=_device_status,
        )

    @expose("/fees.xlsx")
    @has_access
    def download(self):
        """The schedule the search shows (all pages) as an A4 workbook, through the one Excel writer."""
        query = _parsed_query()
        today = clock.today()
        sheet = fee_schedule(db.session, today, instrument_ids=catalogue.matching_instrument_ids(query))
        filename = _("Fee schedule %(date)s.xlsx", date=today.isoformat())
        return Response(
            write_workbook([sheet]),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": content_disposition(str(filename))},
        )

    @expose("/instruments/<int:instrument_id>")
    @has_access
    def instrument(self, instrument_id):
        page = catalogue.instrument_page(db.session, instrument_id)
        if page is None:
            abort(404)
        inst, free = page.instrument, []
        why_not = inst.not_bookable_message  # None when it can be booked (Instrument.can_be_booked)
        if why_not is None:
            free = booking_calendar.next_free_slots(db.session, inst, clock.now(), load_calendar(db.session))
        return self.render_template(
            "public/instrument.html", title=inst.name, page=page, free_slots=free, why_not=why_not, clock=clock,
            fee_rows=catalogue.fee_table(page.standard), category_label=CUSTOMER_CATEGORY.label, fmt=formatting,
            ratings=evaluations.averages(db.session, inst.id),
        )
