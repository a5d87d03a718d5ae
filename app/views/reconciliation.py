"""The reconciliation workspace (issue 23, item 2): the asset ledger against the platform, in the caller's scope —
the school sees every unit, a college its labs, a lab itself. A candidate becomes a draft record in a laboratory
(then the lab completes it on the instrument's own form); a mismatch's ledger value is accepted as an edit; the
networking deadlines are listed with their due dates."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import ContactCall, LedgerImport
from app.models.choices import CALL_RESULT, FUNDING_SOURCE
from app.reports.ledger import COMPARED_LABELS
from app.reports.selfcheck import field_label, implausible_label
from app.security.scope import unit_ids_for_rules
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation
from app.services.upkeep import contacts, reconciliation, todo
from app.services.upkeep.self_checks import Terms
from app.services.workdays import load_calendar

from .api_fields import integer_text
from .base import ScopedModelView, interface
from .compliance_api import record_in_scope
from .reports import _units_in_scope

SHOWN_ROWS = 500
TABS = {"candidates": _("Candidates to network"), "encouraged": _("Encouraged to network"),
        "missing": _("Missing from the ledger"), "mismatches": _("Mismatches"), "deadlines": _("Networking deadlines"),
        "changes": _("Changes to send to the province"), "verify": _("Contacts to verify"),
        "corrections": _("Contacts to correct"), "quality": _("Record quality"), "checks": _("Self-checks due")}


def _posted_record():
    """The instrument a form names (`instrument_id`), in the caller's scope; 404 otherwise."""
    instrument_id = integer_text(request.form.get("instrument_id", ""), minimum=1)
    record = record_in_scope(instrument_id) if instrument_id is not None else None
    if record is None:
        abort(404)
    return record


class ReconciliationView(BaseView):
    route_base = "/reconciliation"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        tab = request.args.get("tab", "candidates")
        if tab not in TABS:
            tab = "candidates"
        today = clock.today()
        found = todo.todo(db.session, unit_ids_for_rules(), today, load_calendar(db.session), Terms.of(current_app.config),
                          current_app.config["CONTACT_RECHECK_DAYS"])
        counts, rows = found.counts(), found.lists[tab]
        labs = [u for u in _units_in_scope() if u.level == "lab"]
        units = {u.id: u.name for u in _units_in_scope()}
        last = db.session.execute(sa.select(LedgerImport).order_by(LedgerImport.id.desc()).limit(1)).scalar()
        return self.render_template(
            "reconciliation/index.html", title=gettext("Reconciliation with the asset ledger"), tab=tab, tabs=TABS,
            counts=counts, rows=rows[:SHOWN_ROWS], shown=SHOWN_ROWS, found=found.found, labs=labs, units=units, today=today,
            last=last, fields=COMPARED_LABELS, funding=dict(FUNDING_SOURCE.select_choices()),
            results=CALL_RESULT.pairs, field_label=field_label, implausible_label=implausible_label)

    def _back(self, tab):
        return redirect(url_for("ReconciliationView.index", tab=tab))

    @expose("/accept", methods=["POST"])
    @has_access
    def accept(self):
        field = request.form.get("field", "")
        record = _posted_record()
        if field not in reconciliation.COMPARED:
            abort(404)
        try:
            reconciliation.accept(db.session, Actor.of(g.user), record.id, field)
            db.session.commit()
        except (RuleViolation, PolicyDenied) as refusal:
            db.session.rollback()
            messages = refusal.errors.values() if isinstance(refusal, RuleViolation) else [refusal.message]
            for message in messages:
                flash(message, "danger")
            return self._back("mismatches")
        flash(gettext("The ledger's %(field)s taken into %(record)s.", field=COMPARED_LABELS[field], record=str(record)),
              "success")
        return self._back("mismatches")

    @expose("/draft", methods=["POST"])
    @has_access
    def draft(self):
        entry_id, unit_id = (integer_text(request.form.get(name, ""), minimum=1) for name in ("entry_id", "unit_id"))
        if entry_id is None or unit_id is None:
            flash(str(reconciliation.MSG_CHOOSE_LAB), "danger")
            return self._back(request.form.get("tab", "candidates"))
        try:
            record = reconciliation.draft_record(db.session, Actor.of(g.user), entry_id, unit_id, clock.now())
            record_id = record.id
            db.session.commit()
        except PolicyDenied:
            db.session.rollback()
            abort(404)
        except RuleViolation as refusal:
            db.session.rollback()
            for message in refusal.errors.values():
                flash(message, "danger")
            return self._back(request.form.get("tab", "candidates"))
        flash(gettext("A draft record was made from the ledger: complete its indicators, contact, responsible person "
                      "and fee standard, then network it."), "success")
        return redirect(url_for("InstrumentView.edit", pk=record_id))

    @expose("/call", methods=["POST"])
    @has_access
    def call(self):
        """What a call to an instrument's published phone found."""
        record = _posted_record()
        try:
            contacts.record_call(db.session, Actor.of(g.user), record.id, request.form.get("result", ""),
                                 request.form.get("note"), clock.now())
            db.session.commit()
        except (RuleViolation, PolicyDenied) as refusal:
            db.session.rollback()
            for message in (refusal.errors.values() if isinstance(refusal, RuleViolation) else [refusal.message]):
                flash(message, "danger")
            return self._back("verify")
        flash(gettext("The call to %(record)s is recorded.", record=str(record)), "success")
        return self._back("verify")


class ContactCallView(ScopedModelView):
    """The log of calls to published contacts (recorded from the workspace; never edited)."""

    datamodel = interface(ContactCall)
    list_title = _("Calls to published contacts")
    show_title = _("Call to a published contact")
    list_columns = show_columns = ["instrument", "phone", "result", "called_by", "called_at", "note"]
    label_columns = {"instrument": _("Instrument"), "phone": _("Number called"), "result": _("What the call found"),
                     "called_by": _("Called by"), "called_at": _("Called at"), "note": _("Note")}
    choice_columns = {"result": CALL_RESULT}
    search_columns = ["instrument", "result", "called_at"]
    base_order = ("called_at", "desc")
