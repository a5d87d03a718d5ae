"""Statements (对账单) on screen and as Excel: an administrator chooses a unit of its scope, or an
organisation or user served there, and a month or a year; a service user gets its own and nothing
else. Every figure and row is restricted to the caller's scope (app/services/statements.py); the
download is a GET (it changes nothing)."""
from flask import Response, abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import Charge, CustomerOrg, Instrument, ServiceUser, UsageRecord
from app.models.choices import CHARGE_STATE
from app.reports import statement as statement_report
from app.reports.excel import content_disposition, write_workbook
from app.security.scope import (ALL, NOTHING, apply_scope, own_service_user_id, scope_root, scope_unit_ids,
                                unit_in_scope)
from app.services import statements

from .reports import FIRST_YEAR, XLSX, _default_unit_id, _units_in_scope

SHOWN_ROWS = 200  # on screen; the workbook holds them all


def _scope():
    ids = scope_unit_ids()
    return None if ids == ALL else (() if ids == NOTHING else tuple(ids))


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


class StatementView(BaseView):
    route_base = "/statements"
    default_view = "index"

    def _requested(self):
        """(party, period, unit ids) from the query string; 404 for a party outside the caller's reach."""
        args, today = request.args, clock.today()
        year = args.get("year", type=int) or today.year
        month = args.get("month", type=int)
        if not FIRST_YEAR <= year <= today.year + 1 or (month is not None and not 1 <= month <= 12):
            abort(404)
        own = own_service_user_id()
        if scope_root() == NOTHING:
            if own is None:
                abort(404)
            return statements.Party("user", own), statements.Period.of(year, month), None
        kind, _sep, value = (args.get("party") or f"unit:{_default_unit_id()}").partition(":")
        if kind not in statements.PARTY_KINDS or not value.isdigit():
            abort(404)
        if kind == "unit" and not unit_in_scope(int(value)):
            abort(404)
        if kind == "user" and apply_scope(db.session.query(ServiceUser.id), ServiceUser).filter(
                ServiceUser.id == int(value)).first() is None:
            abort(404)  # an on-campus researcher of another lab: not this administrator's to name
        return statements.Party(kind, int(value)), statements.Period.of(year, month), _scope()

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
