"""The import structure of the ``authstatus`` package, measured from its source, and its rules.

    python tools/imports.py            # report: layers, cycles, upward and function-level imports
    python tools/imports.py --check    # exit 1 on anything tools/imports-baseline.txt does not list
    python tools/imports.py --json     # the graph as JSON (module-level and function-level edges)

What is measured (the standard library's ``ast``, nothing is imported or run):

* a *module-level* import runs when the module is imported: a statement outside every
  function, except under ``if TYPE_CHECKING:``. Importing ``a.b.c`` also runs ``a/__init__``
  and ``a/b/__init__``: those packages are edges too;
* a *function-level* import runs when the function is called: usually a way around a cycle or
  an upward arrow (DESIGN.md: "a smell");
* *cycles*: strongly connected components of the graph of both kinds of imports;
* imports of django-oauth-toolkit (``oauth2_provider``) outside ``contrib/oauth2_provider/``,
  the one package allowed to import it;
* *upward* imports: an edge from a lower layer to a higher one, layers as DESIGN.md draws them
  (``core`` <- ``policies`` <- ``enforcement`` <- ``middleware``/``contrib`` <- the rest), by
  :data:`LAYERS` below. The rule CI enforces: nothing in ``core``, ``policies`` or
  ``enforcement`` imports ``contrib`` (or anything above it), at module or function level.

``--check`` compares what it finds with ``tools/imports-baseline.txt``: every cycle and every
upward import must be listed there (today's debt, which the architecture step pays off), so a
new one fails CI; a listed one that is gone is reported, to be struck from the baseline.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "authstatus"
BASELINE = Path(__file__).with_name("imports-baseline.txt")
DOT_ADAPTER = "authstatus.contrib.oauth2_provider"
"""The only package that may import django-oauth-toolkit (DESIGN.md)."""

# Module-name prefix -> layer; the longest matching prefix wins. 0 is the ground.
LAYERS: dict[str, int] = {
    "authstatus": 4,  # what is not listed: the top (admin, checks, management, apps, ...)
    "authstatus.core": 0,
    "authstatus.conf": 0,
    "authstatus.signals": 0,
    "authstatus.checks.codes": 0,  # the check-id registry: a leaf any layer may report from
    # the wings
    "authstatus.policies": 1,  # what is in force
    "authstatus.decorators": 1,  # public path of policies.declarations
    "authstatus.models": 1,
    "authstatus.enforcement": 2,  # one request, one decision
    "authstatus.authentication": 2,  # public path of enforcement.authenticators
    "authstatus.tokens": 2,
    "authstatus.concealment": 2,  # a concealed 404 like a missing one
    # adapters
    "authstatus.middleware": 3,
    "authstatus.contrib": 3,
}
EXACT: dict[str, int] = {"authstatus.checks": 0}
"""Modules whose layer is not their prefix's: the ``checks`` package's own ``__init__`` only
re-exports ``Codes`` (its feature modules register checks: the top layer)."""
GUARDED = (0, 1, 2)
"""Layers that must never import ``contrib`` or anything above them."""
NAMES = {0: "core", 1: "policies", 2: "enforcement", 3: "adapters", 4: "top"}


def layer(module: str) -> int:
    if module in EXACT:
        return EXACT[module]
    best = ""
    for prefix in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return LAYERS[best]


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)
    module_level: set[tuple[str, str]] = field(default_factory=set)
    function_level: set[tuple[str, str]] = field(default_factory=set)

    dot: set[tuple[str, str]] = field(default_factory=set)
    """``(kind, module)``: modules outside ``contrib/oauth2_provider/`` that import
    django-oauth-toolkit (``oauth2_provider``), at module or function level."""
    statements: int = 0
    """Function-level import statements, of any package (``function_level`` counts the
    distinct internal edges)."""

    def cycles(self) -> list[list[str]]:
        """Circles of modules that import each other, at module or function level: a
        function-level import that closes a circle only moves the problem to run time."""
        edges = self.module_level | self.function_level
        return [sorted(c) for c in _components(self.modules, edges) if len(c) > 1]

    def upward(self) -> list[tuple[str, str, str]]:
        """``(kind, importer, imported)`` for every import from a guarded layer to a higher
        one; kind is ``module`` or ``function``."""
        found = []
        for kind, edges in (("module", self.module_level), ("function", self.function_level)):
            for a, b in sorted(edges):
                if layer(a) in GUARDED and layer(b) > layer(a) and layer(b) >= 3:
                    found.append((kind, a, b))
        return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def build() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        graph.modules[module_name(path)] = path
    for module, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node, at_module_level in _imports(tree):
            graph.statements += not at_module_level
            if _imports_dot(node) and not module.startswith(DOT_ADAPTER):
                graph.dot.add(("module" if at_module_level else "function", module))
            for target in _targets(node, package, graph.modules):
                if target == module:
                    continue
                edges = graph.module_level if at_module_level else graph.function_level
                edges.add((module, target))
                if at_module_level:
                    for parent in _parents(target, graph.modules):
                        if parent != module and not module.startswith(parent + "."):
                            edges.add((module, parent))
    return graph


_Found = Iterator[tuple[ast.Import | ast.ImportFrom, bool]]


def _imports(tree: ast.Module) -> _Found:
    """Every import statement, and whether it runs at module level (see the docstring)."""

    def walk(node: ast.AST, in_function: bool) -> _Found:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, not in_function
            elif isinstance(child, ast.If) and _type_checking(child.test):
                yield from walk_body(child.orelse, in_function)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from walk(child, True)
            else:
                yield from walk(child, in_function)

    def walk_body(body: list[ast.stmt], in_function: bool) -> _Found:
        for statement in body:
            holder = ast.Module(body=[statement], type_ignores=[])
            yield from walk(holder, in_function)

    yield from walk(tree, False)


def _imports_dot(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "oauth2_provider" for alias in node.names)
    return not node.level and (node.module or "").split(".")[0] == "oauth2_provider"


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(
    node: ast.Import | ast.ImportFrom, package: str, modules: dict[str, Path]
) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
            base = ".".join([*anchor, base]) if base else ".".join(anchor)
        names = []
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            names.append(candidate if candidate in modules else base)
    return sorted({_known(name, modules) for name in names} - {""})


def _known(name: str, modules: dict[str, Path]) -> str:
    """The longest module of the package that ``name`` is, or lies in; ``""`` if none."""
    while name:
        if name in modules and name != PACKAGE:
            return name
        name = name.rpartition(".")[0]
    return ""


def _parents(module: str, modules: dict[str, Path]) -> Iterator[str]:
    parent = module.rpartition(".")[0]
    while parent and parent != PACKAGE:
        if parent in modules:
            yield parent
        parent = parent.rpartition(".")[0]


def _components(nodes: dict[str, Path], edges: set[tuple[str, str]]) -> list[set[str]]:
    """Tarjan's strongly connected components, iteratively."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        successors[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(successors[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                out.append(component)
    return out


def findings(graph: Graph) -> list[str]:
    """One line per cycle and per upward import, as the baseline lists them."""
    lines = ["cycle " + " ".join(cycle) for cycle in graph.cycles()]
    lines += [f"upward {kind} {a} -> {b}" for kind, a, b in graph.upward()]
    lines += [f"dot {kind} {module}" for kind, module in sorted(graph.dot)]
    return lines


def report(graph: Graph) -> str:
    internal_function = len(graph.function_level)
    out = [
        f"{len(graph.modules)} modules; module-level imports between them: "
        f"{len(graph.module_level)}; function-level: {internal_function} "
        f"({graph.statements} function-level import statements in all)",
    ]
    for cycle in graph.cycles():
        out.append(f"cycle of {len(cycle)}: {', '.join(cycle)}")
    for kind, a, b in graph.upward():
        out.append(f"upward ({kind} level): {a} [{NAMES[layer(a)]}] -> {b} [{NAMES[layer(b)]}]")
    for kind, module in sorted(graph.dot):
        out.append(f"django-oauth-toolkit imported outside {DOT_ADAPTER} ({kind} level): {module}")
    by_layer: dict[int, list[str]] = {}
    for module in graph.modules:
        by_layer.setdefault(layer(module), []).append(module)
    for number in sorted(by_layer, reverse=True):
        out.append(f"layer {number} ({NAMES[number]}): {len(by_layer[number])} modules")
    out.append("function-level imports:")
    out += [f"  {a} -> {b}" for a, b in sorted(graph.function_level)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the baseline")
    parser.add_argument("--json", action="store_true", help="print the graph as JSON")
    options = parser.parse_args(argv)
    graph = build()
    if options.json:
        print(
            json.dumps(
                {
                    "modules": sorted(graph.modules),
                    "module_level": sorted(graph.module_level),
                    "function_level": sorted(graph.function_level),
                    "cycles": graph.cycles(),
                    "upward": graph.upward(),
                    "dot": sorted(graph.dot),
                },
                indent=1,
            )
        )
        return 0
    if not options.check:
        print(report(graph))
        return 0
    baseline = {
        line.strip()
        for line in BASELINE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    found = set(findings(graph))
    new = sorted(found - baseline)
    gone = sorted(baseline - found)
    for line in new:
        print(f"NEW (not in {BASELINE.name}): {line}")
    for line in gone:
        print(f"gone (strike it from {BASELINE.name}): {line}")
    print(
        f"imports: {len(graph.modules)} modules, {len(graph.module_level)} module-level and "
        f"{len(graph.function_level)} function-level imports; {len(graph.cycles())} cycles, "
        f"{len(graph.upward())} upward imports; {len(graph.dot)} modules importing DOT outside "
        f"its adapter; {len(new)} new"
    )
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
