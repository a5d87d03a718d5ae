"""Who may book (issue 13): outside users register themselves and wait for an administrator's
approval; on-campus users are created by administrators, bound to their lab or research group with
the project account their charges go to and the PI who approves them.

An organisation's category is chosen by its registrant among the outside ones (never 校内); whether
it is affiliated (关联单位, which the subsidies depend on) only administrators decide.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_appbuilder.security.sqla.models import Role
from flask_babel import lazy_gettext as _
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from app.models import CustomerOrg, PlatformUser, ServiceUser
from app.models.user import COLLEGE_ADMIN, SCHOOL_ADMIN, SERVICE_USER

from app.services import inputs
from app.services.people import identifiers
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation

OUTSIDE_CATEGORIES = ("academic", "enterprise", "student_startup")

MSG_NAME = _("Enter your name.")
MSG_MOBILE = _("Enter an 11-digit mainland mobile number, e.g. 13800138000.")
MSG_EMAIL = _("Enter a valid e-mail address, e.g. name@example.edu.cn.")
MSG_USERNAME = _("Choose a user name of 3 to 32 letters, digits, dots, dashes or underscores.")
MSG_USERNAME_TAKEN = _("This user name is taken.")
MSG_EMAIL_TAKEN = _("An account with this e-mail address exists already.")
MSG_PASSWORD = _("The password needs at least 8 characters.")
MSG_PASSWORD_MATCH = _("The two passwords differ.")
MSG_ORG = _("Choose your organisation, or name a new one with its category.")
MSG_ORG_CATEGORY = _("Choose the organisation's category: another university or research institute, an enterprise, "
                     "or a student start-up team or individual.")
MSG_CREDIT_CODE = _("This is not a valid unified social credit code (18 characters, check characters included).")
MSG_CREDIT_CODE_TAKEN = _("An organisation with this unified social credit code is registered already; choose it from the list.")
MSG_FORGED = _("The category and affiliation of an organisation are set by the school's administrators only.")
MSG_CAMPUS_UNIT = _("An on-campus user belongs to a laboratory or research group.")
MSG_PROJECT = _("Give the project account the charges go to.")
MSG_PI = _("Name the PI who approves the charges.")
DENIED_DECIDE = _("Only school and college administrators decide on registrations.")
DENIED_DECIDED = _("This registration has been decided already.")


@dataclass
class Registration:
    name: str
    mobile: str
    email: str
    username: str
    password: str
    password_again: str
    org_id: int | None = None
    org_name: str | None = None
    org_category: str | None = None
    credit_code: str | None = None
    affiliation_claimed: bool = False  # the request carried an affiliation or a campus category: forged


def _username_ok(name):
    return bool(re.fullmatch(r"[A-Za-z0-9._-]{3,32}", name or ""))


def _taken(session, column, value, except_id=None) -> bool:
    """Whether another account holds `value` in `column`, whatever its case: FAB signs in by
    lower(username), so `LAB_ADMIN` beside `lab_admin` would lock the real account out (the
    database's lower() indexes, migration 0021, hold the same rule)."""
    # lower() on both sides, by the database: the index is on the database's lower(), which folds other
    # letters than Python's str.lower() does under some collations
    query = sa.select(PlatformUser.id).where(sa.func.lower(column) == sa.func.lower((value or "").strip()))
    if except_id is not None:
        query = query.where(PlatformUser.id != except_id)
    return session.execute(query.limit(1)).first() is not None


def username_taken(session, username, except_id=None) -> bool:
    return _taken(session, PlatformUser.username, username, except_id)


def email_taken(session, email, except_id=None) -> bool:
    return _taken(session, PlatformUser.email, email, except_id)


def check_account(session, username, password, password_again, email) -> dict:
    """{field: message} for a new sign-in account: a free user name and e-mail, a long enough password."""
    errors = {}
    if not identifiers.is_email(email):
        errors["email"] = MSG_EMAIL
    elif email_taken(session, email):
        errors["email"] = MSG_EMAIL_TAKEN
    if not _username_ok(username):
        errors["username"] = MSG_USERNAME
    elif username_taken(session, username):
        errors["username"] = MSG_USERNAME_TAKEN
    if len(password or "") < 8:
        errors["password"] = MSG_PASSWORD
    elif password != password_again:
        errors["password_again"] = MSG_PASSWORD_MATCH
    return errors


def check(session, form: Registration) -> dict:
    """{field: message} for a registration; empty when it can be saved."""
    errors = {}
    if form.affiliation_claimed:
        errors["org_category"] = MSG_FORGED
    for field, column in (("name", ServiceUser.name), ("mobile", ServiceUser.mobile), ("email", ServiceUser.email),
                          ("org_name", CustomerOrg.name)):
        inputs.too_long(errors, field, getattr(form, field), column)
    if not (form.name or "").strip():
        errors["name"] = MSG_NAME
    if not identifiers.is_mobile(form.mobile):
        errors["mobile"] = MSG_MOBILE
    for field, message in check_account(session, form.username, form.password, form.password_again, form.email).items():
        errors.setdefault(field, message)
    if form.org_id:
        org = session.get(CustomerOrg, form.org_id)
        if org is None or org.category not in OUTSIDE_CATEGORIES:
            errors["org_id"] = MSG_ORG
    elif not (form.org_name or "").strip():
        errors["org_id"] = MSG_ORG
    else:
        if form.org_category == "campus":
            errors["org_category"] = MSG_FORGED
        elif form.org_category not in OUTSIDE_CATEGORIES:
            errors["org_category"] = MSG_ORG_CATEGORY
        code = identifiers.normalised_credit_code(form.credit_code) if form.credit_code else ""
        if code and not identifiers.is_valid_credit_code(code):
            errors["credit_code"] = MSG_CREDIT_CODE
        elif code and session.execute(sa.select(CustomerOrg.id).where(CustomerOrg.credit_code == code)).first():
            errors["credit_code"] = MSG_CREDIT_CODE_TAKEN
    return errors


def new_account(session, username, name, email, password, hash_method="scrypt", active=True) -> PlatformUser:
    """A sign-in account with the ServiceUser role, not yet added to the session (it goes in with the
    service user it belongs to). Chinese order: the family name is the first character."""
    role = session.execute(sa.select(Role).where(Role.name == SERVICE_USER)).scalar_one()
    name = name.strip()
    account = PlatformUser(username=username, first_name=name[1:] or name, last_name=name[0], email=email.strip(),
                           active=active, password=generate_password_hash(password, method=hash_method))
    account.roles = [role]
    return account


def register(session, form: Registration, now, hash_method="scrypt") -> ServiceUser:
    """Save a registration: an inactive account and a pending service user (the caller commits)."""
    errors = check(session, form)
    if errors:
        raise RuleViolation(errors)
    if form.org_id:
        org = session.get(CustomerOrg, form.org_id)
    else:
        code = identifiers.normalised_credit_code(form.credit_code) if form.credit_code else None
        org = CustomerOrg(name=form.org_name.strip(), category=form.org_category, affiliated=False, credit_code=code or None)
        session.add(org)
    # the account is inactive until an administrator approves the registration
    account = new_account(session, form.username, form.name, form.email, form.password, hash_method, active=False)
    user = ServiceUser(name=form.name.strip(), org=org, account=account, mobile=form.mobile.strip(),
                       email=form.email.strip(), status="pending", registered_at=now)
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:  # the same name registered at once by another request
        if "uq_ab_user_username_lower" in str(error.orig) or "uq_ab_user_email_lower" in str(error.orig):
            session.rollback()
            field = "username" if "username" in str(error.orig) else "email"
            raise RuleViolation({field: MSG_USERNAME_TAKEN if field == "username" else MSG_EMAIL_TAKEN}) from error
        raise
    return user


def _require_decider(actor: Actor):
    if not {SCHOOL_ADMIN, COLLEGE_ADMIN} & actor.roles:
        raise PolicyDenied("not_a_decider", DENIED_DECIDE)


def approve(session, actor: Actor, user: ServiceUser, now) -> ServiceUser:
    _require_decider(actor)
    if user.status != "pending":
        raise PolicyDenied("wrong_state", DENIED_DECIDED)
    user.status, user.decided_at, user.decided_by_id = "active", now, actor.user_id
    if user.account is not None:
        user.account.active = True
    session.flush()
    return user


def refuse(session, actor: Actor, user: ServiceUser, now) -> ServiceUser:
    _require_decider(actor)
    if user.status != "pending":
        raise PolicyDenied("wrong_state", DENIED_DECIDED)
    user.status, user.decided_at, user.decided_by_id = "rejected", now, actor.user_id
    if user.account is not None:
        user.account.active = False
    session.flush()
    return user


def check_service_user(session, user: ServiceUser) -> dict:
    """The rules of a service user kept by an administrator (campus users need their lab, project account, PI)."""
    errors = {}
    if user.mobile and not identifiers.is_mobile(user.mobile):
        errors["mobile"] = MSG_MOBILE
    if user.email and not identifiers.is_email(user.email):
        errors["email"] = MSG_EMAIL
    org = user.org if user.org is not None else session.get(CustomerOrg, user.org_id)
    if org is not None and org.category == "campus":
        if user.unit is None and user.unit_id is None:
            errors["unit"] = MSG_CAMPUS_UNIT
        if not (user.project_account or "").strip():
            errors["project_account"] = MSG_PROJECT
        if user.pi is None and user.pi_id is None:
            errors["pi"] = MSG_PI
    return errors


def check_org(session, org: CustomerOrg) -> dict:
    errors = {}
    if org.credit_code:
        org.credit_code = identifiers.normalised_credit_code(org.credit_code)
        if not identifiers.is_valid_credit_code(org.credit_code):
            errors["credit_code"] = MSG_CREDIT_CODE
    return errors
