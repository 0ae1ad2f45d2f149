"""Data-parallel training over MPI: N processes each on a batch of B give the weights one process
gives on the concatenated batch of N·B (SGD with momentum, Adam, RMSprop; sample and class
weights; a last batch smaller on one process), starting from rank 0's broadcast weights, with
metrics averaged, checkpoints and progress output on rank 0 only; faults stop every process.

The processes run under ``mpiexec`` on this host, from the ``mpi`` extra (mpi4py and the mpich
wheel); without it these tests are skipped.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import distributed_scenarios as S
from symkeras import optimizers
from symkeras.models import load_model

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    # The mpich wheel installs mpiexec beside the interpreter.
    return shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


MPIEXEC = _mpiexec()
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason='the mpi extra is not installed (pip install "symkeras[mpi]": '
                                                        'mpi4py and an mpiexec)')


def launch(n, *args, timeout=240):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([REPO, HERE, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, os.path.join(HERE, "distributed_worker.py"),
                           *args], env=env, capture_output=True, text=True, timeout=timeout)


def reference(name, size):
    """The scenario trained in this process on the concatenated batches, with the plain optimizer."""
    make_optimizer, backend, use_w, use_cw, cut = S.SCENARIOS[name]
    model = S.build_model(0, backend, make_optimizer())
    x, y, w = S.global_data(size)
    for step in range(S.STEPS):
        rows = np.concatenate([S.step_rows(r, size, step, cut) for r in range(size)])
        model.train_on_batch(x[rows], y[rows], sample_weight=w[rows] if use_w else None,
                             class_weight=S.CLASS_WEIGHT if use_cw else None)
    return model.get_weights()


@pytest.fixture(scope="module", params=[2, 3], ids=["2-processes", "3-processes-oversubscribed"])
def trained(request, tmp_path_factory):
    size = request.param
    out = tmp_path_factory.mktemp(f"distributed-{size}")
    done = launch(size, "train", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return size, out, done.stdout


def _result(out, name, rank):
    with np.load(os.path.join(out, f"{name}-rank{rank}.npz")) as f:
        weights = [f[f"arr_{i}"] for i in range(len(f.files) - 1)]
        return weights, json.loads(str(f["logs"]))


@pytest.mark.parametrize("name", sorted(S.SCENARIOS))
def test_workers_end_where_one_process_on_the_concatenated_batches_ends(trained, name):
    size, out, _ = trained
    expected = reference(name, size)
    initial = S.build_model(0, "numpy", "sgd").get_weights()
    for rank in range(size):
        weights, _ = _result(out, name, rank)
        for got, want, start in zip(weights, expected, initial):
            assert not np.allclose(want, start)                       # training moved every weight
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)


def test_evaluations_of_the_shards_average_to_the_evaluation_of_all_the_data(trained):
    size, out, _ = trained
    x, y, _ = S.global_data(size)
    for name in S.SCENARIOS:
        model = S.build_model(0, S.SCENARIOS[name][1], "sgd")
        weights, logs = _result(out, name, 0)
        model.set_weights(weights)
        np.testing.assert_allclose(logs["evaluated"], model.evaluate(x, y, batch_size=S.BATCH, verbose=0), rtol=1e-5)


def test_every_process_knows_its_rank_and_on_one_host_its_local_rank_is_its_rank(trained):
    size, out, _ = trained
    assert [_result(out, "sgd", rank)[1]["ranks"] for rank in range(size)] == \
        [[rank, size, rank, size] for rank in range(size)]


def test_metrics_are_averaged_over_the_processes(trained):
    size, out, _ = trained
    for name in S.SCENARIOS:
        logs = [_result(out, name, rank)[1] for rank in range(size)]
        local = [entry["local"][0] for entry in logs]
        assert len({round(v["loss"], 6) for v in local}) > 1        # the processes saw different batches
        for entry in logs:
            averaged = entry["averaged"][0]
            for key in ("loss", "accuracy"):
                assert averaged[key] == pytest.approx(np.mean([v[key] for v in local]), rel=1e-6)


def test_checkpoints_and_progress_output_come_from_rank_0_only(trained):
    size, out, stdout = trained
    for name in S.SCENARIOS:
        assert os.path.exists(os.path.join(out, f"{name}-checkpoint-rank0.h5"))
        for rank in range(1, size):
            assert not os.path.exists(os.path.join(out, f"{name}-checkpoint-rank{rank}.h5"))
    assert stdout.count(f"{S.STEPS}/{S.STEPS} - ") == len(S.SCENARIOS)      # one progress line per fit
    # The checkpoint is a plain model file: its optimizer is the wrapped one's class, its weights the final ones.
    restored = load_model(os.path.join(out, "adam-checkpoint-rank0.h5"))
    assert type(restored.optimizer) is optimizers.Adam
    for got, want in zip(restored.get_weights(), _result(out, "adam", 0)[0]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case, message", [
    ("raise", "worker 1 cannot read its data"),
    ("exit", "worker 1 found no data"),
    ("die", None),
    ("mismatch", "the model on rank 1 differs from the one on rank 0: weight 0 is 'hidden/kernel' (6, 9)"),
])
def test_a_failing_process_stops_all_of_them_with_its_error(case, message):
    done = launch(2, case, timeout=120)          # a hang fails here, by the timeout
    assert done.returncode != 0
    assert "finished" not in done.stdout
    if message is not None:
        assert message in done.stderr
        assert "aborting all 2 processes" in done.stderr and "rank 1" in done.stderr
