"""Search filters work with the Chinese selects and stay inside the scope."""
from app.extensions import db
from app.models import Instrument


def test_filter_by_enumeration_and_unit(app, uni, login_as):
    with app.app_context():
        db.session.get(Instrument, uni.inst_l12).run_status = "under_repair"
        db.session.get(Instrument, uni.inst_l21).run_status = "under_repair"
        db.session.commit()
        db.session.remove()
    try:
        client = login_as("college_admin")
        html = client.get("/instrumentview/list/?_flt_0_run_status=under_repair").get_data(as_text=True)
        assert "材料实验室的仪器" in html and "化学学院的仪器" not in html
        assert "光学实验室的仪器" not in html  # under repair too, but outside the scope
        html = client.get(f"/instrumentview/list/?_flt_0_unit={uni.l11}").get_data(as_text=True)
        assert "分析测试实验室的仪器" in html and "材料实验室的仪器" not in html
        # a foreign unit in the query string finds nothing rather than leaking
        html = client.get(f"/instrumentview/list/?_flt_0_unit={uni.l21}").get_data(as_text=True)
        assert "光学实验室的仪器" not in html
    finally:
        with app.app_context():
            for pk in (uni.inst_l12, uni.inst_l21):
                db.session.get(Instrument, pk).run_status = "normal"
            db.session.commit()
            db.session.remove()
