"""The change-history panel speaks as the screens do: a changed enumeration shows its Chinese
labels, a changed relation the related record's name under the relation's label — not codes and ids."""
import sqlalchemy as sa

from app.extensions import db
from app.models import ChangeLog, Person, Unit

from . import factories as f
from .conftest import csrf_token


def test_duty_and_unit_changes_read_as_labels(app, uni, login_as):
    with app.app_context():
        person = f.person(db.session.get(Unit, uni.l11), name="历史面板老师", duty="instrument_owner")
        db.session.commit()
        pk = person.id
        db.session.remove()
    try:
        client = login_as("college_admin")
        token = csrf_token(client, f"/personview/edit/{pk}")
        resp = client.post(f"/personview/edit/{pk}", data={"csrf_token": token, "name": "历史面板老师", "unit": uni.l12,
                                                           "duty": "technician", "mobile": "13800138000",
                                                           "email": "zhang@example.edu.cn"})
        assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
        page = client.get(f"/personview/show/{pk}").get_data(as_text=True)
        panel = page[page.index("变更记录"):]
        assert "仪器责任人" in panel and "实验技术人员" in panel
        assert "分析测试实验室" in panel and "材料实验室" in panel  # the units' names, not their ids
        assert "instrument_owner" not in panel and "Unit Id" not in panel
    finally:
        with app.app_context():
            db.session.execute(sa.delete(ChangeLog).where(ChangeLog.table_name == "person", ChangeLog.record_id == pk))
            db.session.execute(sa.delete(Person).where(Person.id == pk))
            db.session.commit()
            db.session.remove()
