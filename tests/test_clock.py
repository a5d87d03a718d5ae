"""One clock in Beijing time (issue 12): instants stored in UTC and shown, counted and bounded in
Asia/Shanghai, whatever the server's zone. The clock is frozen near midnight Beijing time
(time-machine), where a UTC date and a Beijing date differ."""
import subprocess
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from app import clock
from app.models import (ChangeLog, DeviceEvent, DeviceStatus, FeeStandard, Instrument, IotTerminal, PlatformUser, Unit,
                        UsageRecord)
from app.services.catalogue import entry as catalogue_entry, fees
from app.services.iot import status as iot
from app.services.upkeep import record_checks as rules
from iot_bridge.decoders import Reading

from . import factories as f
from .conftest import csrf_token
from .report_files import rows_of, run_report, table, worksheets

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc


def beijing(*args):
    return datetime(*args, tzinfo=clock.BEIJING)


def test_no_other_module_asks_the_system_for_the_time():
    found = subprocess.run(["grep", "-rnE", r"date\.today\(|datetime\.now\(|utcnow\(", "app", "iot_bridge"],
                           cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
    assert [line for line in found if not line.startswith("app/clock.py:")] == []


def test_today_and_the_bounds_are_beijing_ones():
    with time_machine.travel(datetime(2026, 5, 31, 16, 30, tzinfo=UTC), tick=False):  # 00:30 on 1 June in Beijing
        assert clock.today() == date(2026, 6, 1)
        assert clock.now() == datetime(2026, 5, 31, 16, 30, tzinfo=UTC)
    assert clock.year_bounds(2026) == (datetime(2025, 12, 31, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC))
    assert clock.month_bounds(2026, 12) == (datetime(2026, 11, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC))
    assert clock.day_bounds(date(2026, 6, 1)) == (datetime(2026, 5, 31, 16, tzinfo=UTC), datetime(2026, 6, 1, 16, tzinfo=UTC))
    assert clock.parse_local("2026-06-09T07:30") == datetime(2026, 6, 8, 23, 30, tzinfo=UTC)  # no offset: Beijing
    assert clock.parse_local("2026-06-09T07:30:00Z") == datetime(2026, 6, 9, 7, 30, tzinfo=UTC)
    assert clock.local_date(datetime(2026, 6, 8, 23, 30, tzinfo=UTC)) == date(2026, 6, 9)


def test_instants_are_stored_in_utc_and_read_back_aware(session, uni):
    lab = session.get(Unit, uni.l11)
    inst = f.instrument(lab, name="时间存储仪器")
    session.add(UsageRecord(instrument_id=inst.id, started_at=beijing(2026, 1, 1, 2, 0),  # aware
                            ended_at=datetime(2026, 1, 1, 6, 0),  # naive: Beijing time, like input without an offset
                            hours=Decimal("4"), source="manual"))
    session.flush()
    session.expire_all()
    record = session.execute(sa.select(UsageRecord).where(UsageRecord.instrument_id == inst.id)).scalar_one()
    assert record.started_at == datetime(2025, 12, 31, 18, 0, tzinfo=UTC) and record.started_at.tzinfo is not None
    assert record.ended_at == datetime(2025, 12, 31, 22, 0, tzinfo=UTC)
    raw = session.execute(sa.text("SELECT started_at FROM usage_record WHERE instrument_id = :i"), {"i": inst.id}).scalar()
    if session.get_bind().dialect.name == "sqlite":
        assert str(raw).startswith("2025-12-31 18:00:00")  # UTC text
    else:
        assert raw == datetime(2025, 12, 31, 18, 0, tzinfo=UTC)  # timestamptz


def test_a_new_year_night_run_counts_in_the_new_year(app, session, uni, tmp_path):
    """A terminal's run from 02:00 to 06:00 Beijing time on 1 January 2026 (18:00–22:00 UTC on 31
    December) belongs to 2026's annual report, not 2025's."""
    unit = f.unit("跨年实验室", "lab", session.get(Unit, uni.c2), code="NY-L1")
    inst = f.instrument(unit, name="跨年运行仪器", asset_number="NY-001", iot_terminal_id="ny-term-1")
    session.add(IotTerminal(terminal_id="ny-term-1", adapter="native"))
    session.flush()
    received = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    readings = [Reading("ny-term-1", "running", beijing(2026, 1, 1, 2, 0).astimezone(UTC), seq=1),
                Reading("ny-term-1", "idle", beijing(2026, 1, 1, 6, 0).astimezone(UTC), seq=2)]
    assert iot.store_batch(session, readings, received).usage_records == 1
    session.commit()
    try:
        hours = {}
        for year in (2025, 2026):
            result, content = run_report(app, tmp_path, "annual", "--year", str(year), "--unit", "NY-L1")
            assert result.exit_code == 0, result.output
            _start, body = table(rows_of(worksheets(content)["分仪器"]),
                                 ["序号", "学院", "实验室/机组", "资产编号", "仪器名称", "有效机时（小时）"])
            hours[year] = {r[3]: r[5] for r in body}.get("NY-001", 0)
        assert hours == {2025: 0, 2026: 4}
    finally:
        session.rollback()
        session.execute(sa.delete(UsageRecord).where(UsageRecord.instrument_id == inst.id))
        for model in (DeviceEvent, DeviceStatus, IotTerminal):
            session.execute(sa.delete(model).where(model.terminal_id == "ny-term-1"))
        session.execute(sa.delete(Instrument).where(Instrument.id == inst.id))
        session.execute(sa.delete(Unit).where(Unit.id == unit.id))
        session.commit()


def test_a_monday_morning_edit_counts_from_monday(app, session, uni, tmp_path):
    """Edited on Monday 9 June 2025 at 07:30 Beijing time (Sunday 23:30 UTC): on 16 June, the fifth
    working day after Monday, annex 1 finds nothing overdue (counted from the UTC date, Sunday, the
    deadline would have been Friday 13 June)."""
    unit = f.unit("周一实验室", "lab", session.get(Unit, uni.c2), code="MO-L1")
    inst = f.instrument(unit, name="周一修改仪器", asset_number="MO-001", networked=True, technical_indicators="x",
                        service_scope="y", contact_verified_on=date(2025, 6, 1))
    f.fee_standard(inst, state="published", effective_from=date(2025, 1, 1))
    session.commit()
    row = session.execute(sa.select(*(Instrument.__table__.c[c] for c in rules.NATIONAL_RECORD_COLUMNS))
                          .where(Instrument.id == inst.id)).one()
    session.execute(sa.update(Instrument).where(Instrument.id == inst.id)  # uploaded as it stands: no clock runs
                    .values(sync_fingerprint=rules.national_fingerprint(dict(row._mapping)), province_changed_at=None))
    session.commit()
    inst_id = inst.id
    try:
        with time_machine.travel(datetime(2025, 6, 8, 23, 30, tzinfo=UTC), tick=False):
            edited = session.get(Instrument, inst_id)
            edited.location = "周一改过的地址"  # a national-record field: changed since the last upload
            session.commit()
        session.expire_all()
        assert clock.local_date(session.get(Instrument, inst_id).updated_at) == date(2025, 6, 9)
        with time_machine.travel(datetime(2025, 6, 16, 3, 0, tzinfo=UTC), tick=False):  # 16 June, 11:00 Beijing
            result, content = run_report(app, tmp_path, "annex1", "--year", "2025", "--unit", "MO-L1")
        assert result.exit_code == 0, result.output
        text = "\n".join(str(v) for ws in worksheets(content).values() for r in rows_of(ws) for v in r if v)
        assert "2025-06-08" not in text and "2025-06-09" not in text  # on time: no finding
        with time_machine.travel(datetime(2025, 6, 17, 3, 0, tzinfo=UTC), tick=False):  # a day later it is overdue
            result, content = run_report(app, tmp_path, "annex1", "--year", "2025", "--unit", "MO-L1")
        text = "\n".join(str(v) for ws in worksheets(content).values() for r in rows_of(ws) for v in r if v)
        assert "2025-06-09 信息变更后 5 个工作日内未更新至省平台" in text
    finally:
        session.rollback()
        session.execute(sa.delete(ChangeLog).where(ChangeLog.table_name == "instrument", ChangeLog.record_id == inst_id))
        session.execute(sa.delete(Instrument).where(Instrument.id == inst_id))
        session.execute(sa.delete(Unit).where(Unit.code == "MO-L1"))
        session.commit()


def test_a_standard_effective_today_is_public_at_half_past_midnight(app, session, uni, client):
    """00:30 on 2 December in Beijing is still 1 December in UTC: the standard in force from 2 December
    is public all the same (the catalogue counts Beijing days)."""
    lab = session.get(Unit, uni.l11)
    inst = f.instrument(lab, name="午夜生效仪器", asset_number="MN-001")
    session.commit()
    try:
        with time_machine.travel(datetime(2026, 12, 1, 16, 30, tzinfo=UTC), tick=False):
            f.fee_standard(inst, state="published", effective_from=date(2026, 12, 2))
            session.commit()  # the flush keeps the catalogue entry: as of today, a Beijing day
            assert "午夜生效仪器" in client.get("/public/fees?q=午夜生效").get_data(as_text=True)
            assert catalogue_entry.refresh_all(session, clock.today()) == 0  # the hourly refresh agrees at that hour
            assert client.get(f"/public/instruments/{inst.id}").status_code == 200
    finally:
        session.rollback()
        session.execute(sa.delete(Instrument).where(Instrument.id == inst.id))
        session.commit()


def test_an_edit_reads_the_same_on_its_list_history_panel_and_api(app, session, uni, login_as):
    lab = session.get(Unit, uni.l11)
    inst = f.instrument(lab, name="同一时刻仪器", asset_number="ST-001")
    session.commit()
    inst_id = inst.id
    try:
        with time_machine.travel(datetime(2026, 6, 8, 23, 30, 12, tzinfo=UTC), tick=False):  # 07:30 Beijing
            client = login_as("lab_admin")
            token = csrf_token(client, f"/instrumentview/edit/{inst_id}")
            from .test_scope import instrument_form

            data = {**instrument_form(uni.l11, asset_number="ST-001", name="同一时刻仪器"), "location": "新地址",
                    "csrf_token": token}
            resp = client.post(f"/instrumentview/edit/{inst_id}", data=data)
            assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
        show = client.get(f"/instrumentview/show/{inst_id}").get_data(as_text=True)
        record, history = show.split("变更记录", 1)
        assert "2026-06-09 07:30" in record and "2026-06-09 07:30" in history  # the record's field, the history panel
        listed = client.get("/instrumentview/list/?psize_InstrumentView=100").get_data(as_text=True)
        row = listed[listed.index("同一时刻仪器"):]
        assert "2026-06-09 07:30" in row[: row.index("</tr>")]  # the list
        api = client.get(f"/api/v1/instrument/{inst_id}").get_json()["result"]
        assert api["updated_at"].startswith("2026-06-09T07:30") and api["updated_at"].endswith("+08:00")
    finally:
        session.rollback()
        session.execute(sa.delete(ChangeLog).where(ChangeLog.table_name == "instrument", ChangeLog.record_id == inst_id))
        session.execute(sa.delete(Instrument).where(Instrument.id == inst_id))
        session.commit()


def test_the_fee_workflow_and_the_change_log_stamp_one_clock(app, session, uni, login_as):
    """One approval recorded at the same instant in the workflow's history and in the change log."""
    lab = session.get(Unit, uni.l11)
    inst = f.instrument(lab, name="同一时钟仪器", asset_number="OC-001")
    standard = f.fee_standard(inst, state="school_review")
    session.commit()
    standard_id, inst_id = standard.id, inst.id
    try:
        with time_machine.travel(datetime(2026, 6, 8, 23, 30, 0, tzinfo=UTC), tick=False):
            school = login_as("school_admin")
            token = csrf_token(school, f"/feestandardview/show/{standard_id}")
            resp = school.post(f"/feestandardview/step/{standard_id}/school_approve", data={"csrf_token": token})
            assert resp.status_code == 302
        session.expire_all()
        approved = session.get(FeeStandard, standard_id)
        event = approved.events[-1]
        logged = session.execute(sa.select(ChangeLog.changed_at).where(
            ChangeLog.table_name == "fee_standard", ChangeLog.record_id == standard_id, ChangeLog.field == "state")).scalar()
        assert approved.approved_at == event.at == logged == datetime(2026, 6, 8, 23, 30, tzinfo=UTC)
        page = school.get(f"/feestandardview/show/{standard_id}").get_data(as_text=True)
        assert page.count("2026-06-09 07:30") >= 2  # approved at, and the workflow's step
    finally:
        session.rollback()
        session.execute(sa.delete(ChangeLog).where(ChangeLog.table_name == "fee_standard", ChangeLog.record_id == standard_id))
        session.execute(sa.delete(Instrument).where(Instrument.id == inst_id))
        session.commit()


@pytest.mark.parametrize("utc_now,expected", [(datetime(2026, 6, 30, 16, 30, tzinfo=UTC), date(2026, 7, 1)),
                                              (datetime(2026, 6, 30, 15, 30, tzinfo=UTC), date(2026, 6, 30))])
def test_retiring_ends_on_the_beijing_day(session, uni, utc_now, expected):
    """00:30 on 1 July in Beijing is still 30 June in UTC: the day a standard is retired is a Beijing day."""
    inst = f.instrument(session.get(Unit, uni.l11), name="停用日期仪器")
    standard = f.fee_standard(inst, state="published", effective_from=date(2026, 1, 1))
    school = session.execute(sa.select(PlatformUser).filter_by(username="school_admin")).scalar_one()
    fees.retire(session, fees.Actor.of(school), standard, utc_now)
    assert standard.effective_to == expected
