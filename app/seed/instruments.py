"""Instruments and large facilities, with what hangs off each one when it is created: an IoT
terminal, a not-for-sharing filing (不宜共享报备) or a fee standard (fees.py).

Rows go in by bulk INSERT in batches of BATCH, so the benchmark's many thousands stay fast.
"""
from __future__ import annotations

import math
import zlib
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import clock
from app.models import Instrument, InstrumentClass, IotTerminal, UnsuitableFiling
from app.services.catalogue import entry as catalogue_entry

from .base import CENT, BuilderBase
from .catalog import COLLEGES, UNSUITABLE_REASONS
from .instrument_catalog import COLLEGE_FACILITY, FACILITIES, INSTRUMENTS

BATCH = 2000
TODAY_CAP = date(2026, 4, 30)  # latest purchase / acceptance date generated


def _stable_index(text: str, n: int) -> int:
    # crc32, not hash(): str hashes are salted per process and would break reproducibility
    return zlib.crc32(text.encode("utf-8")) % n


class InstrumentsMixin(BuilderBase):
    """Needs the units, people and platforms already built and `users` (the demo accounts);
    the fee standards come from FeesMixin."""

    def _class_codes(self):
        codes = sorted(self.session.scalars(sa.select(InstrumentClass.code)).all())
        self.class_codes = set(codes)
        self.subclasses = [c for c in codes if not c.endswith("0000")]
        self._class_cache = {}

    def _class_for(self, tpl) -> str | None:
        key = tpl.cls + tpl.name
        if key in self._class_cache:
            return self._class_cache[key]
        code = None
        top = tpl.cls[:2]
        if tpl.cls in self.class_codes and not tpl.cls.endswith("0000"):
            code = tpl.cls
        else:
            same_top = [c for c in self.subclasses if c.startswith(top)]
            if same_top:
                # a subclass of the same top class, chosen by name (stable whatever the DB holds)
                code = same_top[_stable_index(tpl.name, len(same_top))]
            elif top + "0000" in self.class_codes:
                code = top + "0000"
            elif self.subclasses:
                code = self.subclasses[_stable_index(tpl.name, len(self.subclasses))]
            elif self.class_codes:
                code = sorted(self.class_codes)[0]
        self._class_cache[key] = code
        return code

    def _value(self, tpl) -> Decimal:
        lo, hi = tpl.lo * 10000, tpl.hi * 10000
        value = math.exp(self.rng.uniform(math.log(lo), math.log(hi)))
        value = min(max(value, 50_000), 20_000_000)
        return Decimal(int(round(value, -2))).quantize(CENT)

    def _instrument(self, seq, lab, tpl, kind="instrument", forced=None):
        """The column values of one instrument (a dict: rows are bulk-inserted) and whether it has a terminal."""
        rng = self.rng
        forced = forced or {}
        model, manufacturer, country = rng.choice(tpl.variants)
        value = self._value(tpl)
        r = rng.random()
        funding = "fiscal_full" if r < 0.75 else ("fiscal_partial" if r < 0.9 else "non_fiscal")
        purchase = self._date_between(date(2008, 1, 1), date(2026, 3, 31))
        acceptance = min(purchase + timedelta(days=rng.randint(0, 120)), TODAY_CAP)
        r = rng.random()
        run_status = "normal" if r < 0.88 else ("occasional_fault" if r < 0.93 else ("under_repair" if r < 0.97 else "to_scrap"))
        r = rng.random()
        sharing = "unsuitable" if r < 0.04 else ("internal" if r < 0.24 else "external")
        run_ok = run_status in ("normal", "occasional_fault")
        bookable = run_ok and rng.random() < (0.9 if sharing == "external" else 0.35 if sharing == "internal" else 0)
        run_status = forced.get("run_status", run_status)
        sharing = forced.get("sharing", sharing)
        bookable = forced.get("bookable", bookable if sharing != "unsuitable" else False)
        funding = forced.get("funding", funding)

        must_network = funding in ("fiscal_full", "fiscal_partial") and (value >= 300_000 or kind == "facility")
        if sharing == "unsuitable":
            networked = rng.random() < 0.15
        else:
            networked = rng.random() < (0.85 if must_network else 0.15)
        networked = forced.get("networked", networked)
        networked_on = provincial_ref = None
        if networked:
            if acceptance < date(2018, 1, 1):
                networked_on = self._date_between(date(2018, 3, 1), date(2025, 12, 31))
            else:
                networked_on = min(acceptance + timedelta(days=rng.randint(7, 90)), date(2026, 5, 29))
            provincial_ref = f"HN-{networked_on.year}-{seq:06d}"

        owner_id, owner_mobile, owner_email = rng.choice(lab.owners)
        phone = owner_mobile if rng.random() < 0.7 else f"0731-888{rng.randint(10000, 99999)}"
        email = owner_email if rng.random() < 0.75 else lab.email
        r = rng.random()
        if r < 0.6:
            verified = self._date_between(date(2026, 1, 5), date(2026, 5, 29))
        elif r < 0.85:
            verified = self._date_between(date(2022, 3, 1), date(2025, 4, 30))
        else:
            verified = None

        duty_free = country != "中国" and rng.random() < (0.18 if purchase.year >= 2021 else 0.04)
        customs_no = supervision_end = None
        if duty_free:
            customs_no = f"4901{purchase.year}1{rng.randint(0, 999999999):09d}"
            supervision_end = date(acceptance.year + 3, acceptance.month, min(acceptance.day, 28))

        if kind == "facility":
            location = f"{lab.building}{lab.zone}区一层大厅"
        else:
            location = f"{lab.building}{lab.zone}区{lab.floor}{rng.randint(1, 30):02d}室"
        mode = {"hour": "自主上机与委托测试", "sample": "送样测试", "element": "送样测试", "day": "场地与设施使用"}[tpl.fee]
        scope = f"面向校内师生及校外高校、科研院所、企业和大学生创业团队开放，提供{mode}服务：{tpl.functions.split('；')[0]}。"
        if sharing == "internal":
            scope = f"校内共享，面向校内各课题组提供{mode}服务。"
        elif sharing == "unsuitable":
            scope = None
        platform_id = rng.choice(lab.platform_ids) if lab.platform_ids and rng.random() < 0.5 else None
        with_terminal = forced.get("terminal", rng.random() < 0.4)
        discipline = rng.choice(self.disciplines[lab.college_key])
        updated = min(max(acceptance, verified or date(2025, 1, 1)) + timedelta(days=rng.randint(0, 60)), date(2026, 5, 29))

        row = dict(
            kind=kind, asset_number=f"{purchase.year}-ZC-{seq:06d}", name=tpl.name, name_en=tpl.en, model=model,
            manufacturer=manufacturer, country=country, class_code=self._class_for(tpl), discipline=discipline,
            original_value=value, funding_source=funding, purchase_date=purchase, acceptance_date=acceptance,
            technical_indicators=tpl.indicators, main_functions=tpl.functions, service_scope=scope, location=location,
            unit_id=lab.unit.id, platform_id=platform_id, responsible_person_id=owner_id, contact_phone=phone,
            contact_email=email, contact_verified_on=verified, run_status=run_status, sharing_status=sharing,
            bookable=bookable, networked=networked, provincial_ref=provincial_ref, networked_on=networked_on,
            sync_fingerprint=None, duty_free=duty_free, customs_declaration_no=customs_no, supervision_end=supervision_end,
            iot_terminal_id=None, updated_at=self._datetime_on(updated),
        )
        # ≈5 % deliberately incomplete records (notice §(三)2), never the demo lab's showcase ones
        if not forced and rng.random() < 0.05:
            gap = rng.choice(("technical_indicators", "location", "contact", "responsible_person", "service_scope", "model"))
            if gap == "contact":
                row["contact_phone"] = row["contact_email"] = None
            elif gap == "responsible_person":
                row["responsible_person_id"] = None
            else:
                row[gap] = None
            self.counts["incomplete"] = self.counts.get("incomplete", 0) + 1
        return row, with_terminal

    def _instruments(self):
        rng = self.rng
        self.disciplines = {key: disc for key, _c, _n, _b, disc, _l in COLLEGES}
        pools = {key: [t for t in INSTRUMENTS if key in t.colleges] for key, *_ in COLLEGES}
        # cheaper, commoner instruments are drawn more often: most values land in 100k–3M CNY
        pool_weights = {key: [math.sqrt(t.lo * t.hi) ** -0.6 for t in pool] for key, pool in pools.items()}
        by_name = {t.name: t for t in INSTRUMENTS}
        # the demo lab's showcase: bookable, IoT-connected, complete, networked, with published fees
        showcase = ("核磁共振波谱仪", "液相色谱-质谱联用仪", "场发射扫描电子显微镜", "X射线衍射仪", "傅里叶变换红外光谱仪",
                    "气相色谱-质谱联用仪", "电感耦合等离子体质谱仪", "X射线光电子能谱仪")
        plan = []  # (lab, tpl, kind, forced)
        showcase_forced = {"run_status": "normal", "sharing": "external", "bookable": True, "funding": "fiscal_full",
                           "networked": True, "terminal": True}
        for name in showcase:
            plan.append((self.demo_lab, by_name[name], "instrument", dict(showcase_forced)))
        # one teaching-only filing drafted by the demo lab, one awaiting the demo college's review
        plan.append((self.demo_lab, by_name["紫外-可见-近红外分光光度计"], "instrument",
                     {"sharing": "unsuitable", "bookable": False, "filing": ("teaching", "draft")}))
        plan.append((self.lab_by_code["C01-L02"], by_name["气相色谱仪"], "instrument",
                     {"sharing": "unsuitable", "bookable": False, "filing": ("teaching", "college_review")}))
        plan = plan[: self.n_instruments] if self.n_instruments < len(plan) else plan
        weights = [lab.weight for lab in self.labs]
        for _ in range(self.n_instruments - len(plan)):
            lab = rng.choices(self.labs, weights)[0]
            facilities = COLLEGE_FACILITY.get(lab.college_key, ())
            if facilities and rng.random() < 0.05:
                plan.append((lab, FACILITIES[rng.choice(facilities)], "facility", None))
            else:
                plan.append((lab, rng.choices(pools[lab.college_key], pool_weights[lab.college_key])[0], "instrument", None))

        admin_id = self.users["school_admin"].id
        counts = {"instruments": 0, "facilities": 0, "iot_terminals": 0, "fee_standards_published": 0,
                  "fee_standards_pending": 0, "unsuitable_filings": 0}
        n_terminal = 0
        batch = []  # (row, with_terminal, forced, lab, tpl)
        for seq, (lab, tpl, kind, forced) in enumerate(plan, start=1):
            row, with_terminal = self._instrument(seq, lab, tpl, kind, forced)
            if with_terminal:
                n_terminal += 1
                row["iot_terminal_id"] = f"term-{n_terminal:04d}"
            batch.append((row, with_terminal, forced or {}, lab, tpl))
            counts["instruments"] += 1
            counts["facilities"] += kind == "facility"
            if len(batch) >= BATCH:
                self._write_batch(batch, admin_id, counts)
                batch = []
        if batch:
            self._write_batch(batch, admin_id, counts)
        self.counts.update(counts)

    def _write_batch(self, batch, admin_id, counts):
        """Insert one batch of instruments, then their terminals, filings and fee standards."""
        rng, session = self.rng, self.session
        self._insert(Instrument, [row for row, *_ in batch])
        id_of = dict(session.execute(
            sa.select(Instrument.asset_number, Instrument.id).where(Instrument.asset_number.in_([r["asset_number"] for r, *_ in batch]))
        ).all())
        terminals, filings, standards = [], [], []
        for row, with_terminal, forced, lab, tpl in batch:
            instrument_id = id_of[row["asset_number"]]
            if with_terminal:
                terminals.append(dict(
                    terminal_id=row["iot_terminal_id"], instrument_id=instrument_id, adapter="native",
                    power_threshold_w=Decimal("40.0"),
                    first_seen=self._datetime_on(self._date_between(date(2025, 9, 1), date(2026, 5, 20))),
                ))
            if row["sharing_status"] == "unsuitable":
                category, state = forced.get("filing") or (self._filing_category(lab), None)
                if state is None:
                    r = rng.random()
                    state = "filed" if r < 0.45 else "school_review" if r < 0.65 else "college_review" if r < 0.85 else "draft"
                created = self._datetime_on(self._date_between(date(2026, 3, 2), date(2026, 5, 29)))
                decided = created + timedelta(days=rng.randint(3, 20)) if state == "filed" else None
                filings.append(dict(
                    instrument_id=instrument_id, category=category, reason=rng.choice(UNSUITABLE_REASONS[category]),
                    networked_at_filing=row["networked"], state=state, remarks=None, created_at=created,
                    decided_at=decided, decided_by_id=admin_id if decided else None,
                ))
                continue
            in_demo_lab = lab is self.demo_lab
            if in_demo_lab and row["bookable"]:
                published = True
            else:
                published = rng.random() < (0.40 if row["bookable"] else 0.12)
            if published:
                standards.append(self._fee_standard(instrument_id, row, tpl, "published", admin_id))
            elif row["bookable"] and not in_demo_lab and rng.random() < 0.06:
                state = rng.choice(("draft", "college_review", "school_review"))
                standards.append(self._fee_standard(instrument_id, row, tpl, state, None))
        self._insert(IotTerminal, terminals)
        self._insert(UnsuitableFiling, filings)
        counts["iot_terminals"] += len(terminals)
        counts["unsuitable_filings"] += len(filings)
        counts["fee_standards_published"] += sum(1 for s, _items in standards if s["state"] == "published")
        counts["fee_standards_pending"] += sum(1 for s, _items in standards if s["state"] != "published")
        self._insert_fee_standards(standards)
        # bulk inserts bypass the ORM listeners: fill these instruments' public catalogue entries
        catalogue_entry.refresh(self.session.connection(), clock.today(), [s["instrument_id"] for s, _items in standards])

    def _filing_category(self, lab):
        r = self.rng.random()
        if lab.college_key == "med" and r < 0.6:
            return "medical"
        if lab.college_key in ("info", "phy") and r < 0.4:
            return "classified"
        return "teaching" if r < 0.8 else "other"
