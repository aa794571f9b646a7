"""The issue's table as a test matrix: every writer's layout gives the right numbers.

Runs are written by the real writers (tf.summary, tensorboardX) from known
curves; the expected numbers are computed from those curves.
"""

import pytest
from log_writers import CASES, PATIENCE, expected, write_all

from l2board.analysis.comparison import compare_runs
from l2board.reading.logs import find_runs, read_runs

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("writers_matrix")

FIELDS = ("final_val_metric", "best_val_metric", "best_epoch", "epochs", "last_epoch", "early_stopping_epoch",
          "final_train_metric", "metric", "generalization_loss_percent")


@pytest.fixture(scope="module")
def cases_root(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("writers"))


def test_a_folder_of_every_layout_is_one_run_per_case(cases_root):
    # add_scalars' subfolders, test/, valid/, eval/ are parts of a run, never half-runs.
    assert sorted(name for name, _ in find_runs([cases_root])) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_case_gives_the_numbers_of_its_curves(cases_root, case):
    (run,) = read_runs([cases_root / case])
    (report,) = compare_runs([run], patience=PATIENCE).runs
    want = expected(CASES[case][1])
    assert {f: getattr(report, f) for f in FIELDS} == pytest.approx({f: want[f] for f in FIELDS})


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_run_names_what_it_read(cases_root, case):
    (run,) = read_runs([cases_root / case])
    read = {key: run.source_of(*key) for key in (("train", "epoch_loss"), ("validation", "epoch_loss"))}
    assert all(run.scalar(*key) is not None for key in read)
    if case == "tbx_add_scalars":
        assert read == {("train", "epoch_loss"): ("Loss/train", "Loss"),
                        ("validation", "epoch_loss"): ("Loss/val", "Loss")}
    if case == "lightning":
        assert read[("validation", "epoch_loss")] == ("", "val_loss")


def test_a_restart_at_step_zero_says_how_many_points_it_replaced_and_from_which_file(cases_root):
    (run,) = read_runs([cases_root / "restarted_at_step_zero"])
    # 2 tags x 4 epochs in each folder, replaced by the second file of each.
    assert sorted((r.step, r.replaced, r.within_file) for r in run.restarts) == [(0, 8, False), (0, 8, False)]
    assert all(r.path.endswith("events.out.tfevents.1700000100.vm.1.0.v2") for r in run.restarts)
    assert {r.path.rsplit("/", 2)[1] for r in run.restarts} == {"train", "validation"}


def test_a_repeated_step_counts_its_later_point_once(cases_root):
    (run,) = read_runs([cases_root / "resumed_repeating_a_step"])
    assert run.scalar("validation", "epoch_loss").steps.tolist() == list(range(6))
    assert sorted((r.step, r.replaced) for r in run.restarts) == [(3, 2), (3, 2)]


def test_every_case_in_one_comparison(cases_root):
    comparison = compare_runs(read_runs([cases_root]), patience=PATIENCE)
    assert len(comparison.runs) == len(CASES)
    assert comparison.metric == "accuracy"  # `acc` and `accuracy` are one role, so every writer compares
    assert [r.final_val_metric for r in comparison.runs] == pytest.approx([expected()["final_val_metric"]] * len(CASES))


def test_lightning_global_steps_become_epochs_and_its_repeated_epoch_tag_is_no_restart(cases_root):
    (run,) = read_runs([cases_root / "lightning_global_steps"])
    assert run.restarts == []  # `epoch` written twice at each step with one value replaces nothing
    assert run.scalar("validation", "epoch_loss").steps.tolist() == list(range(6))
    assert run.steps_from == ("", "epoch")
