"""Work that follows a step only once its transaction has committed — the e-mail of a message, the PI's
link —, never for a step that was rolled back: what a collector picks out at each flush is handed to its
`enqueue` after the commit. Registered once per process, for every session (app/tasks.py wires them)."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "after_commit"
_COLLECTORS: dict = {}  # name → (collect(session, obj) → id or None, enqueue(id))


def install(name, collect, enqueue):
    """`collect` is asked about every new and changed object at each flush; the ids it answers go to
    `enqueue`, in order and once each, after the commit. A second install of a name replaces it."""
    first = not _COLLECTORS
    _COLLECTORS[name] = (collect, enqueue)
    if first:
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "after_commit", _send)
        event.listen(Session, "after_soft_rollback", _forget)


def _collect(session, _context):
    # after_flush still shows the flush's new and dirty objects, with their ids assigned
    for name, (collect, _enqueue) in _COLLECTORS.items():
        for obj in list(session.new) + list(session.dirty):
            key = collect(session, obj)
            if key is not None:
                pending = session.info.setdefault(_KEY, {}).setdefault(name, [])
                if key not in pending:
                    pending.append(key)


def _send(session):
    for name, keys in session.info.pop(_KEY, {}).items():
        for key in keys:
            _COLLECTORS[name][1](key)


def _forget(session, _previous):
    session.info.pop(_KEY, None)
