"""Live sources read with their own libraries: an MLflow tracking server (a real ``mlflow server`` on localhost
with a SQLite store, started and stopped here) through MLflow's client, and W&B offline run directories
(``run-*.wandb``, written here by ``wandb.init(mode="offline")``) through the wandb SDK's own reader.

The truth is what the test itself logged. When mlflow or wandb is not installed the test is skipped with the
reason, unless ``SCALINGLAWS_REQUIRE_SOURCES`` is set (CI sets it: there they must run).
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

import scalinglaws as sl

from .helpers import run_cli


def _need(module: str):
    if os.environ.get("SCALINGLAWS_REQUIRE_SOURCES"):
        return __import__(module)  # CI: missing is a failure, not a skip
    return pytest.importorskip(module, reason=f"{module} is not installed (pip install 'scalinglaws[{module}]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------- MLflow

#: What the test logs: run name -> (params, {metric: [(step, value), ...]}).
LOGGED = {
    "small": ({"n_params": "1.5e7", "batch_size": "8", "seq_len": "128"},
              {"train/loss": [(s, 6.0 - 0.01 * s) for s in range(0, 200, 10)],
               "val/loss": [(s, 6.1 - 0.01 * s) for s in (50, 100, 150, 190)],
               "lr": [(s, 1e-3) for s in range(0, 200, 10)]}),
    "big": ({"n_params": "6e7", "batch_size": "8", "seq_len": "128"},
            {"train/loss": [(s, 5.0 - 0.008 * s) for s in range(0, 300, 10)],
             "val/loss": [(s, 5.2 - 0.008 * s) for s in (100, 200, 290)]}),
    "rl": ({}, {"reward": [(s, 0.1 * s) for s in range(5)]}),
}


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    mlflow = _need("mlflow")
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    exe = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or shutil.which("mlflow")
    command = [exe, "server", "--backend-store-uri", f"sqlite:///{root / 'store.db'}", "--default-artifact-root",
               str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log = open(root / "server.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not answer in 120 s")
        client = mlflow.MlflowClient(tracking_uri=uri)
        experiment = client.create_experiment("sweep")
        for name, (params, metrics) in LOGGED.items():
            run = client.create_run(experiment, run_name=name)
            for key, value in params.items():
                client.log_param(run.info.run_id, key, value)
            for key, points in metrics.items():
                for step, value in points:
                    client.log_metric(run.info.run_id, key, value, step=step, timestamp=1_700_000_000_000 + step)
            client.set_terminated(run.info.run_id)
        twin = client.create_run(experiment, run_name="small")  # a second run of the same name (another seed)
        client.log_metric(twin.info.run_id, "train/loss", 4.25, step=10)
        gone = client.create_run(experiment, run_name="gone")
        client.log_metric(gone.info.run_id, "train/loss", 9.0, step=1)
        client.delete_run(gone.info.run_id)
        yield uri
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
        log.close()


def test_mlflow_server_runs_are_read_with_every_logged_step(mlflow_server):
    address = mlflow_server.replace("http://", "mlflow://") + "/sweep"
    result = sl.ingest(address)
    runs = result.runs.set_index("run")
    assert sorted(n.split("@")[0] for n in runs.index) == ["big", "small", "small"]  # rl has no loss: skipped
    curves = result.curves
    for name in ("big",):
        _, metrics = LOGGED[name]
        mine = curves[curves["run"] == name].set_index("step")
        assert {s: v for s, v in metrics["train/loss"]} == mine["loss"].dropna().to_dict()
        assert {s: v for s, v in metrics["val/loss"]} == mine["eval_loss"].dropna().to_dict()
        assert runs.at[name, "N"] == 6e7
        np.testing.assert_array_equal(mine["tokens"].to_numpy(), mine.index.to_numpy() * 8 * 128)
    smalls = [n for n in runs.index if n.startswith("small")]
    assert len(smalls) == 2 and all("@" in n for n in smalls)  # one name, two runs: apart, and said
    assert any("share" in note and "run names" in note for note in result.notes)
    skipped = result.skipped
    assert (skipped["reason"] == "deleted MLflow runs").sum() == 1
    no_loss = skipped[skipped["reason"] == "logs with no loss metric"]
    assert len(no_loss) == 1 and "reward" in no_loss["detail"].iloc[0]


def test_mlflow_server_by_tracking_uri_on_the_command_line(mlflow_server, capsys):
    code, out, err = run_cli(capsys, "ingest", "--tracking-uri", mlflow_server, "sweep")
    assert code == 0, err
    assert "3 runs" in out and "mlflow-server" in out and "deleted MLflow runs: 1" in out
    code, out, err = run_cli(capsys, "ingest", "--tracking-uri", mlflow_server, "nope")
    assert code == 2 and "has no experiment 'nope'" in err and "sweep" in err


def test_mlflow_server_that_is_not_there_is_one_line(capsys):
    _need("mlflow")
    code, out, err = run_cli(capsys, "ingest", f"mlflow://127.0.0.1:{_free_port()}/sweep")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot reach the MLflow tracking server" in err


# ------------------------------------------------------------------------------------------------ W&B offline

WANDB_SCRIPT = r'''
import wandb
for name, n, steps in (("tiny-a", 1.5e7, 60), ("tiny-b", 6e7, 40)):
    run = wandb.init(project="sweep", name=name, config={"n_params": n, "batch_size": 8, "seq_len": 64})
    for s in range(0, steps, 5):
        row = {"train/loss": round(5 - s / 100 - n / 1e9, 6), "trainer/global_step": s, "train/lr": 1e-3}
        if s % 20 == 0:
            row["val/loss"] = round(5.1 - s / 100 - n / 1e9, 6)
        wandb.log(row)
    run.finish()
'''


@pytest.fixture(scope="module")
def wandb_runs(tmp_path_factory):
    _need("wandb")
    root = tmp_path_factory.mktemp("wandb")
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(root), "WANDB_SILENT": "true",
           "WANDB_DISABLE_GIT": "true", "WANDB_CONSOLE": "off"}
    done = subprocess.run([sys.executable, "-c", WANDB_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "wandb"


def test_wandb_offline_runs_are_read_with_the_sdk(wandb_runs):
    folders = sorted(p for p in wandb_runs.iterdir() if p.is_dir() and p.name.startswith("offline-run-"))
    assert len(folders) == 2 and all(list(f.glob("run-*.wandb")) for f in folders)
    result = sl.ingest(wandb_runs)
    runs = result.runs.set_index("run")
    assert sorted(runs.index) == ["tiny-a", "tiny-b"] and set(runs["format"]) == {"wandb-run"}
    for name, n, steps in (("tiny-a", 1.5e7, 60), ("tiny-b", 6e7, 40)):
        mine = result.curves[result.curves["run"] == name].set_index("step")
        want = {s: round(5 - s / 100 - n / 1e9, 6) for s in range(0, steps, 5)}
        assert mine["loss"].dropna().to_dict() == want
        assert mine["eval_loss"].dropna().to_dict() == {s: round(5.1 - s / 100 - n / 1e9, 6)
                                                          for s in range(0, steps, 20)}
        assert (mine["lr"] == 1e-3).all()
        assert runs.at[name, "N"] == n and runs.at[name, "tokens_per_step"] == 8 * 64
    one = sl.ingest(folders[0])  # a run folder named on its own
    assert len(one.runs) == 1 and not math.isnan(one.curves["loss"].iloc[-1])
