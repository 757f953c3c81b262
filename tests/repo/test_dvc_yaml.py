"""dvc.yaml declares, for every stage, the code it runs: a code change re-runs what it affects."""

from __future__ import annotations

import ast

import yaml
from conftest import REPO

from umbrella.core.params import Engine

# Loaded by skops when a model file is read, so a runtime dependency without an import.
MODEL_CLASSES = "src/umbrella/forecast/models.py"
# Read by every stage that runs on the engine (umbrella.core.engine.runner), and deliberately none
# of their params: where the work runs changes no byte of any output (tests/core/test_engine.py
# compares them across engines and workers), so changing them re-runs nothing
# (tests/stages/test_pipeline.py). engine.stores_per_partition is a param where read: it
# shapes the files.
ENGINE_UNTRACKED = {"kind", "address", "workers", "storage"}


def module_imports(path: str, seen: set[str]) -> set[str]:
    """The umbrella modules a module imports, transitively, as repository paths."""
    if path in seen:
        return seen
    seen.add(path)
    for node in ast.walk(ast.parse((REPO / path).read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("umbrella"):
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("umbrella")]
        for name in names:
            candidate = "src/" + name.replace(".", "/")
            if candidate != "src/umbrella" and (REPO / candidate / "__init__.py").exists():
                for module in sorted((REPO / candidate).glob("*.py")):
                    module_imports(str(module.relative_to(REPO)), seen)
            elif (REPO / f"{candidate}.py").exists():
                module_imports(f"{candidate}.py", seen)
    return seen


def dep(path: str) -> str:
    """A module of a package (core/, data/contract/, ...) is declared as its folder: a stage
    depends on the whole of each package it imports from, which keeps dvc.yaml readable; a
    stage's own file is declared as itself."""
    folder = path.rsplit("/", 1)[0]
    return path if folder in ("src/umbrella", "src/umbrella/stages") else folder


def stage_code(name: str) -> set[str]:
    """The modules a stage imports and, if it reads a model file, the model classes' own."""
    code = module_imports(f"src/umbrella/stages/{name}.py", set())
    if "src/umbrella/forecast/model_io.py" in code:
        code = module_imports(MODEL_CLASSES, code - {MODEL_CLASSES})
    return {dep(p) for p in code}


def test_every_stage_depends_on_exactly_the_code_it_runs() -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        assert stage["cmd"] == f"PYTHONPATH=src umbrella {name}", name
        code = stage_code(name)
        declared = {d for d in stage["deps"] if d.startswith("src/")}
        assert code <= declared, f"{name}: missing deps {sorted(code - declared)}"
        extra = declared - code
        assert not extra, f"{name}: deps it does not import {sorted(extra)}"


def test_the_engines_settings_are_read_but_are_no_stages_params() -> None:
    assert set(Engine.model_fields) == ENGINE_UNTRACKED | {"stores_per_partition"}
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    runs = {name: module_imports(f"src/umbrella/stages/{name}.py", set()) for name in stages}
    on_engine = [name for name in stages if "src/umbrella/core/engine.py" in runs[name]]
    assert on_engine == ["validate", "features", "train", "evaluate", "predict", "monitor"]
    for name, stage in stages.items():
        params = set(stage.get("params", []))
        tracked = params & {"engine", *(f"engine.{key}" for key in ENGINE_UNTRACKED)}
        assert not tracked, f"{name}: params {sorted(tracked)}"
