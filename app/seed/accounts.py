"""The four demo accounts (README): created when missing and bound to their units, both on the first
seeding and on every later run."""
from __future__ import annotations

import sqlalchemy as sa

from app.models import CustomerOrg, ServiceUser, Unit

from .catalog import DEMO_COLLEGE_CODE, DEMO_ENTERPRISE, DEMO_LAB_CODE, MAIL_DOMAIN

DEMO_PASSWORD = "demo-1234"  # demo data only (README)

# the demo accounts: username, role, bound unit ("school" / "college" / "lab" / None), names, e-mail
ACCOUNTS = (
    ("school_admin", "SchoolAdmin", "school", "建国", "周", f"school_admin@{MAIL_DOMAIN}"),
    ("college_admin", "CollegeAdmin", "college", "海燕", "谭", f"college_admin@{MAIL_DOMAIN}"),
    ("lab_admin", "LabAdmin", "lab", "志强", "彭", f"lab_admin@{MAIL_DOMAIN}"),
    ("service_user", "ServiceUser", None, "洋", "刘", "liuyang@xingchen-materials.com"),
)


def ensure_accounts(session, sm, school, college, lab, enterprise):
    """Create the four demo accounts if missing and bind them to their units; returns (users, created)."""
    bound = {"school": school, "college": college, "lab": lab, None: None}
    users, created = {}, []
    for username, role_name, scope, first_name, last_name, email in ACCOUNTS:
        role = sm.find_role(role_name)
        if role is None:
            raise RuntimeError(f"role {role_name} is missing: run `flask --app app sync-roles`")
        user = sm.find_user(username=username)
        if user is None:
            user = sm.add_user(username, first_name, last_name, email, role, password=DEMO_PASSWORD, commit=False)
            if not user:
                raise RuntimeError(f"could not create the demo account {username}")
            created.append(username)
        elif role not in user.roles:
            user.roles.append(role)
        unit = bound[scope]
        unit_id = unit.id if unit is not None else None
        if user.unit_id != unit_id:
            user.unit_id = unit_id
        users[username] = user
    if enterprise is not None:
        account = users["service_user"]
        row = session.scalar(sa.select(ServiceUser).where(ServiceUser.account_id == account.id))
        if row is None:
            session.add(ServiceUser(name=account.last_name + account.first_name, org_id=enterprise.id, account_id=account.id,
                                    mobile="13974810526", email=account.email))
    session.flush()
    return users, created


def existing_demo_units(session, school):
    """(college, lab, enterprise) the demo accounts bind to in an already seeded database; falls back
    to the first ones if the demo codes were edited away."""
    college = session.scalar(sa.select(Unit).where(Unit.code == DEMO_COLLEGE_CODE)) or session.scalar(
        sa.select(Unit).where(Unit.parent_id == school.id).order_by(Unit.id))
    lab = None
    if college is not None:
        lab = session.scalar(sa.select(Unit).where(Unit.code == DEMO_LAB_CODE, Unit.parent_id == college.id)) or session.scalar(
            sa.select(Unit).where(Unit.parent_id == college.id).order_by(Unit.id))
    enterprise = session.scalar(sa.select(CustomerOrg).where(CustomerOrg.name == DEMO_ENTERPRISE)) or session.scalar(
        sa.select(CustomerOrg).where(CustomerOrg.category == "enterprise", CustomerOrg.affiliated.is_(False)).order_by(CustomerOrg.id))
    return college, lab, enterprise
