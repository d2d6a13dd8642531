"""The thread policy: the choice from size, load and cores; the overrides; the log line; bad values refused."""
import subprocess
import sys

import pytest
import torch
from threadpoolctl import threadpool_info

from rnnlab import threads
from rnnlab.cli import main
from rnnlab.config import TrainConfig
from rnnlab.train import train_run

OPTIONS = {"n_train": 64, "n_val": 16, "n_test": 16, "length": 5}
BIG = 10 * threads.WORK_PER_THREAD


def _config(**settings):
    return TrainConfig.from_flat({"task": "xor", "task_options": OPTIONS, "hidden_size": 4, "epochs": 1,
                                  "batch_size": 32, **settings})


@pytest.mark.parametrize(("work", "others", "cores", "expected"), [
    (2.6e6, 0.0, 2, 1),            # the main job's RNN: a second thread does not pay even on a quiet machine
    (BIG, 0.0, 2, 2),              # a big model on a quiet machine: every core
    (BIG, 0.4, 2, 2),              # a little load rounds away
    (BIG, 1.0, 2, 1),              # beside one busy process: the free core only
    (BIG, 5.0, 2, 1),              # a crowded machine: never fewer than one
    (BIG, 1.0, 8, 7),
    (2.5 * threads.WORK_PER_THREAD, 0.0, 8, 3),   # the size caps it below the cores
])
def test_the_choice_follows_size_load_and_cores(work, others, cores, expected):
    assert threads.choose_threads(work, others, cores) == expected


@pytest.mark.parametrize(("parts", "others", "cores", "expected"), [
    (2, 0.0, 2, 2),                # a batch in two parts on a quiet machine: a thread each
    (2, 1.0, 2, 1),                # beside one busy process: the free core only
    (4, 0.0, 2, 2),                # never more threads than cores
    (1, 0.0, 2, 1),
])
def test_a_batch_that_splits_takes_a_thread_per_part(parts, others, cores, expected):
    assert threads.choose_threads(2.6e6, others, cores, parts) == expected


def test_a_numpy_model_over_long_sequences_asks_for_a_thread_per_part(monkeypatch):
    from rnnlab.engines import ModelSpec, build_trainable
    from rnnlab.numpy.split import batch_parts
    from rnnlab.trainer import thread_scope
    monkeypatch.delenv(threads.ENV, raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "machine_load", lambda: threads.Load(cores=2, others=0.0, load1=0.1))
    numpy_model = build_trainable(ModelSpec.build("lstm", 1, 10, hidden_size=16), "numpy")
    torch_model = build_trainable(ModelSpec.build("lstm", 1, 10, hidden_size=16), "torch")
    assert batch_parts(numpy_model, 64, 784, 2) == 2 and batch_parts(numpy_model, 64, 28, 2) == 1
    assert batch_parts(numpy_model, 64, None, 2) == 1 and batch_parts(torch_model, 64, 784, 2) == 1
    with thread_scope(numpy_model, 64, steps=784) as choice:
        assert choice.threads == 2 and threads.current_threads() == 2
        assert "the batch in up to 2 parts" in choice.line()
    with thread_scope(numpy_model, 64, steps=28) as choice:
        assert choice.threads == 1 and "parts" not in choice.line()


def test_the_choice_refuses_impossible_arguments():
    with pytest.raises(ValueError, match="cores >= 1"):
        threads.choose_threads(1e6, 0.0, 0)
    with pytest.raises(ValueError, match="others=-1"):
        threads.choose_threads(1e6, -1, 2)


def test_the_setting_beats_the_environment_which_beats_the_choice(monkeypatch):
    quiet = threads.Load(cores=2, others=0.0, load1=0.1)
    monkeypatch.delenv(threads.ENV, raising=False)
    assert threads.decide(None, BIG, quiet).threads == 2
    monkeypatch.setenv(threads.ENV, "1")
    assert (threads.decide(None, BIG, quiet).threads, threads.decide(None, BIG, quiet).why) == (1, threads.ENV)
    assert threads.decide(3, BIG, quiet).threads == 3
    monkeypatch.setenv(threads.ENV, "auto")
    assert threads.decide(None, BIG, quiet).why == "chosen"


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_a_bad_environment_value_is_refused_in_one_line(monkeypatch, bad):
    monkeypatch.setenv(threads.ENV, bad)
    with pytest.raises(ValueError, match=rf"RNNLAB_THREADS='{bad}': expected a positive whole number"):
        threads.decide(None, 1.0)


@pytest.mark.parametrize("bad", [0, -1, True, "2", 1.5])
def test_a_bad_setting_is_refused_in_one_line(bad):
    with pytest.raises(ValueError, match=r"threads: expected a positive whole number of threads .* got"):
        _config(threads=bad)


def test_the_cli_refuses_threads_zero_and_a_bad_environment_before_writing(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--task", "xor", "--threads", "0", "--runs-dir", str(tmp_path)])
    assert "--threads: expected a positive integer, got 0" in capsys.readouterr().err
    monkeypatch.setenv(threads.ENV, "many")
    assert main(["train", "--task", "xor", "--runs-dir", str(tmp_path), "--quiet"]) == 2
    assert "RNNLAB_THREADS='many'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []                  # no run directory was started


def test_training_says_its_threads_in_one_line_and_restores_them(tmp_path, monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    before = torch.get_num_threads()
    lines = []
    train_run(_config(engine="numpy"), tmp_path / "auto", progress=False, echo=lines.append)
    assert lines[0].startswith("threads: 1 thread for training (") and "cores" in lines[0]
    assert "--threads N or RNNLAB_THREADS=N" in lines[0] and lines[1].startswith("lstm epoch 1/1")
    assert (tmp_path / "auto" / "train.log").read_text().splitlines()[0] == lines[0]
    lines.clear()
    train_run(_config(threads=2), tmp_path / "two", progress=False, echo=lines.append)
    assert lines[0] == "threads: 2 for training (set by --threads / threads=)"
    assert torch.get_num_threads() == before


def test_the_scope_sets_torch_and_blas_threads_and_restores_them():
    before = torch.get_num_threads()
    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    with threads.use_threads(1):
        assert torch.get_num_threads() == 1 and threads.inside_scope()
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    assert torch.get_num_threads() == before and not threads.inside_scope()
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == blas


def test_the_machine_load_is_read():
    load = threads.machine_load(looks=2, gap=0.0)
    assert load.cores >= 1 and load.others >= 0 and load.load1 >= 0


def _prepared(env: dict) -> str:
    code = ("from rnnlab.threads import prepare_process; import os; "
            "print(prepare_process(), os.environ.get('OMP_WAIT_POLICY'))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


def test_a_new_process_gets_passive_openmp_waiting_unless_the_user_chose(monkeypatch):
    import os
    env = {k: v for k, v in os.environ.items() if k not in threads.WAITING}
    assert _prepared(env).strip() == "{'OMP_WAIT_POLICY': 'PASSIVE', 'KMP_BLOCKTIME': '0'} PASSIVE"
    assert _prepared({**env, "OMP_WAIT_POLICY": "ACTIVE"}).strip() == "{} ACTIVE"
    assert threads.prepare_process({}) == {}          # here torch is loaded already: too late, nothing set


def test_the_notebook_api_takes_threads_and_refuses_a_bad_count(capsys):
    from rnnlab import lab
    data = lab.load_data("xor", **OPTIONS)
    lab.train("lstm", data=data, task="xor", task_options=OPTIONS, hidden_size=4, epochs=1, batch_size=32, threads=1)
    assert capsys.readouterr().out.splitlines()[0] == "threads: 1 for training (set by --threads / threads=)"
    with pytest.raises(ValueError, match="threads: expected a positive whole number"):
        lab.train("lstm", data=data, task="xor", task_options=OPTIONS, hidden_size=4, epochs=1, threads=0)


def test_the_thread_scope_works_where_torch_is_not_installed(monkeypatch):
    """The NumPy engine runs without torch (CI's second Python has none): the scope limits the BLAS pool only."""
    import sys

    from rnnlab import threads
    monkeypatch.setitem(sys.modules, "torch", None)          # `import torch` raises ImportError
    assert threads.torch_threads() == 1
    with threads.use_threads(1) as chosen:
        assert chosen == 1 and threads.inside_scope()
    assert not threads.inside_scope()
