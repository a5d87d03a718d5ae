"""Annex 1 自查整改情况表 and the provincial upload file (issue 5): computed from a hand-built college whose
every count is known, the boundary of 300,000 yuan, the 30-working-day grace after acceptance,
and the sheets listing the records behind each finding."""
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import FeeStandard, InnovationPlatform, Instrument, Person, Unit, UnsuitableFiling
from app.services.upkeep import record_checks as rules

from . import factories as f
from .report_files import rows_of, run_report, table, worksheets

YEAR = 2025
HEADERS = ["序号", "自查大类", "具体自查核查内容", "核查标准（工作要求）", "自查整改情况", "存在问题", "下一步举措", "备注"]
COMPLETE = dict(technical_indicators="分辨率 1 nm，加速电压 0.5–30 kV", service_scope="校内外测试", contact_verified_on=date(YEAR, 12, 1))


@pytest.fixture(scope="module")
def college(app, uni):
    with app.app_context():
        school = db.session.get(Unit, uni.school)
        c = f.unit("自查学院", "college", school, code="SC")
        lab = f.unit("自查实验室", "lab", c, code="SC-L1")
        owner = f.person(lab, name="自查责任人")
        good = f.instrument(lab, name="自查完整仪器", asset_number="SC-001", networked=True,
                            responsible_person_id=owner.id, **COMPLETE)
        f.fee_standard(good, state="published", effective_from=date(YEAR, 1, 1))
        f.instrument(lab, name="自查边界仪器", asset_number="SC-002", funding_source="fiscal_partial",
                     original_value=Decimal("300000"), acceptance_date=date(2020, 4, 1))
        f.instrument(lab, name="自查低值仪器", asset_number="SC-003", original_value=Decimal("299999.99"))
        f.instrument(lab, name="自查自筹仪器", asset_number="SC-004", funding_source="non_fiscal")
        f.instrument(lab, name="自查新购仪器", asset_number="SC-005", original_value=Decimal("500000"),
                     purchase_date=date(YEAR, 11, 1), acceptance_date=date(YEAR, 12, 20))
        filed = f.instrument(lab, name="自查涉密仪器", asset_number="SC-006")
        f.filing(filed, category="classified", state="filed", decided_at=datetime(YEAR, 3, 1))
        f.instrument(lab, name="自查报废仪器", asset_number="SC-007", run_status="scrapped")
        gone = f.person(lab, name="已离职责任人", left_on=date(YEAR, 5, 1))
        bad = f.instrument(lab, name="自查问题仪器", asset_number="SC-008", networked=True, model=None,
                           purchase_date=date(YEAR + 1, 3, 1), acceptance_date=None, responsible_person_id=gone.id,
                           service_scope="校内", contact_phone="12345", run_status="to_scrap")
        f.platform(c, name="自查省重点实验室", kind="key_lab", level="provincial", networked=True)
        f.platform(c, name="自查临床中心", kind="clinical_center", level="national", networked=False)
        f.platform(c, name="自查市级平台", kind="key_lab", level="municipal", networked=False)
        f.person(c, name="自查联络员", duty="liaison")
        db.session.commit()
        # the complete record was uploaded as it stands; the other changed in June and never was
        row = db.session.execute(sa.select(*(Instrument.__table__.c[c] for c in rules.NATIONAL_RECORD_COLUMNS))
                                 .where(Instrument.id == good.id)).one()
        db.session.execute(sa.update(Instrument).where(Instrument.id == good.id)
                           .values(sync_fingerprint=rules.national_fingerprint(dict(row._mapping)), province_changed_at=None))
        db.session.execute(sa.update(Instrument).where(Instrument.id == bad.id)
                           .values(updated_at=datetime(YEAR, 6, 1, 8), province_changed_at=datetime(YEAR, 6, 1, 8)))
        db.session.commit()
        ids = dict(college=c.id, lab=lab.id)
    yield ids
    with app.app_context():
        instruments = sa.select(Instrument.id).where(Instrument.unit_id == ids["lab"])
        db.session.execute(sa.delete(UnsuitableFiling).where(UnsuitableFiling.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(FeeStandard).where(FeeStandard.instrument_id.in_(instruments)))
        db.session.execute(sa.delete(Instrument).where(Instrument.unit_id == ids["lab"]))
        db.session.execute(sa.delete(InnovationPlatform).where(InnovationPlatform.unit_id == ids["college"]))
        db.session.execute(sa.delete(Person).where(Person.unit_id.in_((ids["lab"], ids["college"]))))
        db.session.execute(sa.delete(Unit).where(Unit.id == ids["lab"]))
        db.session.execute(sa.delete(Unit).where(Unit.id == ids["college"]))
        db.session.commit()


def workbook(app, tmp_path, *args):
    result, content = run_report(app, tmp_path, "annex1", *args)
    assert result.exit_code == 0, result.output
    return {title: rows_of(ws) for title, ws in worksheets(content).items()}


def body(rows, headers):
    return table(rows, headers)[1]


def test_the_five_rows_in_the_annex_s_wording(app, college, tmp_path):
    sheets = workbook(app, tmp_path, "--year", str(YEAR), "--unit", "SC")
    rows = sheets["附件1"]
    assert rows[0][0] == "湖南省科研设施和仪器开放共享自查整改情况表"
    assert [r[0] for r in rows[1:4]][0] == "填报单位：自查学院" and rows[3][0] == "填报人：自查联络员"
    table = body(rows, HEADERS)
    assert [r[0] for r in table] == [1, 2, 3, 4, 5]
    assert [r[1] for r in table] == ["一、资源清查及平台入网核查", None, "二、入网信息动态更新核查", None, None]
    assert table[0][2] == "30 万元及以上科研设施仪器入网排查" and table[0][3].startswith("全部或部分财政资金购置")
    assert table[0][7] == "需逐一梳理设备台账核对"
    # due: the complete one, the one at exactly 300,000, the new one, the problem one (4); on the platform: 2
    assert table[0][4] == "本单位应纳入省共享平台科研仪器设备 4 台套，已纳入 2 台套，完成度 50%。"
    assert table[0][5] == ("2 台套未纳入：其中 1 台套为新验收设备，尚在 30 个工作日入网期限内；"
                           "1 台套已超过入网期限（见“未入网设备”表）。")
    assert table[1][4] == "本单位省级及以上科技创新平台 2 个，已纳入省共享平台 1 个。"
    assert table[1][5] == "未入网平台：自查临床中心"
    assert table[2][4] == "已入网科研仪器设备 2 台套逐台核对，信息完整 1 台套，完整率 50%。"
    # the malformed phone is row 4's, not counted again here
    assert table[2][5] == ("1 台套信息不完整：缺型号 1 台套，缺主要技术指标 1 台套，缺收费标准 1 台套，"
                           "购置日期晚于填报日 1 台套，责任人已离职 1 台套。")
    assert table[3][4] == "已入网设备公示联系方式 2 条逐一核验，格式有效且本季度内已核验 1 条。"
    assert table[3][5] == "1 台套联系方式需整改：电话号码格式错误 1，超过一个季度未核验 1。"
    assert table[4][4] == "已入网科研仪器设备 2 台套逐台核对，信息准确、更新及时 1 台套。"
    assert table[4][5] == "1 台套信息需整改（见“信息精准性”表）。"
    footer = [r[0] for r in rows if r[0] and str(r[0]).startswith(("审核人签字", "备注："))]
    assert "单位公章" in footer[0] and footer[1].startswith("备注：1. 所有自查整改工作须于 2026 年 6 月 10 日前全部完成")


def test_the_sheets_behind_the_findings(app, college, tmp_path):
    sheets = workbook(app, tmp_path, "--year", str(YEAR), "--unit", "SC")
    assert list(sheets) == ["附件1", "未入网设备", "信息不完整", "联系方式", "信息精准性"]
    listing = ["序号", "学院", "实验室/机组", "资产编号", "仪器名称", "型号规格", "单台套原值（万元）"]
    missing = body(sheets["未入网设备"], listing + ["情况"])
    assert [(r[3], r[6], r[7]) for r in missing] == [
        ("SC-002", 30, "已超过入网期限（验收后 30 个工作日）"),
        ("SC-005", 50, "新验收设备，应于 2026-02-02 前入网"),  # 30 Chinese working days after 20 Dec 2025
    ]
    assert body(sheets["信息不完整"], listing + ["缺失信息"])[0][3:] == [
        "SC-008", "自查问题仪器", None, 85, "型号、主要技术指标、收费标准、购置日期晚于填报日、责任人已离职"]
    assert body(sheets["联系方式"], listing + ["存在问题"])[0][7] == "电话号码格式错误、超过一个季度未核验"
    assert body(sheets["信息精准性"], listing + ["存在问题"])[0][7] == (
        "收费标准未公示；已报废或待报废仍在网；2025-06-01 信息变更后 5 个工作日内未更新至省平台")


def test_an_empty_unit_is_a_valid_report(app, college, tmp_path):
    with app.app_context():
        school = db.session.get(Unit, college["college"])
        empty = f.unit("自查空学院", "college", school.parent, code="SC-EMPTY")
        db.session.commit()
        empty_id = empty.id
    try:
        sheets = workbook(app, tmp_path, "--year", "2003", "--unit", "SC-EMPTY")
        table = body(sheets["附件1"], HEADERS)
        assert table[0][4] == "本单位应纳入省共享平台科研仪器设备 0 台套，已纳入 0 台套，完成度 100%。"
        assert [r[5] for r in table] == ["无"] * 5
        assert body(sheets["未入网设备"], ["序号", "学院"])[0][0] == "无需整改的记录。"
    finally:
        with app.app_context():
            db.session.execute(sa.delete(Unit).where(Unit.id == empty_id))
            db.session.commit()


PROVINCIAL_HEAD = ["序号", "上次上传后有变更", "省平台编号", "仪器名称", "英文名称", "所在单位内部编号（资产编号）"]


def test_provincial_upload_flags_records_changed_since_their_upload(app, college, tmp_path):
    result, content = run_report(app, tmp_path, "provincial", "--year", str(YEAR), "--unit", "SC")
    assert result.exit_code == 0, result.output
    rows = rows_of(next(iter(worksheets(content).values())))
    assert rows[0][0] == "省共享平台仪器信息上传表"
    assert "上次上传后有变更的记录数：3" in [r[0] for r in rows[:5]]
    start, body_rows = table(rows, PROVINCIAL_HEAD)
    header = rows[start]
    assert header[-6:] == ["年度服务机时（小时）", "所属单位", "联系人", "联系电话", "邮箱", "运行状态"]
    # on the platform or due on it: the uploaded one unchanged, the rest never uploaded or changed since
    assert [(r[5], r[1]) for r in body_rows] == [("SC-001", "否"), ("SC-002", "是"), ("SC-005", "是"), ("SC-008", "是")]
    fee = header.index("收费标准")
    assert rows[start + 1][fee] == "常规测试：校内 100.00元/样品"
    assert rows[start + 1][header.index("所属单位")] == "自查学院 自查实验室"
    # another college's records never appear
    result, content = run_report(app, tmp_path, "provincial", "--year", str(YEAR), "--unit", "C2")
    assert not any(r[5] and str(r[5]).startswith("SC-") for r in rows_of(next(iter(worksheets(content).values()))))
