"""The 5-working-day clock of notice §(三)3 (issue 23, item 3): every kind of change to what the province holds of
a networked record starts it, from the Beijing day of the first change; a new upload file stops it; a change undone
before it was sent stops it; the due day is counted in Chinese working days across 春节, 国庆 and a 调休 Saturday."""
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import ChangeLog, FeeStandard, Instrument, Person, Unit
from app.services.upkeep import deadlines
from app.services.upkeep.provincial_sync import mark_uploaded
from app.services.workdays import WorkCalendar

from . import factories as f

CHANGES = {
    "responsible person": lambda i, other: setattr(i, "responsible_person", other),
    "contact phone": lambda i, other: setattr(i, "contact_phone", "0731-88881111"),
    "contact e-mail": lambda i, other: setattr(i, "contact_email", "new@example.edu.cn"),
    "run status": lambda i, other: setattr(i, "run_status", "under_repair"),
    "sharing status": lambda i, other: setattr(i, "sharing_status", "internal"),
    "location": lambda i, other: setattr(i, "location", "新楼302室"),
    "main indicators": lambda i, other: setattr(i, "technical_indicators", "分辨率 0.8 nm"),
    "value": lambda i, other: setattr(i, "original_value", Decimal("860000.00")),
    # a new version in force from the day of the change: the catalogue's refresh writes it, in SQL
    "fee standard": lambda i, other: f.fee_standard(i, state="published", version=2, effective_from=clock.today()),
}


@pytest.fixture
def sent(app, uni):
    """A networked record with a published fee standard, uploaded to the province as it stands (the fixture's
    own lab); removed afterwards."""
    with app.app_context():
        session = db.session
        lab = f.unit("时钟实验室", "lab", session.get(Unit, uni.c1), code="CLK-L1")
        owner, other = f.person(lab, name="原责任人"), f.person(lab, name="新责任人")
        record = f.instrument(lab, name="时钟仪器", asset_number="CLK-001", networked=True, responsible_person=owner,
                              technical_indicators="分辨率 1 nm", service_scope="校内外")
        f.fee_standard(record, state="published", effective_from=date(2026, 1, 1))
        session.commit()
        mark_uploaded(session, [lab.id])
        session.commit()
        ids = {"id": record.id, "lab": lab.id, "other": other.id}
        session.remove()
    yield ids
    with app.app_context():
        session = db.session
        session.execute(sa.delete(ChangeLog).where(ChangeLog.table_name == "instrument", ChangeLog.record_id == ids["id"]))
        session.execute(sa.delete(FeeStandard).where(FeeStandard.instrument_id == ids["id"]))
        session.execute(sa.delete(Instrument).where(Instrument.id == ids["id"]))
        session.execute(sa.delete(Person).where(Person.unit_id == ids["lab"]))
        session.execute(sa.delete(Unit).where(Unit.id == ids["lab"]))
        session.commit()
        session.remove()


def _change_at(session, sent, instant, change):
    with time_machine.travel(instant, tick=False):
        record = session.get(Instrument, sent["id"])
        change(record, session.get(Person, sent["other"]))
        session.commit()


def _due(session, sent):
    return [(d.kind, d.due) for d in deadlines.changes(session, [sent["lab"]], WorkCalendar())]


def test_an_uploaded_record_has_no_clock(session, sent):
    assert session.get(Instrument, sent["id"]).province_changed_at is None
    assert _due(session, sent) == []


@pytest.mark.parametrize("kind", list(CHANGES))
def test_each_kind_of_change_starts_the_clock(session, sent, kind):
    # Friday 13 February 2026, 17:00 Beijing: the next working day is the 调休 Saturday, then 春节 until the 23rd
    _change_at(session, sent, datetime(2026, 2, 13, 9, 0, tzinfo=clock.UTC), CHANGES[kind])
    assert _due(session, sent) == [("change", date(2026, 2, 27))]


def test_a_late_evening_change_counts_from_its_beijing_day_across_national_day(session, sent):
    # 30 September 2026 23:30 Beijing is still the 30th in UTC... and 29 September 16:30 UTC is the 30th in Beijing
    _change_at(session, sent, datetime(2026, 9, 29, 16, 30, tzinfo=clock.UTC), CHANGES["location"])
    assert _due(session, sent) == [("change", date(2026, 10, 13))]  # Oct 8, 9, 10 (Saturday, 调休), 12, 13


def test_a_second_change_does_not_restart_the_clock(session, sent):
    _change_at(session, sent, datetime(2026, 9, 28, 2, 0, tzinfo=clock.UTC), CHANGES["location"])
    _change_at(session, sent, datetime(2026, 10, 9, 2, 0, tzinfo=clock.UTC), CHANGES["contact phone"])
    assert _due(session, sent) == [("change", date(2026, 10, 10))]  # from the 28th: due on the 调休 Saturday


def test_a_new_upload_stops_the_clock_and_a_later_change_starts_it_again(session, sent):
    _change_at(session, sent, datetime(2026, 9, 28, 2, 0, tzinfo=clock.UTC), CHANGES["location"])
    mark_uploaded(session, [sent["lab"]])
    session.commit()
    assert _due(session, sent) == []
    _change_at(session, sent, datetime(2026, 10, 9, 2, 0, tzinfo=clock.UTC), CHANGES["run status"])
    assert _due(session, sent) == [("change", date(2026, 10, 15))]


def test_a_change_undone_before_it_was_sent_stops_the_clock(session, sent):
    _change_at(session, sent, datetime(2026, 9, 28, 2, 0, tzinfo=clock.UTC), CHANGES["location"])
    _change_at(session, sent, datetime(2026, 9, 29, 2, 0, tzinfo=clock.UTC),
               lambda record, _other: setattr(record, "location", "理科楼101室"))
    assert session.get(Instrument, sent["id"]).province_changed_at is None and _due(session, sent) == []


def test_a_record_not_on_the_provincial_platform_has_no_change_clock(session, sent):
    session.execute(sa.update(Instrument).where(Instrument.id == sent["id"]).values(networked=False))
    session.commit()
    _change_at(session, sent, datetime(2026, 9, 28, 2, 0, tzinfo=clock.UTC), CHANGES["location"])
    assert _due(session, sent) == []


def test_a_change_outside_the_record_is_not_a_change_of_the_provincial_data(session, sent):
    _change_at(session, sent, datetime(2026, 9, 28, 2, 0, tzinfo=clock.UTC),
               lambda record, _other: setattr(record, "bookable", True))
    assert _due(session, sent) == []


def test_the_deadline_api_lists_the_change_due_in_scope_only(app, sent, login_as):
    with app.app_context():
        _change_at(db.session, sent, datetime(2026, 9, 28, 2, 0, tzinfo=clock.UTC), CHANGES["location"])
        db.session.remove()
    college = login_as("college_admin").get("/api/v1/compliance/deadlines/", query_string={"kind": "change"}).json
    overdue = clock.today() > date(2026, 10, 10)  # as the pinned clock has it
    assert {"kind": "change", "record": sent["id"], "due": "2026-10-10", "overdue": overdue}.items() <= next(
        d for d in college["result"] if d["record"] == sent["id"]).items()
    other = login_as("lab2_admin").get("/api/v1/compliance/deadlines/", query_string={"kind": "change"}).json
    assert sent["id"] not in {d["record"] for d in other["result"]}
