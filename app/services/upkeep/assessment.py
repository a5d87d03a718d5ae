"""The annual assessment of colleges (measures Art. 19–21): indicator scores from measured rates,
a weighted total and a grade, all driven by configuration (config.ASSESSMENT_RULES).

Each measure is a rate between 0 and 1, taken from the year's data by the assessment report:
- organisation: records_complete (records on or due on the platform with all ten fields),
  staff_trained (technical and management staff who attended a training in the year),
  self_checks (months of the year with a monthly self-check on record);
- operation: networked (instruments that must be on the platform and are),
  utilisation (mean effective hours of in-service networked instruments ÷ the target, at most 1);
- sharing: sharing_rate (external ÷ effective hours ÷ the target, at most 1),
  responded_in_time (bookings of the year answered by their 5-working-day deadline),
  fees_published (networked instruments with a fee standard in force);
- iot: terminals_installed (networked instruments with a terminal),
  terminals_reporting (instruments with a terminal whose machine time arrived in the year).

A measure with nothing to measure (no bookings, no staff…) is left out and the weights of the
others in its indicator are scaled up; an indicator with nothing measurable is left out of the
total in the same way, so a college is never marked down for what it does not have.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _

from app.services.errors import RuleViolation

INDICATORS = ("organisation", "operation", "sharing", "iot")
GRADES = ("excellent", "good", "pass", "poor")
HUNDRED = Decimal(100)
SCORE = Decimal("0.01")


@dataclass(frozen=True)
class Result:
    scores: dict  # indicator -> score 0–100 (None: nothing measurable)
    total: Decimal | None
    grade: str | None


def check_rules(rules: dict) -> dict:
    """The rules, validated: every indicator weighted, weights positive, grade thresholds descending."""
    def refuse(problem):
        raise RuleViolation({"rules": _("The assessment rules are not valid: %(problem)s", problem=problem)})

    indicators, measures = rules.get("indicators", {}), rules.get("measures", {})
    if set(indicators) != set(INDICATORS) or set(measures) != set(INDICATORS):
        refuse("indicators")
    weights = [*indicators.values(), *(w for m in measures.values() for w in m.values())]
    if any(Decimal(str(w)) <= 0 for w in weights) or any(not m for m in measures.values()):
        refuse("weights")
    thresholds = [Decimal(str(t)) for _g, t in rules.get("grades", [])]
    if [g for g, _t in rules.get("grades", [])] != list(GRADES[:3]) or thresholds != sorted(thresholds, reverse=True) \
            or not all(0 <= t <= 100 for t in thresholds):
        refuse("grades")
    return rules


def _weighted(values: dict, weights: dict) -> Decimal | None:
    present = {k: Decimal(str(v)) for k, v in values.items() if v is not None}
    total_weight = sum((Decimal(str(weights[k])) for k in present), Decimal(0))
    if not total_weight:
        return None
    return sum((v * Decimal(str(weights[k])) for k, v in present.items()), Decimal(0)) / total_weight


def grade_of(total: Decimal | None, rules: dict) -> str | None:
    if total is None:
        return None
    for grade, threshold in rules["grades"]:
        if total >= Decimal(str(threshold)):
            return grade
    return "poor"


def assess(rates: dict, rules: dict) -> Result:
    """`rates`: {measure: rate 0–1 or None} -> indicator scores, the weighted total and the grade."""
    check_rules(rules)
    scores = {}
    for indicator in INDICATORS:
        measures = rules["measures"][indicator]
        mean = _weighted({m: rates.get(m) for m in measures}, measures)
        scores[indicator] = None if mean is None else (mean * HUNDRED).quantize(SCORE, ROUND_HALF_UP)
    total = _weighted(scores, rules["indicators"])
    total = None if total is None else total.quantize(SCORE, ROUND_HALF_UP)
    return Result(scores, total, grade_of(total, rules))


def capped_rate(value, target) -> Decimal | None:
    """A measured value against its target, at most 1 (None when there is nothing to measure)."""
    if value is None:
        return None
    return min(Decimal(str(value)) / Decimal(str(target)), Decimal(1))


def rate(part, whole) -> Decimal | None:
    return None if not whole else Decimal(part) / Decimal(whole)
