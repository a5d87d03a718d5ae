"""Service users and their organisations: self-registration of outside users (public, rate-limited,
no outside captcha or SMS), the administrators' approval queue, and the users' and organisations'
records — on-campus users created by administrators with their lab, project account and PI."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _
from flask_wtf import FlaskForm
import sqlalchemy as sa
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import Optional

from app import clock
from app.extensions import db
from app.models import CustomerOrg, ServiceUser
from app.models.choices import BOOKING_OUTCOME, CUSTOMER_CATEGORY, SERVICE_USER_STATUS
from app.security.roles import COLLEGE_ADMIN, SCHOOL_ADMIN
from app.services.iot import machine_time
from app.services.people import registration
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

from .base import ScopedModelView, interface

CATEGORY_CHOICES = [("", _("Choose…"))] + [(c, CUSTOMER_CATEGORY.label(c)) for c in registration.OUTSIDE_CATEGORIES]


class RegistrationForm(FlaskForm):
    name = StringField(_("Name"))
    mobile = StringField(_("Mobile"))
    email = StringField(_("E-mail"))
    username = StringField(_("User name"), description=_("The name you sign in with: letters, digits, dots, dashes."))
    password = PasswordField(_("Password"), description=_("At least 8 characters."))
    password_again = PasswordField(_("Password again"))
    org_id = SelectField(_("Your organisation"), coerce=str, validators=[Optional()],
                         description=_("Choose it if it is listed; otherwise name it below."))
    org_name = StringField(_("New organisation"))
    # the service says what is wrong with a category (a forged 校内 among them), not WTForms' "not a valid choice"
    org_category = SelectField(_("Its category"), choices=CATEGORY_CHOICES, validators=[Optional()], validate_choice=False)
    credit_code = StringField(_("Its unified social credit code"), description=_("18 characters, where it has one."))


class RegistrationView(BaseView):
    """/register: an outside user asks for an account; an administrator approves it."""

    route_base = "/register"
    default_view = "form"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def form(self):
        form = RegistrationForm()
        orgs = db.session.execute(sa.select(CustomerOrg.id, CustomerOrg.name)
                                  .where(CustomerOrg.category.in_(registration.OUTSIDE_CATEGORIES))
                                  .order_by(CustomerOrg.name)).all()
        form.org_id.choices = [("", gettext("Not listed: a new organisation"))] + [(str(i), n) for i, n in orgs]
        if request.method == "POST" and form.validate_on_submit():
            claimed = "affiliated" in request.form or request.form.get("org_category") == "campus"
            data = registration.Registration(
                name=form.name.data or "", mobile=form.mobile.data or "", email=form.email.data or "",
                username=(form.username.data or "").strip(), password=form.password.data or "",
                password_again=form.password_again.data or "", org_id=int(form.org_id.data) if form.org_id.data else None,
                org_name=form.org_name.data, org_category=request.form.get("org_category") or None,
                credit_code=form.credit_code.data, affiliation_claimed=claimed)
            try:
                registration.register(db.session, data, clock.now(), current_app.config["FAB_PASSWORD_HASH_METHOD"])
                db.session.commit()
            except RuleViolation as refusal:
                db.session.rollback()
                for field, message in refusal.errors.items():
                    getattr(form, field, form.name).errors = [message]
            else:
                return self.render_template("customers/registered.html", title=gettext("Registration received"))
        return self.render_template("customers/register.html", form=form, title=gettext("Register to book instruments"))


def booking_outcomes(user):
    """How the user's self-operated slots went, by what the terminals measured: {outcome: how many}."""
    return machine_time.counts_for_user(db.session, user.id, clock.now(), machine_time.Settings.of(current_app.config))


def outcomes_text(counts):
    return gettext("No self-operated slot has ended yet") if not any(counts.values()) else " · ".join(
        f"{BOOKING_OUTCOME.label(code)} {n}" for code, n in counts.items() if n)


CUSTOMER_LABELS = {
    "booking_outcomes": _("Self-operated slots"),
    "name": _("Name"), "org": _("Organisation"), "org.name": _("Organisation"), "org.category": _("Category"),
    "mobile": _("Mobile"), "email": _("E-mail"), "status": _("Account state"), "unit": _("Laboratory or group"),
    "unit.name": _("Laboratory or group"), "project_account": _("Project account"), "pi": _("PI"),
    "suspended_until": _("Self-operation suspended until"), "suspension_reason": _("Why suspended"),
    "registered_at": _("Registered at"), "decided_at": _("Decided at"), "account": _("Account"),
    "username": _("User name"), "password": _("Password"),
}


def _category(org):
    return CUSTOMER_CATEGORY.label(org.category) if org is not None else ""


class ServiceUserView(ScopedModelView):
    """Service users: outside users (registered) and on-campus users (created here, with an account)."""

    datamodel = interface(ServiceUser)
    list_title = _("Service users")
    show_title = _("Service user")
    add_title = _("Add an on-campus or outside service user")
    edit_title = _("Edit the service user")
    show_template = "show_with_history.html"
    label_columns = CUSTOMER_LABELS
    description_columns = {
        "unit": _("On-campus users only: the lab or research group they belong to."),
        "project_account": _("On-campus users only: the project account (grant card or project number) their charges go to."),
        "pi": _("On-campus users only: the PI who approves their charges."),
        "username": _("The new account's user name (3–32 letters, digits, dots, dashes)."),
        "password": _("The new account's first password (at least 8 characters)."),
    }
    choice_columns = {"status": SERVICE_USER_STATUS}
    list_columns = ["name", "org", "status", "unit.name", "project_account", "mobile", "suspended_until"]
    search_columns = ["name", "org", "status", "unit", "project_account", "mobile"]
    add_columns = ["name", "org", "unit", "project_account", "pi", "mobile", "email", "username", "password"]
    edit_columns = ["name", "org", "status", "unit", "project_account", "pi", "mobile", "email", "suspended_until",
                    "suspension_reason"]
    show_columns = ["name", "org", "status", "unit", "project_account", "pi", "mobile", "email", "suspended_until",
                    "suspension_reason", "booking_outcomes", "registered_at", "decided_at"]
    add_form_extra_fields = {"username": StringField(_("User name")), "password": PasswordField(_("Password"))}
    formatters_columns = {"org": lambda org: f"{org.name}（{CUSTOMER_CATEGORY.label(org.category)}）" if org else "",
                          "booking_outcomes": outcomes_text}
    show_computed = {"booking_outcomes": booking_outcomes}  # measured as the page opens, by its clock
    base_order = ("id", "desc")

    @staticmethod
    def validate(session, item):
        errors = registration.check_service_user(session, item)
        if errors:
            raise RuleViolation(errors)

    def _check_write(self, item, rel_fields):
        # an outside user has no unit: the school's and colleges' administrators keep them
        if item.unit is None and item.unit_id is None:
            if not {SCHOOL_ADMIN, COLLEGE_ADMIN} & {r.name for r in g.user.roles}:
                abort(403)
            with db.session.no_autoflush:
                self._check_related(item, rel_fields)
                type(self).validate(db.session, item)
            return
        super()._check_write(item, rel_fields)

    def pre_add(self, item):
        super().pre_add(item)
        username, password = (request.form.get("username") or "").strip(), request.form.get("password") or ""
        with db.session.no_autoflush:  # the new user is not in the session yet
            errors = registration.check_account(db.session, username, password, password, item.email or "")
            if errors:
                raise RuleViolation(errors)
            item.account = registration.new_account(db.session, username, item.name, item.email, password,
                                                    current_app.config["FAB_PASSWORD_HASH_METHOD"])
        item.status, item.registered_at = "active", clock.now()


class RegistrationQueueView(ServiceUserView):
    """Registrations waiting for a decision, oldest first; approve or refuse from the record."""

    list_title = _("Registrations to approve")
    show_title = _("Registration")
    show_template = "customers/registration_show.html"
    base_filters = [["status", FilterEqual, "pending"]]
    list_columns = ["name", "org", "mobile", "email", "registered_at"]
    base_order = ("registered_at", "asc")

    @expose("/decide/<int:pk>/<string:step>", methods=["POST"])
    @has_access
    def decide(self, pk, step):
        user = self.datamodel.get(pk, self._base_filters)
        if user is None or step not in ("approve", "refuse"):
            abort(404)
        try:
            (registration.approve if step == "approve" else registration.refuse)(db.session, Actor.of(g.user), user, clock.now())
            db.session.commit()
            flash(gettext("Registration approved: %(name)s can sign in now.", name=user.name) if step == "approve"
                  else gettext("Registration refused: %(name)s.", name=user.name), "success")
        except PolicyDenied as refusal:
            db.session.rollback()
            flash(refusal.message, "danger")
        return redirect(url_for(".list"))


class CustomerOrgView(ScopedModelView):
    """Customer organisations. Only administrators set whether one is affiliated (关联单位)."""

    datamodel = interface(CustomerOrg)
    list_title = _("Customer organisations")
    show_title = _("Customer organisation")
    add_title = _("Add a customer organisation")
    edit_title = _("Edit the customer organisation")
    label_columns = {"name": _("Name"), "category": _("Category"), "affiliated": _("Affiliated unit"),
                     "credit_code": _("Unified social credit code")}
    description_columns = {"affiliated": _("An affiliated unit's income earns no unit subsidy (Art. 24)."),
                           "credit_code": _("18 characters, check characters included, where it has one.")}
    choice_columns = {"category": CUSTOMER_CATEGORY}
    list_columns = ["name", "category", "affiliated", "credit_code"]
    add_columns = edit_columns = show_columns = ["name", "category", "affiliated", "credit_code"]
    search_columns = ["name", "category", "affiliated", "credit_code"]

    @staticmethod
    def validate(session, item):
        errors = registration.check_org(session, item)
        if errors:
            raise RuleViolation(errors)

    def _check_write(self, item, rel_fields):
        if not {SCHOOL_ADMIN, COLLEGE_ADMIN} & {r.name for r in g.user.roles}:
            abort(403)
        with db.session.no_autoflush:
            type(self).validate(db.session, item)
