"""The fast paths of ingest give exactly what the plain paths give.

* Large CSV/TSV logs are read by pyarrow where it is installed (:mod:`scalinglaws.io.fastcsv`): every table
  here is read both ways (the size threshold and the head pyarrow's types come from are made small so that the
  tricky cells fall after the head) and must be identical, cell by cell, dtype by dtype; the cases pyarrow would
  read differently must fall back to the C engine.
* Folders of Hugging Face trainer states are read with fewer frames per file; the result is compared with the
  same folder read one file at a time, in this process and in worker processes.

Speed is shown in benchmarks/ingest_speed.py and benchmarks/ingest_states.py, not asserted here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.io import fastcsv, tables

pytest.importorskip("pyarrow")


@pytest.fixture
def small_threshold(monkeypatch):
    """Every file is large enough for the fast reader, and its head is the first 256 bytes."""
    monkeypatch.setattr(fastcsv, "FAST_FROM", 0)
    monkeypatch.setattr(fastcsv, "_HEAD", 256)


def both_ways(path, monkeypatch):
    """(fast table, C-engine table, whether the fast reader gave it) for read_table(path, literal_nan=True)."""
    used = []
    real = fastcsv.read_fast

    def spy(*args):
        out = real(*args)
        used.append(out is not None)
        return out

    monkeypatch.setattr(fastcsv, "read_fast", spy)
    fast, _ = tables.read_table(path, literal_nan=True)
    monkeypatch.setattr(fastcsv, "read_fast", lambda *args: None)
    plain, _ = tables.read_table(path, literal_nan=True)
    monkeypatch.setattr(fastcsv, "read_fast", real)
    return fast, plain, bool(used and used[0])


def same_both_ways(path, monkeypatch) -> bool | None:
    """Read ``path`` as installed and by the C engine alone: the same table (returns whether pyarrow read it), or
    the same error from both (returns None)."""
    try:
        tables.read_table(path, literal_nan=True)
    except sl.InputError as err:  # refused as installed: the C engine alone must refuse it with the same message
        real = fastcsv.read_fast
        monkeypatch.setattr(fastcsv, "read_fast", lambda *args: None)
        with pytest.raises(sl.InputError) as plain_err:
            tables.read_table(path, literal_nan=True)
        monkeypatch.setattr(fastcsv, "read_fast", real)
        assert str(plain_err.value) == str(err)
        return None
    fast, plain, used = both_ways(path, monkeypatch)
    assert_identical(fast, plain)
    return used


def assert_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.columns) == list(b.columns) and list(a.dtypes) == list(b.dtypes)
    assert a.attrs == b.attrs


def curves_text(rows: int = 400, seed: int = 0) -> tuple[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    loss = rng.uniform(0.001, 12, rows) * 10.0 ** rng.integers(-3, 3, rows)
    lines = ["run,step,tokens,lr,loss"]
    for i in range(rows):
        lines.append(f"run-{i // 100},{i % 100 + 1},{(i % 100 + 1) * 4096},{3e-4 / (1 + i)!r},{float(loss[i])!r}")
    return "\n".join(lines) + "\n", loss


def test_a_clean_curves_file_is_read_by_pyarrow_bit_for_bit(tmp_path, monkeypatch, small_threshold):
    text, loss = curves_text()
    path = tmp_path / "curves.csv"
    path.write_text(text)
    fast, plain, used = both_ways(path, monkeypatch)
    assert used
    assert_identical(fast, plain)
    assert fast["loss"].to_numpy().tobytes() == loss.tobytes()  # 17-digit decimals round to the same doubles
    assert str(fast["run"].dtype) == "str" and fast["step"].dtype == np.int64


@pytest.mark.parametrize("tail, fast_expected", [
    ("run-9,1,,1e-4,2.5\n", True),  # an empty cell in an integer column: float64 with NaN, as the C engine
    ("run-9,1,4096,,\n", True),  # empty cells in float columns
    ("run-9,1,4096,1e-4,nan\n", False),  # a logged NaN: text to the C engine
    ("run-9,1,4096,1e-4,inf\n", False),
    ("run-9,1,4096,1e-4,-Infinity\n", False),
    ("run-9,1,4096,1e-4,x\n", False),  # text in a numeric column
    ("run-9,1.5,4096,1e-4,2.0\n", False),  # a fraction in an integer column
    ("run-9,1,99999999999999999999,1e-4,2.0\n", False),  # past int64
    ("\nrun-9,2,8192,1e-4,2.0\n", None),  # a blank line
    ("run-9,1,4096,1e-4, 2.5\n", None),  # a space before a number
    ("run-9,+1,+4096,.5e-3,5.\n", None),  # signs and bare points
    ("\"run,9\",1,4096,1E+05,2\n", True),  # a quoted name with the separator in it
    ("\"run\n9\",1,4096,1e-4,2.0\n", None),  # a quoted newline
    ("run-9,1,4096,1e-4,2.0,7\n", False),  # a row with too many fields
    ("run-9,1,4096,1e-4\n", False),  # too few
    ("NA,1,4096,1e-4,2.0\n", True),  # NA is a name here, not a missing value
    ("run-9,1,4096,1e-4,2.0", True),  # no final newline
])
def test_cells_pyarrow_would_read_differently_fall_back_to_the_c_engine(tmp_path, monkeypatch, small_threshold,
                                                                        tail, fast_expected):
    text, _ = curves_text(rows=40)
    path = tmp_path / "curves.csv"
    path.write_text(text + tail)
    read = same_both_ways(path, monkeypatch)
    if read is not None and fast_expected is not None:
        assert read == fast_expected


@pytest.mark.parametrize("name, content", [
    ("bom.csv", "\ufeffstep,loss\n" + "".join(f"{i},{1 / (i + 1)!r}\n" for i in range(50))),
    ("tabs.tsv", "step\tloss\teval_loss\n" + "".join(f"{i}\t{1 / (i + 1)!r}\t{'' if i % 7 else 2.5}\n"
                                                     for i in range(50))),
    ("crlf.csv", "step,loss\r\n" + "".join(f"{i},{1 / (i + 1)!r}\r\n" for i in range(50))),
    ("dupes.csv", "step,loss,loss\n" + "".join(f"{i},{i}.5,{i}.25\n" for i in range(50))),
    ("unnamed.csv", "step,,loss\n" + "".join(f"{i},a,{i}.5\n" for i in range(50))),
    ("bools.csv", "step,loss,done\n" + "".join(f"{i},{i}.5,{i > 40}\n" for i in range(50))),
    ("dates.csv", "step,loss,time\n" + "".join(f"{i},{i}.5,2024-01-{i % 28 + 1:02d}\n" for i in range(50))),
    ("late_eval.csv", "step,loss,eval_loss\n" + "".join(f"{i},{i}.5,{'' if i < 45 else 1.25}\n"
                                                        for i in range(50))),
    ("late_text.csv", "step,loss,note\n" + "".join(f"{i},{i}.5,{'' if i < 45 else 'resumed'}\n"
                                                   for i in range(50))),
    ("one_column.csv", "step\n" + "".join(f"{i}\n" for i in range(50))),
    ("latin1.csv", None),
])
def test_other_layouts_read_identically(tmp_path, monkeypatch, small_threshold, name, content):
    path = tmp_path / name
    if content is None:
        path.write_bytes(b"step,loss\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(50)) + b"9,caf\xe9\n")
    else:
        path.write_text(content, encoding="utf-8", newline="")
    same_both_ways(path, monkeypatch)


def test_quoted_newlines_where_pyarrow_splits_the_file_into_blocks(tmp_path, monkeypatch, small_threshold):
    monkeypatch.setattr(fastcsv, "_BLOCK", 997)  # blocks end inside quoted names, at many places
    rng = np.random.default_rng(5)
    lines = ["run,step,loss"]
    for i in range(3000):
        name = f'"run\n{rng.integers(100)}"' if rng.random() < 0.3 else f"r{i % 7}"
        lines.append(f"{name},{i},{float(rng.random())!r}")
    path = tmp_path / "curves.csv"
    path.write_text("\n".join(lines) + "\n")
    fast, plain, used = both_ways(path, monkeypatch)
    assert used
    assert_identical(fast, plain)


def test_without_pyarrow_the_c_engine_reads_the_file(tmp_path, monkeypatch, small_threshold):
    import builtins

    text, _ = curves_text()
    path = tmp_path / "curves.csv"
    path.write_text(text)
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert fastcsv.read_fast(path, ",") is None
    assert not fastcsv.available()


def test_ingest_of_a_curves_file_is_the_same_read_either_way(tmp_path, monkeypatch, small_threshold):
    text, _ = curves_text(rows=1000, seed=3)
    lines = text.splitlines()
    lines[0] += ",eval_loss"
    lines[1:] = [line + ("," + repr(2.0 + i / 1000) if i % 50 == 0 else ",") for i, line in enumerate(lines[1:])]
    path = tmp_path / "curves.csv"
    path.write_text("\n".join(lines) + "\n")
    fast = sl.ingest(path)
    monkeypatch.setattr(fastcsv, "read_fast", lambda *args: None)
    plain = sl.ingest(path)
    pd.testing.assert_frame_equal(fast.curves, plain.curves, check_exact=True)
    pd.testing.assert_frame_equal(fast.runs, plain.runs, check_exact=True)
    pd.testing.assert_frame_equal(fast.skipped, plain.skipped, check_exact=True)
    assert fast.notes == plain.notes


FIXTURES = sorted(p for p in (Path(__file__).parent / "fixtures").rglob("*") if p.suffix in (".csv", ".tsv", ".txt", ".log")
                  and p.is_file())


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(Path(__file__).parent / "fixtures")))
def test_every_table_fixture_reads_the_same_through_pyarrow(path, monkeypatch, small_threshold):
    """The real and written CSV/TSV fixtures, read as tables both ways (those that are tables at all)."""
    try:
        plain = tables.read_table(path, literal_nan=True)[0]
    except sl.InputError:
        pytest.skip("not a table the C engine reads")
    fast, plain, _ = both_ways(path, monkeypatch)
    assert_identical(fast, plain)


def test_every_log_folder_ingests_the_same_through_pyarrow(monkeypatch, small_threshold):
    root = Path(__file__).parent / "fixtures" / "logs"
    for folder in ("plain", "mixed", "lightning", "wandb", "public", "real", "generated"):
        fast = sl.ingest(root / folder)
        with monkeypatch.context() as m:
            m.setattr(fastcsv, "read_fast", lambda *args: None)
            plain = sl.ingest(root / folder)
        for name in ("curves", "runs", "files", "skipped"):
            pd.testing.assert_frame_equal(getattr(fast, name), getattr(plain, name), check_exact=True)
        assert fast.notes == plain.notes


# ------------------------------------------------------------------------------------------ trainer states

def test_rows_of_one_step_are_merged_as_groupby_last_merges_them():
    from scalinglaws.io.ingestion import _merge_steps

    rng = np.random.default_rng(2)
    for trial in range(30):
        n = int(rng.integers(1, 60))
        run_of = np.sort(rng.integers(0, 3, n))
        steps = rng.integers(0, 8, n)
        values = np.where(rng.random((3, n)) < 0.4, np.nan, rng.standard_normal((3, n)))
        values[0, rng.random(n) < 0.1] = np.inf
        frame = pd.DataFrame({"run": pd.Series([f"r{r}" for r in run_of], dtype="str"), "step": steps,
                              "loss": values[0], "eval_loss": values[1], "lr": values[2],
                              "tokens": np.broadcast_to(np.float64(np.nan), n)}, copy=False)
        expected = frame.assign(_run=run_of).groupby(["_run", "step"], sort=True, as_index=False).last()
        expected = expected.drop(columns="_run")[list(frame.columns)]
        pd.testing.assert_frame_equal(_merge_steps(frame, run_of).reset_index(drop=True), expected,
                                      check_exact=True)


def write_states(root, runs=12, entries=30, nan_at=None):
    rng = np.random.default_rng(4)
    for r in range(runs):
        history = []
        for i in range(1, entries + 1):
            loss = float("nan") if (nan_at is not None and r == 0 and i == nan_at) else float(4 * i ** -0.1 +
                                                                                               rng.random() / 100)
            history.append({"epoch": i / entries, "grad_norm": float(rng.random()), "learning_rate": 1e-4 / i,
                            "loss": loss, "num_input_tokens_seen": i * 65536, "step": 10 * i})
            if i % 10 == 0:
                history.append({"epoch": i / entries, "eval_loss": 4.1 * i ** -0.1, "eval_runtime": 1.2,
                                "step": 10 * i})
        history.append({"epoch": 1.0, "step": 10 * entries, "total_flos": 1.5e20, "train_loss": 3.1})
        state = {"global_step": 10 * entries, "log_history": history, "total_flos": 12345678901234567890123}
        for folder in (root / f"run-{r:02d}", root / f"run-{r:02d}" / "checkpoint-100"):
            folder.mkdir(parents=True, exist_ok=True)
            keep = history if folder.name.startswith("run") else history[:11]
            (folder / "trainer_state.json").write_text(json.dumps({**state, "log_history": keep}, indent=1))


def test_a_folder_of_trainer_states_reads_the_same_with_and_without_orjson_in_workers_or_not(tmp_path, monkeypatch):
    from scalinglaws.io import huggingface

    pytest.importorskip("orjson")
    write_states(tmp_path, nan_at=5)
    fast = sl.ingest(tmp_path, n_jobs=1)
    two = sl.ingest(tmp_path, n_jobs=2)
    monkeypatch.setattr(huggingface, "_orjson", None)
    plain = sl.ingest(tmp_path, n_jobs=1)
    for other in (two, plain):
        for name in ("curves", "runs", "files", "skipped"):
            pd.testing.assert_frame_equal(getattr(fast, name), getattr(other, name), check_exact=True)
        assert fast.notes == other.notes
    assert fast.skipped["reason"].str.contains("superseded").sum() == 12  # the checkpoints' prefixes
    assert fast.runs["diverged"].sum() == 1  # the NaN loss, read as a logged NaN by either reader


def _tricky_states(root):
    """States whose entries of one step agree, disagree, hold None or text, repeat keys, or go back (a restart)."""
    t = lambda step, **kw: {"step": step, "epoch": step / 100, **kw}  # noqa: E731
    histories = {
        "agree": [t(10, loss=3.0, num_input_tokens_seen=640), t(10, eval_loss=3.2, num_input_tokens_seen=640),
                  t(20, loss=2.9), t(20, eval_loss=3.1), t(20, eval_acc=0.5), t(30, loss=2.8)],
        "disagree": [t(10, loss=3.0), t(10, loss=3.1, eval_loss=3.3), t(20, loss=2.9), t(20, loss=float("nan"))],
        "none": [t(10, loss=3.0, grad_norm=None), t(10, grad_norm=1.5, eval_loss=3.2), t(20, loss=None),
                 t(20, loss=2.9), t(30, loss=2.8, learning_rate=1e-4), t(30, learning_rate=None, eval_loss=3.0)],
        "text": [t(10, loss=3.0, note="a"), t(10, note="a", eval_loss=3.2), t(20, loss="2.9"), t(20, loss=2.9),
                 t(30, loss=2.7), t(30, loss=2.7, flag=True), t(30, flag=True)],
        "restart": [t(10, loss=3.0), t(10, eval_loss=3.2), t(20, loss=2.9), t(20, eval_loss=3.1), t(10, loss=3.05),
                    t(10, eval_loss=3.25), t(20, loss=2.95), t(30, loss=2.8), t(30, eval_loss=3.0)],
        "ints": [t(10, loss=3, eval_loss=3.5), t(10, loss=3.0), t(20, loss=2.5), t(20, loss=2.5)],
    }
    for name, history in histories.items():
        (root / name).mkdir()
        (root / name / "trainer_state.json").write_text(json.dumps({"log_history": history}))


def test_entries_of_one_step_merged_on_the_dicts_give_what_the_ingest_merge_gives(tmp_path, monkeypatch):
    from scalinglaws.io import huggingface

    _tricky_states(tmp_path)
    write_states(tmp_path / "more", runs=3)
    merged = sl.ingest(tmp_path, n_jobs=1)
    monkeypatch.setattr(huggingface, "_merge_same_steps", lambda records: records)
    _same(merged, sl.ingest(tmp_path, n_jobs=1))
    assert "rows replaced by a restart" in set(merged.skipped["reason"])


def test_trainer_states_handed_over_as_columns_ingest_as_their_frames_do(tmp_path, monkeypatch):
    """The trainer-state parser hands over its columns (no frame per state); the same records as a frame, as
    the other parsers give them, must ingest to the same tables, in this process and in workers."""
    from scalinglaws.io import huggingface
    from scalinglaws.io.logs import Columns, wide_from_records

    _tricky_states(tmp_path)
    write_states(tmp_path / "more", runs=3, nan_at=5)
    clash = [{"step": 10, "loss": 3.0, "run": 1.0}, {"step": 20, "loss": 2.9, "run": 2.0}]  # a metric named run
    (tmp_path / "clash").mkdir()
    (tmp_path / "clash" / "trainer_state.json").write_text(json.dumps({"log_history": clash}))
    handed = []
    wide_columns = huggingface.wide_columns
    monkeypatch.setattr(huggingface, "wide_columns", lambda *a: handed.append(wide_columns(*a)) or handed[-1])
    columns = sl.ingest(tmp_path, n_jobs=1)
    assert all(isinstance(table, Columns) for table, _ in handed)
    two = sl.ingest(tmp_path, n_jobs=2)
    monkeypatch.setattr(huggingface, "wide_columns", wide_from_records)
    framed = sl.ingest(tmp_path, n_jobs=1)
    _same(columns, framed)
    _same(two, framed)


def _busy_folder(root):
    """Logs that exercise what the ingest does across logs: superseded checkpoints, runs named alike by their
    files, a run spread over two logs, restarts, text values, and the mixed fixture folder."""
    write_states(root / "states", runs=40, nan_at=5)  # 80 states: chunks of several, superseded ones inside
    (root / "tricky").mkdir(parents=True)
    _tricky_states(root / "tricky")
    for name, loss in (("a", 4.0), ("b", 5.0)):
        (root / "text" / name).mkdir(parents=True)
        (root / "text" / name / "main.log").write_text(f"s:0 trl:{loss}\ns:1 trl:{loss - 1}\ns:2 trl:{loss - 1.5}\n")
    (root / "spread").mkdir()
    (root / "spread" / "train.csv").write_text("run,step,loss\nshared,1,3.0\nshared,2,2.8\nalone,1,3.3\n")
    (root / "spread" / "eval.csv").write_text("run,step,eval_loss\nshared,1,3.1\nshared,2,2.9\n")
    shutil.copytree(Path(__file__).parent / "fixtures" / "logs" / "mixed", root / "mixed")


def test_a_chunk_of_logs_sent_back_as_one_frame_ingests_as_log_by_log(tmp_path, monkeypatch):
    """Workers send each chunk's settled rows as one frame (io.logs.Rows); renamed, merged and superseded runs
    must come out as they do when each log keeps its own frame. The worker path runs here, in this process,
    to see that the chunks were joined."""
    import scalinglaws._parallel as parallel
    from scalinglaws.io import ingestion
    from scalinglaws.io.logs import Rows

    _busy_folder(tmp_path)
    alone = sl.ingest(tmp_path, n_jobs=1)
    assert any("spread over 2 logs" in n for n in alone.notes)
    assert any("named by their paths" in n for n in alone.notes)
    assert alone.skipped["reason"].str.contains("superseded").any()
    joined = []

    def in_process(function, tasks, **_):
        out = [function(*task) for task in tasks]
        joined.extend(r.settled[0] for chunk in out for tables, _, _ in chunk for _, r in tables
                      if r is not None and r.settled is not None)
        return out

    monkeypatch.setattr(parallel, "run_tasks", in_process)
    monkeypatch.setattr(ingestion, "_CHUNK", 8)
    chunked = sl.ingest(tmp_path, n_jobs=2)
    assert sum(isinstance(rows, Rows) for rows in joined) > len(joined) / 2
    _same(alone, chunked)
    monkeypatch.undo()
    _same(alone, sl.ingest(tmp_path, n_jobs=2))  # and in worker processes


def test_running_median_is_the_pandas_rolling_median():
    from scalinglaws.io.checks import _running_median

    rng = np.random.default_rng(5)
    for n in (5, 6, 7, 20, 21, 22, 57, 200, 399, 400):
        for window in (5, 7, 21):
            if window <= n:
                values = np.round(rng.standard_normal(n), 1)  # ties, as logged losses have
                expected = pd.Series(values).rolling(window, center=True, min_periods=1).median().to_numpy()
                np.testing.assert_array_equal(_running_median(values, window), expected)


@pytest.mark.parametrize("text", ['{"a": [1, {"b": 123456789012345678901234567890}]}', '{"a": NaN, "b": null}',
                                  '{"a": 1e400}', '{"a": -9223372036854775809, "c": 18446744073709551615}',
                                  '{"s": "\\ud800"}', '{"a": 1, "a": 2.5}', '[1.5, 2.25e-308, "x", true, null]',
                                  '[123456789012345678901234567890]', '{"a":-123456789012345678901}', '1e19',
                                  '[0.12345678901234567890123, 1.5e+300, -1E-5, 12345678901234567.5]',
                                  '{"\\u00e9": 99999999999999999999, "b": [1,99999999999999999999]}'])
def test_orjson_reads_json_as_the_standard_library_does(text):
    from scalinglaws.io.huggingface import _loads

    pytest.importorskip("orjson")
    assert repr(_loads(text)) == repr(json.loads(text))


def test_entry_fingerprints_are_equal_exactly_for_equal_entries():
    from scalinglaws.io.huggingface import _fingerprint

    entries = [{"loss": 1.0, "step": 1}, {"step": 1, "loss": 1.0}, {"loss": 1, "step": 1}, {"loss": None, "step": 1},
               {"loss": float("nan"), "step": 1}, {"loss": "null", "step": 1}, {"loss": True, "step": 1},
               {"loss": 2**70, "step": 1}]
    prints = [_fingerprint(e) for e in entries]
    assert prints[0] == prints[1]
    assert len(set(prints[1:])) == len(entries) - 1
    assert _fingerprint({"loss": float("nan")}) == _fingerprint({"loss": float("nan")})  # as json.dumps says


@pytest.mark.parametrize("history", [
    [{"loss": 2.5, "step": 1}, {"step": 2, "loss": 2.25, "learning_rate": 1e-05}],
    [{"loss": 2.5, "step": 1, "note": "a},{b"}, {"step": 2, "loss": 2.25}],  # the separator inside a value
    [{"loss": 2.5, "step": 1, "sets": [{"a": 1}, {"b": 2}]}, {"step": 2}],  # inside a nested value
    [{"loss": float("nan"), "step": 1}, {"loss": None, "step": 2}],  # null: the standard library's encoding
    [{"loss": 2**70, "step": 1}], [{}], [{}, {}], [],
    [{"step": 1, "loss": 1.0}, {"step": 1, "loss": 1}]])
def test_fingerprints_of_a_history_are_those_of_its_entries(history):
    from scalinglaws.io.huggingface import _fingerprint, _fingerprints

    assert _fingerprints(history) == tuple(_fingerprint(e) for e in history)


# ------------------------------------------------------------------------------------------ worker processes

def _same(a, b):
    for name in ("curves", "runs", "files", "skipped"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.notes == b.notes


@pytest.mark.parametrize("folder", ["plain", "mixed", "huggingface", "public", "real", "generated", "lightning",
                                    "wandb", "text"])
def test_workers_that_also_settle_the_tables_give_what_this_process_gives(folder):
    root = Path(__file__).parent / "fixtures" / "logs" / folder
    _same(sl.ingest(root, n_jobs=1), sl.ingest(root, n_jobs=2, progress=False))


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True, "2"])
def test_a_number_of_workers_that_means_nothing_is_refused(n_jobs):
    root = Path(__file__).parent / "fixtures" / "logs" / "huggingface"
    with pytest.raises(sl.InputError, match="n_jobs must be a number of processes >= 1, or -1"):
        sl.ingest(root, n_jobs=n_jobs)


def test_workers_replay_restarts_choices_skips_and_errors_in_order(tmp_path):
    steps = np.arange(10, 110, 10)
    pd.DataFrame({"step": np.r_[steps, steps[4:]], "loss": np.linspace(4, 3, 16)}).to_csv(tmp_path / "a.csv",
                                                                                          index=False)
    pd.DataFrame({"step": steps, "eval_loss": 3.5, "eval_code_loss": 3.6, "loss": 3.0}).to_csv(tmp_path / "b.csv",
                                                                                            index=False)
    pd.DataFrame({"step": steps, "accuracy": 0.5}).to_csv(tmp_path / "c.csv", index=False)  # no loss
    (tmp_path / "d.csv").write_text("step,loss\n")  # no steps
    one, two = sl.ingest(tmp_path, n_jobs=1), sl.ingest(tmp_path, n_jobs=2, progress=False)
    _same(one, two)
    assert "rows replaced by a restart" in set(one.skipped["reason"]) and one.notes
    pd.DataFrame({"step": steps, "loss": 3.0, "lr": -1.0}).to_csv(tmp_path / "e.csv", index=False)
    errors = []
    for n_jobs in (1, 2):
        with pytest.raises(sl.InputError) as err:
            sl.ingest(tmp_path, n_jobs=n_jobs, progress=False)
        errors.append(str(err.value))
    assert errors[0] == errors[1] and "lr must be >= 0" in errors[0]
