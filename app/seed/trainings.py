"""Safety and sharing-policy training sessions at school, college and lab level, with attendees."""
from __future__ import annotations

from datetime import date

from app.models import Person, TrainingSession

from .base import BuilderBase
from .catalog import TRAINING_TOPICS


class TrainingsMixin(BuilderBase):
    """Runs last: attendees are the staff that UnitsPeopleMixin created."""

    def _trainings(self):
        rng, session = self.rng, self.session
        persons = {pid: session.get(Person, pid) for pid in self.all_person_ids}
        sessions = []

        def attendees(ids, share):
            chosen = [pid for pid in ids if rng.random() < share]
            return [persons[pid] for pid in chosen]

        school_dates = (date(2026, 3, 18), date(2026, 9, 16))
        for topic, day in zip(TRAINING_TOPICS["school"], school_dates):
            sessions.append(TrainingSession(level="school", unit=self.school, held_on=day, topic=topic,
                                            attendees=attendees(self.all_person_ids, 0.85 if day.month < 7 else 0.6)))
        for code, college in self.college_units.items():
            ids = list(self.person_ids_by_unit.get(college.id, []))
            for lab in self.labs:
                if lab.college_code == code:
                    ids.extend(lab.person_ids)
            n = rng.randint(1, 2)
            topics = rng.sample(TRAINING_TOPICS["college"], n)
            for k, topic in enumerate(topics):
                day = self._date_between(date(2026, 4, 1), date(2026, 6, 26)) if k == 0 else \
                    self._date_between(date(2026, 7, 6), date(2026, 10, 30))
                sessions.append(TrainingSession(level="college", unit=college, held_on=day, topic=topic,
                                                attendees=attendees(ids, 0.8)))
        for lab in self.labs:
            if lab is not self.demo_lab and rng.random() >= 0.5:
                continue
            day = self._date_between(date(2026, 3, 9), date(2026, 10, 30))
            if lab is self.demo_lab:
                day = date(2026, 5, 13)
            sessions.append(TrainingSession(level="lab", unit=lab.unit, held_on=day, topic=rng.choice(TRAINING_TOPICS["lab"]),
                                            attendees=[persons[pid] for pid in lab.person_ids]))
        session.add_all(sessions)
        self.counts["trainings"] = len(sessions)
