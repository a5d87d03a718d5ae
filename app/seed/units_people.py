"""The organisation of the demo university: school, colleges and labs, their staff, innovation
platforms, and the customer organisations with their service users."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.models import CustomerOrg, InnovationPlatform, Person, ServiceUser, Unit
from app.services.people.identifiers import is_email, make_credit_code

from .base import BuilderBase
from .catalog import (
    COLLEGES,
    CUSTOMERS,
    DEMO_COLLEGE_CODE,
    DEMO_LAB_CODE,
    MAIL_DOMAIN,
    OWNER_POSTS,
    PLATFORMS,
    SCHOOL_CODE,
    SCHOOL_NAME,
    TECH_POSTS,
)


class _Lab:
    """Plain bookkeeping for one generated lab (ids only, so the ORM objects may be released)."""

    __slots__ = ("unit", "code", "college_key", "college_code", "building", "zone", "floor", "person_ids",
                 "owners", "platform_ids", "weight", "email")

    def __init__(self, unit, code, college_key, college_code, building, zone, floor):
        self.unit = unit
        self.code = code
        self.college_key = college_key
        self.college_code = college_code
        self.building = building
        self.zone = zone
        self.floor = floor
        self.person_ids = []
        self.owners = []  # (id, mobile, email) of instrument responsible persons
        self.platform_ids = []
        self.weight = 1.0
        self.email = f"lab-{code.lower()}@{MAIL_DOMAIN}"


class UnitsPeopleMixin(BuilderBase):
    """Sets school, college_units, college_key, labs, lab_by_code, demo_college, demo_lab(_unit),
    person_ids_by_unit, all_person_ids and enterprise, which the later parts read."""

    def _units(self):
        rng, session = self.rng, self.session
        self.school = Unit(code=SCHOOL_CODE, name=SCHOOL_NAME, level="school", address="湖南省长沙市岳麓区示范大学路 1 号",
                           remarks="演示数据：虚构高校")
        session.add(self.school)
        session.flush()
        colleges = []
        for _key, code, name, building, _disc, _labs in COLLEGES:
            colleges.append(Unit(code=code, name=name, level="college", parent=self.school,
                                 address=f"湖南省长沙市岳麓区示范大学路 1 号{building}"))
        session.add_all(colleges)
        session.flush()
        self.college_units = {c.code: c for c in colleges}
        self.college_key = {code: key for key, code, *_ in COLLEGES}
        labs, self.labs = [], []
        for (key, code, _name, building, _disc, lab_names), college in zip(COLLEGES, colleges):
            for i, lab_name in enumerate(lab_names, start=1):
                lab_code = f"{code}-L{i:02d}"
                zone = "ABCD"[(i - 1) % 4]
                floor = rng.randint(1, 6)
                unit = Unit(code=lab_code, name=lab_name, level="lab", parent=college,
                            address=f"{building}{zone}区{floor}楼")
                labs.append(unit)
                lab = _Lab(unit, lab_code, key, code, building, zone, floor)
                lab.weight = rng.uniform(0.6, 1.4)
                self.labs.append(lab)
        session.add_all(labs)
        session.flush()
        self.lab_by_code = {lab.code: lab for lab in self.labs}
        self.demo_college = self.college_units[DEMO_COLLEGE_CODE]
        self.demo_lab = self.lab_by_code[DEMO_LAB_CODE]
        self.demo_lab_unit = self.demo_lab.unit
        self.counts["units"] = 1 + len(colleges) + len(labs)

    def _people(self):
        rng, session = self.rng, self.session
        rows = []  # (Person, lab or None, is_owner)
        for duty, post in (("leader", "副校长"), ("dept_head", "实验室与设备管理处处长"), ("liaison", "实验室与设备管理处科员")):
            name, email = self._person_name()
            rows.append((Person(name=name, unit=self.school, post=post, mobile=self._mobile(), email=email, duty=duty), None, False))
        for college in self.college_units.values():
            name, email = self._person_name()
            rows.append((Person(name=name, unit=college, post="学院实验室与设备管理办公室主任", mobile=self._mobile(),
                                email=email, duty="manager"), None, False))
        for lab in self.labs:
            n = rng.randint(2, 4)
            n_owners = 1 if n == 2 else rng.randint(1, 2)
            if lab is self.demo_lab:
                n, n_owners = 4, 2
            for i in range(n):
                owner = i < n_owners
                name, email = self._person_name()
                person = Person(
                    name=name, unit=lab.unit, post=rng.choice(OWNER_POSTS if owner else TECH_POSTS),
                    mobile=self._mobile(), email=email, duty="instrument_owner" if owner else "technician",
                )
                rows.append((person, lab, owner))
        # ≈3 % deliberately malformed contacts (for the compliance screens); never at school level nor
        # in the demo lab, whose showcase instruments publish their responsible persons' contacts
        candidates = [i for i, (p, lab, _o) in enumerate(rows)
                      if p.duty not in ("leader", "dept_head", "liaison") and lab is not self.demo_lab]
        n_bad = max(3, round(0.03 * len(rows)))
        for k, i in enumerate(sorted(rng.sample(candidates, n_bad))):
            person = rows[i][0]
            local = person.email.split("@")[0]
            if k % 2 == 0:
                person.mobile = rng.choice((person.mobile[:10], "2" + person.mobile[1:],
                                            person.mobile[:3] + "-" + person.mobile[3:7] + "-" + person.mobile[7:]))
            else:
                person.email = rng.choice((f"{local}#{MAIL_DOMAIN}", f"{local}@hnu-demo", f"{local}@@{MAIL_DOMAIN}"))
            person.remarks = "演示数据：联系方式格式有误（待整改）"
        session.add_all([p for p, _lab, _o in rows])
        session.flush()
        self.person_ids_by_unit = {}
        for person, lab, owner in rows:
            self.person_ids_by_unit.setdefault(person.unit_id, []).append(person.id)
            if lab is not None:
                lab.person_ids.append(person.id)
                if owner:
                    lab.owners.append((person.id, person.mobile, person.email))
        self.all_person_ids = [p.id for p, _l, _o in rows]
        self.counts["persons"] = len(rows)
        self.counts["malformed_contacts"] = n_bad

    def _platforms(self):
        session = self.session
        units = {**self.college_units, **{lab.code: lab.unit for lab in self.labs}}
        platforms = []
        for i, (name, kind, level, unit_code, networked) in enumerate(PLATFORMS, start=1):
            on = self._date_between(date(2019, 1, 1), date(2025, 12, 31)) if networked else None
            platforms.append(InnovationPlatform(
                name=name, kind=kind, level=level, unit=units[unit_code], networked=networked,
                provincial_ref=f"HN-PT-{on.year}-{i:04d}" if networked else None, networked_on=on,
                remarks=None if networked or level not in ("national", "provincial") else "演示数据：应入网而未入网",
            ))
        session.add_all(platforms)
        session.flush()
        for platform, (_n, _k, _l, unit_code, _net) in zip(platforms, PLATFORMS):
            for lab in self.labs:
                if lab.code == unit_code or lab.college_code == unit_code:
                    lab.platform_ids.append(platform.id)
        self.counts["platforms"] = len(platforms)

    def _customers(self):
        rng, session = self.rng, self.session
        orgs = []
        for name, category, affiliated, code in CUSTOMERS:
            orgs.append(CustomerOrg(name=name, category=category, affiliated=affiliated,
                                    credit_code=make_credit_code(*code) if code else None))
        session.add_all(orgs)
        session.flush()
        self.enterprise = orgs[0]
        domains = ("xingchen-materials.com", "zzjgjc.com", "lugu-bio.com", "hunaas.cn", "csu-demo.edu.cn", "163.com", MAIL_DOMAIN)
        users = []
        for org, domain in zip(orgs, domains):
            for _ in range(rng.randint(2, 3)):
                name, email = self._person_name()
                users.append(ServiceUser(name=name, org=org, mobile=self._mobile(), email=email.split("@")[0] + "@" + domain))
        session.add_all(users)
        # an on-campus user belongs to a research group with its project account and PI (who approves its charges
        # through a mailed link): spread over the labs, the PI a member of the lab with a valid address
        campus = [u for u in users if u.org.category == "campus"]
        for n, user in enumerate(campus):
            lab = self.labs[(7 * n + 3) % len(self.labs)]
            pi = next((p for p in session.scalars(sa.select(Person).where(Person.unit_id == lab.unit.id).order_by(Person.id))
                       if is_email(p.email)), None)
            user.unit_id, user.pi_id, user.project_account = lab.unit.id, pi.id if pi else None, f"2025KY{1100 + n:04d}"
        session.flush()
        self.counts["customer_orgs"] = len(orgs)
        self.counts["service_users"] = len(users) + 1
