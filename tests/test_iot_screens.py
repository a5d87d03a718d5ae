"""Terminal and refused-message screens (issue 4): scoped like everything else, unknown terminals
only for the school, edits with CSRF, refusals visible to admins."""
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import DeviceStatus, Instrument, IotRejection, IotTerminal

from . import factories as f
from .conftest import csrf_token


@pytest.fixture(scope="module")
def terminals(app, uni, pinned_instant):
    """Terminals named by an instrument of lab_admin's lab, of another college's lab, and one unbound."""
    tag = uuid.uuid4().hex[:6]
    names = {"own": f"scr-{tag}-own", "foreign": f"scr-{tag}-foreign", "unbound": f"scr-{tag}-unbound"}
    now = pinned_instant  # each test's clock starts there (tests/conftest.py)
    with app.app_context():
        own_lab = db.session.get(Instrument, uni.inst_l11).unit
        foreign_lab = db.session.get(Instrument, uni.inst_l21).unit
        f.instrument(own_lab, name=f"终端屏仪器{tag}", iot_terminal_id=names["own"])
        f.instrument(foreign_lab, name=f"外院终端仪器{tag}", iot_terminal_id=names["foreign"])
        for _key, tid in names.items():
            db.session.add(IotTerminal(terminal_id=tid, adapter="native", first_seen=now))
            db.session.add(IotRejection(reason="not_json", terminal_id=tid, count=3, first_at=now, last_at=now,
                                        last_detail="{坏消息"))
        db.session.add(DeviceStatus(terminal_id=names["own"], state="idle", reported_at=now - timedelta(minutes=1),
                                    received_at=now - timedelta(minutes=1)))
        db.session.commit()
        ids = {k: db.session.execute(sa.select(IotTerminal.id).where(IotTerminal.terminal_id == t)).scalar() for k, t in names.items()}
    yield names, ids
    with app.app_context():
        db.session.execute(sa.delete(IotRejection).where(IotRejection.terminal_id.like(f"scr-{tag}-%")))
        db.session.execute(sa.delete(DeviceStatus).where(DeviceStatus.terminal_id.like(f"scr-{tag}-%")))
        db.session.execute(sa.delete(IotTerminal).where(IotTerminal.terminal_id.like(f"scr-{tag}-%")))
        db.session.execute(sa.delete(Instrument).where(Instrument.iot_terminal_id.like(f"scr-{tag}-%")))
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("who,visible", [
    ("lab_admin", {"own"}), ("college_admin", {"own"}), ("school_admin", {"own", "foreign", "unbound"}),
])
def test_terminal_and_refusal_lists_are_scoped(login_as, terminals, who, visible):
    names, _ids = terminals
    client = login_as(who)
    for url in ("/iotterminalview/list/?psize_IotTerminalView=100", "/iotrejectionview/list/?psize_IotRejectionView=100"):
        html = client.get(url).get_data(as_text=True)
        assert {k for k, tid in names.items() if tid in html} == visible, url


def test_terminal_list_shows_the_bound_instrument_and_status(login_as, terminals):
    names, _ids = terminals
    html = login_as("lab_admin").get("/iotterminalview/list/").get_data(as_text=True)
    assert "终端屏仪器" in html and "空闲" in html and "原生终端" in html


def test_refusals_show_reason_and_content(login_as, terminals):
    html = login_as("lab_admin").get("/iotrejectionview/list/").get_data(as_text=True)
    assert "不是 JSON" in html and "{坏消息" in html


@pytest.mark.parametrize("key,status", [("foreign", 404), ("unbound", 404)])
def test_out_of_scope_terminals_cannot_be_opened_or_edited(login_as, terminals, key, status):
    _names, ids = terminals
    client = login_as("lab_admin")
    assert client.get(f"/iotterminalview/show/{ids[key]}").status_code == status
    assert client.get(f"/iotterminalview/edit/{ids[key]}").status_code == status


def test_lab_edits_its_terminal_threshold_with_csrf_and_cannot_add_or_delete(app, login_as, terminals):
    names, ids = terminals
    client = login_as("lab_admin")
    token = csrf_token(client, f"/iotterminalview/edit/{ids['own']}")
    form = {"adapter": "tasmota", "power_threshold_w": "55"}
    assert client.post(f"/iotterminalview/edit/{ids['own']}", data=form).status_code == 400  # no token
    resp = client.post(f"/iotterminalview/edit/{ids['own']}", data={**form, "csrf_token": token})
    assert resp.status_code == 302
    with app.app_context():
        t = db.session.execute(sa.select(IotTerminal).where(IotTerminal.terminal_id == names["own"])).scalar_one()
        assert (t.adapter, float(t.power_threshold_w)) == ("tasmota", 55.0)
    assert client.get("/iotterminalview/add").status_code == 403
    assert client.post(f"/iotterminalview/delete/{ids['own']}", data={"csrf_token": token}).status_code == 403
