"""Data quality of the records (issue 23, item 5): a required field filled with what cannot be true is found — a
placeholder model, a value of 0, a purchase date after today, indicators of a few characters, a phone no mainland
number has, a responsible person who has left — beside the fields left empty, for the records the province holds or
must hold; the workspace's quality tab lists them in the caller's scope."""
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Instrument, Person, Unit
from app.services.upkeep import quality, record_checks as rules

from . import factories as f

TODAY = date(2026, 10, 9)
GOOD = dict(model="S-4800", original_value=Decimal("850000"), purchase_date=date(2020, 3, 1),
            technical_indicators="分辨率 1 nm，加速电压 0.5–30 kV", contact_phone="0731-88880000",
            responsible_person_id=7, responsible_left_on=None)


@pytest.mark.parametrize("change, found", [
    ({"model": "无"}, ("model", "placeholder")),
    ({"model": " N/A "}, ("model", "placeholder")),
    ({"original_value": Decimal("0")}, ("original_value", "zero")),
    ({"purchase_date": date(2026, 10, 10)}, ("purchase_date", "future")),
    ({"technical_indicators": "高 分 辨 率 电 镜"}, ("technical_indicators", "short")),
    ({"contact_phone": "12345678901"}, ("contact", "phone_invalid")),
    ({"responsible_left_on": date(2026, 10, 9)}, ("responsible_person", "left")),
])
def test_each_implausible_field_is_found(change, found):
    assert rules.implausible_fields(GOOD, TODAY) == []
    assert rules.implausible_fields({**GOOD, **change}, TODAY) == [found]


def test_what_is_only_odd_is_not_implausible():
    assert rules.implausible_fields({**GOOD, "model": "无菌操作台 BSC-1300", "purchase_date": TODAY,
                                     "technical_indicators": "分辨率优于1nm，放大倍数10万",
                                     "responsible_left_on": date(2026, 10, 10), "contact_phone": "13800138000"},
                                    TODAY) == []
    assert rules.implausible_fields({**GOOD, "responsible_person_id": None, "responsible_left_on": date(2020, 1, 1)},
                                    TODAY) == []


@pytest.fixture
def lab(app, uni):
    with app.app_context():
        unit = f.unit("质量实验室", "lab", db.session.get(Unit, uni.c2))
        gone = f.person(unit, name="离校老师", left_on=date(2026, 9, 1))
        f.instrument(unit, name="占位型号仪器", asset_number="Q-001", networked=True, model="无",
                     technical_indicators="分辨率 1 nm，加速电压 0.5–30 kV", responsible_person_id=gone.id,
                     service_scope="校内外")
        f.instrument(unit, name="未入网待入网仪器", asset_number="Q-002", networked=False, purchase_date=date(2027, 1, 1),
                     acceptance_date=None)
        f.instrument(unit, name="自筹未入网仪器", asset_number="Q-003", networked=False, funding_source="non_fiscal",
                     model="无")
        f.instrument(unit, name="已报废仪器", asset_number="Q-004", networked=True, model="无", run_status="scrapped")
        db.session.commit()
        pk = unit.id
        db.session.remove()
    yield pk
    with app.app_context():
        db.session.execute(sa.delete(Instrument).where(Instrument.unit_id == pk))
        db.session.execute(sa.delete(Person).where(Person.unit_id == pk))
        db.session.execute(sa.delete(Unit).where(Unit.id == pk))
        db.session.commit()
        db.session.remove()


def test_the_records_the_province_holds_or_must_hold_are_listed_with_their_problems(session, lab):
    found = {q.label: q for q in quality.problems(session, [lab], TODAY)}
    assert set(found) == {"占位型号仪器（Q-001）", "未入网待入网仪器（Q-002）"}
    placeholder = found["占位型号仪器（Q-001）"]
    assert placeholder.networked and placeholder.missing == ("fee_standard",)
    assert placeholder.implausible == (("model", "placeholder"), ("responsible_person", "left"))
    waiting = found["未入网待入网仪器（Q-002）"]
    assert ("purchase_date", "future") in waiting.implausible and "technical_indicators" in waiting.missing
    assert quality.problems(session, [], TODAY) == []


def test_the_quality_tab_shows_the_callers_scope(app, lab, login_as):
    page = login_as("school_admin").get("/reconciliation/?tab=quality").get_data(as_text=True)
    assert "占位型号仪器（Q-001）" in page and "型号填写为“无”等占位内容" in page and "责任人已离职" in page
    assert "占位型号仪器" not in login_as("lab_admin").get("/reconciliation/?tab=quality").get_data(as_text=True)


def _home_count(client, label):
    html = client.get("/").get_data(as_text=True)
    return int(re.search(r'dashboard-count">(\d+)</span>\s*<span class="dashboard-label">' + label, html).group(1))


def test_the_home_page_counts_what_the_workspace_lists(app, lab, login_as):
    school = login_as("school_admin")
    before = _home_count(school, "信息缺失或明显不实的记录")
    tab = school.get("/reconciliation/?tab=quality").get_data(as_text=True)
    assert re.search(r'reconciliation-count-quality">(\d+)<', tab).group(1) == str(before)
    with app.app_context():
        f.instrument(db.session.get(Unit, lab), name="原值为零仪器", asset_number="Q-005", networked=True,
                     original_value=Decimal("0"))
        db.session.commit()
        db.session.remove()
    assert _home_count(school, "信息缺失或明显不实的记录") == before + 1
    with app.app_context():  # the checks and reviews due, as the service lists them for the whole school
        from app import clock
        from app.services.upkeep import deadlines
        from app.services.upkeep.self_checks import Terms
        from app.services.workdays import load_calendar

        terms, calendar = Terms.of(app.config), load_calendar(db.session)
        due = (deadlines.self_checks_due(db.session, None, calendar, terms, clock.today())
               + deadlines.reviews_due(db.session, None, calendar, terms, clock.today()))
        owed_by_the_lab = [d for d in due if d.record_id == lab]
        db.session.remove()
    assert owed_by_the_lab and _home_count(school, "待完成的自查与复核") == len(due)
