"""The unit tree and innovation platforms."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import relationship

from .choices import PLATFORM_KIND, PLATFORM_LEVEL, UNIT_LEVEL


def path_covers(ancestor_path: str | None, path: str | None) -> bool:
    """Whether the unit at materialised path `ancestor_path` is the unit at `path` or one above it: the one
    test of "whose units are whose". A unit not yet placed (no path) covers nothing and is under nothing."""
    return bool(ancestor_path) and bool(path) and path.startswith(ancestor_path)


class Unit(Model):
    """One node of the school / college / lab tree.

    `path` is a materialised path of ids ("/1/4/17/") so a scope (a subtree) is one
    indexed prefix comparison instead of a recursive query on every page.
    """

    __tablename__ = "unit"
    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(32), unique=True, nullable=False)
    name = sa.Column(sa.String(120), nullable=False)
    level = sa.Column(UNIT_LEVEL.column_type(), nullable=False)
    parent_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    parent = relationship("Unit", remote_side=[id], back_populates="children")
    children = relationship("Unit", back_populates="parent")
    path = sa.Column(sa.String(255), index=True)
    address = sa.Column(sa.String(255))
    remarks = sa.Column(sa.Text)

    def __repr__(self):
        return self.name

    @hybrid_method
    def is_under(self, ancestor_path) -> bool:
        """This unit is the one at `ancestor_path` or below it; in SQL, `ancestor_path` may be a column."""
        return path_covers(ancestor_path, self.path)

    @is_under.expression
    def is_under(cls, ancestor_path):
        # paths hold only digits and "/": no LIKE wildcard to escape. No path is above nothing, as in Python.
        if isinstance(ancestor_path, str) or ancestor_path is None:
            return cls.path.startswith(ancestor_path) if ancestor_path else sa.false()
        return sa.and_(ancestor_path.isnot(None), ancestor_path != "", cls.path.startswith(ancestor_path))

    @hybrid_method
    def covers(self, path) -> bool:
        """The unit at `path` is this one or below it."""
        return path_covers(self.path, path)

    @covers.expression
    def covers(cls, path):
        if isinstance(path, str) or path is None:
            return sa.and_(cls.path != "", sa.literal(path, sa.String).startswith(cls.path)) if path else sa.false()
        return sa.and_(cls.path.isnot(None), cls.path != "", path.startswith(cls.path))

    @classmethod
    def ids_under(cls, ancestor_path):
        """The ids of the unit at `ancestor_path` and of every unit below it, as a subquery."""
        return sa.select(cls.id).where(cls.is_under(ancestor_path))

    def tree_name(self):
        """The name indented by depth, so the list (ordered by path) reads as a tree."""
        depth = max((self.path or "/").count("/") - 2, 0)
        return ("\u3000" * (depth - 1) + "└ " if depth else "") + self.name

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.id.in_(unit_ids)

    def scope_owner_unit_id(self):
        """A new or moved unit is written under its parent; otherwise it is its own owner."""
        state = sa.inspect(self)
        if self.id is None or state.attrs.parent.history.has_changes() or state.attrs.parent_id.history.has_changes():
            return self.parent.id if self.parent is not None else self.parent_id
        return self.id


class InnovationPlatform(Model):
    __tablename__ = "innovation_platform"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    kind = sa.Column(PLATFORM_KIND.column_type(), nullable=False)
    level = sa.Column(PLATFORM_LEVEL.column_type(), nullable=False)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    networked = sa.Column(sa.Boolean, nullable=False, default=False)
    provincial_ref = sa.Column(sa.String(64))
    networked_on = sa.Column(sa.Date)
    remarks = sa.Column(sa.Text)

    def __repr__(self):
        return self.name

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)
