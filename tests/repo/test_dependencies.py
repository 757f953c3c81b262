"""Every third-party package the code imports is declared, pinned, in pyproject.toml, and
requirements.lock pins every declared one: nothing works here only by accident of what
happens to be installed."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement (PEP 503)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST) -> set[str]:
    """Top-level module names imported at run time (not under `if TYPE_CHECKING:`)."""
    found: set[str] = set()
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        else:
            found |= _imports(node)
    return found


def third_party_imports(folder: Path) -> dict[str, set[str]]:
    """Imported third-party module -> the files that import it."""
    files = list(folder.rglob("*.py"))
    # the folder's own modules and packages (tests/support/), and the package itself
    local = {p.stem for p in files} | {p.parent.name for p in files} | {"umbrella"}
    out: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for module in _imports(ast.parse(path.read_text())):
            if module not in sys.stdlib_module_names and module not in local:
                out.setdefault(module, set()).add(str(path.relative_to(REPO)))
    return out


@cache
def _distributions() -> dict[str, list[str]]:
    return packages_distributions()  # reads every installed package's metadata: once


def _undeclared(folder: Path, declared: set[str]) -> list[str]:
    distributions = _distributions()
    missing = []
    for module, files in sorted(third_party_imports(folder).items()):
        names = {_name(d) for d in distributions.get(module, [module])}
        if not names & declared:
            missing.append(f"{module} ({', '.join(sorted(names))}), imported by {sorted(files)}")
    return missing


def _declared(*extras: str) -> set[str]:
    project = PYPROJECT["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {_name(r) for r in requirements}


def test_every_import_of_src_is_a_declared_dependency() -> None:
    assert _undeclared(REPO / "src", _declared()) == []


def test_every_import_of_the_tests_is_declared_with_the_dev_extra() -> None:
    assert _undeclared(REPO / "tests", _declared("dev")) == []


def test_the_finder_sees_imports_and_skips_type_checking_ones() -> None:
    tree = ast.parse(
        "import a.b\nfrom c import d\nfrom . import e\nif TYPE_CHECKING:\n    import f\n"
        "def g():\n    import h\n"
    )
    assert _imports(tree) == {"a", "c", "h"}


def test_every_dependency_is_pinned_and_in_the_lock() -> None:
    project = PYPROJECT["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    lock = {
        _name(line): line.split("==", 1)[1].strip()
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in requirements:
        assert re.fullmatch(r"[A-Za-z0-9._-]+(\[[a-z,]+\])?==[\w.]+", requirement), requirement
        version = requirement.split("==")[1]
        assert lock.get(_name(requirement)) == version, (
            f"{requirement}: lock has {lock.get(_name(requirement))}"
        )
