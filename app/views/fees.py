"""Fee standards: drafting by the lab, the three-level workflow, items, components and prices.

Declarations plus thin hooks; the rules and the workflow live in app/services/catalogue/fees.py and
fee_rules.py. Only a draft can be written: the hooks refuse early with a clear message and the
flush guard in the service refuses whatever slips past.
"""
from datetime import date

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _
from wtforms import ValidationError
from wtforms.validators import DataRequired

from app import clock
from app.extensions import db
from app.models import FeeItem, FeeItemComponent, FeePrice, FeeStandard
from app.models.choices import (CUSTOMER_CATEGORY, FEE_ACTION, FEE_COMPONENT, FEE_STATE, QUANTITY_BASIS, TIER_MODE,
                                UNIT_ROUNDING)
from app.services.catalogue import fee_rules, fees
from app.services.errors import PolicyDenied, RuleViolation

from . import formatting
from .base import ScopedModelView, interface

STANDARD_LABELS = {
    "instrument": _("Instrument"), "version": _("Version"), "state": _("Workflow state"),
    "effective_from": _("Effective from"), "effective_to": _("Effective to"), "pricing_method": _("Pricing method"),
    "justification": _("Justification of prices above cost"), "approved_at": _("Approved at"), "items": _("Fee items"),
    "tier_mode": _("How tiers apply"), "unit_rounding": _("A started billing unit"),
}
ITEM_LABELS = {"standard": _("Fee standard"), "name": _("Fee item"), "billing_unit": _("Billing unit"),
               "cost_basis": _("Cost basis per billing unit"), "quantity_basis": _("Quantity counted from a use")}
PRICE_LABELS = {"item": _("Fee item"), "customer_category": _("Customer category"), "tier_min": _("Tier from"),
                "tier_max": _("Tier up to"), "unit_price": _("Unit price"),
                "difference_reason": _("Why it differs from the on-campus price")}
COMPONENT_LABELS = {"item": _("Fee item"), "component": _("Fee component"), "amount": _("Amount")}
STEPS = {"submit", "college_approve", "school_approve", "return", "retire", "new_version"}
DONE = _("Done: %(step)s.")


def _now():
    return clock.now().replace(microsecond=0)


class _DraftOnly:
    """Hooks shared by the fee screens: writes only while the standard is a draft."""

    def _standard_of(self, item):
        return item if isinstance(item, FeeStandard) else (item.standard if isinstance(item, FeeItem) else item.item.standard)

    def pre_add(self, item):
        super().pre_add(item)
        if not isinstance(item, FeeStandard):
            fees.require_draft(self._standard_of(item))

    def pre_update(self, item):
        super().pre_update(item)
        fees.require_draft(self._standard_of(item))

    def pre_delete(self, item):
        super().pre_delete(item)
        fees.require_draft(self._standard_of(item))


def _tier_rule(form, field):
    """Tiers of one item and category must not overlap: checked against the saved siblings."""
    item = form.item.data
    if item is None or form.tier_min.data is None:
        return
    editing = getattr(form, "_id", None)
    probe = FeeItem(name="", billing_unit="-", cost_basis=item.cost_basis)
    siblings = [p for p in item.prices if str(p.id) != str(editing)]
    for p in siblings:
        probe.prices.append(FeePrice(customer_category=p.customer_category, tier_min=p.tier_min,
                                     tier_max=p.tier_max, unit_price=p.unit_price))
    probe.prices.append(FeePrice(customer_category=form.customer_category.data, tier_min=form.tier_min.data,
                                 tier_max=form.tier_max.data, unit_price=form.unit_price.data or 0))
    mine = f"items-0-prices-{len(siblings)}-"
    for key, message in fee_rules.check_tiers(probe, 0).items():
        if key.startswith(mine) and key.endswith(field.name):
            raise ValidationError(str(message))


class FeeComponentView(_DraftOnly, ScopedModelView):
    datamodel = interface(FeeItemComponent)
    list_title = show_title = _("Fee components")
    add_title = _("Add fee component")
    edit_title = _("Edit fee component")
    label_columns = COMPONENT_LABELS
    choice_columns = {"component": FEE_COMPONENT}
    list_columns = ["component", "amount"]
    add_columns = edit_columns = show_columns = ["item", "component", "amount"]
    search_columns = ["item", "component"]


class FeePriceView(_DraftOnly, ScopedModelView):
    datamodel = interface(FeePrice)
    list_title = show_title = _("Prices by customer category and tier")
    add_title = _("Add price")
    edit_title = _("Edit price")
    label_columns = PRICE_LABELS
    choice_columns = {"customer_category": CUSTOMER_CATEGORY}
    list_columns = ["customer_category", "tier_min", "tier_max", "unit_price", "difference_reason"]
    add_columns = edit_columns = show_columns = ["item", "customer_category", "tier_min", "tier_max", "unit_price",
                                                 "difference_reason"]
    search_columns = ["item", "customer_category"]
    validators_columns = {"tier_min": [_tier_rule], "tier_max": [_tier_rule]}


class FeeItemView(_DraftOnly, ScopedModelView):
    datamodel = interface(FeeItem)
    list_title = show_title = _("Fee items")
    add_title = _("Add fee item")
    edit_title = _("Edit fee item")
    label_columns = ITEM_LABELS
    list_columns = ["name", "billing_unit", "quantity_basis", "cost_basis"]
    add_columns = edit_columns = show_columns = ["standard", "name", "billing_unit", "quantity_basis", "cost_basis"]
    choice_columns = {"quantity_basis": QUANTITY_BASIS}
    search_columns = ["standard", "name"]
    description_columns = {"billing_unit": _("hour, sample, run, element, day…"),
                           "cost_basis": _("Materials, utilities and operation per billing unit (Art. 15).")}
    validators_columns = {"billing_unit": [DataRequired(message=fee_rules.MSG_UNIT)]}
    related_views = [FeePriceView, FeeComponentView]


class FeeStandardView(_DraftOnly, ScopedModelView):
    datamodel = interface(FeeStandard)
    list_title = _("Fee standards")
    show_title = _("Fee standard")
    add_title = _("Draft a fee standard")
    edit_title = _("Edit fee standard draft")
    show_template = "fees/standard_show.html"
    label_columns = STANDARD_LABELS
    list_columns = ["instrument", "version", "state", "effective_from", "effective_to"]
    search_columns = ["instrument", "state", "effective_from"]
    add_columns = edit_columns = ["instrument", "effective_from", "effective_to", "tier_mode", "unit_rounding",
                                  "pricing_method", "justification"]
    show_columns = ["instrument", "version", "state", "effective_from", "effective_to", "tier_mode", "unit_rounding",
                    "pricing_method", "justification", "approved_at"]
    # state: searchable, never edited by hand (the workflow sets it)
    choice_columns = {"state": FEE_STATE, "tier_mode": TIER_MODE, "unit_rounding": UNIT_ROUNDING}
    formatters_columns = {"pricing_method": formatting.multiline,
                          "justification": formatting.multiline}
    base_order = ("id", "desc")
    related_views = [FeeItemView]

    def pre_add(self, item):
        super().pre_add(item)
        with db.session.no_autoflush:
            fees.prepare_draft(db.session, fees.Actor.of(g.user), item, _now())
            fees.validate_draft(db.session, item)

    def pre_update(self, item):
        super().pre_update(item)
        with db.session.no_autoflush:
            fees.validate_draft(db.session, item)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)  # 404 outside the scope
        standard = self.datamodel.get(pk, self._base_filters)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            standard=standard, margins=margin_rows(standard), fmt=formatting, category_label=CUSTOMER_CATEGORY.label,
            action_label=FEE_ACTION.label, state_label=FEE_STATE.label,
            steps=fees.possible_steps(db.session, fees.Actor.of(g.user), standard),
        )

    @expose("/step/<int:pk>/<string:step>", methods=["POST"])
    @has_access
    def step(self, pk, step):
        """One workflow step from the buttons on the show page (POST + CSRF, like every change)."""
        standard = self.datamodel.get(pk, self._base_filters)
        if standard is None or step not in STEPS:
            abort(404)
        actor, now = fees.Actor.of(g.user), _now()
        comment = (request.form.get("comment") or "").strip() or None
        target = standard
        try:
            if step == "submit":
                fees.submit(db.session, actor, standard, now, fees.tolerance_of(current_app.config))
            elif step == "college_approve":
                fees.college_approve(db.session, actor, standard, now, comment)
            elif step == "school_approve":
                fees.school_approve(db.session, actor, standard, now, comment)
            elif step == "return":
                fees.return_to_lab(db.session, actor, standard, now, comment)
            elif step == "retire":
                fees.retire(db.session, actor, standard, now, comment=comment)
            else:
                start = date.fromisoformat(request.form.get("effective_from", ""))
                target = fees.new_version(db.session, actor, standard, now, effective_from=start)
            db.session.commit()
            flash(gettext("Done: %(step)s.", step=_step_label(step)), "success")
        except ValueError:
            db.session.rollback()
            flash(gettext("Enter a date as YYYY-MM-DD."), "danger")
        except (RuleViolation, PolicyDenied) as refusal:
            db.session.rollback()
            messages = refusal.errors.values() if isinstance(refusal, RuleViolation) else [refusal.message]
            for message in messages:
                flash(message, "danger")
        return redirect(url_for(".show", pk=target.id))


def _step_label(step):
    if step == "new_version":
        return gettext("New version")
    return FEE_ACTION.label(step)


def margin_rows(standard):
    """Rows for the show page: every price with its margin over the item's cost basis."""
    rows = []
    for item in standard.items:
        for price, over, ratio in fee_rules.margins(item):
            rows.append({"item": item, "price": price, "over": over, "ratio": ratio})
    return rows
