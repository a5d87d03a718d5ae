"""Security base (issue 2, item 6): secret key, cookies, login rate limit, password hashing."""
import importlib

from app import create_app
from app.extensions import db

from .conftest import PASSWORD, csrf_token


def test_session_cookie_is_httponly_and_lax(uni, app):
    client = app.test_client()
    token = csrf_token(client)
    resp = client.post("/login/", data={"username": "lab_admin", "password": PASSWORD, "csrf_token": token})
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secret_key_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    import config

    first = importlib.reload(config).Config.SECRET_KEY
    second = importlib.reload(config).Config.SECRET_KEY
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert importlib.reload(config).Config.SECRET_KEY == "from-the-environment"
    monkeypatch.undo()
    importlib.reload(config)


def test_passwords_are_hashed(app, uni):
    with app.app_context():
        user = app.appbuilder.sm.find_user("lab_admin")
        assert PASSWORD not in user.password and user.password.startswith("scrypt:")
        db.session.remove()


def test_login_attempts_are_rate_limited(database_url, uni):
    limited = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url, AUTH_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    codes = []
    for _ in range(5):
        token = csrf_token(client)
        codes.append(client.post("/login/", data={"username": "lab_admin", "password": "wrong", "csrf_token": token}).status_code)
    assert all(code in (200, 302) for code in codes[:3]), codes
    assert codes[-1] == 429
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_wrong_password_is_refused(app, uni):
    client = app.test_client()
    token = csrf_token(client)
    client.post("/login/", data={"username": "lab_admin", "password": "wrong", "csrf_token": token})
    assert client.get("/instrumentview/list/").status_code == 302
