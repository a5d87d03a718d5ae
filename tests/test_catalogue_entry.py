"""The public catalogue entry on the instrument (issue 3's speed work): recomputed after every
flush that could change it and once a day per process, never stale, never a user change."""
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import clock
from app.models import Instrument
from app.services.catalogue import entry as catalogue_entry

from . import factories as f



@pytest.fixture
def today(pinned_clock):
    """Beijing's today on the test's clock (a module constant read the machine's day at import)."""
    return clock.today()


@pytest.fixture
def lab(session, uni):
    return session.get(Instrument, uni.inst_l11).unit


def entry(session, instrument):
    session.expire(instrument)
    return instrument.public_standard_id, instrument.public_min_price


def priced(*prices):
    return [f.standard_item(name="机时", unit="小时", cost="100",
                            prices=[("campus", 0, None, prices[0], None)] +
                                   [("enterprise", n, None, p, "企业价") for n, p in enumerate(prices[1:], 1)])]


def test_published_standard_in_force_becomes_the_entry_with_its_lowest_price(today, session, lab):
    inst = f.instrument(lab, name="条目仪器甲")
    draft = f.fee_standard(inst, state="draft", effective_from=today, items=priced("50"))
    assert entry(session, inst) == (None, None)
    published = f.fee_standard(inst, state="published", version=2, effective_from=today - timedelta(days=30),
                               items=priced("120", "90", "300"))
    assert entry(session, inst) == (published.id, Decimal("90.00"))
    # the draft stays out, however cheap it becomes and whatever period it is given
    draft.items[0].prices[0].unit_price = Decimal("1.00")
    draft.effective_from = today - timedelta(days=60)
    session.flush()
    assert entry(session, inst) == (published.id, Decimal("90.00"))


@pytest.mark.parametrize("field,value", [("sharing_status", "unsuitable"), ("run_status", "scrapped")])
def test_unlistable_instrument_leaves_and_returns(today, session, lab, field, value):
    inst = f.instrument(lab, name="条目仪器丙")
    standard = f.fee_standard(inst, state="published", effective_from=today, items=priced("80"))
    before = getattr(inst, field)
    setattr(inst, field, value)
    session.flush()
    assert entry(session, inst) == (None, None)
    setattr(inst, field, before)
    session.flush()
    assert entry(session, inst) == (standard.id, Decimal("80.00"))


def test_an_ended_standard_leaves_the_catalogue(today, session, lab):
    inst = f.instrument(lab, name="条目仪器丁")
    standard = f.fee_standard(inst, state="published", effective_from=today - timedelta(days=10), items=priced("80"))
    assert entry(session, inst)[0] == standard.id
    standard.effective_to = today - timedelta(days=1)
    standard.state = "retired"
    session.flush()
    assert entry(session, inst) == (None, None)


def test_the_day_a_version_takes_effect_the_scheduled_refresh_switches_to_it(today, session, lab):
    inst = f.instrument(lab, name="条目仪器戊")
    tomorrow = today + timedelta(days=1)
    old = f.fee_standard(inst, state="published", effective_from=today - timedelta(days=100), items=priced("80"))
    old.effective_to = today
    new = f.fee_standard(inst, state="published", version=2, effective_from=tomorrow, items=priced("60"))
    session.flush()
    assert entry(session, inst) == (old.id, Decimal("80.00"))  # today the old version is in force

    try:
        assert catalogue_entry.refresh_all(session, tomorrow) >= 1  # the scheduled run of the next day (commits)
        assert entry(session, inst) == (new.id, Decimal("60.00"))
        assert catalogue_entry.refresh_all(session, tomorrow) == 0  # run again: nothing left to change
        assert catalogue_entry.refresh_all(session, today) >= 1  # as of today the old version is back
        assert entry(session, inst) == (old.id, Decimal("80.00"))
    finally:  # the refresh committed: take the instrument (and, by cascade, its standards) away
        session.rollback()
        session.execute(sa.delete(Instrument).where(Instrument.id == inst.id))
        session.commit()


def test_the_entry_is_not_a_change_to_the_record(today, session, lab):
    inst = f.instrument(lab, name="条目仪器己")
    session.flush()
    session.expire(inst)
    stamped = inst.updated_at
    f.fee_standard(inst, state="published", effective_from=today, items=priced("80"))
    assert entry(session, inst)[0] is not None
    assert inst.updated_at == stamped
