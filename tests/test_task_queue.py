"""The task queue end to end (issue 11, item 8): an export started from the console is built by a
real consumer process — on the suite's queue, SQLite's by default, Redis's when REDIS_URL is set
(CI's second run) — and downloaded once done."""
import io
import time

import openpyxl
import pytest

import config
from app import tasks

from .processes import task_consumer
from .test_report_exports import start


@pytest.fixture
def real_queue(database_url, tmp_path):
    """The suite's queue for real (not run at once), with a consumer process reading it."""
    tasks.huey.immediate = False
    tasks.huey.flush()
    consumer = task_consumer(database_url, tmp_path / "consumer.log").start()
    try:
        consumer.wait_for_log("consumer started")  # huey's own start line
        yield consumer
    finally:
        consumer.stop()
        tasks.huey.flush()
        tasks.huey.immediate = True


def test_an_export_is_built_by_the_consumer_process(real_queue, login_as, uni):
    backend = type(tasks.huey.storage).__name__
    assert backend == ("RedisStorage" if config.REDIS_URL else "SqliteStorage")
    lab = login_as("lab_admin")
    resp = start(lab, unit=str(uni.l11))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    job = resp.get_json()
    deadline, seen = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        status = lab.get(job["status_url"]).get_json()
        seen.append(status["state"])
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status["state"] == "done", (backend, status, real_queue.text()[-2000:])
    assert seen[0] in ("queued", "running")  # the request only queued it: the consumer built it
    real_queue.wait_for_log("app.tasks.build_export")
    file = lab.get(job["file_url"])
    assert file.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(file.data)).sheetnames == ["分仪器", "单位合计", "典型案例"]
