"""Domain rules. No Flask request objects here: a rule takes the session, the acting `Actor` and `now`, and
returns a domain result or raises `errors.PolicyDenied` / `errors.RuleViolation` (never HTTP).

One room per domain; the arrows between them say how the domains depend on each other:

- `booking/`    a request, its answer and rules, the calendar, batches, the use and its evaluation
- `money/`      pricing a use, settling its charge (with the PI's approval), statements and subsidies
- `catalogue/`  fee standards and their workflow, the public catalogue's entries
- `upkeep/`     the records' rules and change log, record checks, annual records, assessment, province sync
- `iot/`        terminal status, measured machine time, the plug interlock and its sweep
- `people/`     registration, contracts, notifications and mail, identifiers
- shared here: `actors` (who acts, and whose units are whose), `errors`, `inputs`, `batch`, `workdays` (the
  Chinese working-day calendar), `after_commit`, `flush_guards`, `steps` (the workflow steps the screens and
  the API offer alike), `dashboard` (the home page's counts across domains).

Each rule of SPEC §2 and the function that keeps it:

| rule | kept by |
|---|---|
| networked on the provincial platform (应入尽入): fiscally funded, ≥ 300,000 CNY | `upkeep.record_checks.must_network`; the self-check filing (app/reports/selfcheck.py) |
| join within 30 working days of acceptance | `upkeep.deadlines.networking_due` (`upkeep.record_checks.JOIN_WITHIN_WORKING_DAYS`, `workdays.WorkCalendar.add_working_days`) |
| update within 5 working days of a change to a networked record's provincial data | `upkeep.change_clock` (starts, stops), `upkeep.deadlines.changes`, `change_due`; sent: `upkeep.provincial_sync.mark_uploaded` |
| a valid contact: no 空号 or 停机 (found by calling, corrected within 5 working days) | `upkeep.contacts.record_call`, `to_verify`, `dead_call`; `upkeep.deadlines.corrections` |
| 应入尽入 against the asset ledger: candidates, missing, mismatches | `upkeep.reconciliation.compare` (one rule for a dry run and the stored ledger); reading a ledger `upkeep.ledger.read_cells`; importing `upkeep.ledger_import.plan`, `commit` |
| required record fields (信息完整), valid contact | `upkeep.record_checks.missing_fields`, `contact_problems`; entry checks `upkeep.records.validate_instrument` |
| the unit tree: whose units are whose | `app.models.org.path_covers`, `Unit.is_under` / `covers` / `ids_under`; `actors.require_lab_side` |
| which instruments can be booked | `app.models.instrument.Instrument.can_be_booked` (Python and SQL) |
| a booking is answered within 5 working days; a delay or refusal states its reason and an alternative | `booking.bookings.respond_by`, `is_overdue`, `schedule`, `delay`, `refuse` |
| booking rules: modes, opening hours, lead times, closures, slot limits | `booking.rules.slot_problems`, `day_problems`; overlaps in the database (`booking.bookings.clashes`) |
| authorisation to operate, lapsing when unused | `booking.authorisations.effective_state`, `valid_authorisation` |
| one open use per instrument; a use's hours | `booking.usage.start`, `end`, `register`; hours `app.clock.hours_between`; measured `booking.usage.record_machine_time` |
| fees: items, tiers, published before use, a published version never edited | `catalogue.fee_rules.check_submission`, `catalogue.fees` (workflow, `install`: the immutability guard) |
| every charge from the published standard, invoiced, corrected only by a credit note | `money.pricing.price`, `money.settlement` (`install`: the charge guard) |
| cost compensation, net income, ≤ 70 % performance pay | `money.subsidies.cost_compensation`, `net_income`, `performance_pay_ceiling` |
| unit subsidy (by grade, ≤ 20 %, caps) and user subsidy (50 % / 85 %, ≤ 100,000) | `money.subsidies.unit_subsidies`, `user_subsidy` |
| contracts with outside users (Art. 16) | `people.contracts.require_cover`, `valid_contract` |
| the annual assessment and grades | `upkeep.assessment.assess`, `grade_of` |
| the unified social credit code | `people.identifiers` |

Guards that run on every flush (`flush_guards.install`, called by the app factory and by the IoT bridge's
storer): the change log (`upkeep.changelog`), the units' paths and tree rules (`upkeep.records`), a
published fee standard's immutability (`catalogue.fees`), the public catalogue's entries
(`catalogue.entry`), a charge's immutability once invoiced (`money.settlement`).
"""
