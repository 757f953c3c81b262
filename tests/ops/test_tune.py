"""`umbrella tune`: deterministic candidates within the budget, chosen on validation only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, commit_all, make_params, raw_params, run, umbrella

from umbrella.core.errors import ParamsError, UmbrellaError
from umbrella.core.params import Tune, load_params, parse_params
from umbrella.ops.tune import (
    candidates,
    choose,
    experiment_revs,
    override,
    queue_command,
    setting,
    validation_figures,
)


def with_tune(tune: dict) -> dict:
    """The repository's params with this tune block (replaced, not merged)."""
    return raw_params() | {"tune": tune}


def tries(space: dict, budget: int, seed: int = 42) -> list[dict]:
    params = parse_params(with_tune({"space": space, "budget": budget}))
    current = params.model_dump()
    tune = params.tune
    return candidates(tune, {key: setting(current, key) for key in tune.space}, seed)


def test_a_small_grid_is_tried_whole_after_the_current_params() -> None:
    space = {"train.censored": ["impute", "keep"], "features.usual_days": [91, 364]}
    assert tries(space, budget=12) == [
        {},  # the current params: impute, 364
        {"features.usual_days": 91},
        {"train.censored": "keep", "features.usual_days": 91},
        {"train.censored": "keep"},
    ]


def test_a_large_grid_is_drawn_within_the_budget_the_same_each_time() -> None:
    space = load_params(REPO / "params.yaml").tune.space  # 2**7 points
    first = tries(space, budget=12)
    assert len(first) == 12 and first[0] == {}
    assert tries(space, budget=12) == first
    assert tries(space, budget=12, seed=7) != first  # the draw is the seed's
    assert len({json.dumps(c, sort_keys=True) for c in first}) == 12
    current = make_params().model_dump()
    for changes in first[1:]:
        assert changes
        for key, value in changes.items():
            assert value in space[key] and value != setting(current, key)
    assert tries(space, budget=1) == [{}]


def test_each_change_reaches_params_yaml_as_dvc_exp_run_writes_it(tmp_path: Path) -> None:
    """The -S arguments of the queue, applied as `dvc exp run` applies them (Hydra)."""
    from dvc.utils.hydra import apply_overrides

    changes = {
        "features.windows": [7, 28],
        "train.calibration": "none",
        "train.censored": "keep",
        "train.gbm.learning_rate": 0.1,
        "train.linear.alpha": 1e-5,
        "features.holidays": None,
        "predict.all_or_nothing": True,
    }
    path = tmp_path / "params.yaml"
    path.write_text((REPO / "params.yaml").read_text())
    command = queue_command("tune-x-01", changes)
    assert command[:6] == ["dvc", "exp", "run", "--queue", "-n", "tune-x-01"]
    sets = [arg for flag, arg in zip(command[6::2], command[7::2], strict=True) if flag == "-S"]
    assert sets[0] == "predict.allow_failed_gate=true"
    apply_overrides(path, sets)
    written = load_params(path).model_dump()
    for key, value in changes.items():
        assert setting(written, key) == value, key
    assert override("none") == '"none"' and override([7, 28]) == "[7,28]"


def evaluate_report(test_cost: float, validation_cost: float) -> dict:
    """A reports/evaluate.json whose test and validation periods disagree."""
    return {
        "model": {"cost": test_cost, "service_level_mid": 0.62},
        "skill": {"cost": 0.3},
        "validation": {"cost": validation_cost, "skill_cost": 0.3, "service_level_mid": 0.6},
    }


def test_the_choice_reads_the_validation_period_only() -> None:
    reports = [evaluate_report(100.0, 900.0), evaluate_report(900.0, 100.0)]
    tried = [
        {"changes": changes, "validation": validation_figures(report, "e")}
        for changes, report in zip([{}, {"train.censored": "keep"}], reports, strict=True)
    ]
    assert choose(tried) == 1  # the test period's cheapest is candidate 0


def test_a_tie_goes_to_fewer_changes_then_candidate_order() -> None:
    def row(changes: dict, cost: float) -> dict:
        return {"changes": changes, "validation": {"cost": cost}}

    two = {"train.censored": "keep", "features.usual_days": 91}
    one = {"features.usual_days": 91}
    assert choose([row(two, 5.0), row(one, 5.0), row({}, 6.0)]) == 1
    assert choose([row(two, 5.0), row(one, 5.0), row({"train.censored": "keep"}, 5.0)]) == 1


def test_an_experiment_without_validation_period_is_an_error() -> None:
    report = {"model": {"cost": 1.0}, "validation": {"left_out": "too short a history"}}
    with pytest.raises(UmbrellaError, match="experiment e3 has no validation period"):
        validation_figures(report, "e3")


def test_experiment_revs_reads_dvc_exp_show() -> None:
    shown = [
        {"rev": "workspace", "experiments": None},
        {
            "rev": "abc",
            "experiments": [
                {"name": "tune-1-00", "revs": [{"rev": "111", "data": {}}]},
                {"name": "tune-1-01", "revs": [{"rev": "222", "data": {}}]},
            ],
        },
    ]
    assert experiment_revs(shown) == {"tune-1-00": "111", "tune-1-01": "222"}


@pytest.mark.parametrize(
    ("tune", "key", "rule"),
    [
        ({"budget": 0, "space": {"train.censored": ["keep"]}}, "tune.budget", "must be >= 1"),
        ({"budget": 3, "space": {}}, "tune.space", "must not be empty"),
        ({"space": {"train.censored": []}}, "tune.space.train.censored", "must not be empty"),
        ({"space": {"train.gbm.leaves": [7]}}, "tune.space.train.gbm.leaves", "unknown param key"),
        ({"space": {"train.gbm": [7]}}, "tune.space.train.gbm", "unknown param key"),
        ({"space": {"tune.budget": [3]}}, "tune.space.tune.budget", "unknown param key"),
        (
            {"space": {"train.calibration": ["none", "nonee"]}},
            "tune.space.train.calibration",
            "value 'nonee': train.calibration: 'nonee' is not one of",
        ),
        (
            {"space": {"features.windows": [[7, 28], [0, 7]]}},
            "tune.space.features.windows",
            "value [0, 7]: features.windows: must all be in 1..366",
        ),
        (
            {"space": {"train.censored": ["keep", "impute", "keep"]}},
            "tune.space.train.censored",
            "lists the value 'keep' twice",
        ),
    ],
)
def test_a_bad_tune_block_names_the_key(tune: dict, key: str, rule: str) -> None:
    with pytest.raises(ParamsError) as info:
        parse_params(with_tune({"budget": 3, **tune}))
    assert str(info.value).startswith(f"params.yaml: {key}: "), info.value
    assert rule in str(info.value)


def test_umbrella_tune_says_a_bad_key_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    tune = {"budget": 3, "space": {"train.gbm.leaves": [7, 15]}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(with_tune(tune), sort_keys=False))
    result = umbrella(["tune"], tmp_path)
    assert result.returncode == 2, result
    assert result.stderr == (
        f"error: {tmp_path / 'params.yaml'}: tune.space.train.gbm.leaves: unknown param key "
        "(a setting of params.yaml, e.g. train.gbm.learning_rate)\n"
    )


def test_tune_is_a_params_block_no_stage_reads() -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert not [
        s for s in stages.values() for p in s.get("params", []) if str(p).startswith("tune")
    ]
    assert isinstance(make_params().tune, Tune)


@pytest.mark.slow
def test_tune_applies_the_cheapest_on_validation(reproduced: Path) -> None:
    """End to end on tiny data: two experiments of four settings, the winner's params in
    params.yaml; as after a `dvc repro` committed (make run), so the experiments re-run train and
    what follows it only."""
    space = {"train.censored": ["impute", "keep"], "train.gbm.learning_rate": [0.05, 0.2]}
    params = yaml.safe_load((reproduced / "params.yaml").read_text()) | {
        "tune": {"budget": 2, "space": space}
    }
    (reproduced / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    commit_all(reproduced, "tiny")
    result = run(["umbrella", "tune"], reproduced)

    summary = json.loads((reproduced / "reports/tune.json").read_text())
    assert summary["budget"] == 2 and summary["space"] == space
    assert [t["changes"] for t in summary["tried"]] == tries(space, budget=2)
    costs = [t["validation"]["cost"] for t in summary["tried"]]
    assert summary["chosen"]["validation"]["cost"] == min(costs)
    assert len(set(costs)) == 2  # the settings made a difference
    applied = load_params(reproduced / "params.yaml").model_dump()
    for key in space:
        expected = summary["chosen"]["changes"].get(key, setting(make_params().model_dump(), key))
        assert setting(applied, key) == expected
    assert summary["chosen"]["name"] in result.stdout
