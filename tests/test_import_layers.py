"""The layers hold: no import cycle among l2board's modules, and the writing side never reaches the read side.

Read from the source with `ast`, imports inside functions included (a lazy
import is still a dependency), so a cycle or a leak fails here before it
can surprise anyone at run time.
"""

import ast
import os
import pathlib

import l2board

PACKAGE = pathlib.Path(l2board.__file__).parent
# The writing side shares only the log format (l2board.log_format) with the read side.
WRITING = "l2board.writing"
READ_SIDE = ("l2board.reading", "l2board.analysis")


def module_files():
    """`{module name: path}` of every module of the l2board package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name, path, modules):
    """The l2board modules that `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from a.b import c` imports the module a.b.c when there is one, else names of a.b.
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                         for alias in node.names)
    return {imported for imported in found if imported in modules and imported != name}


def import_graph():
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph):
    """The strongly connected components of more than one module (or a module importing itself): Tarjan's."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reached_from(graph, start):
    """`{module: the module that imports it}` for every module `start` reaches, directly or not."""
    seen, todo = {start: None}, [start]
    while todo:
        node = todo.pop()
        for other in graph[node]:
            if other not in seen:
                seen[other] = node
                todo.append(other)
    return seen


def chain(reached, end):
    path = [end]
    while reached[path[-1]] is not None:
        path.append(reached[path[-1]])
    return " -> ".join(reversed(path))


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # cli.py imports the reading side only inside its commands.
    assert "l2board.reading.logs" in graph["l2board.cli"]
    assert "l2board.writing.callback" in graph["l2board.writing.tensorboard"]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_writing_side_never_reaches_the_read_side():
    graph = import_graph()
    leaks = []
    for name in sorted(graph):
        if name == WRITING or name.startswith(WRITING + "."):
            reached = reached_from(graph, name)
            leaks += [chain(reached, other) for other in sorted(reached) if other.startswith(READ_SIDE)]
    assert leaks == []


def test_the_parser_hands_the_parse_cache_its_version():
    # The cache no longer imports the parser to find its files: the parser gives them, and they still count.
    from l2board.reading import event_records, parse_cache

    assert "l2board.reading.event_records" not in import_graph()["l2board.reading.parse_cache"]
    fingerprint = parse_cache.reader_fingerprint()
    for path in (event_records.__file__, event_records.event_files.__file__):
        assert f"{os.path.basename(path)} {os.stat(path).st_size} {os.stat(path).st_mtime_ns}" in fingerprint
