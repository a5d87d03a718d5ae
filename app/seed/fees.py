"""Fee standards (收费标准): cost components, a cost-covering campus price and the surcharges for
outside customers, as the standards the notice requires a school to publish."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

import sqlalchemy as sa

from app.models import FeeItem, FeeItemComponent, FeePrice, FeeStandard, FeeStandardEvent

from .base import CENT, BuilderBase
from .catalog import DIFFERENCE_REASONS, FEE_ITEMS, PRICE_FACTORS, PRICING_METHOD, QUANTITY_BASIS_OF


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def _ceil_yuan(value: Decimal) -> Decimal:
    # prices are whole yuan, rounded up so the price never falls below cost
    return value.quantize(Decimal("1"), rounding=ROUND_CEILING).quantize(CENT)


class FeesMixin(BuilderBase):
    """Called from InstrumentsMixin._write_batch for each instrument that gets a standard."""

    def _fee_standard(self, instrument_id, row, tpl, state, admin_id):
        """(standard row, [(item row, component rows, price rows)]) for one instrument."""
        rng = self.rng
        value = float(row["original_value"])
        per_unit = {"hour": 9600, "sample": 19200, "element": 48000, "day": 2000}[tpl.fee]
        base_usage = max(value / per_unit, 8.0)
        (main_name, main_unit, _f), extras = FEE_ITEMS[tpl.fee]
        chosen = [(main_name, main_unit, 1.0)] + [e for e in extras if rng.random() < 0.45]
        uniform = rng.random() < 0.25  # some standards charge every customer category the same
        items = []
        for name, unit, factor in chosen:
            usage = base_usage * factor * rng.uniform(0.8, 1.2)
            parts = (
                ("usage", usage),
                ("consumables", usage * rng.uniform(0.05, 0.4)),
                ("utilities", usage * rng.uniform(0.05, 0.2)),
                ("technical", usage * rng.uniform(0.1, 0.5)),
            )
            components = [dict(component=c, amount=_money(v)) for c, v in parts]
            cost = sum((c["amount"] for c in components), Decimal("0.00"))
            campus = _ceil_yuan(cost * Decimal(str(round(rng.uniform(1.0, 1.08), 3))))
            prices = []
            for category, factor_c in PRICE_FACTORS:
                price = campus if uniform or factor_c == 1.0 else _ceil_yuan(campus * Decimal(str(factor_c)))
                prices.append(dict(customer_category=category, tier_min=Decimal("0"), tier_max=None, unit_price=price,
                                   difference_reason=DIFFERENCE_REASONS.get(category) if price != campus else None))
            items.append((dict(name=name, billing_unit=unit, cost_basis=cost, quantity_basis=QUANTITY_BASIS_OF.get(unit, "entered")),
                          components, prices))
        published = state == "published"
        # in force since the platform's first year of history (2025), so its uses are priced by them
        approved = self._datetime_on(self._date_between(date(2024, 12, 10), date(2024, 12, 30))) if published else None
        created = (approved - timedelta(days=rng.randint(10, 40))) if approved else self._datetime_on(
            self._date_between(date(2026, 3, 1), date(2026, 5, 29)))
        standard = dict(
            instrument_id=instrument_id, version=1, state=state, effective_from=date(2025, 1, 1) if published else None,
            effective_to=None, pricing_method=PRICING_METHOD[tpl.fee],
            justification="依据湘科发〔2025〕143号第十五条，按成本补偿和非营利原则核定，经学院审核、学校归口管理部门审定后公布。",
            approved_by_id=admin_id if published else None, approved_at=approved, created_at=created,
        )
        return standard, items

    def _insert_fee_standards(self, standards):
        """Bulk-insert (standard, [(item, components, prices)]) tuples from _fee_standard."""
        if not standards:
            return
        session = self.session
        # standards -> items -> (components, prices): one bulk INSERT per level; every instrument
        # here has exactly one standard (version 1) and item names are unique within a standard
        self._insert(FeeStandard, [s for s, _items in standards])
        standard_of = dict(session.execute(
            sa.select(FeeStandard.instrument_id, FeeStandard.id)
            .where(FeeStandard.instrument_id.in_([s["instrument_id"] for s, _items in standards]), FeeStandard.version == 1)
        ).all())
        items = []
        for s, standard_items in standards:
            for item, _components, _prices in standard_items:
                items.append(dict(item, standard_id=standard_of[s["instrument_id"]]))
        self._insert(FeeItem, items)
        item_of = {(sid, name): iid for sid, name, iid in session.execute(
            sa.select(FeeItem.standard_id, FeeItem.name, FeeItem.id).where(FeeItem.standard_id.in_(list(standard_of.values())))
        ).all()}
        component_rows, price_rows = [], []
        for s, standard_items in standards:
            standard_id = standard_of[s["instrument_id"]]
            for item, components, prices in standard_items:
                item_id = item_of[(standard_id, item["name"])]
                component_rows.extend(dict(c, item_id=item_id) for c in components)
                price_rows.extend(dict(p, item_id=item_id) for p in prices)
        self._insert(FeeItemComponent, component_rows)
        self._insert(FeePrice, price_rows)
        self._insert(FeeStandardEvent, self._history(standards, standard_of))

    @staticmethod
    def _history(standards, standard_of):
        """The workflow steps each seeded standard went through, so its history is not empty."""
        path = ["draft", "college_review", "school_review", "published"]
        actions = ["create", "submit", "college_approve", "school_approve"]
        rows = []
        for s, _items in standards:
            reached = path.index(s["state"]) if s["state"] in path else 0
            at = s["approved_at"] or s["created_at"]
            for step in range(reached + 1):
                rows.append({
                    "standard_id": standard_of[s["instrument_id"]], "action": actions[step],
                    "from_state": path[step - 1] if step else None, "to_state": path[step],
                    "actor_id": s["approved_by_id"] if actions[step] == "school_approve" else None,
                    "at": s["created_at"] if step < reached or not s["approved_at"] else at, "comment": None,
                })
        return rows
