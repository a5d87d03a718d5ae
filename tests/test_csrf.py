"""CSRF (issue 2, item 6): a GET never changes data; a POST without a valid token answers 400."""
import pytest

from app.extensions import db
from app.models import Instrument, Person

from .conftest import PASSWORD, session_csrf_token


def exists(app, model, pk):
    with app.app_context():
        found = db.session.get(model, pk) is not None
        db.session.remove()
        return found


def test_get_delete_changes_nothing(app, uni, login_as):
    client = login_as("lab_admin")
    resp = client.get(f"/instrumentview/delete/{uni.inst_l11}")
    assert resp.status_code == 405
    assert exists(app, Instrument, uni.inst_l11)


@pytest.mark.parametrize("url_template,data", [
    ("/instrumentview/delete/{pk}", {}),
    ("/instrumentview/edit/{pk}", {"name": "篡改"}),
    ("/personview/add", {"name": "伪造", "duty": "technician"}),
])
def test_post_without_token_is_refused(app, uni, login_as, url_template, data):
    client = login_as("lab_admin")
    with app.app_context():
        before = db.session.get(Instrument, uni.inst_l11).name
        people = db.session.query(Person).count()
        db.session.remove()
    for token in (None, "forged-token"):
        payload = dict(data, unit=uni.l11)
        if token:
            payload["csrf_token"] = token
        resp = client.post(url_template.format(pk=uni.inst_l11), data=payload)
        assert resp.status_code == 400
    with app.app_context():
        assert db.session.get(Instrument, uni.inst_l11).name == before
        assert db.session.query(Person).count() == people
        db.session.remove()


def test_login_without_token_is_refused(client):
    assert client.post("/login/", data={"username": "lab_admin", "password": PASSWORD}).status_code == 400


def test_session_api_write_needs_token_but_jwt_does_not(app, uni, login_as):
    client = login_as("lab_admin")
    body = {"name": "接口新增人员", "unit": uni.l11, "duty": "technician"}
    assert client.post("/api/v1/person/", json=body).status_code == 400
    resp = client.post("/api/v1/person/", json=body, headers={"X-CSRFToken": session_csrf_token(client)})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    fresh = app.test_client()
    login = fresh.post("/api/v1/security/login", json={"username": "lab_admin", "password": PASSWORD, "provider": "db"})
    token = login.json["access_token"]
    resp = fresh.post("/api/v1/person/", json={**body, "name": "令牌新增人员"}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    with app.app_context():
        for name in ("接口新增人员", "令牌新增人员"):
            db.session.query(Person).filter_by(name=name).delete()
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("authorization", ["Bearer forged", "Bearer ", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_a_bearer_header_that_does_not_verify_skips_no_csrf(app, uni, login_as, authorization):
    """Any `Authorization: Bearer …` skipped the CSRF check, and the browser session then authenticated the
    write (issue 21): only a token that verifies does. Without a session the API answers 401."""
    client = login_as("lab_admin")
    body = {"name": "伪造令牌人员", "unit": uni.l11, "duty": "technician"}
    assert client.post("/api/v1/person/", json=body, headers={"Authorization": authorization}).status_code == 400
    alone = app.test_client().post("/api/v1/person/", json=body, headers={"Authorization": authorization})
    assert alone.status_code == 401 and "重新登录" in alone.get_json()["msg"]
    with app.app_context():
        assert db.session.query(Person).filter_by(name="伪造令牌人员").count() == 0
        db.session.remove()
