"""Rules a fee standard must satisfy (notice §(四)1; measures Art. 15).

Pure checks over model objects: each returns {field key: message}; nothing here writes.
Field keys name what the screen shows the message beside: "items-2-billing_unit",
"items-0-prices-3-tier_max", "effective_from", "justification".
"""
from datetime import timedelta
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa

from app.models import FeeStandard

MSG_UNIT = _("State the billing unit (hour, sample, run, element, day…).")
MSG_ITEM_NAME = _("Name the item.")
MSG_NO_ITEMS = _("A fee standard needs at least one item.")
MSG_NO_CAMPUS_PRICE = _("Give at least the on-campus price.")
MSG_NEGATIVE = _("The amount cannot be negative.")
MSG_TIER_START = _("A tier starts at zero or more.")
MSG_TIER_EMPTY = _("A tier must cover some quantity: its upper bound must be above its lower bound.")
MSG_TIER_OVERLAP = _("This tier overlaps another tier of the same customer category.")
MSG_TIER_OPEN = _("Only the highest tier may be open-ended.")
MSG_NO_START = _("State the date the standard takes effect.")
MSG_PERIOD_ORDER = _("The end date cannot be earlier than the start date.")
MSG_DIFFERENCE = _("This price differs from the on-campus price: say why (no unexplained discriminatory pricing).")

CAMPUS = "campus"
OPEN_STATES = ("college_review", "school_review", "published")


def _key(*parts):
    return "-".join(str(p) for p in parts)


def check_items(standard):
    """Items, billing units, amounts and tiers — everything that is wrong inside the standard."""
    errors = {}
    for i, item in enumerate(standard.items):
        if not (item.name or "").strip():
            errors[_key("items", i, "name")] = MSG_ITEM_NAME
        if not (item.billing_unit or "").strip():
            errors[_key("items", i, "billing_unit")] = MSG_UNIT
        if item.cost_basis is not None and item.cost_basis < 0:
            errors[_key("items", i, "cost_basis")] = MSG_NEGATIVE
        for c, component in enumerate(item.components):
            if component.amount is not None and component.amount < 0:
                errors[_key("items", i, "components", c, "amount")] = MSG_NEGATIVE
        errors.update(check_tiers(item, i))
    return errors


def check_tiers(item, index):
    """Per customer category: tiers start at ≥ 0, cover some quantity, do not overlap, and
    only the highest one is open-ended."""
    errors = {}
    by_category = {}
    for p, price in enumerate(item.prices):
        key = _key("items", index, "prices", p)
        if price.unit_price is not None and price.unit_price < 0:
            errors[key + "-unit_price"] = MSG_NEGATIVE
        low = price.tier_min if price.tier_min is not None else Decimal(0)
        if low < 0:
            errors[key + "-tier_min"] = MSG_TIER_START
            continue
        if price.tier_max is not None and price.tier_max <= low:
            errors[key + "-tier_max"] = MSG_TIER_EMPTY
            continue
        by_category.setdefault(price.customer_category, []).append((low, price.tier_max, key))
    for tiers in by_category.values():
        tiers.sort(key=lambda t: t[0])
        for (_low, high, key), (next_low, _next_high, next_key) in zip(tiers, tiers[1:]):
            if high is None:
                errors[key + "-tier_max"] = MSG_TIER_OPEN
            elif next_low < high:
                errors[next_key + "-tier_min"] = MSG_TIER_OVERLAP
    return errors


def _period_end(version, later_start=None):
    """A version's last day; a published open-ended one ends where its successor begins."""
    if version.effective_to is not None:
        return version.effective_to
    if version.state == "published" and later_start is not None and later_start > version.effective_from:
        return later_start - timedelta(days=1)
    return None


def check_period(session, standard):
    """Its period is ordered and overlaps no other live version of the same instrument."""
    start, end = standard.effective_from, standard.effective_to
    if start is None:
        return {}
    if end is not None and end < start:
        return {"effective_to": MSG_PERIOD_ORDER}
    instrument_id = standard.instrument.id if standard.instrument is not None else standard.instrument_id
    with session.no_autoflush:
        others = session.execute(
            sa.select(FeeStandard).where(
                FeeStandard.instrument_id == instrument_id,
                FeeStandard.state.in_(OPEN_STATES),
                FeeStandard.id != standard.id if standard.id is not None else sa.true(),
            )
        ).scalars().all()
    for other in others:
        if other.effective_from is None:
            continue
        if other.state == "published" and other.effective_to is None and start <= other.effective_from:
            return {"effective_from": gettext(
                "A new version must take effect after the current published version (%(start)s).",
                start=other.effective_from.isoformat())}
        other_end = _period_end(other, later_start=start)
        overlaps = (end is None or end >= other.effective_from) and (other_end is None or start <= other_end)
        if overlaps:
            return {"effective_from": gettext(
                "This period overlaps version %(version)s of the same instrument (%(start)s to %(end)s).",
                version=other.version, start=other.effective_from.isoformat(),
                end=other_end.isoformat() if other_end else "—")}
    return {}


def margins(item):
    """(price, price - cost basis, ratio over cost) per price of one item, for the screens."""
    rows = []
    for price in item.prices:
        over = price.unit_price - item.cost_basis
        ratio = (over / item.cost_basis) if item.cost_basis else None
        rows.append((price, over, ratio))
    return rows


def check_submission(standard, tolerance: Decimal):
    """What a standard needs before it leaves the lab, beyond check_items."""
    errors = {}
    if not standard.items:
        errors["items"] = MSG_NO_ITEMS
    if standard.effective_from is None:
        errors["effective_from"] = MSG_NO_START
    needs_justification = False
    for i, item in enumerate(standard.items):
        campus = {p.tier_min: p.unit_price for p in item.prices if p.customer_category == CAMPUS}
        if not campus:
            errors[_key("items", i, "prices")] = MSG_NO_CAMPUS_PRICE
        for p, price in enumerate(item.prices):
            if price.unit_price > item.cost_basis * (1 + tolerance):
                needs_justification = True
            reference = campus.get(price.tier_min)
            differs = price.customer_category != CAMPUS and reference is not None and price.unit_price != reference
            if differs and not (price.difference_reason or "").strip():
                errors[_key("items", i, "prices", p, "difference_reason")] = MSG_DIFFERENCE
    if needs_justification and not (standard.justification or "").strip():
        errors["justification"] = gettext(
            "Some prices are more than %(tolerance)s above their cost basis: explain why (non-profit principle).",
            tolerance=f"{tolerance:.0%}")
    return errors
