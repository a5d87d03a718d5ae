"""Rate limits per client (issue 21, defects 3 and 4): the REST login is limited like the form; behind the
README's reverse proxy each client has its own bucket when TRUSTED_PROXY_HOPS says how many proxies to
trust, and a client cannot forge its address past a limit when it says none."""
import logging
import uuid

import pytest

from app import create_app
from app.extensions import db

from .conftest import csrf_token


@pytest.fixture
def limited_app(database_url, uni):
    """An app whose sign-in limit is 3 a minute, counted under a prefix of its own (CI's Redis keeps counts)."""
    made = []

    def make(**config):
        app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url, AUTH_RATE_LIMIT="3 per minute",
                         REGISTRATION_RATE_LIMIT="3 per hour", RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}", **config)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def api_login(client, **headers):
    return client.post("/api/v1/security/login", json={"username": "lab_admin", "password": "wrong", "provider": "db"},
                       headers=headers).status_code


def form_login(client, **headers):
    token = csrf_token(client)
    return client.post("/login/", data={"username": "lab_admin", "password": "wrong", "csrf_token": token},
                       headers=headers).status_code


def test_the_rest_login_is_rate_limited_like_the_form(limited_app):
    client = limited_app().test_client()
    codes = [api_login(client) for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429], codes


def test_the_form_and_the_rest_login_share_one_count(limited_app):
    """One limit of sign-in attempts per client, whichever door: two by the form and one by the API use it up."""
    client = limited_app().test_client()
    assert [form_login(client), form_login(client), api_login(client)] == [302, 302, 401]  # refused, back to the form
    assert api_login(client) == 429 and form_login(client) == 429


def test_a_forged_host_header_is_never_trusted(limited_app):
    """Behind a trusted proxy the client's address is taken from X-Forwarded-For, never its X-Forwarded-Host:
    the README's proxy does not set that one, so a client's own would pass through."""
    client = limited_app(TRUSTED_PROXY_HOPS=1).test_client()
    answer = client.get("/login/", headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/evil"})
    assert answer.status_code == 200 and "evil" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("attempt", [api_login, form_login], ids=["api", "form"])
def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(limited_app, attempt, caplog):
    client = limited_app(TRUSTED_PROXY_HOPS=1).test_client()
    with caplog.at_level(logging.WARNING, logger="app.views.accounts"):
        first = [attempt(client, **{"X-Forwarded-For": "203.0.113.7"}) for _ in range(4)]
        second = [attempt(client, **{"X-Forwarded-For": "198.51.100.9"}) for _ in range(3)]
    assert first[-1] == 429 and 429 not in first[:3], first
    assert 429 not in second, second  # one client's mistakes do not lock out the next
    assert "from 203.0.113.7" in caplog.text and "from 198.51.100.9" in caplog.text


@pytest.mark.parametrize("attempt", [api_login, form_login], ids=["api", "form"])
def test_without_a_trusted_proxy_a_forged_address_changes_nothing(limited_app, attempt, caplog):
    client = limited_app().test_client()
    with caplog.at_level(logging.WARNING, logger="app.views.accounts"):
        codes = [attempt(client, **{"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(5)]
    assert codes[3:] == [429, 429], codes
    assert "192.0.2." not in caplog.text and "from 127.0.0.1" in caplog.text


def test_registrations_are_counted_per_client_behind_a_trusted_proxy(limited_app):
    client = limited_app(TRUSTED_PROXY_HOPS=1).test_client()

    def register(address):
        token = csrf_token(client, "/register/")
        return client.post("/register/", data={"username": "x", "mobile": "1", "csrf_token": token},
                           headers={"X-Forwarded-For": address}).status_code

    assert [register("203.0.113.7") for _ in range(4)] == [200, 200, 200, 429]
    assert register("198.51.100.9") == 200
