"""A model is whole where it is defined (issue 22, item 4): no other module — a view above all — adds an
attribute to a model class after the fact (`Booking.slot = property(...)`, `setattr(Instrument, ...)`).
A model offers domain values in its class body; views render them with their formatters.

Read from the source (every assignment and `setattr` whose target is a model class, under any name it
is imported as), and checked at run time too: importing the views adds nothing to any model class."""
import ast
import json
import pathlib
import subprocess
import sys

import sqlalchemy as sa
from flask_appbuilder import Model

import app.models
from app.models import instrument

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("app", "iot_bridge")
MODELS = {mapper.class_.__name__ for mapper in Model.registry.mappers}


def _model_names(tree):
    """The names a module binds to model classes: each `from app.models… import X [as Y]` of a model, and
    the model names themselves (a module may reach them otherwise, e.g. through `models.X`)."""
    names = set(MODELS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] != "choices":
            for alias in node.names:
                if alias.name in MODELS:
                    names.add(alias.asname or alias.name)
    return names


def _is_model(node, names):
    """`X` or `anything.X` where X names a model class."""
    return (isinstance(node, ast.Name) and node.id in names) or (isinstance(node, ast.Attribute) and node.attr in MODELS)


def patches(source, path="<source>"):
    """Each place the module's code sets an attribute on a model class: `Model.x = …` (also augmented,
    annotated or in a tuple), `setattr(Model, …)`, `del Model.x`, at any depth — but not a class body's
    own statements, which define the class."""
    tree = ast.parse(source)
    names = _model_names(tree)
    found = []

    def targets(node):
        if isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                yield from targets(element)
        elif isinstance(node, ast.Starred):
            yield from targets(node.value)
        else:
            yield node

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            assigned = [t for target in node.targets for t in targets(target)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            assigned = [node.target]
        elif isinstance(node, ast.Delete):
            assigned = node.targets
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
            if node.args and _is_model(node.args[0], names):
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
            continue
        else:
            continue
        for target in assigned:
            if isinstance(target, ast.Attribute) and _is_model(target.value, names):
                found.append(f"{path}:{node.lineno}: {ast.unparse(target)} = …")
    return found


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT), path.read_text(encoding="utf-8")


def test_no_module_adds_attributes_to_a_model_class():
    found = [hit for path, source in _sources() for hit in patches(source, str(path))]
    assert found == []


def test_the_check_finds_each_way_of_patching():
    source = '''
from app.models import Booking, Instrument as Inst, ServiceContract
from app import models


def attach():
    Booking.slot = property(lambda self: None)
    for name in ("a", "b"):
        setattr(Inst, name, None)


ServiceContract.validity, other = property(len), 1
models.Message.unread_badge = None
Booking.count += 1
'''
    assert sorted(hit.split(": ", 1)[1] for hit in patches(source)) == [
        "Booking.count = …", "Booking.slot = …", "ServiceContract.validity = …", "models.Message.unread_badge = …",
        "setattr(Inst, name, None)"]


def test_a_class_body_and_other_objects_are_not_patches():
    source = '''
from app.models import Booking
from .base import ScopedModelView


class Instrument:
    slot = property(lambda self: None)


class BookingView(ScopedModelView):
    datamodel = Booking


BookingView.related_views = []
view = BookingView()
view.datamodel = None
setattr(view, "list_columns", [])
'''
    assert patches(source) == []


def test_importing_every_view_adds_nothing_to_a_model_class():
    """At run time, in a process of its own: each model class's attributes, once the mappers are configured
    (backrefs included), are the same after every view, service and report module is imported."""
    script = '''
import importlib, json, pkgutil
from flask_appbuilder import Model
import sqlalchemy as sa
import app.models

def attributes():
    sa.orm.configure_mappers()
    return {m.class_.__name__: set(vars(m.class_)) for m in Model.registry.mappers}

before = attributes()
for package in ("app.views", "app.services", "app.reports", "app.security"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(info.name)
after = attributes()
print(json.dumps({name: sorted(after[name] - before.get(name, set())) for name in after
                  if after[name] != before.get(name, set())}))
'''
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}


def test_the_instrument_lists_columns_read_the_tables_as_they_are():
    """The instrument's fee and terminal status read fee_standard and device_status through lightweight
    clauses (their modules import instrument.py): each column named there exists, of the same kind."""
    assert app.models.FeeStandard.__table__ is Model.metadata.tables["fee_standard"]
    for clause in (instrument.FEE_STANDARD, instrument.DEVICE_STATUS):
        table = Model.metadata.tables[clause.name]
        for column in clause.c:
            assert column.name in table.c, f"{clause.name}.{column.name}"
            assert isinstance(table.c[column.name].type, type(column.type)), f"{clause.name}.{column.name}"
    assert set(instrument.FEE_RANK) <= set(app.models.FeeStandard.__table__.c.state.type.enums)
    assert isinstance(sa.inspect(app.models.Instrument).attrs.fee_rank, sa.orm.ColumnProperty)


def test_no_model_grows_an_attribute_from_another_class_by_backref():
    """Each side of a relationship is declared in its own class (back_populates), so a reader of the class sees
    every attribute it has: a backref would add one from another class, often another module."""
    found = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in sorted((ROOT / "app" / "models").glob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.keyword) and node.arg == "backref"]
    assert found == []
