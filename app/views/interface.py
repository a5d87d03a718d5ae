"""FAB's SQLAlchemy interface with two repairs:

- no legacy Query.get() (a LegacyAPIWarning on SQLAlchemy 2);
- many-to-one relations shown in a list ("unit.name") are loaded with the page in one
  statement, instead of one lazy load per row.
"""
from flask_appbuilder.models.sqla.interface import SQLAInterface
import sqlalchemy as sa
from sqlalchemy.orm import joinedload


class PlatformInterface(SQLAInterface):
    eager_relations: tuple = ()

    def get_related_obj(self, col_name, value):
        return self.session.get(self.get_related_model(col_name), value)

    def eager_load(self, columns):
        """Remember which many-to-one relations the list shows (called by the view)."""
        relations = {r.key: r for r in sa.inspect(self.obj).relationships if not r.uselist}
        self.eager_relations = tuple(
            relations[name] for name in dict.fromkeys(c.split(".")[0] for c in columns) if name in relations
        )

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        if self.eager_relations:
            query = query.options(*(joinedload(r.class_attribute) for r in self.eager_relations))
        return query


def interface(model):
    return PlatformInterface(model)
