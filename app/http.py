"""What every request and response crosses (SPEC §7, issue 11): the CSRF and GET guard, security
headers with a Content-Security-Policy that loads nothing from outside the site, the request body
limit, and a session cookie only for someone who has something to keep in it.

The CSP allows scripts from the site and inline scripts that carry the request's nonce. Our own
templates have no inline script at all (their JavaScript lives in app/static); FAB's templates keep
their few inline scripts (general/lib.html: the action and delete buttons; general/model/search.html
and general/widgets/search.html: the search filters; general/widgets/base_list.html: the list's
actions), which already carry `nonce="{{ baselib.get_nonce() }}"` and so run. FAB's templates also
set `style="…"` attributes (hidden forms, the show page's tab bar), which `style-src-attr` allows.
Style sheets come from the site; the one `<style>` element allowed is the one the vendored
FullCalendar injects, which carries the nonce it reads from the page's `csp-nonce` meta tag, with its
icon font as a `data:` URL (nothing is loaded from elsewhere).
"""
import secrets

from flask import abort, current_app, g, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface
from flask_jwt_extended import decode_token
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .extensions import csrf

# Changing endpoints FAB also exposes to GET; a GET must never change data.
_GET_FORBIDDEN_SUFFIXES = (".delete", ".action")
_CSRF_EXEMPT_PATHS = ("/api/v1/security/login", "/api/v1/security/refresh")

CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
       "style-src-attr 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce():
    """This request's script nonce (FAB's templates call it through baselib.get_nonce())."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def guard_state_changes():
    """No GET reaches a changing endpoint; every state change carries a CSRF token, except a REST
    call authenticated by a JWT (no ambient browser credential to forge) and the login itself."""
    endpoint = request.endpoint or ""
    if request.method in ("GET", "HEAD") and endpoint.endswith(_GET_FORBIDDEN_SUFFIXES):
        abort(405)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.path in _CSRF_EXEMPT_PATHS:
            return
        # a REST call that no browser session signs carries no ambient credential to forge: FAB's @protect
        # verifies its JWT, or answers 401. One a session signs needs its CSRF token unless it carries a JWT that
        # verifies (a cross-site page cannot add that header: the browser asks first, and is not answered
        # yes). Any `Bearer …` once skipped the check, and the session then authenticated the write.
        if request.path.startswith("/api/") and (not current_user.is_authenticated or _bearer_is_the_session_user()):
            return
        csrf.protect()


def _bearer_is_the_session_user() -> bool:
    """A JWT that verifies (signature and expiry, without loading its user: FAB's @protect does that) and names
    the signed-in user: FAB authorises the session user first, so another account's token must not stand in
    for the session's CSRF token."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return False
    try:
        claims = decode_token(auth[len("Bearer "):].strip())
    except Exception:  # noqa: BLE001  (any reason a token does not verify: expired, forged, malformed)
        return False
    return str(claims.get("sub")) == str(current_user.get_id())


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


class SignedInSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, set only when it holds something worth keeping: a signed-in
    user, a CSRF token (a form was shown) or a flashed message. FAB writes the default locale and
    its page history into every visitor's session; for an anonymous visitor of the public pages
    those are recomputed on each request, so no cookie is set for them."""

    DISPOSABLE = frozenset({"locale", "page_history", "_fresh"})

    def save_session(self, app, session, response):
        if session and not set(session) - self.DISPOSABLE:
            if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
                return  # nothing to keep and no cookie to update
            session.clear()  # an old cookie holding only these: removed
        super().save_session(app, session, response)


def favicon():
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


def trust_proxies(app):
    """Behind TRUSTED_PROXY_HOPS reverse proxies (0: none, the default), the client's address and scheme are
    read from the X-Forwarded-For and X-Forwarded-Proto those proxies set: the login and registration limits
    then count each client, not the proxy, and the logs name the client. Without it the headers are ignored, so
    a client cannot forge its address to escape a limit. The host, port and prefix headers are never trusted:
    the README's proxy does not set them, so a client's own would pass through (links use PUBLIC_URL)."""
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in every route takes what an Integer column holds (32 bits on PostgreSQL): a larger number
    matches no route and is answered 404, instead of crashing the query it would reach."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2 ** 31 - 1)
        super().__init__(url_map, *args, **kwargs)


def install(app):
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    trust_proxies(app)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in guard_state_changes (JWT calls exempt)
    csrf.init_app(app)
    app.before_request(guard_state_changes)
    app.after_request(security_headers)
    app.session_interface = SignedInSessionInterface()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    # browsers ask for /favicon.ico whatever the page links; answered with the site's icon
    app.add_url_rule("/favicon.ico", "favicon", favicon)
