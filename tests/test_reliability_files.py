"""Hostile and odd files (issue 35): zip bombs and wrong shapes in model files and checkpoints, YAML alias bombs,
FIFOs where a run's files should be, run names with control characters.

Memory bounds are measured with tracemalloc (NumPy reports its allocations to it): a refusal from the headers
allocates a few megabytes at most, where decompressing would take gigabytes.
"""
import json
import os
import struct
import threading
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.config import resolve
from rnnlab.rundir import RunDir, check_run_name

TINY = ["train", "--task", "xor", "--opt", "n_train=32", "--opt", "n_val=8", "--opt", "n_test=8", "--opt", "length=4",
        "--hidden-size", "4", "--epochs", "1", "--quiet"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Two finished tiny runs: torch and numpy engines."""
    root = tmp_path_factory.mktemp("runs")
    assert main([*TINY, "--runs-dir", str(root), "--name", "torch"]) == 0
    assert main([*TINY, "--runs-dir", str(root), "--name", "numpy", "--engine", "numpy"]) == 0
    return root


@pytest.mark.parametrize("flags", [["--head", "batchnorm"], ["--cell", "gru", "--layer-norm", "--engine", "scratch"],
                                   ["--bidirectional", "--layers", "2", "--proj-size", "2"]])
def test_every_kind_of_model_file_passes_the_checks(tmp_path, capsys, flags):
    assert main([*TINY, "--runs-dir", str(tmp_path), "--name", "r", *flags]) == 0
    assert main(["evaluate", str(tmp_path / "r")]) == 0, capsys.readouterr().err


def _copy(finished, tmp_path, name="torch"):
    import shutil
    shutil.copytree(finished / name, tmp_path / name)
    return tmp_path / name


def _npy_header(shape, dtype="<f4") -> bytes:
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + pad + 1) + text + b" " * pad + b"\n"


def _write_zip(path, members):
    """A zip written by hand: ``members`` is a list of (name, method, crc, raw size, stored bytes)."""
    out, central = bytearray(), bytearray()
    for name, method, crc, size, data in members:
        encoded = name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size,
                               len(encoded), 0, 0, 0, 0, 0, len(out)) + encoded
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded),
                           0) + encoded + data
    start = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0)
    path.write_bytes(bytes(out))


def _zeros_member(name, gib: float):
    """A deflated .npy member holding ``gib`` GiB of float32 zeros, built from one compressed 64 MiB block
    repeated (each block ends with a full flush, so its compressed form is the same every time)."""
    chunk = bytes(64 * 2 ** 20)
    blocks = int(gib * 16)
    header = _npy_header((blocks * len(chunk) // 4,))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    for _ in range(blocks):
        crc = zlib.crc32(chunk, crc)
    data = first + block * blocks + compressor.flush()
    return (name, zipfile.ZIP_DEFLATED, crc, len(header) + blocks * len(chunk), data)


def _stored_member(name, array):
    import io
    buffer = io.BytesIO()
    np.save(buffer, array)
    raw = buffer.getvalue()
    return (name, zipfile.ZIP_STORED, zlib.crc32(raw), len(raw), raw)


def _spec_of(run):
    with np.load(run / "model.npz") as data:
        return data["__spec__"], {k: data[k] for k in data.files if k != "__spec__"}


def _peak(call):
    """The exception ``call`` raises and the peak memory it allocated (bytes)."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            call()
        return str(info.value), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_zip_bomb_model_is_refused_from_its_headers(finished, tmp_path, capsys):
    run = _copy(finished, tmp_path)
    spec, _ = _spec_of(run)
    _write_zip(run / "model.npz", [_stored_member("__spec__.npy", spec), _zeros_member("weight_ih_l0.npy", 3)])
    assert (run / "model.npz").stat().st_size < 4 * 2 ** 20
    message, peak = _peak(lambda: RunDir(run).load_model())
    assert "would decompress to 32212" in message and "model.npz" in message and peak < 32 * 2 ** 20
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "would decompress to" in err


def test_an_array_whose_header_lies_or_is_too_big_for_its_spec(finished, tmp_path):
    run = _copy(finished, tmp_path)
    spec, weights = _spec_of(run)
    big = np.zeros(3_000_000, np.float32)     # 12 MB: under the file limit, far more than the spec's model
    members = [_stored_member("__spec__.npy", spec), *[_stored_member(f"{k}.npy", v) for k, v in weights.items()]]
    _write_zip(run / "model.npz", [*members, _stored_member("extra.npy", big)])
    message, _ = _peak(lambda: RunDir(run).load_model())
    assert "parameter 'extra' is not one of this model's" in message
    name, method, crc, size, data = _stored_member("weight_hh_l0.npy", weights["weight_hh_l0"])
    lying = _npy_header((4000, 4000)) + data[128:]      # the header says 64 MB; the member holds 256 bytes
    _write_zip(run / "model.npz", [m for m in members if m[0] != name] + [(name, method, zlib.crc32(lying),
                                                                          len(lying), lying)])
    message, peak = _peak(lambda: RunDir(run).load_model())
    assert "says it is (4000, 4000)" in message and peak < 8 * 2 ** 20
    huge_spec = np.array(json.dumps({**json.loads(str(spec)), "spec": {**json.loads(str(spec))["spec"], "recurrent": {
        **json.loads(str(spec))["spec"]["recurrent"], "hidden_size": 100_000}}}))
    _write_zip(run / "model.npz", [_stored_member("__spec__.npy", huge_spec), *members[1:]])
    message, peak = _peak(lambda: RunDir(run).load_model())
    assert "its spec describes a model of about" in message and peak < 8 * 2 ** 20


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_a_weight_of_the_wrong_shape_is_one_line_naming_file_and_parameter(finished, tmp_path, capsys, engine):
    run = _copy(finished, tmp_path, engine)
    spec, weights = _spec_of(run)
    weights["weight_hh_l0"] = np.zeros((20, 5), np.float32)
    np.savez(run / "model.npz", __spec__=spec, **weights)
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "RuntimeError" not in err
    assert f"{run / 'model.npz'}: parameter 'weight_hh_l0' has shape (20, 5), the model's is (16, 4)" in err
    weights["weight_hh_l0"] = np.zeros((16, 4), np.complex64)
    np.savez(run / "model.npz", __spec__=spec, **weights)
    assert main(["evaluate", str(run)]) == 2
    assert "parameter 'weight_hh_l0' holds complex64, expected floating point" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not numbers"):
        np.savez(run / "model.npz", __spec__=spec, **{**weights, "weight_hh_l0": np.array([None, 1])})
        RunDir(run).load_model()


def test_checkpoints_are_checked_against_the_model(finished, tmp_path, capsys):
    run = _copy(finished, tmp_path, "numpy")
    with np.load(run / "checkpoint.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["weights/weight_hh_l0"] = np.zeros((3, 3))
    np.savez(run / "checkpoint.npz", **arrays)
    assert main(["train", "--resume", str(run), "--quiet", "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.npz: parameter 'weight_hh_l0' has shape (3, 3), the model's is (16, 4)" in err
    _write_zip(run / "checkpoint.npz", [_stored_member("meta.npy", arrays["meta"]), _zeros_member("optim/m.npy", 1)])
    assert main(["train", "--resume", str(run), "--quiet", "--epochs", "2"]) == 2
    assert "would decompress to" in capsys.readouterr().err
    np.save(run / "checkpoint.npz", np.zeros(3))         # a bare .npy under the checkpoint's name
    (run / "checkpoint.npz").write_bytes((run / "checkpoint.npz.npy").read_bytes())
    assert main(["train", "--resume", str(run), "--quiet", "--epochs", "2"]) == 2
    assert "not a zip archive" in capsys.readouterr().err
    torch_run = _copy(finished, tmp_path, "torch")
    _write_zip(torch_run / "checkpoint.pt", [_zeros_member("archive/data/0", 1)])
    assert main(["train", "--resume", str(torch_run), "--quiet", "--epochs", "2"]) == 2
    assert "would decompress to" in capsys.readouterr().err


def _in_time(call, seconds=10):
    """``call()``'s outcome (value or exception), failing the test if it takes longer than ``seconds``."""
    box = {}

    def target():
        try:
            box["value"] = call()
        except Exception as exc:   # the outcome is what the test looks at
            box["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"no answer within {seconds} s: a special file blocked the reader")
    return box


@pytest.mark.parametrize("victim", ["model.npz", "config.json", "task.json", "summary.json", "metrics.csv",
                                    "predictions.npz", "checkpoint.pt"])
def test_a_fifo_as_a_run_file_never_hangs(finished, tmp_path, victim):
    run = _copy(finished, tmp_path)
    (run / victim).unlink()
    os.mkfifo(run / victim)
    folder = RunDir(run)
    calls = {"model.npz": folder.load_model, "config.json": folder.read_config,
             "task.json": lambda: folder.read_json("task.json"), "summary.json": lambda: folder.read_json(
                 "summary.json"), "metrics.csv": folder.read_metrics, "predictions.npz": folder.read_predictions,
             "checkpoint.pt": lambda: main(["train", "--resume", str(run), "--quiet", "--epochs", "2"])}
    box = _in_time(calls[victim])
    outcome = str(box.get("error", box.get("value")))
    assert "named pipe (FIFO)" in outcome or box.get("value") == 2, outcome


def test_a_device_or_a_huge_file_is_refused_unread(finished, tmp_path):
    run = _copy(finished, tmp_path)
    (run / "task.json").unlink()
    (run / "task.json").symlink_to("/dev/zero")
    box = _in_time(lambda: RunDir(run).read_json("task.json"))
    assert "character device" in str(box["error"])
    with open(run / "summary.json", "ab") as handle:
        handle.truncate(40 * 2 ** 20)
    assert "more than the" in str(_in_time(lambda: RunDir(run).read_json("summary.json"))["error"])
    (run / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in str(_in_time(RunDir(run).read_config)["error"])


LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + k)}: &{chr(98 + k)} [{', '.join(['*' + chr(97 + k)] * 9)}]\n" for k in range(8))


@pytest.mark.parametrize("setting", ["task_options", "hidden_size", "models", "lr"])
def test_a_yaml_alias_bomb_is_refused_while_parsing(tmp_path, setting):
    path = tmp_path / "bomb.yaml"
    path.write_text(LAUGHS.replace("i: &i", f"{setting}: &i") if setting != "task_options" else
                    LAUGHS + "task_options: {length: *i}\n")
    message, peak = _peak(lambda: resolve(None, path))
    assert "an alias (*a) is not accepted in settings" in message and len(message) < 400 and "\n" not in message
    assert peak < 16 * 2 ** 20


def test_a_yaml_alias_in_an_opt_is_not_expanded(tmp_path, capsys):
    bomb = "[" + ", ".join(["*a"] * 50) + "]"
    assert main([*TINY, "--runs-dir", str(tmp_path), "--opt", f"length={bomb}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 400 and "*a, *a" in err, err     # quoted as written, not expanded


@pytest.mark.parametrize("text,fragment", [
    ("lr: " + "7" * 5000 + "x\n", "a text of 5001 characters ('77777"),
    ("task_options: {length: [" + ", ".join(["1"] * 20000) + "]}\n", "more than 10000 items"),
    ("[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("epochs: " + "9" * 5000 + "\n", "is not valid YAML (Exceeds the limit (4300 digits)"),
    ("a: !!python/object/apply:os.system [ls]\n", "is not valid YAML (could not determine a constructor"),
    ("base: &b {lr: 1}\n<<: *b\n", "an alias (*b) is not accepted"),
    ("x" * 3 * 2 ** 20 + "\n", "is larger than 1048576 bytes"),
    ("lr: 0.1\n" + "\U0001F600" * 100 + ": 1\n", "has unknown setting(s) '" + "\U0001F600" * 40),
])
def test_big_values_in_a_settings_file_are_quoted_by_a_prefix(tmp_path, text, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        resolve(None, path).config()
    assert fragment in str(info.value) and len(str(info.value)) < 1500 and "\n" not in str(info.value)


@pytest.mark.parametrize("name,reason", [
    ("a\nb", "control or invisible character '\\n'"), ("tab\there", "'\\t'"), ("esc\x1b[31m", "'\\x1b'"),
    ("zero\u200bwidth", "'\\u200b'"), ("nul\0", "'\\x00'"), ("x" * 201, "201 characters"),
    ("a/b", "path separator"), ("..", "not a run's own folder"), ("", "not a run's own folder"),
])
def test_a_run_name_is_one_printable_folder_name(tmp_path, capsys, name, reason):
    with pytest.raises(ValueError, match="is not a folder name"):
        check_run_name(name)
    if "\0" in name:
        return                     # argv cannot hold a NUL
    assert main([*TINY, "--runs-dir", str(tmp_path), "--name", name]) == 2
    err = capsys.readouterr().err
    assert reason in err and err.count("\n") == 1 and not any(tmp_path.iterdir())
    assert check_run_name("lstm try 2 (é)") == "lstm try 2 (é)"


def test_a_folder_named_with_a_newline_cannot_forge_a_row_of_runs(finished, tmp_path, capsys):
    import shutil
    shutil.copytree(finished / "torch", tmp_path / "evil\nforged  xor  lstm  torch")
    doc = json.loads((tmp_path / "evil\nforged  xor  lstm  torch" / "config.json").read_text())
    doc["task"] = "xor\x1b[2K\rforged"
    (tmp_path / "evil\nforged  xor  lstm  torch" / "config.json").write_text(json.dumps(doc))
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 2 and "evil\\nforged" in out and "\\x1b[2K\\rforged" in out
