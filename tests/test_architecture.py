"""The import graph of the code (app/ and iot_bridge/), read from the source with every import counted —
also those inside a function: it has no loop, and its layers run one way (models ← services ← views,
reports, bridge). An import of a package's submodule is an arrow to that submodule, not to the package's
__init__ (which Python runs first, but which is the package's own business)."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("app", "iot_bridge")


def _modules():
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _resolve(module, path, node):
    if not node.level:
        return node.module
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph():
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(module, path, node)
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.add(submodule if submodule in modules else source)
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def loops(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_loop():
    assert loops(import_graph()) == []


def test_a_loop_through_a_function_level_import_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert loops(graph) == [["a", "b", "c"]]


# each layer and what it must not import (a prefix stands for the package and everything in it)
FORBIDDEN = {
    "app.models": ("app.services", "app.views", "app.reports", "app.security", "app.tasks", "app.cli", "iot_bridge"),
    "app.services": ("app.views", "app.reports", "app.security", "app.tasks", "app.cli", "iot_bridge"),
    "app.reports": ("app.views", "app.tasks", "app.cli", "iot_bridge"),
    "app.security": ("app.tasks", "app.cli", "iot_bridge"),
    "iot_bridge": ("app.views", "app.reports", "app.security", "app.tasks", "app.cli"),
}


def _within(module, prefix):
    return module == prefix or module.startswith(prefix + ".")


def test_the_layers_import_one_way():
    wrong = sorted(f"{module} → {target}" for module, targets in import_graph().items() for target in targets
                   for layer, banned in FORBIDDEN.items() if _within(module, layer)
                   for prefix in banned if _within(target, prefix))
    assert wrong == []
