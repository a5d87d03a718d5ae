"""What every response carries (issue 11, item 4): security headers and a CSP that loads nothing
from outside the site, nonces on FAB's inline scripts and no inline script of ours, a request body
limit answered in Chinese, and no session cookie for an anonymous visitor of the public pages."""
import re

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Person

from .conftest import csrf_token

REQUIRED_CSP = ("default-src 'self'", "object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'")


def directives(policy):
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("who,url", [
    (None, "/public/fees"), (None, "/login/"), (None, "/static/platform.js"), (None, "/favicon.ico"),
    (None, "/public/instruments/999999"), ("lab_admin", "/instrumentview/list/"), ("lab_admin", "/api/v1/instrument/"),
    ("lab_admin", "/reports/"),
])
def test_every_response_carries_the_security_headers(login_as, who, url):
    resp = login_as(who).get(url)
    assert resp.status_code in (200, 404), (url, resp.status_code)
    policy = resp.headers["Content-Security-Policy"]
    for required in REQUIRED_CSP:
        assert required in policy, (url, policy)
    # nothing may load from elsewhere: every source list is the site itself, a nonce or data: images
    for name, sources in directives(policy).items():
        for source in sources:
            assert source in ("'self'", "'none'", "data:", "'unsafe-inline'") or source.startswith("'nonce-"), (name, source)
    assert directives(policy)["script-src"] != ["'unsafe-inline'"] and "'unsafe-inline'" not in directives(policy)["script-src"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP here
    resp.close()  # a static file's handle


def test_hsts_only_behind_https(database_url, uni):
    secure = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url, SESSION_COOKIE_SECURE=True)
    resp = secure.test_client().get("/public/fees")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    with secure.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("url", ["/instrumentview/list/", "/personview/list/", "/reports/", "/feestandardview/list/"])
def test_inline_scripts_carry_the_nonce_and_ours_have_none(login_as, url):
    resp = login_as("lab_admin").get(url)
    nonce = re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)
    html = resp.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:
        src = re.search(r'src="([^"]+)"', attributes)
        if src:
            assert src.group(1).startswith("/"), src.group(1)  # from the site
        else:
            assert f'nonce="{nonce}"' in attributes, body[:120]  # FAB's own inline scripts
    assert not re.search(r"\son[a-z]+=\"", html)  # no inline event handlers


def test_a_fresh_nonce_per_response(login_as):
    client = login_as("lab_admin")
    first, second = (client.get("/instrumentview/list/").headers["Content-Security-Policy"] for _ in range(2))
    assert first != second


def test_oversized_request_answers_413_in_chinese_and_saves_nothing(database_url, uni):
    small = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url, MAX_CONTENT_LENGTH=4096)
    client = small.test_client()
    from .conftest import login

    login(client, "lab_admin")
    token = csrf_token(client, "/personview/add")
    with small.app_context():
        before = db.session.execute(sa.select(sa.func.count()).select_from(Person)).scalar()
    resp = client.post("/personview/add", data={"csrf_token": token, "name": "大请求", "unit": uni.l11, "duty": "technician",
                                                 "remarks": "很长" * 5000})
    assert resp.status_code == 413
    assert "提交的内容超过平台允许的大小（最多 4 KB），未保存任何内容。" in resp.get_data(as_text=True)
    with small.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(Person)).scalar() == before
        db.session.remove()
        # this app's own pool: left to the garbage collector, its PostgreSQL connection was closed whenever the
        # collector ran, in another test, as a ResourceWarning (the "flaky" seed test of issue 21)
        db.engine.dispose()
        db.engine.dispose()


@pytest.mark.parametrize("url", ["/public/fees", "/public/instruments/999999", "/public/fees.xlsx", "/", "/favicon.ico"])
def test_anonymous_visitors_get_no_session_cookie(app, url):
    resp = app.test_client().get(url)
    assert not [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")], url
    resp.close()


def test_signing_in_sets_the_session_cookie_and_keeps_it(app, uni):
    client = app.test_client()
    token = csrf_token(client)  # the login form needs its token: that cookie is the first
    resp = client.post("/login/", data={"username": "lab_admin", "password": "test-1234", "csrf_token": token})
    assert any(c.startswith("session=") for c in resp.headers.getlist("Set-Cookie"))
    assert client.get("/public/fees").status_code == 200
    with client.session_transaction() as sess:
        assert sess.get("_user_id")  # visiting a public page signed in keeps the session


def test_favicon_is_the_site_icon(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml" and b"<svg" in resp.data
    resp.close()
