"""The demo university (issue 2, item 8): sizes, deliberate gaps, accounts bound to units, idempotent."""
import tempfile

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import InnovationPlatform, Instrument, PlatformUser, Unit
from app.security.roles import sync_roles

from .conftest import login


def test_seed_demo_builds_the_university_once():
    url = f"sqlite:///{tempfile.mkdtemp(prefix='seed-')}/demo.db"
    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        from flask_migrate import upgrade

        from app.seed.demo import seed_demo

        upgrade()
        sync_roles()
        seed_demo()
        q = db.session.execute

        def count(model, *where):
            return q(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()

        assert count(Unit, Unit.level == "school") == 1
        assert count(Unit, Unit.level == "college") >= 6
        assert count(Unit, Unit.level == "lab") >= 30
        assert count(Instrument) >= 400
        low, high = q(sa.select(sa.func.min(Instrument.original_value), sa.func.max(Instrument.original_value))).one()
        assert low >= 50_000 and high <= 20_000_000
        assert count(Instrument, Instrument.kind == "facility") > 0
        assert count(InnovationPlatform) > 0
        # deliberate gaps for the compliance views to find
        must_network = (Instrument.original_value >= 300_000, Instrument.funding_source != "non_fiscal")
        assert count(Instrument, *must_network, Instrument.networked.is_(False)) > 0
        assert count(Instrument, Instrument.technical_indicators.is_(None)) + count(Instrument, Instrument.location.is_(None)) > 0

        # every seeded fee standard has a readable history ending in its state
        from app.models import FeeStandard, FeeStandardEvent

        last = sa.select(FeeStandardEvent.to_state).where(FeeStandardEvent.standard_id == FeeStandard.id) \
            .order_by(FeeStandardEvent.id.desc()).limit(1).scalar_subquery()
        assert count(FeeStandard, sa.or_(last.is_(None), FeeStandard.state != last)) == 0
        assert count(FeeStandard) > 100

        # a service history for the reports: usage of bookable instruments only, charges of registered
        # usage, machine time where a terminal is, evaluations of completed bookings
        from app.models import Booking, Charge, Evaluation, UsageRecord

        assert count(UsageRecord) > 5000
        assert count(UsageRecord, ~UsageRecord.instrument_id.in_(sa.select(Instrument.id).where(Instrument.bookable))) == 0
        assert count(UsageRecord, UsageRecord.source == "iot") > 0
        assert count(Charge, ~Charge.usage_id.in_(sa.select(UsageRecord.id).where(UsageRecord.source == "manual"))) == 0
        assert count(Charge, Charge.state == "pending") > 0 and count(Charge, Charge.invoice_number.isnot(None)) > 0
        assert count(Evaluation) > 0
        assert count(Evaluation, ~Evaluation.booking_id.in_(sa.select(Booking.id).where(Booking.state == "completed"))) == 0

        tables = (Unit, Instrument, InnovationPlatform, UsageRecord, Charge, Evaluation)
        snapshot = {m.__tablename__: count(m) for m in tables}
        seed_demo()
        assert {m.__tablename__: count(m) for m in tables} == snapshot

        users = {u.username: u for u in q(sa.select(PlatformUser)).scalars()}
        school = users["school_admin"].unit
        college = users["college_admin"].unit
        lab = users["lab_admin"].unit
        assert school.level == "school" and college.level == "college" and lab.level == "lab"
        assert lab.parent_id == college.id and users["service_user"].unit_id is None
        demo_lab_bookable = count(Instrument, Instrument.unit_id == lab.id, Instrument.bookable.is_(True),
                                  Instrument.iot_terminal_id.is_not(None))
        assert demo_lab_bookable >= 5
        others = count(Instrument, Instrument.unit_id.not_in(sa.select(Unit.id).where(Unit.path.startswith(college.path))))
        assert others > 300  # plenty of records the demo college must not reach
        db.session.remove()

    client = login(app.test_client(), "lab_admin", password="demo-1234")
    assert client.get("/instrumentview/list/").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
