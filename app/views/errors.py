"""Error pages in Chinese (Werkzeug's defaults are English); JSON for the REST API."""
from flask import current_app, g, jsonify, render_template, request
from flask_login import current_user
from flask_babel import lazy_gettext as _
from flask_wtf.csrf import CSRFError

ERRORS = {
    400: (_("Bad request"), _("The request could not be understood. Reload the page and try again.")),
    403: (_("Access denied"), _("Your role does not allow this page or action.")),
    404: (_("Not found"), _("The page or record does not exist, or is outside your scope.")),
    405: (_("Not allowed"), _("This address cannot be used this way; use the buttons on the page.")),
    413: (_("Too large"), _("What was sent is larger than the platform accepts (%(size)s at most). Nothing was saved.")),
    429: (_("Too many attempts"), _("Too many attempts in a short time. Wait a minute and try again.")),
    500: (_("Server error"), _("Something went wrong on our side. The error has been logged.")),
}
CSRF_MESSAGE = _("The form has expired or did not come from this site. Reload the page and submit again.")


def _size_text(size):
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"


def _render(code, message=None):
    title, default = ERRORS[code]
    if code == 413:
        default = str(default) % {"size": _size_text(current_app.config["MAX_CONTENT_LENGTH"])}
    text = str(message or default)
    if request.path.startswith("/api/"):
        return jsonify(message=text), code
    appbuilder = current_app.appbuilder
    if "user" not in g:  # refused before FAB's own before_request ran (CSRF, GET guard)
        g.user = current_user
    page = render_template("error.html", title=title, message=text, appbuilder=appbuilder, base_template=appbuilder.base_template)
    return page, code


def _render_405(error):
    """A method this address does not take: the Chinese message, and the methods it does (RFC 9110's Allow)."""
    body, code = _render(405)
    return body, code, {"Allow": ", ".join(sorted(error.valid_methods or []))} if getattr(error, "valid_methods", None) else {}


def register_error_pages(app):
    for code in ERRORS:
        app.register_error_handler(code, lambda e, code=code: _render(code))
    app.register_error_handler(405, _render_405)
    app.register_error_handler(CSRFError, lambda e: _render(400, CSRF_MESSAGE))
