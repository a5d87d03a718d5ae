"""Fee-standard workflow: 草稿 → 院级审核 → 校级审核 → 已发布 → 已停用 (notice §(四)1).

Drafted by the lab, reviewed by the lab's college, approved and published by the school.
Every step records who, when and why (FeeStandardEvent); the ChangeLog records the fields.
A standard that has left the draft state is immutable: a change is a new version.

Callers (screens, API, CLI, tests) pass an Actor and `now`; nothing here reads the request.
"""
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import clock
from app.models import FeeItem, FeeItemComponent, FeePrice, FeeStandard, FeeStandardEvent
from app.models.user import COLLEGE_ADMIN, SCHOOL_ADMIN

from app.services.catalogue import fee_rules
from app.services.actors import Actor, instrument_unit_path, require_lab_side  # noqa: F401  (Actor: fees.Actor for callers)
from app.services.errors import PolicyDenied, RuleViolation

DEFAULT_TOLERANCE = Decimal("0.10")


DENIED_COLLEGE = _("Only the administrator of the instrument's college can review this standard.")
DENIED_SCHOOL = _("Only a school administrator can approve and publish a fee standard.")
DENIED_STATE = _("This step is not possible in the standard's current state.")
DENIED_IMMUTABLE = _("A submitted or published fee standard cannot be changed; create a new version instead.")
NEED_REASON = _("Give the reason for returning the standard.")


def _instrument_id(standard):
    # before a flush only the relationship is set
    return standard.instrument.id if standard.instrument is not None else standard.instrument_id


def _require_lab_side(session, actor, instrument_id):
    require_lab_side(session, actor, instrument_id)


def _require_college(session, actor, standard):
    # the reviewer is the administrator bound to the college above the lab
    if COLLEGE_ADMIN not in actor.roles or actor.unit_level != "college" or not actor.covers(
            instrument_unit_path(session, _instrument_id(standard))):
        raise PolicyDenied("out_of_chain", DENIED_COLLEGE)


def _require_school(actor):
    if SCHOOL_ADMIN not in actor.roles:
        raise PolicyDenied("out_of_chain", DENIED_SCHOOL)


def _require_state(standard, *states):
    if standard.state not in states:
        raise PolicyDenied("wrong_state", DENIED_STATE)


def _record(session, standard, actor, action, to_state, now, comment=None):
    session.info["actor_id"] = actor.user_id  # the ChangeLog names the actor, not the session's user
    from_state = None if action == "create" else standard.state
    session.add(FeeStandardEvent(standard=standard, action=action, from_state=from_state, to_state=to_state,
                                 actor_id=actor.user_id, at=now, comment=comment))
    standard.state = to_state


def tolerance_of(config) -> Decimal:
    return Decimal(str(config.get("FEE_MARGIN_TOLERANCE", DEFAULT_TOLERANCE)))


def validate_draft(session, standard):
    errors = {**fee_rules.check_items(standard), **fee_rules.check_period(session, standard)}
    if errors:
        raise RuleViolation(errors)


def prepare_draft(session, actor, standard, now: datetime):
    """Make a new FeeStandard (built by a form or by create_draft) the next draft version."""
    instrument_id = _instrument_id(standard)
    _require_lab_side(session, actor, instrument_id)
    with session.no_autoflush:
        latest = session.execute(
            sa.select(sa.func.max(FeeStandard.version)).where(FeeStandard.instrument_id == instrument_id)
        ).scalar()
    standard.version = (latest or 0) + 1
    standard.state = "draft"
    _record(session, standard, actor, "create", "draft", now)
    return standard


def create_draft(session, actor, instrument, now: datetime, **fields):
    """A new draft: version 1, or the next version of the instrument's standards."""
    standard = FeeStandard(instrument=instrument, **fields)
    session.add(standard)
    return prepare_draft(session, actor, standard, now)


def require_draft(standard):
    """Only a draft's own fields, items and prices may be written."""
    if standard is None or standard.state != "draft":
        raise PolicyDenied("immutable", DENIED_IMMUTABLE)


def submit(session, actor, standard, now: datetime, tolerance: Decimal = DEFAULT_TOLERANCE):
    _require_state(standard, "draft")
    _require_lab_side(session, actor, _instrument_id(standard))
    errors = {
        **fee_rules.check_items(standard),
        **fee_rules.check_period(session, standard),
        **fee_rules.check_submission(standard, tolerance),
    }
    if errors:
        raise RuleViolation(errors)
    _record(session, standard, actor, "submit", "college_review", now)


def college_approve(session, actor, standard, now: datetime, comment=None):
    _require_state(standard, "college_review")
    _require_college(session, actor, standard)
    _record(session, standard, actor, "college_approve", "school_review", now, comment)


def school_approve(session, actor, standard, now: datetime, comment=None):
    """Approve and publish; the version it replaces ends the day before it takes effect."""
    _require_state(standard, "school_review")
    _require_school(actor)
    errors = fee_rules.check_period(session, standard)
    if errors:
        raise RuleViolation(errors)
    current = session.execute(
        sa.select(FeeStandard).where(
            FeeStandard.instrument_id == standard.instrument_id,
            FeeStandard.state == "published",
            FeeStandard.id != standard.id,
        )
    ).scalars().all()
    for old in current:
        old.effective_to = standard.effective_from - timedelta(days=1)
        _record(session, old, actor, "supersede", "retired", now, comment=f"v{standard.version}")
    standard.approved_by_id = actor.user_id
    standard.approved_at = now
    _record(session, standard, actor, "school_approve", "published", now, comment)


def return_to_lab(session, actor, standard, now: datetime, reason: str):
    if not (reason or "").strip():
        raise RuleViolation({"comment": NEED_REASON})
    _require_state(standard, "college_review", "school_review")
    if standard.state == "college_review":
        _require_college(session, actor, standard)
    else:
        _require_school(actor)
    _record(session, standard, actor, "return", "draft", now, reason)


def retire(session, actor, standard, now: datetime, last_day=None, comment=None):
    _require_state(standard, "published")
    _require_school(actor)
    standard.effective_to = last_day or clock.local_date(now)  # the Beijing day it is retired
    _record(session, standard, actor, "retire", "retired", now, comment)


def new_version(session, actor, standard, now: datetime, effective_from):
    """Copy a published (or retired) standard into a new draft taking effect on a later date."""
    _require_state(standard, "published", "retired")
    draft = create_draft(session, actor, standard.instrument, now, effective_from=effective_from,
                         pricing_method=standard.pricing_method, justification=standard.justification,
                         tier_mode=standard.tier_mode, unit_rounding=standard.unit_rounding)
    with session.no_autoflush:  # the copies are complete only at the end of the loop
        for item in standard.items:
            copy = FeeItem(name=item.name, billing_unit=item.billing_unit, cost_basis=item.cost_basis,
                           quantity_basis=item.quantity_basis)
            for c in item.components:
                copy.components.append(FeeItemComponent(component=c.component, amount=c.amount))
            for p in item.prices:
                copy.prices.append(FeePrice(customer_category=p.customer_category, tier_min=p.tier_min,
                                            tier_max=p.tier_max, unit_price=p.unit_price,
                                            difference_reason=p.difference_reason))
            draft.items.append(copy)
            session.add(copy)
    return draft


def possible_steps(session, actor, standard):
    """The workflow steps this actor may take on this standard now (for the buttons)."""
    checks = {
        "submit": (("draft",), lambda: _require_lab_side(session, actor, _instrument_id(standard))),
        "college_approve": (("college_review",), lambda: _require_college(session, actor, standard)),
        "school_approve": (("school_review",), lambda: _require_school(actor)),
        "return": (("college_review", "school_review"), lambda: (
            _require_college(session, actor, standard) if standard.state == "college_review" else _require_school(actor))),
        "new_version": (("published", "retired"), lambda: _require_lab_side(session, actor, _instrument_id(standard))),
        "retire": (("published",), lambda: _require_school(actor)),
    }
    allowed = []
    for step, (states, guard) in checks.items():
        if standard.state in states:
            try:
                guard()
            except PolicyDenied:
                continue
            allowed.append(step)
    return allowed


# -- immutability, enforced at flush so that no path (screen, API, script) can bypass it ----------

_WORKFLOW_FIELDS = {"state", "effective_to", "approved_by_id", "approved_at"}


def _owning_standard(obj):
    if isinstance(obj, FeeStandard):
        return obj
    if isinstance(obj, FeeItem):
        return obj.standard
    if isinstance(obj, (FeeItemComponent, FeePrice)):
        return obj.item.standard if obj.item is not None else None
    return None


def _frozen(standard):
    """The state the standard had when loaded: a draft may be edited, nothing else."""
    history = sa.inspect(standard).attrs.state.history
    loaded = history.deleted[0] if history.deleted else standard.state
    return loaded not in (None, "draft")


def _guard_published(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.new) + list(session.deleted):
        standard = _owning_standard(obj)
        if standard is None or not sa.inspect(standard).persistent or not _frozen(standard):
            continue
        if obj is standard and obj not in session.deleted:
            state = sa.inspect(obj)
            changed = {c.key for c in state.mapper.column_attrs if state.attrs[c.key].history.has_changes()}
            if changed <= _WORKFLOW_FIELDS:  # workflow steps (and new events) may touch a frozen standard
                continue
        raise PolicyDenied("immutable", DENIED_IMMUTABLE)


def install():
    if not event.contains(Session, "before_flush", _guard_published):
        event.listen(Session, "before_flush", _guard_published)
