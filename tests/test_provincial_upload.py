"""Marking the provincial upload as done (issue 5): the school's POST (CSRF, scoped to the chosen
unit) fingerprints the records of the upload file, so 上次上传后有变更 clears until a record changes
again; nobody else may do it, and a refused request changes nothing."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Instrument, Unit

from . import factories as f
from .conftest import csrf_token, session_csrf_token
from .report_files import rows_of, run_report, table, worksheets

HEAD = ["序号", "上次上传后有变更", "省平台编号", "仪器名称", "英文名称", "所在单位内部编号（资产编号）"]


@pytest.fixture
def upload_unit(app, uni):
    with app.app_context():
        school = db.session.get(Unit, uni.school)
        college = f.unit("上传学院", "college", school, code="UP")
        lab = f.unit("上传实验室", "lab", college, code="UP-L1")
        f.instrument(lab, name="上传仪器甲", asset_number="UP-1", networked=True)
        f.instrument(lab, name="上传仪器乙", asset_number="UP-2")  # due on the platform, not yet on it
        f.instrument(lab, name="上传低值仪器", asset_number="UP-3", original_value=1000)  # not in the file
        db.session.commit()
        ids = dict(college=college.id, lab=lab.id)
    yield ids
    with app.app_context():
        db.session.execute(sa.delete(Instrument).where(Instrument.unit_id == ids["lab"]))
        db.session.execute(sa.delete(Unit).where(Unit.id == ids["lab"]))
        db.session.execute(sa.delete(Unit).where(Unit.id == ids["college"]))
        db.session.commit()


def flags(app, tmp_path):
    result, content = run_report(app, tmp_path, "provincial", "--year", "2026", "--unit", "UP")
    assert result.exit_code == 0, result.output
    return [(r[5], r[1]) for r in table(rows_of(next(iter(worksheets(content).values()))), HEAD)[1]]


def fingerprints(app, lab_id):
    with app.app_context():
        rows = db.session.execute(sa.select(Instrument.asset_number, Instrument.sync_fingerprint, Instrument.updated_at)
                                  .where(Instrument.unit_id == lab_id).order_by(Instrument.asset_number)).all()
        db.session.remove()
        return [tuple(r) for r in rows]


def test_the_school_marks_a_unit_s_upload_and_a_later_change_shows_again(app, login_as, upload_unit, tmp_path):
    assert flags(app, tmp_path) == [("UP-1", "是"), ("UP-2", "是")]
    before = fingerprints(app, upload_unit["lab"])
    school = login_as("school_admin")
    page = school.get("/reports/").get_data(as_text=True)
    assert "标记为已上传" in page
    resp = school.post("/reports/uploaded", data={"unit": upload_unit["college"], "csrf_token": csrf_token(school, "/reports/")},
                       follow_redirects=True)
    assert "已将上传学院的 2 条记录标记为已上传省共享平台。" in resp.get_data(as_text=True)
    assert flags(app, tmp_path) == [("UP-1", "否"), ("UP-2", "否")]
    after = fingerprints(app, upload_unit["lab"])
    assert [r[2] for r in after] == [r[2] for r in before]  # marking is not a change of the record
    assert after[2][1] is None  # the low-value instrument is not in the file
    # marking again finds nothing new; a changed record is flagged again
    resp = school.post("/reports/uploaded", data={"unit": upload_unit["college"], "csrf_token": csrf_token(school, "/reports/")},
                       follow_redirects=True)
    assert "已将上传学院的 0 条记录标记为已上传省共享平台。" in resp.get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.update(Instrument).where(Instrument.asset_number == "UP-1").values(model="新型号"))
        db.session.commit()
    assert flags(app, tmp_path) == [("UP-1", "是"), ("UP-2", "否")]


def test_only_the_school_may_mark_and_never_without_csrf(app, login_as, upload_unit):
    before = fingerprints(app, upload_unit["lab"])
    for who in ("college_admin", "lab_admin"):
        client = login_as(who)
        assert "标记为已上传" not in client.get("/reports/").get_data(as_text=True)
        resp = client.post("/reports/uploaded", data={"unit": upload_unit["college"], "csrf_token": session_csrf_token(client)})
        assert resp.status_code == 403
    school = login_as("school_admin")
    assert school.post("/reports/uploaded", data={"unit": upload_unit["college"]}).status_code == 400  # no CSRF token
    assert school.get("/reports/uploaded").status_code == 405  # a GET changes nothing
    assert fingerprints(app, upload_unit["lab"]) == before
