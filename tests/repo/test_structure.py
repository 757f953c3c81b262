"""The layout holds: stages read, call and write; nothing imports a stage; one entry signature."""

from __future__ import annotations

import ast
import importlib
import inspect

from conftest import REPO

from umbrella.cli import COMMANDS

STAGES = sorted(p.stem for p in (REPO / "src/umbrella/stages").glob("*.py") if p.stem != "__init__")


def imported_modules(path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_no_module_imports_a_stage() -> None:
    files = [*(REPO / "src").rglob("*.py"), *(REPO / "tests").rglob("*.py")]
    files += [*(REPO / "benchmarks").rglob("*.py"), *(REPO / "docs").rglob("*.py")]
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in imported_modules(path) if "stages" in m)
        for path in files
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_every_stage_is_a_command_with_the_same_entry() -> None:
    for stage in STAGES:
        module, _ = COMMANDS[stage]
        main = importlib.import_module(module).main
        signature = inspect.signature(main)
        assert list(signature.parameters) == ["args"], stage
        assert signature.parameters["args"].default is inspect.Parameter.empty, stage
        assert str(signature.parameters["args"].annotation) == "argparse.Namespace", stage


def test_in_process_runs_see_no_path_of_the_checkout(tmp_path) -> None:
    """tests/support/inprocess.py re-points every path into the checkout (a stage's plot folder
    too), so an in-process run never writes into the repository."""
    import sys
    from pathlib import Path

    from support.inprocess import rooted

    with rooted(tmp_path):
        leaks = [
            f"{name}.{attr}"
            for name, module in list(sys.modules.items())
            if name.startswith("umbrella.")
            for attr, value in vars(module).items()
            if isinstance(value, Path) and value.is_relative_to(REPO)
        ]
    assert leaks == []


def _module_name(path) -> str:
    parts = path.relative_to(REPO / "src").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of `graph` (module -> the modules it imports) as a path, or []."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = "done"
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_import_cycle_finds_a_cycle() -> None:
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_in_the_package() -> None:
    """Type-only imports count: a cycle is a layering fault whether or not it runs."""
    modules = {_module_name(p): p for p in (REPO / "src").rglob("*.py")}
    graph = {
        name: {m for m in imported_modules(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    assert import_cycle(graph) == []


# The layers of src/umbrella, lowest first (README "The project"): a module imports from its own
# package and from the packages of lower layers, never upward and never across to another
# package of its own layer.
LAYERS = [
    {"money"},  # the newsvendor's and the stock's arithmetic: no params, no files
    {"core"},  # paths, params, errors, files, partitions, engine, storage, time split
    {"data.contract"},  # what valid data is
    {"data.simulator", "data.open_meteo"},  # the simulated retailer; the weather from Open-Meteo
    {"data.sources"},  # a retailer's own data, and every source's fingerprint
    {"forecast"},
    {"evaluation"},
    {"ops"},  # orders, the monitor, the report, tuning
    {"stages", "cli"},  # the stages dvc.yaml runs; the command line that runs them by name
    {"__main__"},  # python -m umbrella
]


def layer_of(module: str) -> tuple[int, str]:
    """The rank of a module's layer and its package: umbrella.data.contract.rules is
    (2, "data.contract")."""
    rest = module.removeprefix("umbrella.")
    for rank, packages in enumerate(LAYERS):
        for package in packages:
            if rest == package or rest.startswith(package + "."):
                return rank, package
    raise AssertionError(f"{module}: in no layer of LAYERS")


def layer_faults(graph: dict[str, set[str]]) -> list[str]:
    """Each import of `graph` that runs upward or across, as 'importer -> imported'."""
    faults = []
    for importer, imported in sorted(graph.items()):
        rank, package = layer_of(importer)
        for target in sorted(imported):
            their_rank, their_package = layer_of(target)
            if their_package != package and their_rank >= rank:
                faults.append(f"{importer} -> {target}")
    return faults


def test_layer_faults_finds_upward_and_across_imports() -> None:
    graph = {
        "umbrella.money.costs": {"umbrella.core.params"},  # upward
        "umbrella.data.simulator.weather": {"umbrella.data.open_meteo.client"},  # across
        "umbrella.ops.report": {"umbrella.evaluation.scores", "umbrella.ops.revisions"},  # fine
    }
    assert layer_faults(graph) == [
        "umbrella.data.simulator.weather -> umbrella.data.open_meteo.client",
        "umbrella.money.costs -> umbrella.core.params",
    ]


def test_every_import_runs_down_the_layers() -> None:
    """Type-only imports count too. Every module of the package is in a layer."""
    modules = {_module_name(p): p for p in (REPO / "src").rglob("*.py")}
    for folder in ("umbrella", "umbrella.data"):  # a docstring over subpackages, no code
        modules.pop(folder)
    graph = {
        name: {m for m in imported_modules(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    assert layer_faults(graph) == []


# The test folders beside the packages' own: the repository's files (dvc.yaml, the docs, the
# workflows, the dependencies, this layout) and the benchmarks' code; shared helpers.
TEST_FOLDERS_BESIDE = {"repo", "bench", "support"}


def test_the_tests_mirror_the_packages() -> None:
    """A test file sits in the folder of the package it tests (tests/forecast/ for
    umbrella.forecast), or of the repository or the benchmarks; none at the top."""
    packages = {package.split(".")[0] for layer in LAYERS for package in layer} - {"__main__"}
    packages.remove("cli")
    folders = {p.name for p in (REPO / "tests").iterdir() if p.is_dir() and p.name[0] != "_"}
    assert folders - {".pytest_cache"} == packages | TEST_FOLDERS_BESIDE
    assert sorted(p.name for p in (REPO / "tests").glob("test_*.py")) == []
    assert all((REPO / "src/umbrella" / package).is_dir() for package in packages)
