"""Statements (对账单) on screen, as Excel and through the API (/api/v1/statement/): an administrator chooses a unit of its scope, or an
organisation or user served there, and a month or a year; a service user gets its own and nothing
else. Every figure and row is restricted to the caller's scope (app/services/money/statements.py); the
download is a GET (it changes nothing)."""
from flask import Response, abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi, safe
from flask_appbuilder.security.decorators import has_access, protect
from flask_babel import gettext
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import Charge, CustomerOrg, Instrument, ServiceUser, UsageRecord
from app.models.choices import CHARGE_STATE
from app.reports import statement as statement_report
from app.reports.excel import content_disposition, write_workbook
from app.security.scope import (NOTHING, apply_scope, own_service_user_id, scope_root, unit_ids_for_rules,
                                unit_in_scope)
from app.services.money import statements

from .api_fields import integer_text
from .reports import FIRST_YEAR, XLSX, _default_unit_id, _units_in_scope

SHOWN_ROWS = 200  # on screen; the workbook holds them all


def _customers(unit_ids):
    """The organisations and users charged on the scope's instruments (for the choice of party)."""
    used = sa.select(UsageRecord.user_id).join(Charge, Charge.usage_id == UsageRecord.id)
    if unit_ids is not None:
        used = used.join(Instrument, Instrument.id == UsageRecord.instrument_id).where(Instrument.unit_id.in_(unit_ids))
    users = db.session.execute(sa.select(ServiceUser.id, ServiceUser.name, CustomerOrg.id.label("org_id"),
                                         CustomerOrg.name.label("org_name"))
                               .join(CustomerOrg, CustomerOrg.id == ServiceUser.org_id)
                               .where(ServiceUser.id.in_(used.distinct())).order_by(CustomerOrg.name, ServiceUser.name)).all()
    orgs = sorted({(u.org_id, u.org_name) for u in users}, key=lambda o: o[1])
    return orgs, users


def requested_statement(args):
    """(party, period, unit ids) a statement request names, or None (404) for a period or party outside
    the caller's reach: a service user gets its own whatever it asks for; an administrator a unit of its
    scope, or an organisation or user served there."""
    today = clock.today()
    for name in ("year", "month"):  # given but not a whole number: no such period (it was read as this year)
        if args.get(name) not in (None, "") and integer_text(args[name]) is None:
            return None
    year = integer_text(args.get("year") or "") or today.year
    month = integer_text(args["month"]) if args.get("month") else None
    if not FIRST_YEAR <= year <= today.year + 1 or (month is not None and not 1 <= month <= 12):
        return None
    own = own_service_user_id()
    if scope_root() == NOTHING:
        if own is None:
            return None
        return statements.Party("user", own), statements.Period.of(year, month), None
    kind, _sep, value = (args.get("party") or f"unit:{_default_unit_id()}").partition(":")
    party_id = integer_text(value, 1)
    if kind not in statements.PARTY_KINDS or party_id is None:
        return None
    if kind == "unit" and not unit_in_scope(party_id):
        return None
    if kind == "user" and apply_scope(db.session.query(ServiceUser.id), ServiceUser).filter(
            ServiceUser.id == party_id).first() is None:
        return None  # an on-campus researcher of another lab: not this administrator's to name
    return statements.Party(kind, party_id), statements.Period.of(year, month), unit_ids_for_rules()


class StatementView(BaseView):
    route_base = "/statements"
    default_view = "index"

    def _requested(self):
        requested = requested_statement(request.args)
        if requested is None:
            abort(404)
        return requested

    @expose("/")
    @has_access
    def index(self):
        party, period, unit_ids = self._requested()
        admin = scope_root() != NOTHING
        orgs, users = _customers(unit_ids) if admin else ((), ())
        figures = statements.totals(db.session, party, period, unit_ids)
        invoiced = db.session.execute(statements.invoiced_rows(db.session, party, period, unit_ids).limit(SHOWN_ROWS)).all()
        waiting = db.session.execute(statements.open_rows(db.session, party, period, unit_ids).limit(SHOWN_ROWS)).all()
        today = clock.today()
        return self.render_template(
            "statements/index.html", title=gettext("Statements"), admin=admin, party=party, period=period,
            party_name=statements.party_name(db.session, party), figures=figures, invoiced=invoiced, waiting=waiting,
            units=_units_in_scope() if admin else (), orgs=orgs, users=users, shown=SHOWN_ROWS,
            years=list(range(today.year, FIRST_YEAR - 1, -1)), query=request.args.to_dict(),
            states=dict(CHARGE_STATE.select_choices()))

    @expose("/download")
    @has_access
    def download(self):
        party, period, unit_ids = self._requested()
        sheets = statement_report.statement_sheets(db.session, party, period, unit_ids, clock.today())
        return Response(write_workbook(sheets), mimetype=XLSX, headers={
            "Content-Disposition": content_disposition(statement_report.file_name(db.session, party, period))})


MAX_PAGE = 1000


def _row(row):
    return {"id": row.id, "credit_of_id": row.credit_of_id, "used_on": row.used_on.isoformat() if row.used_on else None,
            "instrument": row.instrument, "asset_number": row.asset_number, "user": row.user, "org": row.org,
            "state": row.state, "total": float(row.total), "invoice_number": row.invoice_number,
            "invoice_date": row.invoice_date.isoformat() if row.invoice_date else None,
            "paid_on": row.paid_on.isoformat() if row.paid_on else None, "payment_method": row.payment_method,
            "reason": row.reason}


class StatementApi(BaseApi):
    """The statement of the screen (/statements/) as JSON, scoped the same way."""

    resource_name = "statement"
    openapi_spec_tag = "Statements"
    allow_browser_login = True

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def statement(self):
        """A statement (对账单): its figures and its charges, for a unit, organisation or user and a month or year.
        ---
        get:
          summary: A statement; a service user gets its own whatever it asks for
          parameters:
          - {in: query, name: party, schema: {type: string, example: "unit:5"}, description: "unit:ID, org:ID or user:ID"}
          - {in: query, name: year, schema: {type: integer, example: 2026}}
          - {in: query, name: month, schema: {type: integer, example: 11}}
          - {in: query, name: page, schema: {type: integer, default: 0}}
          - {in: query, name: page_size, schema: {type: integer, default: 100, maximum: 1000}}
          responses:
            200: {description: "party, party_name, period {year, month, first, last}, totals {invoiced, settled, owed,
              not_invoiced, waived, charges}, invoiced [charge rows], not_invoiced [charge rows], the rows paged"}
            404: {description: a party or period outside the caller's reach}
        """
        requested = requested_statement(request.args)
        if requested is None:
            return self.response_404()
        party, period, unit_ids = requested
        page = max(request.args.get("page", 0, type=int), 0)
        size = min(max(request.args.get("page_size", 100, type=int), 1), MAX_PAGE)
        figures = statements.totals(db.session, party, period, unit_ids)

        def rows(query):
            return [_row(r) for r in db.session.execute(query.limit(size).offset(page * size)).all()]

        return self.response(200, **{
            "party": f"{party.kind}:{party.id}", "party_name": statements.party_name(db.session, party),
            "period": {"year": period.year, "month": period.month, "first": period.first.isoformat(),
                       "last": period.last.isoformat()},
            "totals": {"invoiced": float(figures.invoiced), "settled": float(figures.settled), "owed": float(figures.owed),
                       "not_invoiced": float(figures.not_invoiced), "waived": float(figures.waived),
                       "charges": figures.charges},
            "invoiced": rows(statements.invoiced_rows(db.session, party, period, unit_ids)),
            "not_invoiced": rows(statements.open_rows(db.session, party, period, unit_ids)),
            "page": page, "page_size": size})
