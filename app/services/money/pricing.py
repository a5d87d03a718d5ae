"""What a use costs (notice §(四)1, Art. 15: every charge follows the published standard): one function,
`price`, from the fee-standard version in force on the use's Beijing start day, the user's category
and the quantity tiers.

- The version: a published (or since retired) standard whose effective days contain the day the use
  started. A use that runs across a version change is priced wholly by the version of its start.
- The quantity of each item follows its basis: hours of use, Beijing days touched, samples tested,
  once per use, or a quantity the lab enters. A started billing unit rounds as the standard says:
  up to the whole unit, up to the half unit, or exact to the hundredth.
- The category's own prices, or the on-campus ones where the standard differentiates none (a
  different price needs a stated reason, fee_rules.check_submission, so none means the same).
- Tiers (档位) apply as the standard says: *volume* prices the whole quantity at the tier it falls in
  (tier_min ≤ q < tier_max); *graduated* prices each band of the quantity at its own tier.

Schedules are plain values loaded once (`schedules_for`), so pricing a month of uses in one batch
reads the fee tables a constant number of times.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from app import clock
from app.models import FeeItem, FeePrice, FeeStandard

CENT = Decimal("0.01")
CAMPUS = "campus"
PRICED_STATES = ("published", "retired")


@dataclass(frozen=True)
class Tier:
    low: Decimal
    high: Decimal | None
    unit_price: Decimal


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    billing_unit: str
    basis: str
    tiers: dict  # {category: (Tier, …) by low}


@dataclass(frozen=True)
class Schedule:
    standard_id: int
    instrument_id: int
    version: int
    effective_from: date | None
    effective_to: date | None
    tier_mode: str
    rounding: str
    items: tuple = ()

    def covers(self, day: date) -> bool:
        return (self.effective_from is not None and self.effective_from <= day
                and (self.effective_to is None or day <= self.effective_to))


@dataclass(frozen=True)
class UseQuantities:
    """What a use measured: its span, samples tested, and quantities the lab entered per item id."""

    started_at: datetime
    ended_at: datetime | None = None
    hours: Decimal | None = None
    samples: int | None = None
    entered: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    item_id: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


def schedules_for(session, instrument_ids) -> dict:
    """{instrument id: [Schedule, …]} of every published or retired version, three queries in all."""
    ids = sorted(set(instrument_ids))
    if not ids:
        return {}
    standards = session.execute(
        sa.select(FeeStandard.id, FeeStandard.instrument_id, FeeStandard.version, FeeStandard.effective_from,
                  FeeStandard.effective_to, FeeStandard.tier_mode, FeeStandard.unit_rounding)
        .where(FeeStandard.instrument_id.in_(ids), FeeStandard.state.in_(PRICED_STATES))
        .order_by(FeeStandard.instrument_id, FeeStandard.effective_from)).all()
    standard_ids = [s.id for s in standards]
    items = session.execute(
        sa.select(FeeItem.id, FeeItem.standard_id, FeeItem.name, FeeItem.billing_unit, FeeItem.quantity_basis)
        .where(FeeItem.standard_id.in_(standard_ids)).order_by(FeeItem.id)).all() if standard_ids else []
    tiers: dict = {}
    if items:
        for row in session.execute(
                sa.select(FeePrice.item_id, FeePrice.customer_category, FeePrice.tier_min, FeePrice.tier_max,
                          FeePrice.unit_price)
                .where(FeePrice.item_id.in_([i.id for i in items])).order_by(FeePrice.item_id, FeePrice.tier_min)):
            tiers.setdefault(row.item_id, {}).setdefault(row.customer_category, []).append(
                Tier(Decimal(row.tier_min), None if row.tier_max is None else Decimal(row.tier_max),
                     Decimal(row.unit_price)))
    items_of: dict = {}
    for i in items:
        items_of.setdefault(i.standard_id, []).append(
            Item(i.id, i.name, i.billing_unit, i.quantity_basis,
                 {category: tuple(t) for category, t in tiers.get(i.id, {}).items()}))
    found: dict = {}
    for s in standards:
        found.setdefault(s.instrument_id, []).append(Schedule(
            s.id, s.instrument_id, s.version, s.effective_from, s.effective_to, s.tier_mode, s.unit_rounding,
            tuple(items_of.get(s.id, ()))))
    return found


def in_force(schedules, day: date) -> Schedule | None:
    """The version in force on a Beijing day; should two ever overlap, the later one wins (as the
    public catalogue decides)."""
    chosen = None
    for schedule in schedules or ():
        if schedule.covers(day):
            chosen = schedule
    return chosen


def schedule_of(session, instrument_id, day: date) -> Schedule | None:
    return in_force(schedules_for(session, [instrument_id]).get(instrument_id), day)


def round_units(quantity: Decimal, rounding: str) -> Decimal:
    quantity = Decimal(quantity)
    if rounding == "started_unit":
        return quantity.to_integral_value(ROUND_CEILING).quantize(CENT)
    if rounding == "started_half":
        return ((quantity * 2).to_integral_value(ROUND_CEILING) / 2).quantize(CENT)
    return quantity.quantize(CENT, ROUND_HALF_UP)


def _quantity(item: Item, use: UseQuantities, rounding: str) -> Decimal:
    if item.basis == "hours":
        return round_units(use.hours or 0, rounding)
    if item.basis == "days":
        if use.ended_at is None:
            return Decimal(1).quantize(CENT)
        return Decimal((clock.local_date(use.ended_at) - clock.local_date(use.started_at)).days + 1).quantize(CENT)
    if item.basis == "samples":
        return Decimal(use.samples or 0).quantize(CENT)
    if item.basis == "per_use":
        return Decimal(1).quantize(CENT)
    return round_units(use.entered.get(item.id) or 0, rounding)


def _tiers(item: Item, category: str):
    return item.tiers.get(category) or item.tiers.get(CAMPUS) or ()


def _volume(tiers, quantity):
    for tier in tiers:
        if tier.low <= quantity and (tier.high is None or quantity < tier.high):
            return [(quantity, tier.unit_price)]
    # beyond the last bounded tier (or below the first): the nearest tier's price
    nearest = tiers[-1] if quantity >= tiers[-1].low else tiers[0]
    return [(quantity, nearest.unit_price)]


def _graduated(tiers, quantity):
    bands = []
    for tier in tiers:
        top = quantity if tier.high is None else min(quantity, tier.high)
        if top > tier.low:
            bands.append(((top - tier.low).quantize(CENT), tier.unit_price))
    return bands


def price(schedule: Schedule, category: str, use: UseQuantities) -> list:
    """The lines of one use under one schedule: quantity × unit price = amount, each to the cent.
    Items whose quantity is zero, or that have no price, give no line."""
    lines = []
    for item in schedule.items:
        quantity = _quantity(item, use, schedule.rounding)
        tiers = _tiers(item, category)
        if quantity <= 0 or not tiers:
            continue
        bands = _graduated(tiers, quantity) if schedule.tier_mode == "graduated" else _volume(tiers, quantity)
        for q, unit_price in bands:
            description = f"{item.name} ({item.billing_unit})" if len(bands) == 1 else \
                f"{item.name} ({item.billing_unit}, {_band_label(tiers, unit_price)})"
            lines.append(Line(item.id, description[:200], q, unit_price, (q * unit_price).quantize(CENT, ROUND_HALF_UP)))
    return lines


def _band_label(tiers, unit_price):
    for tier in tiers:
        if tier.unit_price == unit_price:
            # fixed-point: normalize() alone writes ten as "1E+1"
            return f"{tier.low.normalize():f}–{'' if tier.high is None else format(tier.high.normalize(), 'f')}"
    return ""


def total(lines) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00")).quantize(CENT)
