"""Report exports in the background (issue 5: the console shows progress while a long export
runs; issue 11: on the task queue): started by a POST with CSRF, followed by polling, downloaded
once done; only the asker sees an export; a refused request starts nothing; a failure is retried,
then says so and reaches the school's failure screen; a lost worker or a missing consumer says so.
Tasks run at once here (conftest); tests/test_task_queue.py runs a real consumer."""
import io
import time
from datetime import datetime, timedelta
from urllib.parse import unquote

import openpyxl
import sqlalchemy as sa

from app import tasks
from app.extensions import db
from app.models import ReportExport, TaskFailure
from app.reports import exports

from .conftest import csrf_token, session_csrf_token

YEAR = 2025


def exports_count(app):
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(ReportExport)).scalar()
        db.session.remove()
        return n


def start(client, **form):
    token = csrf_token(client, "/reports/")
    return client.post("/reports/exports", data={"name": "annual", "year": str(YEAR), **form},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def wait_done(client, status_url, seconds=60):
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get(status_url).get_json()
        seen.append(status)
        if status["state"] != "running":
            return status, seen
        time.sleep(0.1)
    raise AssertionError(f"export still running after {seconds} s: {seen[-1]}")


def test_an_export_runs_in_the_background_and_downloads_once_done(login_as, uni):
    lab = login_as("lab_admin")
    resp = start(lab, unit=str(uni.l11))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    job = resp.get_json()
    status, seen = wait_done(lab, job["status_url"])
    assert status["state"] == "done" and status["percent"] == 100 and status["stage"] == "已完成"
    assert all(0 <= s["percent"] <= 100 for s in seen)
    assert status["file_name"] == f"科研设施和仪器开放共享年度运行报告_分析测试实验室_{YEAR}.xlsx"
    file = lab.get(job["file_url"])
    assert file.status_code == 200
    assert unquote(file.headers["Content-Disposition"].split("filename*=UTF-8''")[1]) == status["file_name"]
    sheets = openpyxl.load_workbook(io.BytesIO(file.data)).sheetnames
    assert sheets == ["分仪器", "单位合计", "典型案例"]
    # the same export is nobody else's, not even its college's administrator's
    college = login_as("college_admin")
    assert college.get(job["status_url"]).status_code == 404
    assert college.get(job["file_url"]).status_code == 404


def test_refused_requests_start_nothing(app, login_as, uni):
    before = exports_count(app)
    lab = login_as("lab_admin")
    assert start(lab, unit=str(uni.l12)).status_code == 404  # another lab
    assert start(lab, name="nonsense").status_code == 404
    resp = start(lab, year="1999")
    assert resp.status_code == 400 and "请选择" in resp.get_json()["message"]
    no_token = lab.post("/reports/exports", data={"name": "annual", "year": str(YEAR)})
    assert no_token.status_code == 400
    # a service user with its own, valid token: refused by the permission check, not by CSRF
    service = login_as("service_user")
    refused = service.post("/reports/exports", data={"name": "annual", "year": str(YEAR)},
                           headers={"X-CSRFToken": session_csrf_token(service), "Accept": "application/json"})
    assert refused.status_code == 403, refused.get_data(as_text=True)[:300]
    assert lab.get("/reports/exports").status_code == 405  # starting is a POST
    assert exports_count(app) == before


def test_a_failed_export_is_retried_then_says_so_and_the_school_sees_it(app, login_as, uni):
    lab = login_as("lab_admin")
    with app.app_context():
        account = app.appbuilder.sm.find_user("lab_admin").id
        broken = ReportExport(account_id=account, report="nonsense", year=YEAR, unit_id=uni.l11, state="queued", percent=0)
        db.session.add(broken)
        db.session.commit()
        export_id = broken.id
        db.session.remove()
    try:
        with app.app_context():  # as from a request of the console
            tasks.build_export(export_id)  # an unknown report: the first run fails, the queue will try again
        retrying = lab.get(f"/reports/exports/{export_id}").get_json()
        assert retrying["state"] == "queued" and "正在重试" in retrying["stage"]
        (retry,) = tasks.huey.read_schedule(datetime(2100, 1, 1))  # what the queue scheduled
        with app.app_context():
            tasks.huey.execute(retry, timestamp=retry.eta)  # its time has come: the second and last run fails too
        failed = lab.get(f"/reports/exports/{export_id}").get_json()
        assert failed["state"] == "failed" and "工作簿生成失败" in failed["stage"]
        assert lab.get(f"/reports/exports/{export_id}/file").status_code == 404
        with app.app_context():
            runs = db.session.execute(sa.select(TaskFailure.retries_left, TaskFailure.error)
                                      .where(TaskFailure.task.like("%build_export"))).all()
            db.session.remove()
        assert [r.retries_left for r in runs] == [1, 0] and all("UnknownReport" in r.error for r in runs)
        # the school sees both runs; a lab does not reach the screen
        page = login_as("school_admin").get("/taskfailureview/list/")
        assert page.status_code == 200 and page.get_data(as_text=True).count("UnknownReport") == 2
        assert lab.get("/taskfailureview/list/").status_code in (302, 403)
    finally:
        with app.app_context():
            db.session.execute(sa.delete(ReportExport).where(ReportExport.id == export_id))
            db.session.execute(sa.delete(TaskFailure))
            db.session.commit()
            db.session.remove()


def test_a_lost_worker_and_a_missing_consumer_say_so(session):
    now = datetime(2026, 12, 2, 10, 0)
    running = ReportExport(state="running", percent=40, stage="x", created_at=now - timedelta(minutes=5),
                           heartbeat_at=now - timedelta(seconds=10))
    assert exports.status(running, now)["state"] == "running"
    running.heartbeat_at = now - timedelta(minutes=2)  # its worker stopped beating
    lost = exports.status(running, now)
    assert lost["state"] == "failed" and "后台任务进程在生成" in lost["stage"]
    queued = ReportExport(state="queued", percent=0, stage="等待", created_at=now - timedelta(seconds=5))
    assert exports.status(queued, now)["stage"] == "等待"
    queued.created_at = now - timedelta(seconds=40)
    waiting = exports.status(queued, now)
    assert waiting["state"] == "queued" and "40 秒" in waiting["stage"]
    queued.created_at = now - timedelta(minutes=11)
    gone = exports.status(queued, now)
    assert gone["state"] == "failed" and "后台任务进程没有运行" in gone["stage"]


def test_progress_is_reported_while_writing():
    from app.reports.excel import Sheet, write_workbook
    import pandas as pd

    heard = []
    frame = pd.DataFrame({"序号": range(1, 4502), "名称": ["仪器"] * 4501})
    write_workbook([Sheet(name="甲", title="t", frame=frame), Sheet(name="乙", title="t", frame=frame.head(10))],
                   progress=lambda done, total, sheet: heard.append((done, total, sheet)))
    assert heard == [(0, 4511, "甲"), (2000, 4511, "甲"), (4000, 4511, "甲"), (4501, 4511, "甲"),
                     (4501, 4511, "乙"), (4511, 4511, "乙")]


def test_the_page_wires_the_export(login_as):
    client = login_as("lab_admin")
    page = client.get("/reports/").get_data(as_text=True)
    assert 'data-export-url="/reports/exports"' in page and 'id="report-progress"' in page
    assert "%s（已用 %s 秒）" in page
    script = client.get("/static/reports.js")
    try:
        assert script.status_code == 200 and b"status_url" in script.data
    finally:
        script.close()
