"""The workflow steps the screens and the REST API offer alike — a step's name → the service call and the
fields it reads — so the two surfaces cannot drift apart: a screen reads the fields from its form, the API
from its JSON body, each by the field's kind (text, day, instant, integer, amount), and both make the same
call here. What a step means is the service's (app/services/booking/bookings.py, settlement.py)."""
from collections.abc import Callable
from dataclasses import dataclass

from app.services.booking import bookings as booking, usage
from app.services.money import settlement


@dataclass(frozen=True)
class Step:
    call: Callable  # (session, actor, record, now, settings, **fields) → the record
    fields: tuple = ()  # (name, kind) of what the step reads
    creates: bool = False  # the step makes a new record (answered 201 by the API)


def _charge(service_call, *names):
    """A settlement step: the charge's service call with the fields in its own order."""
    def call(session, actor, charge, now, settings, **values):
        return service_call(session, actor, charge, now, *(values.get(name) for name in names))
    return call


CHARGE_STEPS = {
    "confirm": Step(_charge(settlement.confirm)),
    "waive": Step(_charge(settlement.waive, "reason"), (("reason", "text"),)),
    "invoice": Step(_charge(settlement.invoice, "invoice_number", "invoice_date"),
                    (("invoice_number", "text"), ("invoice_date", "day"))),
    "settle": Step(_charge(settlement.settle, "paid_on", "method"), (("paid_on", "day"), ("method", "text"))),
    "credit": Step(_charge(settlement.credit, "amount", "reason"), (("amount", "amount"), ("reason", "text")),
                   creates=True),
}


def _schedule(session, actor, record, now, settings, start=None, end=None, date=None, **_ignored):
    return booking.schedule(session, actor, record, now, start=start, end=end, day=date, settings=settings)


def _delay(session, actor, record, now, settings, start=None, end=None, date=None, reason=None, **_ignored):
    return booking.delay(session, actor, record, now, reason, start=start, end=end, day=date, settings=settings)


def _refuse(session, actor, record, now, settings, reason=None, alternative=None, alternative_instrument_id=None):
    return booking.refuse(session, actor, record, now, reason, alternative, alternative_instrument_id)


def _cancel(session, actor, record, now, settings):
    return booking.cancel(session, record, now, actor=actor)


def _register_use(session, actor, record, now, settings, start=None, end=None, hours=None, direction=None, **samples):
    return usage.register(session, actor, now, settings, booking=record, start=start, end=end, hours=hours,
                          direction=direction or "research", **samples)


# the lab registers a booking's use after the fact (使用登记), which prices it
REGISTER_USE = Step(_register_use, (("start", "instant"), ("end", "instant"), ("hours", "number"), ("samples", "integer"),
                                    ("samples_received", "integer"), ("samples_returned", "integer"),
                                    ("direction", "text")))

_SLOT = (("start", "instant"), ("end", "instant"), ("date", "day"))
# the lab side's answers to a booking (notice §(四)2), and its cancellation
ANSWER_STEPS = {
    "schedule": Step(_schedule, _SLOT),
    "delay": Step(_delay, (*_SLOT, ("reason", "text"))),
    "refuse": Step(_refuse, (("reason", "text"), ("alternative", "text"), ("alternative_instrument_id", "integer"))),
    "cancel": Step(_cancel),
}
