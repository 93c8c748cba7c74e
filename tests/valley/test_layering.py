"""The house's floors (STYLE.md 13): valley/ is the ground floor and names no app above it; teams builds on
the valley; funding and tolerance build on both; no two modules import each other, even lazily.

Read from the source (tests.architecture), so an import inside a function counts as much as one at the top.
Every failure names the module and line to change.
"""

import ast

from tests.architecture import ROOT, cycles, import_graph, imports_of, project_modules

GROUND = "valley"
# Each floor above and the floors it may import (besides its own modules).
FLOORS = {
    "teams": {"valley"},
    "funding": {"valley", "teams"},
    "tolerance": {"valley", "teams"},
}
# Project wiring: they name the apps (INSTALLED_APPS, include("teams.urls"), beat task names), as strings only:
# the string rule spares them, the import rule does not.
WIRING = {"valley.settings", "valley.urls"}
# valley/'s own modules besides its sub-packages; adding one is a decision, made here.
VALLEY_TOP_LEVEL = {
    "__init__",
    "admin",
    "api",
    "apps",
    "celery",
    "demo",
    "env",
    "models",
    "selectors",
    "settings",
    "urls",
    "views",
    "wsgi",
}


def _where(path, line) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def _floor(module: str) -> str:
    return module.partition(".")[0]


def _ground_floor(modules):
    return {name: path for name, path in modules.items() if _floor(name) == GROUND}


def _imports(modules, names) -> list[tuple[str, object, int, str]]:
    """(importing module, its path, line, imported module) for each import of the named modules, once per
    line and imported module (`from a import b, c` names a twice), in file and line order."""
    found = {(name, line, imported) for name in names for imported, line in imports_of(modules[name], modules)}
    return [(name, modules[name], line, imported) for name, line, imported in sorted(found)]


def test_the_ground_floor_imports_no_app_above_it():
    modules = project_modules()
    found = [
        f"{_where(path, line)} imports {imported}"
        for _name, path, line, imported in _imports(modules, _ground_floor(modules))
        if _floor(imported) in FLOORS
    ]
    assert not found, "valley/ must not import the apps above it; register from the app's AppConfig.ready():\n" + (
        "\n".join(found)
    )


def _url_namespaces(modules) -> set[str]:
    """The apps' URL namespaces: each app's urls module's app_name."""
    namespaces = set()
    for floor in FLOORS:
        path = modules.get(f"{floor}.urls")
        if path is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "app_name" for t in node.targets):
                namespaces.add(ast.literal_eval(node.value))
    return namespaces


def _model_labels(modules) -> set[str]:
    """ "app.Model" for each class of each app's models module."""
    labels = set()
    for floor in FLOORS:
        path = modules.get(f"{floor}.models")
        if path is not None:
            tree = ast.parse(path.read_text(), str(path))
            labels |= {f"{floor}.{node.name}" for node in tree.body if isinstance(node, ast.ClassDef)}
    return labels


def _names_an_app(text: str, *, continues: bool, modules, namespaces, labels) -> str | None:
    """What `text` names of the apps above, if anything: a module ("teams.exports", "funding.tasks.x": a
    module and something in it), a URL namespace ("teams:entity_list") or a model ("funding.Application").
    A permission pattern ("teams.view_*", "funding.add_fundpolicy") names the app's label, not a module, and
    is data. `continues`: the text is the start of an f-string, and more follows its last dot."""
    namespace, colon, _rest = text.partition(":")
    if colon and namespace in namespaces:
        return f"the URL namespace {namespace!r}"
    if continues:
        text = text.removesuffix(".") + ".…"
    parts = text.split(".")
    if not all(part.isidentifier() or part in ("*", "…") for part in parts) or _floor(text) not in FLOORS:
        return None
    for length in range(len(parts), 0, -1):
        prefix = ".".join(parts[:length])
        # The bare app name counts only as the whole string: "teams.view_*" starts with it as a label does.
        if prefix in modules and (length > 1 or len(parts) == 1):
            return f"the module {prefix!r}"
    if ".".join(parts[:2]) in labels:
        return f"the model {'.'.join(parts[:2])!r}"
    return None


def test_the_ground_floor_names_no_module_or_url_of_an_app_above_it():
    modules = project_modules()
    names = {"modules": modules, "namespaces": _url_namespaces(modules), "labels": _model_labels(modules)}
    assert names["namespaces"] >= set(FLOORS), "each app's URL namespace is found"
    found = []
    for name, path in _ground_floor(modules).items():
        if name in WIRING:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text, continues = node.value, False
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                text, continues = node.values[0].value, True
            else:
                continue
            what = _names_an_app(text, continues=continues, **names)
            if what:
                found.append((path, node.lineno, f"{_where(path, node.lineno)} names {what} in {text!r}"))
    found = [message for _path, _line, message in sorted(found)]
    assert not found, "valley/ must not name the apps above it (put the name in settings or register it):\n" + (
        "\n".join(found)
    )


def test_the_floors_above_import_only_the_floors_below():
    modules = project_modules()
    above = [name for name in modules if _floor(name) in FLOORS]
    found = [
        f"{_where(path, line)} imports {imported} ({_floor(name)} may import {sorted(FLOORS[_floor(name)])})"
        for name, path, line, imported in _imports(modules, above)
        if _floor(imported) not in {_floor(name), *FLOORS[_floor(name)]}
    ]
    assert not found, "an app imports a floor it must not:\n" + "\n".join(found)


def test_the_import_graph_has_no_cycle():
    modules = project_modules()
    graph = import_graph()
    problems = []
    for group in cycles(graph):
        members = set(group)
        edges = [
            f"  {_where(path, line)} imports {imported}"
            for _name, path, line, imported in _imports(modules, group)
            if imported in members
        ]
        problems.append(f"{' ↔ '.join(group)}:\n" + "\n".join(edges))
    assert not problems, "modules that import each other (at any depth, inside functions too):\n" + "\n".join(problems)


def test_the_ground_floor_has_only_its_known_top_level_modules():
    top = ROOT / GROUND
    found = {path.stem for path in top.glob("*.py")}
    assert found == VALLEY_TOP_LEVEL, (
        f"valley/'s top level has changed: added {sorted(found - VALLEY_TOP_LEVEL)}, "
        f"gone {sorted(VALLEY_TOP_LEVEL - found)}; machinery goes into a sub-package (core, accounts, audit, "
        "messaging, exports, web, ops), or add the module here on purpose"
    )
