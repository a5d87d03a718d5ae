"""Instants in the REST API (SPEC §5): answered in Beijing time with its offset
(2026-06-09T07:30:00+08:00); taken without an offset as Beijing time, with one as the instant it names.

FAB builds every API schema through marshmallow-sqlalchemy's ModelConverter and offers no hook for a
converter of our own, so the instant column type is registered in the converter's type table here,
once, when the views are imported."""
from marshmallow import fields
from marshmallow_sqlalchemy.convert import ModelConverter

from app import clock
from app.models.base import UtcDateTime


class BeijingDateTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(clock.local(value), attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return clock.aware(super()._deserialize(value, attr, data, **kwargs))


ModelConverter.SQLA_TYPE_MAPPING[UtcDateTime] = BeijingDateTime


class BeijingMinute(fields.Field):
    """A slot's time as SPEC §5 writes it, Beijing time to the minute: 2026-12-08T10:00."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else clock.local(value).strftime("%Y-%m-%dT%H:%M")
