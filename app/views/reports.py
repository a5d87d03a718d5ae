"""The 报表 menu: every registered report, for a year and a unit in the caller's scope.

The download is a GET (it changes nothing); the unit must be in the caller's scope, else 404,
and the report only ever sees that unit's subtree (app/reports/registry.py). The page itself
starts an export on the task queue instead (POST, CSRF; app/tasks.py) and polls its progress; an
export is only ever visible to the account that started it.
"""

from flask import Response, abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
import sqlalchemy as sa

from app import clock, tasks
from app.extensions import db
from app.models import ReportExport, Unit
from app.reports import exports, registry
from app.reports.excel import content_disposition
from app.security import permissions as P
from app.services.upkeep.provincial_sync import mark_uploaded
from app.security.scope import scope_clause_for, scope_root, unit_in_scope, ALL

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_YEAR = 2000


def _units_in_scope():
    query = sa.select(Unit).order_by(Unit.path)
    clause = scope_clause_for(Unit)
    return db.session.execute(query if clause is None else query.where(clause)).scalars().all()


def _default_unit_id():
    root = scope_root()
    if root == ALL:
        return registry.school_root(db.session).id
    return root


class ReportsView(BaseView):
    route_base = "/reports"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        today = clock.today()
        return self.render_template(
            "reports/index.html", reports=registry.available(), units=_units_in_scope(),
            selected_unit=request.args.get("unit", type=int) or _default_unit_id(),
            years=list(range(today.year, FIRST_YEAR - 1, -1)), selected_year=today.year - 1,
            may_mark_uploaded=self.appbuilder.sm.has_access(P.CAN_MARK_UPLOADED, self.class_permission_name),
            title=gettext("Reports"))

    @expose("/uploaded", methods=["POST"])
    @has_access
    def mark_uploaded(self):
        """The provincial upload file of a unit has been uploaded: its records are current there."""
        unit_id = request.form.get("unit", type=int) or _default_unit_id()
        if not unit_in_scope(unit_id):
            abort(404)
        unit = db.session.get(Unit, unit_id)
        count = mark_uploaded(db.session, registry.unit_subtree(db.session, unit))
        db.session.commit()
        flash(gettext("%(count)s records of %(unit)s marked as uploaded to the provincial platform.", count=count,
                      unit=unit.name), "success")
        return redirect(url_for("ReportsView.index", unit=unit_id))

    @staticmethod
    def _requested(values):
        """(report, year, unit) from the form; aborts 404 for an unknown report or a unit outside
        the scope; year None when it is not a year the reports cover."""
        try:
            rep = registry.get(values.get("name", ""))
        except registry.UnknownReport:
            abort(404)
        year = values.get("year", type=int)
        if year is not None and not FIRST_YEAR <= year <= clock.today().year + 1:
            year = None
        unit_id = values.get("unit", type=int) or _default_unit_id()
        if not unit_in_scope(unit_id):
            abort(404)  # another unit's report: as if it did not exist
        return rep, year, db.session.get(Unit, unit_id)

    @staticmethod
    def _bad_year():
        return gettext("Choose a year between %(first)s and %(last)s.", first=FIRST_YEAR, last=clock.today().year + 1)

    @expose("/download")
    @has_access
    def download(self):
        rep, year, unit = self._requested(request.args)
        if year is None:
            flash(self._bad_year(), "danger")
            return redirect(url_for("ReportsView.index"))
        ctx = registry.ReportContext(db.session, year, unit, registry.unit_subtree(db.session, unit), clock.today())
        content = registry.render(rep, ctx)
        return Response(content, mimetype=XLSX,
                        headers={"Content-Disposition": content_disposition(registry.file_name(rep, ctx))})

    @expose("/exports", methods=["POST"])
    @has_access
    def export(self):
        """Start building a report in the background (answers 202 with where to follow it)."""
        rep, year, unit = self._requested(request.form)
        if year is None:
            return jsonify(message=self._bad_year()), 400
        job = tasks.start_export(db.session, g.user.id, rep, year, unit)
        return jsonify(id=job.id, status_url=url_for("ReportsView.export_status", export_id=job.id),
                       file_url=url_for("ReportsView.export_file", export_id=job.id)), 202

    def _own_export(self, export_id):
        job = db.session.get(ReportExport, export_id)
        if job is None or job.account_id != g.user.id:
            abort(404)  # someone else's export: as if it did not exist
        return job

    @expose("/exports/<int:export_id>")
    @has_access
    def export_status(self, export_id):
        return jsonify(exports.status(self._own_export(export_id), clock.now()))

    @expose("/exports/<int:export_id>/file")
    @has_access
    def export_file(self, export_id):
        job = self._own_export(export_id)
        if job.state != "done":
            abort(404)
        return Response(job.content, mimetype=XLSX, headers={"Content-Disposition": content_disposition(job.file_name)})
