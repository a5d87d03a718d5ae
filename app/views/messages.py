"""The message centre (issue 13): each account reads its own messages (the one scope filter gives it
nothing else, whatever its role); opening one marks it read; the navbar shows the unread count."""
from flask import flash, g, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _
from flask_login import current_user
from markupsafe import Markup
import sqlalchemy as sa

from app import clock
from app.extensions import db
from app.models import Message
from app.services.people import notifications

from . import formatting
from .base import ScopedModelView, interface


def unread_badge(unread):
    """A message's state (Message.unread) in the list: unread ones stand out."""
    if unread:
        return Markup('<span class="label label-primary message-unread">{}</span>').format(gettext("Unread"))
    return gettext("Read")


class MessageView(ScopedModelView):
    datamodel = interface(Message)
    list_title = _("Messages")
    show_title = _("Message")
    show_template = "messages/show.html"
    list_template = "messages/list.html"
    label_columns = {"created_at": _("Sent at"), "subject": _("Subject"), "body": _("Message"), "read_at": _("Read at"),
                     "unread": _("State"), "emailed_at": _("E-mailed at"), "email_to": _("E-mail address"),
                     "email_error": _("E-mail problem")}
    list_columns = ["unread", "created_at", "subject"]
    show_columns = ["created_at", "subject", "body", "read_at", "email_to", "emailed_at", "email_error"]
    search_columns = ["subject", "created_at"]
    formatters_columns = {"body": formatting.multiline, "unread": unread_badge}
    base_order = ("created_at", "desc")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        message = self.datamodel.get(pk, self._base_filters)
        if message is not None:
            notifications.mark_read(db.session, message, clock.now())
            db.session.commit()
        widgets = self._show(pk)
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, message=message)

    @expose("/read_all", methods=["POST"])
    @has_access
    def read_all(self):
        db.session.execute(sa.update(Message).where(Message.recipient_id == g.user.id, Message.read_at.is_(None))
                           .values(read_at=clock.now()))
        db.session.commit()
        flash(gettext("All messages marked as read."), "success")
        return redirect(url_for(".list"))


def install(app):
    """The unread count for the navbar, one statement per page for a signed-in account."""

    @app.context_processor
    def unread_messages():
        def count():
            if not current_user or not current_user.is_authenticated:
                return 0
            return notifications.unread_count(db.session, current_user.id)
        return {"unread_messages": count}
