"""The demo university (SPEC §5): `flask --app app seed-demo`.

A fictitious 湖南示范大学 with colleges, laboratories, staff, innovation platforms, a few
hundred instruments (or many thousands for the benchmark), fee standards, IoT terminals,
training sessions, not-for-sharing filings, customer organisations, the four demo accounts, and a
service history since 2025 (usage, machine time, charges, evaluations) for the reports.

Everything is drawn from `random.Random(2026)`, so two runs on empty databases produce the same
data. Some records are deliberately wrong (malformed contacts, missing fields, unnetworked
instruments that must be networked, unnetworked provincial platforms) so the compliance screens
have something to find. Seeding is idempotent: once the school unit exists, only the demo
accounts are (re)checked.
"""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app

from app import clock
from app.extensions import db
from app.models import Unit
from app.security.roles import sync_roles
from app.services.upkeep.self_checks import Terms

from .accounts import ACCOUNTS, ensure_accounts, existing_demo_units
from .bookings import ensure_booking_demo
from .catalog import SCHOOL_CODE
from .fees import FeesMixin
from .instruments import InstrumentsMixin
from .ledger import settle_provincial_state, write_demo_ledger
from .upkeep import seed_upkeep
from .service_year import ServiceYearMixin
from .trainings import TrainingsMixin
from .units_people import UnitsPeopleMixin


class _DemoBuilder(UnitsPeopleMixin, InstrumentsMixin, FeesMixin, TrainingsMixin, ServiceYearMixin):
    """One seeding run; each part lives in the module of its concept, all share one random stream."""

    def build(self):
        t0 = time.perf_counter()
        self._class_codes()
        self._units()
        self._people()
        self._platforms()
        self._customers()
        # the four demo accounts, with the service_user account's own ServiceUser row (SPEC §5)
        self.users = ensure_accounts(self.session, self.sm, self.school, self.demo_college, self.demo_lab_unit,
                                     self.enterprise)[0]
        self._instruments()
        self._trainings()
        self.session.flush()
        self._service_history()
        self.session.flush()
        self.counts.update(ensure_booking_demo(self.session, clock.now()))
        self.session.flush()
        # the province holds every networked record as it stands but three changed since; the finance office's
        # ledger, written once, disagrees with the platform in known ways (app/seed/ledger.py)
        self.counts["changes_to_send"] = settle_provincial_state(self.session, clock.now())
        self.counts["ledger_rows"] = write_demo_ledger(self.session, current_app.config["LEDGER_FOLDER"])
        # the demo lab's self-checks and its college's reviews, the school's calls to published contacts, a
        # responsible person who left (app/seed/upkeep.py)
        self.counts.update(seed_upkeep(self.session, self.users, Terms.of(current_app.config), clock.now()))
        self.counts["seconds"] = round(time.perf_counter() - t0, 2)
        return self.counts


def seed_demo(instruments: int = 420) -> str:
    """Seed the demo university once; afterwards only make sure the demo accounts exist."""
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    session = db.session
    # roles first (FAB grants every new permission to the admin role, which must exist), then the
    # permissions of every registered view, then the roles again so each holds exactly its grants
    if sm.find_role(current_app.config["AUTH_ROLE_ADMIN"]) is None:
        sync_roles()
    appbuilder.add_permissions(update_perms=True)
    sync_roles()

    school = session.scalar(sa.select(Unit).where(Unit.code == SCHOOL_CODE))
    if school is None:
        try:
            counts = _DemoBuilder(session, sm, instruments).build()
            session.commit()
        except Exception:
            session.rollback()
            raise
        order = ("units", "persons", "platforms", "instruments", "facilities", "iot_terminals", "fee_standards_published",
                 "fee_standards_pending", "unsuitable_filings", "trainings", "customer_orgs", "service_users", "usage_records",
                 "charges", "evaluations", "cost_records", "booking_rules", "authorisations", "bookings", "changes_to_send",
                 "ledger_rows")
        return ", ".join(f"{key}={counts[key]}" for key in order if key in counts) + f", accounts={len(ACCOUNTS)}"

    college, lab, enterprise = existing_demo_units(session, school)
    try:
        _users, created = ensure_accounts(session, sm, school, college, lab, enterprise)
        ensure_booking_demo(session, clock.now())
        session.commit()
    except Exception:
        session.rollback()
        raise
    note = f"created {', '.join(created)}" if created else "all present"
    return f"{SCHOOL_CODE} already seeded; demo accounts: {note}"
