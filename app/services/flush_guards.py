"""The rules that run on every flush of every session, whoever writes — a screen, the API, a task, the IoT
bridge's storer: the change log, the provincial data's 5-working-day clock, the units' materialised paths and
their tree rules, a published fee standard's immutability, the public catalogue's entries, and a charge's
immutability once invoiced.

Installed once per process by `install()`, which the application factory and the bridge's storer (which
never builds the app) both call, so no process writes without them.
"""
from app.services.catalogue import entry as catalogue_entry, fees
from app.services.upkeep import change_clock, changelog, records
from app.services.money import settlement

GUARDS = (changelog, change_clock, records, fees, catalogue_entry, settlement)


def install():
    for guard in GUARDS:
        guard.install()
