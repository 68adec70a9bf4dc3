"""Issue 22's classes for the files ring: nothing a user owns is overwritten by an output, a
model file's forged contents are refused, and loading holds one copy of the weights."""

import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import deltaprop
from deltaprop.errors import UserError
from deltaprop.files.atomic import OutputLock, check_distinct, write_atomic
from deltaprop.files.codec import ModelFileError


def test_a_symlink_planted_at_the_lock_path_is_refused_and_its_target_kept(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's work")
    (tmp_path / ".m.dpm.lock").symlink_to(precious)
    with pytest.raises(UserError, match="not a plain lock file"):
        OutputLock(tmp_path / "m.dpm").acquire()
    assert precious.read_text() == "the user's work"


def test_a_hard_link_at_the_lock_path_is_refused_and_its_file_kept(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's work")
    os.link(precious, tmp_path / ".m.dpm.lock")
    with pytest.raises(UserError, match="not a plain lock file"):
        OutputLock(tmp_path / "m.dpm").acquire()
    assert precious.read_text() == "the user's work"


def test_the_lock_is_still_taken_and_released_on_a_plain_path(tmp_path):
    lock = OutputLock(tmp_path / "m.dpm")
    with lock:
        assert (tmp_path / ".m.dpm.lock").read_text() == str(os.getpid())
    assert not (tmp_path / ".m.dpm.lock").exists()


def test_a_trailing_slash_means_a_directory_never_a_file(tmp_path):
    with pytest.raises(UserError, match="names a directory that does not exist"):
        write_atomic(f"{tmp_path}/newdir/", b"model")
    assert not (tmp_path / "newdir").exists()
    (tmp_path / "there").mkdir()
    with pytest.raises(UserError, match="is a directory"):
        write_atomic(f"{tmp_path}/there/", b"model")


def test_an_output_naming_an_input_by_any_spelling_is_refused(tmp_path, monkeypatch):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    (tmp_path / "link.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    monkeypatch.chdir(tmp_path)
    for spelling in ("d.csv", "./d.csv", str(data), "link.csv", "hard.csv", f"../{tmp_path.name}/d.csv"):
        with pytest.raises(UserError, match=r"--report .* is the same file as DATA"):
            check_distinct({"--out": "m.dpm", "--report": spelling}, {"DATA": [str(data)]})
    assert data.read_text() == "a,b\n1,2\n"


def test_two_outputs_on_one_path_are_refused_even_before_either_exists(tmp_path):
    with pytest.raises(UserError, match="--metrics-json .* is the same file as --out"):
        check_distinct({"--out": tmp_path / "m.dpm", "--metrics-json": tmp_path / "./m.dpm"})
    check_distinct({"--out": tmp_path / "m.dpm", "--metrics-json": tmp_path / "m.json", "--report": None},
                   {"DATA": [tmp_path / "a.parquet", tmp_path / "b.parquet"]})  # distinct: no error


def _network():
    return deltaprop.Network([3, 4, 2], random_state=0)


def test_save_refuses_weights_that_load_would_refuse(tmp_path):
    net = _network()
    theta = net.get_flat()
    theta[3] = np.nan
    net.set_flat(theta)
    with pytest.raises(UserError, match="not all finite"):
        deltaprop.save(net, tmp_path / "m.dpm")
    assert not (tmp_path / "m.dpm").exists()


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # five epochs make a model to forge
def test_classes_that_are_not_distinct_finite_values_are_refused(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.array([0.0, 1.0] * 10)
    clf = deltaprop.MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    clf.classes_ = np.array([np.nan, np.nan])
    deltaprop.save(clf, tmp_path / "m.dpm")
    with pytest.raises(ModelFileError, match="each class once, each a finite value"):
        deltaprop.load(tmp_path / "m.dpm")


def test_loading_holds_one_copy_of_the_weights(tmp_path):
    net = deltaprop.Network([5, 1500, 1500, 1], random_state=0)
    deltaprop.save(net, tmp_path / "m.dpm")
    weights = sum(w.nbytes + b.nbytes for w, b in zip(net.W.values(), net.b.values()))
    del net
    tracemalloc.start()
    loaded = deltaprop.load(tmp_path / "m.dpm")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert tuple(loaded.sizes) == (5, 1500, 1500, 1)
    # the arrays once, plus the finiteness check's boolean temporary (1/8) and a few MiB
    assert peak < 1.2 * weights + (8 << 20), (peak, weights)


def test_a_model_too_big_for_the_memory_left_is_refused_in_one_line(tmp_path, monkeypatch):
    import deltaprop.files.archive as archive

    path = tmp_path / "big.dpm"
    deltaprop.save(deltaprop.Network([5, 3000, 3000, 1], dtype=np.float64, random_state=0), path)
    monkeypatch.setattr(archive, "available_memory", lambda: 40 << 20)  # as if 40 MiB were left
    with pytest.raises(UserError) as refused:
        archive.load(path)
    assert type(refused.value) is UserError
    assert "need 69 MiB of memory and only 40 MiB is available" in str(refused.value)
    assert "\n" not in str(refused.value)


FORMAT_V1 = __import__("pathlib").Path(__file__).parent / "data" / "model-format-v1"


def _forged(tmp_path, base: str, edit):
    from forge import entries_of, forge_checksums, zip_of

    path = tmp_path / "forged.dpm"
    path.write_bytes(zip_of(forge_checksums(entries_of((FORMAT_V1 / base).read_bytes()), edit)))
    return path


@pytest.mark.parametrize(
    "edit, match",
    [
        # a classification task wrapped round a regressor: info, evaluate and predict broke on it
        (lambda d: [m.update(task="classification") for m in (d["model"], d["model"]["target"])],
         "the task is classification but the model holds an MLPRegressor"),
        (lambda d: d["model"]["target"].update(names=["y", "z"], mean=[0.0, 0.0], scale=[1.0, 1.0]),
         "names 2 targets but the network has 1 outputs"),
        (lambda d: d["model"]["target"].update(names=[""]), "distinct, non-empty names"),
    ],
)
def test_fields_that_disagree_with_each_other_are_refused(tmp_path, edit, match):
    path = _forged(tmp_path, "tabular.ckpt.dpm", edit)
    with pytest.raises(ModelFileError, match=match) as info:
        deltaprop.load(path)
    assert "\n" not in str(info.value)


def test_ctrl_c_while_the_command_loads_is_one_line_and_exit_130():
    # a Ctrl-C in the command's first ~70 ms lands in an import: simulate it landing there
    script = textwrap.dedent("""
        import sys
        class Interrupt:
            def find_spec(self, name, path=None, target=None):
                if name == "deltaprop.command.main":
                    raise KeyboardInterrupt
        sys.meta_path.insert(0, Interrupt())
        from deltaprop.command.launch import main
        main(["--help"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 130
    assert done.stderr == "interrupted before anything started; nothing was read or written\n"


def test_a_fifo_given_as_the_model_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "m.dpm"
    os.mkfifo(fifo)  # nobody writes it: opening it to read would block for ever
    with pytest.raises(ModelFileError, match="not a regular file"):
        deltaprop.load(fifo)
