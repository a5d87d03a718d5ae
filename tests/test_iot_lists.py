"""Terminal status inline in the instrument list (issue 4): badge, offline window, filter, and no
extra query per row."""
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import DeviceStatus, Instrument

from . import factories as f


@pytest.fixture(scope="module")
def statuses(app, uni, pinned_instant):
    """Five instruments in lab_admin's lab: running, idle, fault now; running but silent for an
    hour (shows offline); and one without a terminal. Removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    now = pinned_instant  # each test's clock starts there (tests/conftest.py)
    cases = {"running": ("running", now), "idle": ("idle", now), "fault": ("fault", now),
             "silent": ("running", now - timedelta(hours=1)), "none": None}
    ids = {}
    with app.app_context():
        lab = db.session.get(Instrument, uni.inst_l11).unit
        for key, status in cases.items():
            tid = f"list-{tag}-{key}" if status else None
            inst = f.instrument(lab, name=f"状态仪器{key}{tag}", iot_terminal_id=tid)
            if status:
                db.session.add(DeviceStatus(terminal_id=tid, state=status[0], reported_at=status[1], received_at=status[1]))
            ids[key] = (inst.id, f"状态仪器{key}{tag}")
            if key in ("running", "silent"):  # in the public catalogue too
                f.fee_standard(inst, state="published")
        db.session.commit()
    yield ids
    with app.app_context():
        db.session.execute(sa.delete(DeviceStatus).where(DeviceStatus.terminal_id.like(f"list-{tag}-%")))
        db.session.execute(sa.delete(Instrument).where(Instrument.id.in_([i for i, _n in ids.values()])))
        db.session.commit()
        db.session.remove()


def rows(html):
    """{instrument name: the row's text} of a list page."""
    found = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S):
        m = re.search(r"状态仪器\w+", row)
        if m:
            found[m.group(0)] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
    return found


def test_list_shows_badge_with_last_seen_and_the_offline_window(login_as, statuses):
    html = login_as("lab_admin").get("/instrumentview/list/").get_data(as_text=True)
    shown = rows(html)
    assert "运行中" in shown[statuses["running"][1]] and "最近上报" in shown[statuses["running"][1]]
    assert "空闲" in shown[statuses["idle"][1]]
    assert "故障" in shown[statuses["fault"][1]]
    assert "离线" in shown[statuses["silent"][1]] and "运行中" not in shown[statuses["silent"][1]]
    assert "最近上报" not in shown[statuses["none"][1]]
    assert 'class="label label-success"' in html


@pytest.mark.parametrize("state,expected", [
    ("running", {"running"}), ("offline", {"silent"}), ("fault", {"fault"}), ("off", set()),
])
def test_filter_by_shown_state(login_as, statuses, state, expected):
    html = login_as("lab_admin").get(f"/instrumentview/list/?_flt_0_device_state={state}").get_data(as_text=True)
    names = set(rows(html))
    assert names == {statuses[k][1] for k in expected}


def test_a_foreign_filter_value_filters_nothing_and_never_fails(login_as, statuses):
    resp = login_as("lab_admin").get("/instrumentview/list/?_flt_0_device_state=exploded")
    assert resp.status_code == 200
    assert statuses["none"][1] in resp.get_data(as_text=True)


def test_the_badge_costs_no_extra_statement(app, login_as, statuses):
    client = login_as("lab_admin")
    seen = []

    def count(*_args):
        seen.append(1)

    def statements(url):
        seen.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    with app.app_context():
        statements("/instrumentview/list/")  # the session's first page loads the user and permissions
        # page size 1 (no terminal) and page size 25 (all five terminals) send as many statements
        assert statements("/instrumentview/list/?psize_InstrumentView=25") == statements(
            "/instrumentview/list/?psize_InstrumentView=1")


def test_public_catalogue_shows_the_badge_too(client, statuses):
    html = client.get("/public/fees?q=状态仪器").get_data(as_text=True)
    shown = rows(html)
    assert set(shown) == {statuses["running"][1], statuses["silent"][1]}
    assert "运行中" in shown[statuses["running"][1]]
    assert "离线" in shown[statuses["silent"][1]]
