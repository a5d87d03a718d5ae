"""Post-subsidies and cost compensation (measures Art. 15, 24, 25), as pure functions on exact
decimals; the subsidy report feeds them with figures aggregated from the database.

- Art. 24, unit subsidy: grade ratio (at most 20 %) × income from non-affiliated enterprises and
  student start-ups / teams / individuals; at most 50,000 yuan per instrument and year, and at
  most 2,000,000 yuan per managing unit and year, provincial laboratories and major facilities
  each counted separately (their own pool, their own cap). When a pool's instruments together
  exceed its cap, every instrument's amount is scaled down in proportion (to the cent, the
  rounding remainder on the largest), so the pool total is exactly the cap.
- Art. 25, user subsidy: 50 % of testing fees for ordinary enterprises, 85 % for student
  start-ups and student teams/individuals; at most 100,000 yuan per user and year.
- Art. 15: cost compensation = materials consumed by sharing + the year's utilities total ×
  sharing's share of the year's use; net income = income − cost compensation; at most 70 % of a
  positive net income may fund performance pay.

The grade → ratio table is configuration (config.SUBSIDY_RATIO_BY_GRADE), not code.
"""
from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _

from app.services.errors import RuleViolation

CENT = Decimal("0.01")
MAX_UNIT_RATIO = Decimal("0.20")
INSTRUMENT_CAP = Decimal("50000")
POOL_CAP = Decimal("2000000")
USER_RATIOS = {"enterprise": Decimal("0.50"), "student_startup": Decimal("0.85")}
USER_CAP = Decimal("100000")
PERFORMANCE_PAY_SHARE = Decimal("0.70")


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def unit_ratio(grade: str | None, ratios: dict) -> Decimal:
    """The subsidy ratio of an assessment grade (no grade or an unlisted one: 0)."""
    ratio = Decimal(str(ratios.get(grade, 0))) if grade else Decimal(0)
    if not Decimal(0) <= ratio <= MAX_UNIT_RATIO:
        raise RuleViolation({"ratio": _("A unit subsidy ratio must be between 0 and 20 percent.")})
    return ratio


def at_ratio(income, ratio) -> Decimal:
    """The grade ratio of an instrument's eligible income, before any cap."""
    return _money(max(Decimal(income), Decimal(0)) * ratio)


def instrument_amount(income, ratio) -> Decimal:
    """The ratio's amount capped at 50,000 per instrument (before the pool's cap)."""
    return min(at_ratio(income, ratio), INSTRUMENT_CAP)


def pools_over_cap(eligible: dict, ratio: Decimal) -> set:
    """The pools whose instruments together exceed 2,000,000 and are therefore scaled down."""
    totals: dict = {}
    for pool, income in eligible.values():
        totals[pool] = totals.get(pool, Decimal(0)) + instrument_amount(income, ratio)
    return {pool for pool, total in totals.items() if total > POOL_CAP}


def unit_subsidies(eligible: dict, ratio: Decimal) -> tuple[dict, dict]:
    """`eligible`: {instrument: (pool, eligible income)} -> ({instrument: subsidy}, {pool: total})."""
    capped = {i: instrument_amount(income, ratio) for i, (_pool, income) in eligible.items()}
    amounts, totals, pools = {}, {}, {}
    for i, (pool, _income) in eligible.items():
        pools.setdefault(pool, []).append(i)
    for pool in sorted(pools, key=str):
        members = pools[pool]
        total = sum((capped[i] for i in members), Decimal(0))
        if total <= POOL_CAP:
            amounts.update({i: capped[i] for i in members})
            totals[pool] = total
            continue
        scale = POOL_CAP / total
        shares = {i: (capped[i] * scale).quantize(CENT, ROUND_DOWN) for i in members}
        remainder = POOL_CAP - sum(shares.values(), Decimal(0))
        largest = max(members, key=lambda i: (capped[i], str(i)))
        shares[largest] += remainder
        amounts.update(shares)
        totals[pool] = POOL_CAP
    return amounts, totals


def user_subsidy(category: str, fees) -> Decimal:
    """Art. 25 for one user's fees of the year (0 for categories it does not cover)."""
    ratio = USER_RATIOS.get(category)
    if ratio is None or fees <= 0:
        return Decimal(0)
    return min(_money(Decimal(fees) * ratio), USER_CAP)


def cost_compensation(materials, utilities_total, sharing_hours, total_hours) -> Decimal:
    """Art. 15: materials consumed by sharing + utilities pro rata to sharing's share of use."""
    return _money(Decimal(materials) + Decimal(utilities_total) * sharing_share(sharing_hours, total_hours))


def sharing_share(sharing_hours, total_hours) -> Decimal:
    """Sharing's share of the year's use, at most the whole (registered sharing hours can exceed
    the machine time a terminal measured)."""
    share = Decimal(sharing_hours) / Decimal(total_hours) if total_hours else Decimal(0)
    return min(share, Decimal(1))


def net_income(income, compensation) -> Decimal:
    return _money(Decimal(income) - Decimal(compensation))


def performance_pay_ceiling(net) -> Decimal:
    """At most 70 % of a positive net income (nothing when sharing ran at a loss)."""
    return _money(max(Decimal(net), Decimal(0)) * PERFORMANCE_PAY_SHARE)
