"""The demo accounts (README, SPEC §5): created when missing and bound to their units, both on the first
seeding and on every later run. The three customers get their ServiceUser row: `service_user` of a
non-affiliated enterprise, `student_user` of a student start-up team, `campus_user` an on-campus
researcher of a lab other than lab_admin's (bound to it through that row, never through the account,
so it reaches only its own records), with a project account and a PI."""
from __future__ import annotations

import sqlalchemy as sa

from app.models import CustomerOrg, Person, ServiceUser, Unit
from app.models.user import COLLEGE_ADMIN, LAB_ADMIN, SCHOOL_ADMIN, SERVICE_USER

from .catalog import CUSTOMERS, DEMO_CAMPUS_LAB_CODE, DEMO_COLLEGE_CODE, DEMO_ENTERPRISE, DEMO_LAB_CODE, MAIL_DOMAIN

DEMO_PASSWORD = "demo-1234"  # demo data only (README)

# the demo accounts: username, role, bound unit ("school" / "college" / "lab" / None), names, e-mail
ACCOUNTS = (
    ("school_admin", SCHOOL_ADMIN, "school", "建国", "周", f"school_admin@{MAIL_DOMAIN}"),
    ("college_admin", COLLEGE_ADMIN, "college", "海燕", "谭", f"college_admin@{MAIL_DOMAIN}"),
    ("lab_admin", LAB_ADMIN, "lab", "志强", "彭", f"lab_admin@{MAIL_DOMAIN}"),
    ("service_user", SERVICE_USER, None, "洋", "刘", "liuyang@xingchen-materials.com"),
    ("student_user", SERVICE_USER, None, "子涵", "吴", "wuzihan@stu.hnu-demo.edu.cn"),
    ("campus_user", SERVICE_USER, None, "明远", "孙", f"sunmingyuan@{MAIL_DOMAIN}"),
)
STUDENT_TEAM = next(name for name, category, _a, _c in CUSTOMERS if category == "student_startup")
CAMPUS_GROUP = next(name for name, category, _a, _c in CUSTOMERS if category == "campus")
CUSTOMER_ROWS = {  # username: (organisation, mobile, on campus)
    "service_user": (DEMO_ENTERPRISE, "13974810526", False),
    "student_user": (STUDENT_TEAM, "18273145620", False),
    "campus_user": (CAMPUS_GROUP, "13807316688", True),
}


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
        for username, (org_name, mobile, on_campus) in CUSTOMER_ROWS.items():
            _ensure_customer(session, users[username], org_name, mobile, on_campus)
    session.flush()
    return users, created


def _ensure_customer(session, account, org_name, mobile, on_campus):
    if session.scalar(sa.select(ServiceUser).where(ServiceUser.account_id == account.id)) is not None:
        return
    org = session.scalar(sa.select(CustomerOrg).where(CustomerOrg.name == org_name))
    if org is None:
        return
    row = ServiceUser(name=account.last_name + account.first_name, org_id=org.id, account_id=account.id, mobile=mobile,
                      email=account.email, status="active")
    if on_campus:
        lab = session.scalar(sa.select(Unit).where(Unit.code == DEMO_CAMPUS_LAB_CODE))
        if lab is not None:
            row.unit_id = lab.id
            row.project_account = "2026KY0317"
            row.pi_id = session.scalar(sa.select(Person.id).where(Person.unit_id == lab.id).order_by(Person.id).limit(1))
    session.add(row)


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
