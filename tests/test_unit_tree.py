"""Whose units are whose, said once (app/models/org.py): Python and SQL agree, a sibling whose id shares a
prefix ("/1/4/" and "/1/41/") is not below, and every caller — the scope filter, the rules' actor, the report
registry, the statements — reaches exactly the subtree."""
import itertools

import pytest
import sqlalchemy as sa

from app.models import Unit
from app.models.org import path_covers
from app.models.user import COLLEGE_ADMIN
from app.reports import registry
from app.services.actors import Actor

from . import factories as f


@pytest.mark.parametrize("ancestor,path,covered", [
    ("/1/", "/1/", True), ("/1/", "/1/4/17/", True), ("/1/4/", "/1/41/", False), ("/1/4/17/", "/1/4/", False),
    (None, "/1/", False), ("/1/", None, False), ("", "/1/", False),
])
def test_path_covers(ancestor, path, covered):
    assert path_covers(ancestor, path) is covered


@pytest.fixture
def tree(session):
    school = session.execute(sa.select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).scalar_one()
    college = f.unit("学院", "college", school)
    # enough labs that one's id starts with another's ("/…/4/" beside "/…/41/")
    labs = [f.unit(f"实验室{n}", "lab", college) for n in range(12)]
    other = f.unit("另一学院", "college", school)
    other_lab = f.unit("另一实验室", "lab", other)
    return school, college, labs, other, other_lab


def test_python_and_sql_agree_on_every_pair(session, tree):
    school, college, labs, other, other_lab = tree
    units = [school, college, *labs, other, other_lab]
    for a, b in itertools.product(units, units):
        in_sql = session.execute(sa.select(sa.func.count()).select_from(Unit).where(
            Unit.id == b.id, Unit.is_under(a.path))).scalar() == 1
        covered_sql = session.execute(sa.select(sa.func.count()).select_from(Unit).where(
            Unit.id == a.id, Unit.covers(b.path))).scalar() == 1
        assert b.is_under(a.path) is a.covers(b.path) is in_sql is covered_sql, (a.path, b.path)
    assert set(session.execute(Unit.ids_under(college.path)).scalars()) == {college.id, *(lab.id for lab in labs)}


def test_the_callers_reach_the_subtree_only(session, tree):
    school, college, labs, other, other_lab = tree
    assert set(registry.unit_subtree(session, college)) == {college.id, *(lab.id for lab in labs)}
    assert registry.unit_subtree(session, school) is None  # the whole school
    actor = Actor(1, frozenset({COLLEGE_ADMIN}), "college", college.path)
    assert actor.covers(labs[-1].path) and actor.covers(college.path)
    assert not actor.covers(other_lab.path) and not actor.covers(school.path)


def test_no_path_covers_nothing_in_sql_as_in_python(session, tree):
    school, college, labs, other, other_lab = tree
    for nothing in (None, ""):
        assert session.execute(sa.select(sa.func.count()).select_from(Unit).where(Unit.is_under(nothing))).scalar() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(Unit).where(Unit.covers(nothing))).scalar() == 0
        assert not college.is_under(nothing) and not college.covers(nothing)
    # a column on either side: the colleges under the school, the units each lab is under
    group = sa.orm.aliased(Unit)
    pairs = session.execute(sa.select(sa.func.count()).select_from(Unit).join(group, group.covers(Unit.path))
                            .where(Unit.id == labs[0].id)).scalar()
    assert pairs == 3  # the lab itself, its college and the school
