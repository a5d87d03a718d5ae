"""What every part of the demo builder shares: the one random stream and the drawing helpers.

All parts draw from the same `random.Random(SEED)` in a fixed order (see DemoBuilder.build), which
is what makes two seedings of an empty database identical.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from app import clock

from .catalog import GIVEN, MAIL_DOMAIN, MOBILE_PREFIXES, SURNAMES

SEED = 2026
CENT = Decimal("0.01")


class BuilderBase:
    """State and helpers shared by the builder parts (the *Mixin classes composed in demo.py)."""

    def __init__(self, session, sm, instruments: int):
        self.session = session
        self.sm = sm
        self.n_instruments = max(int(instruments), 0)
        self.rng = random.Random(SEED)
        self.counts = {}
        self.used_names = set()
        self.used_emails = set()

    # ---------------------------------------------------------------- helpers
    def _date_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, (end - start).days))

    def _datetime_on(self, day: date) -> datetime:
        """A moment of the working day (08:00–17:59 Beijing time) on `day`, as an instant."""
        return clock.aware(datetime(day.year, day.month, day.day, self.rng.randint(8, 17), self.rng.randint(0, 59)))

    def _mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99999999):08d}"

    def _person_name(self):
        rng = self.rng
        for _ in range(50):
            surname, s_py = rng.choice(SURNAMES)
            given, g_py = rng.choice(GIVEN)
            if rng.random() < 0.35 and len(given) == 1:
                extra, e_py = rng.choice(GIVEN)
                if len(extra) == 1:
                    given, g_py = given + extra, g_py + e_py
            name = surname + given
            if name not in self.used_names:
                break
        self.used_names.add(name)
        local = s_py + g_py
        email_local, n = local, 1
        while email_local in self.used_emails:
            n += 1
            email_local = f"{local}{n}"
        self.used_emails.add(email_local)
        return name, f"{email_local}@{MAIL_DOMAIN}"

    def _insert(self, model, rows):
        """Core executemany of column dicts (every row has the same keys): no unit-of-work bookkeeping,
        an order of magnitude faster than ORM objects for thousands of rows. No ORM events fire,
        which is intended: these are new rows (the change log records updates only).
        (RETURNING with `sort_by_parameter_order` was quadratic here; ids are read back by natural key.)
        """
        if rows:
            self.session.execute(model.__table__.insert(), rows)
