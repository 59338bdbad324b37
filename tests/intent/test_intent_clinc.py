"""CLINC150 end-to-end: train on train.jsonl through the CLI, evaluate on test.jsonl.

Needs the data set at ``<repo>/../shared/data/clinc150`` (or ``$WAYPOINT_DATA_DIR/clinc150``);
skipped otherwise.  Takes about two minutes on two cores.

Speed (training time, single-utterance p99) is measured by the benchmark commands in
docs/intent.md, not asserted here: a timed test says more about the machine's load than the code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from waypoint.cli.intent import main as cli_main
from waypoint.cli.intent import run_eval

pytestmark = [pytest.mark.dataset, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Targets of the intent layer on CLINC150 test (see docs/intent.md).
TARGET_IN_SCOPE_ACCURACY = 0.93
TARGET_OOS_RECALL = 0.60


def clinc_dir() -> Path:
    env = os.environ.get("WAYPOINT_DATA_DIR")
    base = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return base / "clinc150"


@pytest.fixture(scope="module")
def clinc_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = clinc_dir()
    if not (data / "train.jsonl").is_file() or not (data / "test.jsonl").is_file():
        pytest.skip(f"CLINC150 not found at {data}")
    out = tmp_path_factory.mktemp("clinc") / "model"
    assert (
        cli_main(["intent", "train", "--data", str(data / "train.jsonl"), "--out", str(out)]) == 0
    )
    return {"data": data, "model": out}


@pytest.fixture(scope="module")
def clinc_metrics(clinc_run: dict[str, Any]) -> dict[str, Any]:
    return run_eval(clinc_run["model"], clinc_run["data"] / "test.jsonl")


def test_eval_cli_prints_one_json_object(
    clinc_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["intent", "eval", "--model", str(clinc_run["model"])]
    assert cli_main([*args, "--data", str(clinc_run["data"] / "val.jsonl"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 3100 and metrics["n_oos"] == 100


def test_out_of_scope_recall_target(clinc_metrics: dict[str, Any]) -> None:
    assert clinc_metrics["oos_recall"] >= TARGET_OOS_RECALL
    assert clinc_metrics["oos_precision"] >= 0.7
    assert clinc_metrics["ece"] <= 0.08


def test_in_scope_accuracy_target(clinc_metrics: dict[str, Any]) -> None:
    assert clinc_metrics["in_scope_accuracy"] >= TARGET_IN_SCOPE_ACCURACY
    # The clarify layer asks on few utterances, and its questions usually offer the true intent.
    assert clinc_metrics["ambiguous_rate"] <= 0.03
    assert clinc_metrics["clarify_offers_true_intent"] >= 0.8
