"""deltaprop.save / deltaprop.load: round trips, atomic writes, and files that must be refused."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import deltaprop as dp
from deltaprop.errors import UserError
from deltaprop.files.archive import ModelFileError, write_atomic

# the round trips train for a handful of epochs on purpose: not converging is expected here
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _fit_regressor(rng):
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    return X, dp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)


@pytest.fixture
def regressor_file(tmp_path, rng):
    X, est = _fit_regressor(rng)
    path = tmp_path / "r.dpm"
    dp.save(est, path)
    return X, est, path


def _rewrite(path, out, edit, forge_checksums=True):
    """Copy a model file with ``edit(entries)`` applied, checksums recomputed like a careful forger
    (or left as they were, with ``forge_checksums=False``)."""
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    edit(entries)
    if forge_checksums:
        _forge_checksums(entries)
    with zipfile.ZipFile(out, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)
    return out


def _forge_checksums(entries):
    doc = json.loads(entries["deltaprop.json"])
    for name in doc["arrays"]:
        blob = entries.get(f"arrays/{name}.npy")
        if blob is not None:
            doc["arrays"][name]["sha256"] = hashlib.sha256(blob).hexdigest()
            try:
                a = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)
                doc["arrays"][name].update(dtype=a.dtype.name, shape=list(a.shape))
            except ValueError:
                pass
    meta = json.dumps(doc).encode()
    entries["deltaprop.json"] = meta
    entries["deltaprop.json.sha256"] = hashlib.sha256(meta).hexdigest().encode()


def test_regressor_round_trip_predicts_the_same(regressor_file):
    X, est, path = regressor_file
    back = dp.load(path)
    assert type(back) is dp.MLPRegressor
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert back.loss_curve_ == est.loss_curve_
    assert back.gradient_norms_ == est.gradient_norms_
    assert back.get_params()["hidden_layer_sizes"] == (5,)


@pytest.mark.parametrize("labels", [["cat", "dog", "emu"], [3, 7], [True, False]])
def test_classifier_round_trip_keeps_labels_and_probabilities(tmp_path, rng, labels):
    X = rng.normal(size=(60, 2))
    y = np.array(labels, dtype=object)[np.arange(60) % len(labels)]
    y = np.array(y.tolist())
    est = dp.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    dp.save(est, tmp_path / "c.dpm")
    back = dp.load(tmp_path / "c.dpm")
    assert back.classes_.tolist() == est.classes_.tolist()
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    assert back.predict(X).tolist() == est.predict(X).tolist()


def test_network_round_trip_and_numpy_can_read_the_file(tmp_path):
    net = dp.Network([3, 4, 2], activation="tanh", random_state=1)
    dp.save(net, tmp_path / "n.dpm")
    back = dp.load(tmp_path / "n.dpm")
    for l in net.layers:
        np.testing.assert_array_equal(back.W[l], net.W[l])
        np.testing.assert_array_equal(back.b[l], net.b[l])
    with np.load(tmp_path / "n.dpm", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["arrays/W_3"], net.W[3])
        assert json.loads(npz["deltaprop.json"])["format"] == "deltaprop-model"


def test_resumed_fit_works_on_a_loaded_estimator(regressor_file):
    X, est, path = regressor_file
    back = dp.load(path)
    back.set_params(warm_start=True, max_iter=3)
    back.fit(X, X @ np.array([1.0, -2.0, 0.5]))
    assert len(back.loss_curve_) == len(est.loss_curve_) + 3


def test_tabular_model_round_trip(tmp_path):
    from deltaprop.command.train import TrainOptions, train

    frame = pd.DataFrame(
        {"a": np.arange(40.0) % 7, "c": ["x", "y", "z", "y"] * 10, "t": np.arange(40.0) ** 0.5}
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = train(
        TrainOptions(
            data=str(tmp_path / "d.csv"),
            targets=("t",),
            epochs=3,
            hidden=(4,),
            out=str(tmp_path / "m.dpm"),
            no_report=True,
            quiet=True,
        )
    )
    back = dp.load(tmp_path / "m.dpm")
    new = pd.DataFrame({"a": [1.0, 2.0], "c": ["y", "never seen"]})
    np.testing.assert_array_equal(back.predict(new), result.model.predict(new))
    assert back.features.to_dict() == result.model.features.to_dict()
    assert back.history["loss_curve"] == result.model.history["loss_curve"]


def test_save_refuses_an_unfitted_estimator(tmp_path):
    with pytest.raises(UserError, match="not fitted"):
        dp.save(dp.MLPRegressor(), tmp_path / "x.dpm")
    assert not (tmp_path / "x.dpm").exists()


def test_a_failed_write_leaves_the_old_file_byte_for_byte(tmp_path, monkeypatch, regressor_file):
    _, est, path = regressor_file
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(UserError, match="No space left"):
        dp.save(est, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.dpm"]  # no temporary file left


def test_an_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def interrupted_fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"new contents")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_a_pickle_is_refused_without_being_run(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.dpm"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError, match="pickle"):
        dp.load(path)
    assert not marker.exists()


def test_an_object_array_inside_a_model_is_refused(tmp_path, regressor_file):
    _, _, path = regressor_file
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([Payload()], dtype=object), allow_pickle=True)

    def edit(entries):
        entries["arrays/W_2.npy"] = buf.getvalue()

    forged = _rewrite(path, tmp_path / "forged.dpm", edit)
    with pytest.raises(ModelFileError, match="not a plain numeric array"):
        dp.load(forged)
    assert not marker.exists()


def test_edited_bytes_fail_the_checksum(tmp_path, regressor_file):
    _, _, path = regressor_file

    def edit(entries):
        doc = json.loads(entries["deltaprop.json"])
        doc["model"]["estimator"]["network"]["sizes"][1] = 6
        entries["deltaprop.json"] = json.dumps(doc).encode()

    with pytest.raises(ModelFileError, match="checksum"):
        dp.load(_rewrite(path, tmp_path / "t.dpm", edit, forge_checksums=False))


def test_weights_that_do_not_fit_the_architecture_are_refused(tmp_path, regressor_file):
    _, _, path = regressor_file

    def edit(entries):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.zeros((5, 2)))
        entries["arrays/W_2.npy"] = buf.getvalue()

    with pytest.raises(ModelFileError, match="shape"):
        dp.load(_rewrite(path, tmp_path / "bad.dpm", edit))


def test_a_newer_format_asks_for_an_upgrade(tmp_path, regressor_file):
    _, _, path = regressor_file

    def edit(entries):
        doc = json.loads(entries["deltaprop.json"])
        doc["format_version"] = 99
        entries["deltaprop.json"] = json.dumps(doc).encode()

    with pytest.raises(ModelFileError, match="newer deltaprop.*upgrade"):
        dp.load(_rewrite(path, tmp_path / "new.dpm", edit))


@pytest.mark.parametrize("cut", [0, 10, 200, -30])
def test_truncated_files_are_refused(tmp_path, regressor_file, cut):
    _, _, path = regressor_file
    data = path.read_bytes()
    (tmp_path / "cut.dpm").write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(ModelFileError):
        dp.load(tmp_path / "cut.dpm")


# ---------------------------------------------------------------------- loss parameters, new options
@pytest.mark.parametrize("loss, params", [("huber", {"huber_epsilon": 0.3}), ("quantile", {"quantile": 0.9})])
def test_a_loaded_model_keeps_its_loss_parameter(tmp_path, rng, loss, params):
    X = rng.normal(size=(40, 3))
    y = X[:, 0] - X[:, 1]
    est = dp.MLPRegressor(hidden_layer_sizes=(4,), loss=loss, max_iter=3, random_state=0, **params).fit(X, y)
    dp.save(est, tmp_path / "r.dpm")
    back = dp.load(tmp_path / "r.dpm")
    assert back.network_.loss_params == est.network_.loss_params != dp.Network([1, 1], loss=loss).loss_params
    net = dp.Network([3, 2, 1], loss=loss, **{"epsilon" if loss == "huber" else "quantile": 0.2})
    dp.save(net, tmp_path / "n.dpm")
    assert dp.load(tmp_path / "n.dpm").loss_params == net.loss_params


@pytest.mark.parametrize("bad, why", [
    ({"epsilon": "INF"}, "not valid JSON"),  # the metadata's parser refuses non-finite numbers itself
    ({"epsilon": {"$float": "inf"}}, "loss_params.epsilon must be a finite number"),
    ({"epsilon": -1.0}, "loss_params: huber needs epsilon > 0"),
    ({"epsilon": "1"}, "loss_params.epsilon must be a finite number"),
    ({"quantile": 0.5}, "loss_params: loss 'huber' has no parameter 'quantile'"),
    ([], "loss_params must be a mapping"),
])
def test_loss_parameters_that_are_not_finite_known_numbers_are_refused(tmp_path, rng, bad, why):
    X = rng.normal(size=(30, 2))
    est = dp.MLPRegressor(hidden_layer_sizes=(3,), loss="huber", max_iter=2, random_state=0).fit(X, X[:, 0])
    dp.save(est, tmp_path / "h.dpm")

    def edit(entries):
        doc = json.loads(entries["deltaprop.json"])
        doc["model"]["estimator"]["network"]["loss_params"] = bad
        # 1e999 is valid JSON text that a parser reads as infinity
        entries["deltaprop.json"] = json.dumps(doc).replace('"INF"', "1e999").encode()

    with pytest.raises(ModelFileError, match=why):
        dp.load(_rewrite(tmp_path / "h.dpm", tmp_path / "bad.dpm", edit))


def test_estimators_with_the_new_options_round_trip(tmp_path, rng):
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    options = dict(dropout=0.2, weight_decay=0.01, max_grad_norm=1.0, warmup_iter=2, solver="adamw",
                   learning_rate="cosine", scoring="accuracy", early_stopping=True)
    est = dp.MLPClassifier(hidden_layer_sizes=(4,), max_iter=4, random_state=0, **options).fit(X, y)
    dp.save(est, tmp_path / "c.dpm")
    back = dp.load(tmp_path / "c.dpm")
    assert {k: back.get_params()[k] for k in options} == options
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    # a callable scorer is code, not data: the file leaves it out and the loaded model has the default
    est.set_params(scoring=lambda e, X_, y_: 0.0)
    dp.save(est, tmp_path / "f.dpm")
    assert dp.load(tmp_path / "f.dpm").scoring is None


# ---------------------------------------------------------------------- files written by earlier code
FORMAT_V1 = Path(__file__).parent / "data" / "model-format-v1"


@pytest.mark.parametrize("name", sorted(p.name for p in FORMAT_V1.glob("*.dpm")))
def test_files_written_in_format_1_still_load_with_their_weights(name):
    path = FORMAT_V1 / name
    model = dp.load(path)
    net = getattr(model, "network_", model)
    prefix = json.loads(zipfile.ZipFile(path).read("deltaprop.json"))
    with np.load(path, allow_pickle=False) as npz:
        stored = {k[len("arrays/") : -len(".npy")] if k.endswith(".npy") else k: npz[k] for k in npz.files}
    sizes = net.sizes
    assert len(sizes) == 3 and prefix["format_version"] == 1
    for l in net.layers:
        key = next(k for k in stored if k.endswith(f"W_{l}"))
        np.testing.assert_array_equal(net.W[l], stored[key])
        np.testing.assert_array_equal(net.b[l], stored[key.replace("W_", "b_")])


def test_format_1_files_keep_labels_history_and_checkpoint():
    assert dp.load(FORMAT_V1 / "classifier-int.dpm").classes_.tolist() == [3, 7]
    assert dp.load(FORMAT_V1 / "classifier-text.dpm").classes_.tolist() == ["a", "b", "c"]
    tab = dp.load(FORMAT_V1 / "tabular.ckpt.dpm")
    theta = tab.network_.get_flat()
    np.testing.assert_array_equal(tab.history["checkpoint"]["best_theta"], theta * 0.5)
    assert tab.history["run"]["rows"] == 40 and len(tab.history["loss_curve"]) == 4
    pred = tab.predict(pd.DataFrame({"a": [1.0, 2.0], "c": ["y", "x"]}))
    assert pred.shape == (2,) and np.isfinite(pred).all()
    assert set(dp.load(FORMAT_V1 / "tabular-classifier.dpm").estimator.classes_.tolist()) == {"x", "y", "z"}


# ---------------------------------------------------------------------- litter, locks, Ctrl-C
def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_write_killed_midway_leaves_a_temp_file_that_the_next_write_removes(tmp_path):
    path = tmp_path / "m.dpm"
    path.write_bytes(b"old")
    code = (
        "import os, time, sys\n"
        "from deltaprop.files import write_atomic\n"
        "os.fsync = lambda fd: (print('writing', flush=True), time.sleep(60))\n"
        f"write_atomic({str(path)!r}, b'x' * 100000)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(dp.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    litter = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(litter) == 1 and path.read_bytes() == b"old"
    live = tmp_path / f".m.dpm.{os.getpid()}.another.tmp"  # a live writer's file is left alone
    live.write_bytes(b"")
    write_atomic(path, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.dpm", live.name])
    assert path.read_bytes() == b"new"


def test_only_temp_files_of_dead_writers_are_removed(tmp_path):
    from deltaprop.files.atomic import remove_stale_temps

    path = tmp_path / "m.dpm"
    dead = tmp_path / f".m.dpm.{_dead_pid()}.abc123.tmp"
    other = tmp_path / f".other.dpm.{_dead_pid()}.abc123.tmp"
    for p in (dead, other):
        p.write_bytes(b"")
    assert remove_stale_temps(path) == [dead]
    assert other.exists()


def test_a_second_writer_is_refused_naming_the_process_and_a_dead_ones_lock_is_taken_over(tmp_path):
    from deltaprop.files import OutputLock

    path = tmp_path / "m.dpm"
    code = (
        "import sys, time\n"
        "from deltaprop.files import OutputLock\n"
        f"lock = OutputLock({str(path)!r}); lock.acquire(); print('held', flush=True); time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(dp.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"held"
        held = rf"being written by another deltaprop run \(process {proc.pid}\)"
        with pytest.raises(UserError, match=held):
            OutputLock(path, "--out").acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (tmp_path / ".m.dpm.lock").read_text() == str(proc.pid)  # the dead run's lock file is left
    with OutputLock(path) as lock:
        assert lock.path.read_text() == str(os.getpid())
    assert not (tmp_path / ".m.dpm.lock").exists()


def test_the_interrupt_guard_raises_once_and_holds_presses_during_a_save():
    from deltaprop.files import InterruptGuard

    def press():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler runs at the next bytecode boundary

    with InterruptGuard() as guard:
        with pytest.raises(KeyboardInterrupt):
            press()
        press()  # the second press is held: the caller is saving the best model
        assert guard.presses == 2
    with InterruptGuard() as guard:
        with pytest.raises(KeyboardInterrupt):
            with guard.saving():
                press()
                saved = True  # the block ran to the end before the press was raised
        assert saved
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
