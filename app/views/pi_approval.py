"""The PI's page (issue 14, item 4): the signed link mailed to an on-campus charge's PI opens the charge —
instrument, user, lines, total, project account — with 同意 / 不同意. No sign-in: the link grants it (the
Public role holds the page's permission, like the fee schedules); a tampered, replaced or expired link
answers a Chinese page that says so. Rules in app/services/money/pi_approval.py."""
from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _

from app import clock
from app.extensions import db
from app.models.choices import PI_APPROVAL_STATE
from app.services.money import pi_approval
from app.services.errors import PolicyDenied, RuleViolation

from .forms import flash_refusal


class PiApprovalView(BaseView):
    route_base = "/pi-approval"
    default_view = "decide"

    @expose("/<token>", methods=["GET", "POST"])
    @has_access
    def decide(self, token):
        try:
            approval = pi_approval.by_token(db.session, token, current_app.config["SECRET_KEY"],
                                            pi_approval.Settings.of(current_app.config))
        except PolicyDenied as refusal:
            status = 410 if refusal.code == "link_expired" else 404
            return self.render_template("pi_approval/invalid.html", title=_("Approval link"), message=refusal.message), status
        if request.method == "POST":
            try:
                pi_approval.decide(db.session, approval, clock.now(), request.form.get("decision") == "approve",
                                   request.form.get("note"))
                db.session.commit()
                flash(gettext("Thank you: your decision is recorded and the laboratory is told."), "success")
            except (RuleViolation, PolicyDenied) as refusal:
                flash_refusal(refusal)
            return redirect(url_for(".decide", token=token))
        return self.render_template("pi_approval/decide.html", title=_("Approve an on-campus charge"), approval=approval,
                                    charge=approval.charge, states=dict(PI_APPROVAL_STATE.select_choices()))
