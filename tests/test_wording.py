"""The words (`rendering/wording.py`): each verdict kind and claim outcome as its sentence, a difference
stated only when resolved, what would resolve the rest and what that assumes, whose counts are whose, and
a sentence for every note, skip reason and error code the analysis can return.

Comparisons come from `compare_runs` on runs the one run builder made from records."""

import pytest
from conftest import record_run as run

from l2board.analysis.comparison import compare_runs
from l2board.analysis.notes import Note, SkippedRun
from l2board.rendering import wording


def seeds(**gaps):
    return [run(f"{name}-seed{seed}", gap) for name, values in gaps.items() for seed, gap in enumerate(values)]


def test_a_resolved_difference_is_stated_with_its_adjusted_interval():
    comparison = compare_runs(seeds(base=(0.30, 0.31, 0.29), l2=(0.10, 0.12, 0.11)))
    first = wording.verdict_sentences(comparison)[0]
    assert first.startswith("l2 overfits less than base: final accuracy gap ")
    gap = comparison.verdicts[0].gap
    # The interval shown is the adjusted one, in percentage points.
    assert f"[{gap.adjusted_low:.1f}, {gap.adjusted_high:.1f}]" in first, first
    assert (gap.adjusted_low, gap.adjusted_high) != (gap.low, gap.high) and "not resolved" not in first
    # The report says how: Holm over its claims, and the chance of any false direction.
    assert "adjusted together (Holm)" in wording.adjustment_words(comparison)
    assert f"{comparison.family_size} claims" in wording.adjustment_words(comparison)


def test_an_unresolved_difference_says_what_would_resolve_it_and_what_that_assumes():
    comparison = compare_runs(seeds(base=(0.30, 0.05, 0.20), l2=(0.10, 0.35, 0.12)))
    first = wording.verdict_sentences(comparison)[0]
    assert first.startswith("Whether l2 overfits less or more than base is not resolved")
    assert "overfits less than" not in first and "overfits more than" not in first
    assert ("seeds per configuration would" in first and "if the observed difference and spread are the true ones"
            in first) or "no number of seeds up to 1,000" in first


def test_about_the_same_is_said_only_inside_the_practical_size():
    comparison = compare_runs(seeds(base=(0.200, 0.210, 0.190), l2=(0.2001, 0.2101, 0.1901)))
    (verdict,) = comparison.verdicts
    assert verdict.gap.outcome == "same"
    first = wording.verdict_sentences(comparison)[0]
    assert first.startswith("l2 overfits about as much as base") and "inside the practical size ±" in first


def test_one_run_each_is_worded_as_what_these_runs_showed_not_a_conclusion():
    sentences = wording.verdict_sentences(compare_runs([run("base", 0.30), run("l2", 0.10)]))
    assert sentences[0].startswith("In these runs, l2 overfit less than base")
    assert "not a conclusion" in sentences[-1] and "--seeds 3" in sentences[-1]


def test_a_diverged_single_and_incomparable_verdict_each_have_their_sentence():
    diverged = compare_runs([run("base", 0.3), run("l2", 0.1, diverge=True)])
    assert wording.verdict_sentences(diverged) == [
        "l2 diverged (the loss became NaN or infinite), so l2 and base cannot be compared on overfitting."]
    single = compare_runs([run("alone", 0.3)])
    assert wording.verdict_sentences(single) == ["Only one configuration (alone): nothing to compare it with."]


def test_welch_says_which_count_is_whose():
    # No seed in common: the runs are not paired.
    comparison = compare_runs(seeds(base=(0.30, 0.31, 0.29, 0.30)) + [run(f"l2-seed{s}", g) for s, g in
                                                                      ((5, 0.10), (6, 0.12), (7, 0.11))])
    gap = comparison.verdicts[0].gap
    assert gap.method == "welch"
    assert wording.seeds_words(gap, ("l2", "base")) == "3 runs of l2 and 4 of base, unpaired (Welch)"
    assert wording.interval_words(compare_runs([run("a", 0.3), run("b", 0.1)]).verdicts[0].gap, "pp", 100.0) \
        .endswith("one run on a side: no interval")


# One example of each code's values, as the analysis and the reader make them.
NOTES = [Note("no_metric"), Note("metric_not_logged", metric="auc"), Note("no_training_metric", metric="auc"),
         Note("steps_differ", train_last_step=199, validation_last_step=19, train_points=200, validation_points=20,
              shared=20),
         Note("steps_not_epochs", series=["train/loss"], epoch_series="train/epoch"),
         Note("loss_may_include_penalty"), Note("loss_includes_penalty"), Note("no_validation_loss"),
         Note("no_training_loss"), Note("incomplete", last_epoch=4), Note("diverged", epoch=3),
         Note("no_weight_norms"), Note("setup_unreadable", problem="not JSON")]
SKIPS = [Note("no_validation", tags=["loss"]), Note("unrecognised", tags=["a", "b"]),
         Note("unreadable_validation", files=[{"code": "unreadable_file", "path": "/r/v", "reason": "EIO"}]),
         Note("no_scalars", event_files=2, other_kinds=[]), Note("ambiguous_role", tags=["x", "y"], split="validation",
                                                                  role="loss"),
         Note("sampled", kept=1000, series=["loss"]), Note("no_shared_values", metric="accuracy")]


def test_every_note_code_is_a_sentence():
    assert sorted(n.code for n in NOTES) == sorted(wording._NOTES)  # every code the table knows is tried
    for note in NOTES:
        sentence = wording.note_sentence(note)
        assert sentence and not sentence.endswith(".") and "{" not in sentence, note


@pytest.mark.parametrize("reason", SKIPS, ids=lambda n: n.code)
def test_every_skip_reason_is_one_sentence_naming_the_run(reason):
    sentence = wording.skip_sentence(SkippedRun("r1", "/runs/r1", reason))
    assert sentence.startswith("Run 'r1' ") and sentence.endswith(".") and sentence.count(". ") == 0


def test_every_skip_code_is_tried():
    assert sorted(n.code for n in SKIPS) == sorted(wording._SKIP_REASONS)
