"""The monthly self-check and the quarterly review (issue 23, item 4; the rules: services/upkeep/self_checks.py).

A lab's page goes through its networked records for a month: each row shows what the province holds of the
checklist's fields, a link to correct the record on its own form, and "gone through" — the check records which
items were corrected. The review page shows a college's (or the school's) labs by month for a quarter, with
approve and return on each signed-off check and the review's sign-off."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import CheckItem, CheckRecord, Unit
from app.models.choices import CHECK_RESULT, CHECK_STATE, RUN_STATUS
from app.reports.selfcheck import CHECKLIST_LABELS
from app.security.scope import unit_ids_for_rules
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation
from app.services.upkeep import self_checks
from app.services.upkeep.self_checks import Terms

from .api_fields import integer_text

def _number(name, source):
    """A positive whole number sent as `name`, or None (anything else: a word, "²", a number past a column)."""
    return integer_text(source.get(name, ""), minimum=1)


def _refused(refusal):
    if isinstance(refusal, PolicyDenied):
        abort(404)
    for message in refusal.errors.values():
        flash(message, "danger")


class SelfCheckView(BaseView):
    route_base = "/selfcheck"
    default_view = "index"

    def _terms(self):
        return Terms.of(current_app.config)

    @expose("/")
    @has_access
    def index(self):
        labs = self_checks.checking_labs(db.session, unit_ids_for_rules(), self._terms().since)
        today = clock.today()
        lab_id = _number("lab", request.args)
        lab = next((u for u in labs if u.id == lab_id), labs[0] if labs else None)
        months = list(reversed(self_checks.months_between(lab.first, self_checks.month_of(today)))) if lab else []
        period = request.args.get("period") if request.args.get("period") in months else (months[0] if months else None)
        check, records, items = None, [], {}
        if lab is not None and period is not None:
            check = db.session.execute(sa.select(CheckRecord).where(
                CheckRecord.unit_id == lab.id, CheckRecord.kind == "monthly", CheckRecord.period == period)).scalar()
            records = self_checks.checked_records(db.session, lab.id)
            if check is not None:
                items = {i.instrument_id: i for i in db.session.execute(
                    sa.select(CheckItem).where(CheckItem.check_id == check.id)).scalars()}
        history = {}
        if lab is not None:
            history = dict(db.session.execute(sa.select(CheckRecord.period, CheckRecord.state).where(
                CheckRecord.unit_id == lab.id, CheckRecord.kind == "monthly")).all())
        return self.render_template(
            "self_checks/index.html", title=gettext("Monthly self-check"), labs=labs, lab=lab, months=months,
            period=period, check=check, records=records, items=items, history=history, checklist=CHECKLIST_LABELS,
            results=dict(CHECK_RESULT.pairs), states=dict(CHECK_STATE.pairs), run_status=dict(RUN_STATUS.pairs),
            editable=check is not None and check.state in self_checks.EDITABLE,
            reviewer=self_checks.may_review(Actor.of(g.user), g.user.unit))

    def _back(self, lab_id, period):
        return redirect(url_for("SelfCheckView.index", lab=lab_id, period=period))

    @expose("/open", methods=["POST"])
    @has_access
    def open(self):
        lab_id, period = _number("lab", request.form), request.form.get("period", "")
        try:
            self_checks.open_check(db.session, Actor.of(g.user), lab_id, period, clock.now(), self._terms().since)
            db.session.commit()
        except (RuleViolation, PolicyDenied) as refusal:
            db.session.rollback()
            _refused(refusal)
        return self._back(lab_id, period)

    def _posted_check(self):
        check = db.session.get(CheckRecord, _number("check_id", request.form) or 0)
        if check is None:
            abort(404)
        return check.id, check.unit_id, check.period

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        check_id, lab_id, period = self._posted_check()
        try:
            self_checks.confirm(db.session, Actor.of(g.user), check_id, _number("instrument_id", request.form),
                                request.form.get("note"), clock.now())
            db.session.commit()
        except (RuleViolation, PolicyDenied) as refusal:
            db.session.rollback()
            _refused(refusal)
        return self._back(lab_id, period)

    @expose("/sign", methods=["POST"])
    @has_access
    def sign(self):
        check_id, lab_id, period = self._posted_check()
        try:
            self_checks.sign(db.session, Actor.of(g.user), check_id, request.form.get("findings"), clock.now())
            db.session.commit()
        except (RuleViolation, PolicyDenied) as refusal:
            db.session.rollback()
            _refused(refusal)
            return self._back(lab_id, period)
        flash(gettext("The self-check of %(period)s is signed off and goes to the college's quarterly review.",
                      period=period), "success")
        return self._back(lab_id, period)

    # -- the quarterly review -----------------------------------------------------------------------------

    def _reviewing_units(self):
        """The units above labs that owe checks, in the caller's scope."""
        parents = {lab.parent_id for lab in self_checks.checking_labs(db.session, None, self._terms().since)}
        ids = unit_ids_for_rules()
        units = db.session.execute(sa.select(Unit).where(Unit.id.in_(parents)).order_by(Unit.path)).scalars().all()
        return [u for u in units if ids is None or u.id in ids]

    @expose("/review")
    @has_access
    def review(self):
        units = self._reviewing_units()
        today = clock.today()
        months = self_checks.months_between(self._terms().since, self_checks.month_of(today))
        quarters = sorted({self_checks.quarter_of(m) for m in months}, reverse=True)
        unit = next((u for u in units if u.id == _number("unit", request.args)), units[0] if units else None)
        quarter = request.args.get("quarter") if request.args.get("quarter") in quarters else (quarters[0] if quarters else None)
        state = (self_checks.quarter_state(db.session, unit.id, quarter, self._terms().since)
                 if unit and quarter else None)
        return self.render_template(
            "self_checks/review.html", title=gettext("Quarterly review of self-checks"), units=units, unit=unit,
            quarters=quarters, quarter=quarter, state=state, months=self_checks.months_of(quarter) if quarter else [],
            states=dict(CHECK_STATE.pairs), current=self_checks.month_of(today), today=today,
            ended=quarter is not None and self_checks.last_day(quarter) < today)

    def _back_to_review(self, unit_id, quarter):
        return redirect(url_for("SelfCheckView.review", unit=unit_id, quarter=quarter))

    @expose("/decide", methods=["POST"])
    @has_access
    def decide(self):
        check_id, lab_id, period = self._posted_check()
        lab = db.session.get(Unit, lab_id)
        approve = request.form.get("decision") == "approve"
        try:
            self_checks.decide(db.session, Actor.of(g.user), check_id, approve, request.form.get("remarks"), clock.now())
            db.session.commit()
        except (RuleViolation, PolicyDenied) as refusal:
            db.session.rollback()
            _refused(refusal)
        return self._back_to_review(lab.parent_id, self_checks.quarter_of(period))

    @expose("/sign_review", methods=["POST"])
    @has_access
    def sign_review(self):
        unit_id, quarter = _number("unit_id", request.form), request.form.get("quarter", "")
        try:
            self_checks.sign_review(db.session, Actor.of(g.user), unit_id, quarter, request.form.get("findings"),
                                    clock.now(), self._terms().since)
            db.session.commit()
        except (RuleViolation, PolicyDenied) as refusal:
            db.session.rollback()
            _refused(refusal)
            return self._back_to_review(unit_id, quarter)
        flash(gettext("The quarterly review of %(quarter)s is signed off.", quarter=quarter), "success")
        return self._back_to_review(unit_id, quarter)

