"""Verifying published contacts (issue 23, item 5): a call that reaches the contact verifies it; 空号, 停机 and 非本人
open a correction due 5 working days after the call (across 国庆), closed by a new phone or a later call that
reaches it; 无人接听 opens none; nothing is concluded from the number itself; only the record's lab side calls."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.extensions import db
from app.models import ContactCall, Instrument, Message, PlatformUser, Unit
from app.services.actors import Actor
from app.services.errors import PolicyDenied, RuleViolation
from app.services.upkeep import contacts, deadlines
from app.services.workdays import WorkCalendar

from . import factories as f
from .conftest import csrf_token

BEFORE_NATIONAL_DAY = datetime(2026, 9, 29, 2, 0, tzinfo=clock.UTC)  # Tuesday 29 September, 10:00 Beijing


@pytest.fixture
def record(app, uni):
    """An instrument of lab l11 publishing a well-formed phone; removed afterwards with its calls."""
    with app.app_context():
        instrument = f.instrument(db.session.get(Unit, uni.l11), name="核实仪器", asset_number="CALL-0001",
                                  contact_phone="13800138000", contact_verified_on=None)
        db.session.commit()
        pk = instrument.id
        db.session.remove()
    yield pk
    with app.app_context():
        db.session.execute(sa.delete(ContactCall).where(ContactCall.instrument_id == pk))
        db.session.execute(sa.delete(Message).where(Message.kind == "contact_dead"))
        db.session.execute(sa.delete(Instrument).where(Instrument.id == pk))
        db.session.commit()
        db.session.remove()


def _actor(session, username):
    return Actor.of(session.execute(sa.select(PlatformUser).filter_by(username=username)).scalar_one())


def _call(session, pk, result, instant=BEFORE_NATIONAL_DAY, who="lab_admin"):
    with time_machine.travel(instant, tick=False):
        contacts.record_call(session, _actor(session, who), pk, result, None, clock.now())
        session.commit()


def _corrections(session, pk):
    return [d.due for d in deadlines.corrections(session, None, WorkCalendar()) if d.record_id == pk]


@pytest.mark.parametrize("result", ["vacant", "suspended", "wrong_person"])
def test_a_dead_contact_is_due_for_correction_five_working_days_after_the_call(session, record, result):
    _call(session, record, result)
    assert _corrections(session, record) == [date(2026, 10, 12)]  # 30 Sep, then 8, 9, 10 (调休 Saturday), 12 Oct
    assert session.get(Instrument, record).contact_verified_on is None


def test_no_answer_opens_no_correction_and_reachable_verifies(session, record):
    _call(session, record, "no_answer")
    assert _corrections(session, record) == []
    _call(session, record, "reachable")
    assert session.get(Instrument, record).contact_verified_on == date(2026, 9, 29)


def test_a_new_phone_or_a_later_reaching_call_closes_the_correction(session, record):
    _call(session, record, "vacant")
    session.get(Instrument, record).contact_phone = "0731-88887777"
    session.commit()
    assert _corrections(session, record) == []
    _call(session, record, "suspended", datetime(2026, 10, 9, 2, 0, tzinfo=clock.UTC))
    assert _corrections(session, record) == [date(2026, 10, 15)]  # from Friday the 9th: 10 (调休), 12–15
    _call(session, record, "reachable", datetime(2026, 10, 12, 2, 0, tzinfo=clock.UTC))
    assert _corrections(session, record) == []


def test_only_the_records_lab_side_calls_and_only_a_published_phone(session, record):
    with pytest.raises(PolicyDenied):
        _call(session, record, "vacant", who="lab2_admin")
    session.rollback()
    with pytest.raises(RuleViolation):
        _call(session, record, "exploded")
    session.rollback()
    session.get(Instrument, record).contact_phone = None
    session.commit()
    with pytest.raises(RuleViolation):
        _call(session, record, "reachable")


def test_contacts_due_for_a_call(session, record):
    today = date(2026, 12, 7)
    assert record in {r.id for r in contacts.to_verify(session, None, today, 92)}  # never verified
    session.get(Instrument, record).contact_verified_on = date(2026, 9, 1)
    session.commit()
    assert record in {r.id for r in contacts.to_verify(session, None, today, 92)}  # 97 days ago
    assert record not in {r.id for r in contacts.to_verify(session, None, today, 120)}


def test_the_lab_records_a_call_on_screen_and_sees_the_correction_through_the_api(app, record, login_as):
    other = login_as("lab2_admin")
    refused = other.post("/reconciliation/call", data={"csrf_token": csrf_token(other, "/reconciliation/"),
                                                       "instrument_id": record, "result": "vacant"})
    assert refused.status_code == 404
    lab = login_as("lab_admin")
    page = lab.get("/reconciliation/?tab=verify").get_data(as_text=True)
    assert "CALL-0001" in page
    answer = lab.post("/reconciliation/call", data={"csrf_token": csrf_token(lab, "/reconciliation/?tab=verify"),
                                                    "instrument_id": record, "result": "vacant", "note": "空号提示音"})
    assert answer.status_code == 302
    due = lab.get("/api/v1/compliance/deadlines/", query_string={"kind": "contact"}).json["result"]
    assert [d["record"] for d in due] == [record]
    assert record not in {d["record"] for d in other.get("/api/v1/compliance/deadlines/",
                                                         query_string={"kind": "contact"}).json["result"]}
    log = lab.get("/contactcallview/list/").get_data(as_text=True)
    assert "空号" in log and "13800138000" in log
    assert other.get("/contactcallview/list/").get_data(as_text=True).count("13800138000") == 0


def test_annex1_counts_a_dead_contact_until_it_is_corrected(app, session, uni, tmp_path):
    from .report_files import rows_of, run_report, worksheets

    lab = f.unit("核实实验室", "lab", session.get(Unit, uni.c2), code="CALL-L1")
    pk = f.instrument(lab, name="在网仪器", asset_number="CALL-0002", networked=True, contact_phone="13800138000",
                      contact_verified_on=date(2026, 9, 1)).id
    session.commit()

    def row4():
        result, content = run_report(app, tmp_path, "annex1", "--year", "2026", "--unit", "CALL-L1")
        assert result.exit_code == 0, result.output
        return next(r for r in rows_of(next(iter(worksheets(content).values()))) if r[0] == 4)

    try:
        with time_machine.travel(datetime(2026, 9, 29, 2, 0, tzinfo=clock.UTC), tick=False):
            assert "电话核实为空号" not in " ".join(str(v) for v in row4() if v)
            _call(session, pk, "vacant", datetime(2026, 9, 29, 2, 0, tzinfo=clock.UTC), who="school_admin")
            assert "电话核实为空号 1" in " ".join(str(v) for v in row4() if v)
            assert row4()[4].endswith("本季度电话核实 1 次（可接通 0，空号 1，停机 0，非本人 0，无人接听 0），"
                                      "发现失效联系方式 1 条，已更正 0 条。")
            session.get(Instrument, pk).contact_phone = "0731-88886666"  # corrected
            session.commit()
            assert "电话核实为空号" not in " ".join(str(v) for v in row4() if v)
            assert row4()[4].endswith("发现失效联系方式 1 条，已更正 1 条。")
        with time_machine.travel(datetime(2027, 1, 29, 2, 0, tzinfo=clock.UTC), tick=False):  # past the quarter
            assert "电话核实" not in row4()[4]
    finally:
        session.rollback()
        session.execute(sa.delete(ContactCall).where(ContactCall.instrument_id == pk))
        session.execute(sa.delete(Message).where(Message.kind == "contact_dead"))
        session.execute(sa.delete(Instrument).where(Instrument.id == pk))
        session.execute(sa.delete(Unit).where(Unit.id == lab.id))
        session.commit()


def test_the_lab_is_told_of_a_dead_contact_the_school_found_not_of_its_own_call(session, record):
    def told():
        return session.execute(sa.select(Message.subject, Message.link).join(PlatformUser, PlatformUser.id == Message.recipient_id)
                               .where(PlatformUser.username == "lab_admin", Message.kind == "contact_dead")).all()

    _call(session, record, "vacant")
    assert told() == []
    _call(session, record, "suspended", who="school_admin")
    assert told() == [("公示联系方式待更正：核实仪器（CALL-0001）", f"/instrumentview/edit/{record}")]
