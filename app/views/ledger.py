"""The school's asset-ledger screens (issue 23, item 1): upload the asset system's export, see the dry run of every
row, name the headers and 使用部门 the platform does not know, commit, download the dry run as a workbook. The
uploaded file is kept by its SHA-256 outside the web root, so the file committed is the one the dry run showed."""
import re
from dataclasses import dataclass

from flask import abort, current_app, flash, g, redirect, request, Response, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import LedgerImport, LedgerMapping, LedgerUnitName
from app.reports.excel import content_disposition
from app.reports.ledger import ACTION_LABELS, dry_run_workbook
from app.services.errors import RuleViolation
from app.services.people.contracts import uploaded_name
from app.seed.ledger import demo_ledger_path
from app.services.upkeep import ledger, ledger_import

from .api_fields import integer_text
from .base import ScopedModelView, interface
from .reports import XLSX

SHOWN_ROWS = 500  # on screen, what needs a look first (refused, changed, new); the workbook holds every row
SHOWN_FIRST = {"refused": 0, "update": 1, "create": 2, "unchanged": 3}
DIGEST = re.compile(r"^[0-9a-f]{64}$")
SUFFIXES = (".xlsx", ".xls", ".csv")
MSG_NO_FILE = _("Choose the ledger file exported from the asset system (.xlsx, .xls or .csv).")
MSG_GONE = _("The uploaded file is no longer here: upload it again.")
MSG_MAPPING_NAME = _("Name the mapping after the asset system that wrote the file (at most 100 characters).")


def _folder():
    folder = current_app.config["LEDGER_FOLDER"]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _suffix(filename):
    lowered = filename.lower()
    return next((s for s in SUFFIXES if lowered.endswith(s)), None)


def _keep(data: bytes, suffix: str) -> str:
    digest = ledger_import.digest_of(data)
    path = _folder() / f"{digest}{suffix}"
    if not path.exists():
        path.write_bytes(data)
        path.chmod(0o600)
    return digest


def _kept(digest, suffix):
    """The bytes of an uploaded file named by its digest (only a digest and a known suffix make a path)."""
    if not DIGEST.fullmatch(digest or "") or suffix not in SUFFIXES:
        return None
    path = _folder() / f"{digest}{suffix}"
    return path.read_bytes() if path.is_file() else None


def _mapping(value):
    pk = integer_text(value or "", minimum=1)
    return db.session.get(LedgerMapping, pk) if pk is not None else None


@dataclass
class KeptUpload:
    """An uploaded ledger as the dry run's page names it: its kept file and how it is read."""

    digest: str
    suffix: str
    filename: str
    data: bytes
    mapping: LedgerMapping | None
    sheet: str | None

    def fields(self) -> dict:
        """The page's hidden fields (and the workbook link's query) that name it again."""
        return {"digest": self.digest, "suffix": self.suffix, "filename": self.filename,
                "mapping": self.mapping.id if self.mapping else "", "sheet": self.sheet or ""}


def _kept_upload(values) -> KeptUpload | None:
    """The upload a form or link names by its fields; None when its file is not kept (or never was)."""
    filename = uploaded_name(values.get("filename"), "")
    data = _kept(values.get("digest"), values.get("suffix"))
    if data is None or not filename:
        return None
    return KeptUpload(values["digest"], values["suffix"], filename, data, _mapping(values.get("mapping")),
                      values.get("sheet") or None)


class LedgerImportView(BaseView):
    route_base = "/ledger"
    default_view = "index"

    def _page(self, **kwargs):
        imports = db.session.execute(sa.select(LedgerImport).order_by(LedgerImport.id.desc()).limit(10)).scalars().all()
        mappings = db.session.execute(sa.select(LedgerMapping).order_by(LedgerMapping.name)).scalars().all()
        return self.render_template("ledger/index.html", title=gettext("Asset ledger import"), imports=imports,
                                    mappings=mappings, labels=ledger.FIELD_LABELS, actions=ACTION_LABELS,
                                    shown=SHOWN_ROWS, demo=demo_ledger_path(_folder()).is_file(), **kwargs)

    @staticmethod
    def _gone():
        flash(str(MSG_GONE), "danger")
        return redirect(url_for("LedgerImportView.index"))

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    def _plan(self, upload: KeptUpload):
        """The dry run of a kept file, or a page telling why there is none (a sheet to choose, a refusal)."""
        try:
            sheets = ledger.sheet_names(upload.data, upload.filename)
            if len(sheets) > 1 and upload.sheet not in sheets:
                return None, {"sheets": sheets}
            return ledger_import.plan(db.session, upload.data, upload.filename, mapping=upload.mapping,
                                      sheet=upload.sheet), {}
        except ledger.NotALedger as refusal:
            flash(str(refusal), "danger")
            return None, {}

    def _dry_run_page(self, upload: KeptUpload | None):
        if upload is None:
            return self._gone()
        plan, extra = self._plan(upload)
        outcomes = sorted(plan.outcomes, key=lambda o: (SHOWN_FIRST[o.action], o.row))[:SHOWN_ROWS] if plan else []
        return self._page(plan=plan, kept=upload.fields(), mapping=upload.mapping, outcomes=outcomes, **extra)

    @expose("/dry-run", methods=["POST"])
    @has_access
    def dry_run(self):
        upload = request.files.get("file")
        filename = uploaded_name(getattr(upload, "filename", ""), "")
        suffix = _suffix(filename)
        if upload is None or not filename:
            flash(str(MSG_NO_FILE), "danger")
            return redirect(url_for("LedgerImportView.index"))
        if suffix is None:
            flash(str(ledger.MSG_NOT_A_SHEET), "danger")
            return redirect(url_for("LedgerImportView.index"))
        data = upload.read()
        return self._dry_run_page(KeptUpload(_keep(data, suffix), suffix, filename, data,
                                             _mapping(request.form.get("mapping")), request.form.get("sheet") or None))

    @expose("/sheet", methods=["POST"])
    @has_access
    def sheet(self):
        """The dry run again, of the sheet chosen, or with another saved mapping."""
        return self._dry_run_page(_kept_upload(request.form))

    @expose("/mapping", methods=["POST"])
    @has_access
    def save_mapping(self):
        """Save the headers named on the dry run's page as a mapping of this asset system, and read the file with it."""
        form, upload = request.form, _kept_upload(request.form)
        name = (form.get("mapping_name") or "").strip()
        if not name or len(name) > 100 or not name.isprintable():
            flash(str(MSG_MAPPING_NAME), "danger")
            return self._dry_run_page(upload)
        columns = {}
        for key, value in form.items():
            if key.startswith("header:") and (value in ledger.FIELDS or value == ""):
                header = key.removeprefix("header:")[:200]
                if header.isprintable():
                    columns[header] = value
        mapping = db.session.execute(sa.select(LedgerMapping).filter_by(name=name)).scalar()
        if mapping is None:
            mapping = LedgerMapping(name=name, columns={})
            db.session.add(mapping)
        mapping.columns = {**(mapping.columns or {}), **columns}
        db.session.commit()
        flash(gettext("Column mapping %(name)s saved.", name=name), "success")
        if upload is not None:
            upload.mapping = mapping
        return self._dry_run_page(upload)

    @expose("/commit", methods=["POST"])
    @has_access
    def commit(self):
        upload = _kept_upload(request.form)
        if upload is None:
            return self._gone()
        plan, _extra = self._plan(upload)
        if plan is None:
            return redirect(url_for("LedgerImportView.index"))
        try:
            record = ledger_import.commit(db.session, plan, g.user.id, clock.now())
            db.session.commit()
        except RuleViolation as refusal:
            db.session.rollback()
            for message in refusal.errors.values():
                flash(message, "danger")
            return redirect(url_for("LedgerImportView.index"))
        flash(gettext("Ledger imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged, %(removed)s no "
                      "longer in the ledger.", created=record.created, updated=record.updated,
                      unchanged=record.unchanged, removed=record.removed), "success")
        return redirect(url_for("ReconciliationView.index"))

    @expose("/report")
    @has_access
    def report(self):
        upload = _kept_upload(request.args)
        if upload is None:
            abort(404)
        try:
            plan = ledger_import.plan(db.session, upload.data, upload.filename, mapping=upload.mapping, sheet=upload.sheet)
        except ledger.NotALedger:
            abort(404)
        return Response(dry_run_workbook(plan), mimetype=XLSX, headers={
            "Content-Disposition": content_disposition(gettext("Ledger dry run %(name)s.xlsx", name=upload.filename))})

    @expose("/demo")
    @has_access
    def demo(self):
        """The demo university's ledger workbook (written by the demo seed; none elsewhere)."""
        path = demo_ledger_path(_folder())
        if not path.is_file():
            abort(404)
        return Response(path.read_bytes(), mimetype=XLSX, headers={
            "Content-Disposition": content_disposition(gettext("Demo asset ledger.xlsx"))})


class LedgerUnitNameView(ScopedModelView):
    """Which unit each 使用部门 name of the ledger is (a name equal to a unit's own needs none)."""

    datamodel = interface(LedgerUnitName)
    list_title = _("Ledger department names")
    show_title = add_title = edit_title = _("Ledger department name")
    list_columns = ["name", "unit"]
    add_columns = edit_columns = show_columns = ["name", "unit"]
    label_columns = {"name": _("Department using it, as the ledger writes it"), "unit": _("Unit")}
    search_columns = ["name", "unit"]
    description_columns = {"name": _("Exactly as the asset system writes it, e.g. 化学化工学院（本部）.")}

    def _remap(self):
        ledger_import.remap_units(db.session)
        db.session.commit()

    def post_add(self, item):
        self._remap()

    def post_update(self, item):
        self._remap()

    def post_delete(self, item):
        self._remap()


class LedgerMappingView(ScopedModelView):
    """The saved column mappings of asset systems (saved from the dry run's page)."""

    datamodel = interface(LedgerMapping)
    list_title = _("Ledger column mappings")
    show_title = _("Ledger column mapping")
    list_columns = ["name", "updated_at"]
    show_columns = ["name", "columns", "updated_at"]
    label_columns = {"name": _("Asset system"), "columns": _("Headers and the fields they hold"),
                     "updated_at": _("Updated at")}
    formatters_columns = {"columns": lambda columns: "；".join(
        f"{header} → {ledger.FIELD_LABELS[name] if name else gettext('(set aside)')}"
        for header, name in (columns or {}).items() if not name or name in ledger.FIELD_LABELS)}
