"""An optional text left blank on a form is no value (NULL): two instruments edited with no terminal id and no
classification code both save (a unique terminal id and the classification's foreign key would refuse "")."""
import re

import sqlalchemy as sa

from app.extensions import db
from app.models import Instrument, Unit

from . import factories as f


def _form(html):
    data = {m.group(1): m.group(2) for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)}
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>.*?<option[^>]*selected[^>]*value="([^"]*)"', html, re.S):
        data.setdefault(m.group(1), m.group(2))
    return data


def test_two_instruments_saved_without_terminal_or_class(app, uni, login_as):
    with app.app_context():
        lab = db.session.get(Unit, uni.l11)
        ids = [f.instrument(lab, name=f"无终端仪器{n}", asset_number=f"BLANK-{n}", class_code=None).id for n in (1, 2)]
        db.session.commit()
    client = login_as("lab_admin")
    try:
        for pk in ids:
            data = _form(client.get(f"/instrumentview/edit/{pk}").get_data(as_text=True))
            data.update(unit=str(uni.l11), kind="instrument", funding_source="fiscal_full", run_status="normal",
                        sharing_status="external", class_code="", iot_terminal_id="", model="")
            assert client.post(f"/instrumentview/edit/{pk}", data=data).status_code == 302
        with app.app_context():
            rows = db.session.execute(sa.select(Instrument.class_code, Instrument.iot_terminal_id, Instrument.model)
                                      .where(Instrument.id.in_(ids))).all()
        assert rows == [(None, None, None), (None, None, None)]
    finally:
        with app.app_context():
            db.session.execute(sa.delete(Instrument).where(Instrument.id.in_(ids)))
            db.session.commit()


def test_a_record_saved_again_from_a_browser_is_unchanged(app, uni, login_as):
    """A browser sends a textarea's line breaks as CRLF: saving an unchanged multi-line record again changes
    nothing — no entry in its history, no change to send to the province."""
    from app.models import ChangeLog

    with app.app_context():
        record = f.instrument(db.session.get(Unit, uni.l11), name="多行指标仪器", asset_number="CRLF-1", networked=True,
                              technical_indicators="分辨率：1 nm\n加速电压：0.5–30 kV", main_functions="形貌观察\r\n成分分析")
        db.session.commit()
        pk = record.id
    client = login_as("lab_admin")
    try:
        html = client.get(f"/instrumentview/edit/{pk}").get_data(as_text=True)
        data = _form(html)
        data.update(unit=str(uni.l11), kind="instrument", funding_source="fiscal_full", run_status="normal",
                    sharing_status="external", networked="y",
                    technical_indicators="分辨率：1 nm\r\n加速电压：0.5–30 kV", main_functions="形貌观察\r\n成分分析")
        assert client.post(f"/instrumentview/edit/{pk}", data=data).status_code == 302
        with app.app_context():
            saved = db.session.execute(sa.select(Instrument.technical_indicators, Instrument.main_functions)
                                       .where(Instrument.id == pk)).one()
            logged = db.session.execute(sa.select(ChangeLog.field).where(
                ChangeLog.table_name == "instrument", ChangeLog.record_id == pk)).scalars().all()
        assert saved == ("分辨率：1 nm\n加速电压：0.5–30 kV", "形貌观察\n成分分析")
        assert "technical_indicators" not in logged and "main_functions" in logged  # stored with a CR: now without
    finally:
        with app.app_context():
            db.session.execute(sa.delete(ChangeLog).where(ChangeLog.table_name == "instrument", ChangeLog.record_id == pk))
            db.session.execute(sa.delete(Instrument).where(Instrument.id == pk))
            db.session.commit()
