"""Public fee pages (issue 3): anonymous access, only published data, nothing internal, bad queries."""
from datetime import date

import pytest

from app.extensions import db
from app.models import Instrument, Unit

from . import factories as f


@pytest.fixture(scope="module")
def published(app, uni):
    """One instrument with a published standard, one with only a draft, one published but unsuitable."""
    with app.app_context():
        lab = db.session.get(Instrument, uni.inst_l11).unit
        shown = f.instrument(lab, name="公开可见的质谱仪", model="QTOF-公开", asset_number="ZC-PUBLIC-1",
                             technical_indicators="分辨率：40000", contact_phone="0731-88881234")
        f.fee_standard(shown, state="published", effective_from=date(2026, 1, 1), justification="内部理由不可见",
                       items=[f.standard_item(name="机时", unit="小时", cost="180", prices=[
                           ("campus", 0, None, "200", None), ("enterprise", 0, None, "300", "企业出具报告")])])
        draft_only = f.instrument(lab, name="只有草稿的仪器", asset_number="ZC-PUBLIC-2")
        f.fee_standard(draft_only, state="draft")
        unsuitable = f.instrument(lab, name="不适合共享的仪器", asset_number="ZC-PUBLIC-3", sharing_status="unsuitable")
        f.fee_standard(unsuitable, state="published")
        future = f.instrument(lab, name="明年才生效的仪器", asset_number="ZC-PUBLIC-4")
        f.fee_standard(future, state="published", effective_from=date(2999, 1, 1))
        mixed_case = f.instrument(lab, name="NMR 谱仪（大小写）", model="AVANCE NEO 600", asset_number="ZC-PUBLIC-5")
        f.fee_standard(mixed_case, state="published", effective_from=date(2026, 1, 1))
        db.session.commit()
        ids = {"shown": shown.id, "draft": draft_only.id, "unsuitable": unsuitable.id, "future": future.id}
        db.session.remove()
    return ids


def test_catalogue_shows_only_published_instruments(client, published):
    html = client.get("/public/fees?q=仪器").get_data(as_text=True) + client.get("/public/fees").get_data(as_text=True)
    assert "公开可见的质谱仪" in html
    for hidden in ("只有草稿的仪器", "不适合共享的仪器", "明年才生效的仪器"):
        assert hidden not in html


def test_instrument_page_shows_public_facts_and_fee_table(client, published):
    resp = client.get(f"/public/instruments/{published['shown']}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for text in ("公开可见的质谱仪", "分辨率：40000", "0731-88881234", "机时", "小时", "200.00 元", "300.00 元", "企业出具报告"):
        assert text in html, text
    # nothing internal: asset number, cost basis, justification
    for secret in ("ZC-PUBLIC-1", "180.00", "内部理由不可见"):
        assert secret not in html, secret


@pytest.mark.parametrize("key", ["draft", "unsuitable", "future"])
def test_unpublished_instrument_pages_answer_404(client, published, key):
    assert client.get(f"/public/instruments/{published[key]}").status_code == 404


@pytest.mark.parametrize("args,found", [
    ("q=质谱", True), ("q=不存在的名字", False), ("model=QTOF", True),
    ("price_min=250&price_max=350", True), ("price_min=400", False), ("price_max=100", False),
    ("class=010000", True), ("class=020000", False),
])
def test_search_filters(client, published, args, found):
    html = client.get(f"/public/fees?{args}").get_data(as_text=True)
    assert ("公开可见的质谱仪" in html) is found


@pytest.mark.parametrize("args", ["page=0", "page=abc", "price_min=abc", "price_max=-1", "sort=asset_number",
                                  "college=x", "class=abc", "price_min=NaN", "page=99999999999"])
def test_malformed_queries_answer_400_in_chinese(client, published, args):
    resp = client.get(f"/public/fees?{args}")
    assert resp.status_code == 400
    assert "返回首页" in resp.get_data(as_text=True)


@pytest.mark.parametrize("args", ["model=avan", "model=AVANCE", "model=Avance neo", "q=nmr", "q=NMR 谱仪", "q=Nmr"])
def test_search_ignores_case_on_both_databases(client, published, args):
    """SQLite's LIKE ignores ASCII case and PostgreSQL's does not: the catalogue must behave alike."""
    html = client.get(f"/public/fees?{args}").get_data(as_text=True)
    assert "NMR 谱仪（大小写）" in html


@pytest.fixture(scope="module")
def sortable(app, uni):
    """Three published instruments whose names, prices and colleges order differently: A (化学, 300),
    B (物理, 100), C (化学, 200). ASCII names, so the order does not depend on a collation."""
    with app.app_context():
        names = {}
        for name, unit_id, price in (("SORTA 光谱仪", uni.l11, "300"), ("SORTB 光谱仪", uni.l21, "100"),
                                     ("SORTC 光谱仪", uni.l12, "200")):
            item = f.instrument(db.session.get(Unit, unit_id), name=name, asset_number=f"ZC-SORT-{name[4]}")
            f.fee_standard(item, state="published", effective_from=date(2026, 1, 1),
                           items=[f.standard_item(name="机时", unit="小时", cost=price, prices=[("campus", 0, None, price, None)])])
            names[name[4]] = name
        db.session.commit()
        db.session.remove()
    return names


def _listed(client, sortable, sort):
    html = client.get(f"/public/fees?q=SORT&sort={sort}").get_data(as_text=True)
    positions = {key: html.index(name) for key, name in sortable.items()}
    return "".join(sorted(positions, key=positions.get))


@pytest.mark.parametrize("sort,expected", [("name", "ABC"), ("-name", "CBA"), ("price", "BCA"), ("-price", "ACB")])
def test_sorting_orders_the_rows(client, sortable, sort, expected):
    assert _listed(client, sortable, sort) == expected


def test_sorting_by_college_groups_and_reverses(client, sortable):
    """A and C share a college (listed by id within it); -college puts the other college first."""
    assert {_listed(client, sortable, "college"), _listed(client, sortable, "-college")} == {"ACB", "BAC"}


def test_signed_in_users_see_the_same_pages(login_as, published):
    for who in ("service_user", "lab_admin", "school_admin"):
        assert login_as(who).get(f"/public/instruments/{published['shown']}").status_code == 200


def test_instrument_list_shows_fee_status_inline(login_as, published):
    html = login_as("lab_admin").get("/instrumentview/list/?psize_InstrumentView=100").get_data(as_text=True)
    row = html[html.index("公开可见的质谱仪"):]
    assert "已发布（2026-01-01 起）" in row[: row.index("</tr>")]
    row = html[html.index("只有草稿的仪器"):]
    assert "草稿" in row[: row.index("</tr>")]
