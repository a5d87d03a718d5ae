"""A unit's to-do list of the upkeep of its records (issue 23, item 6), in the caller's scope: the ledger's candidates
to network and the drafts to complete within their networking deadline, the mismatches with the ledger and the
records it no longer has, the changes to send to the province, the contacts to verify and to correct, the records
with missing or implausible fields, and the self-checks and reviews due. The workspace's tabs list them and the home
page counts them, from the same lists; each kind is read with a fixed number of statements whatever the records."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.services.upkeep import contacts, deadlines, quality, reconciliation
from app.services.upkeep.self_checks import Terms
from app.services.workdays import WorkCalendar

KINDS = ("candidates", "encouraged", "missing", "mismatches", "deadlines", "changes", "verify", "corrections", "quality",
         "checks")


@dataclass
class ToDo:
    found: reconciliation.Reconciliation
    lists: dict  # kind → its rows (KINDS)

    def counts(self) -> dict:
        return {kind: len(rows) for kind, rows in self.lists.items()}

    def overdue(self, today: date) -> int:
        """The dated duties already late."""
        return sum(d.overdue(today) for kind in ("deadlines", "changes", "corrections", "checks") for d in self.lists[kind])


def todo(session, unit_ids, today: date, calendar: WorkCalendar, terms: Terms, recheck_days: int) -> ToDo:
    found = reconciliation.reconcile(session, unit_ids)
    checks = (deadlines.self_checks_due(session, unit_ids, calendar, terms, today)
              + deadlines.reviews_due(session, unit_ids, calendar, terms, today))
    lists = {"candidates": found.candidates, "encouraged": found.encouraged, "missing": found.missing,
             "mismatches": found.mismatches, "deadlines": deadlines.networking(session, unit_ids, calendar),
             "changes": deadlines.changes(session, unit_ids, calendar),
             "verify": contacts.to_verify(session, unit_ids, today, recheck_days),
             "corrections": deadlines.corrections(session, unit_ids, calendar),
             "quality": quality.problems(session, unit_ids, today),
             "checks": sorted(checks, key=lambda d: (d.due, d.kind, d.record_id))}
    return ToDo(found, lists)
