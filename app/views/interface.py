"""FAB's SQLAlchemy interface, minus its legacy Query.get() (a LegacyAPIWarning on SQLAlchemy 2)."""
from flask_appbuilder.models.sqla.interface import SQLAInterface


class PlatformInterface(SQLAInterface):
    def get_related_obj(self, col_name, value):
        return self.session.get(self.get_related_model(col_name), value)


def interface(model):
    return PlatformInterface(model)
