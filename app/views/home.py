"""The landing page: for a signed-in account, what needs it now (app/services/dashboard.py), counted
through the one scope filter; for a visitor, the way in."""
from flask import current_app, g
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from app import clock
from app.extensions import db
from app.models import Booking, FeeStandard, ServiceUser
from app.security.scope import own_service_user_id, scope_clause_for, unit_ids_for_rules
from app.services import dashboard
from app.services.people import notifications
from app.services.actors import Actor
from app.services.upkeep import todo
from app.services.upkeep.self_checks import Terms
from app.services.workdays import load_calendar


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):  # public, like FAB's own: a visitor sees the sign-in; an account its dashboard
        context = {}
        if current_user.is_authenticated:
            now = clock.now()
            actor = Actor.of(g.user)
            context["unread"] = notifications.unread_count(db.session, g.user.id)
            own = own_service_user_id()
            if own is not None:
                context["customer"] = dashboard.customer(db.session, db.session.get(ServiceUser, own), now)
            elif actor.is_admin:
                context["lab"] = dashboard.lab_side(
                    db.session, clock.local_date(now), now, actor.roles, scope_clause_for(Booking),
                    scope_clause_for(FeeStandard), scope_clause_for(ServiceUser))
                today = clock.local_date(now)
                upkeep = todo.todo(db.session, unit_ids_for_rules(), today, load_calendar(db.session),
                                   Terms.of(current_app.config), current_app.config["CONTACT_RECHECK_DAYS"])
                context["upkeep"], context["upkeep_overdue"] = upkeep.counts(), upkeep.overdue(today)
        return self.render_template(self.index_template, appbuilder=self.appbuilder, slot_text=notifications.slot_text,
                                    **context)
