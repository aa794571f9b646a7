"""The λ search's policy: which runs to train next, when the answer is resolved, and its error control.

A search (`l2board experiment --l2 auto --budget N`, or
`l2board.tuning.LambdaSearch` for a user's own model) trains a coarse log
grid of L2 factors with no L2 among them, then looks at its λ curve
(`factor_sweep`, the same analysis `l2board compare` makes) and decides:

- resolved, L2 helps: no L2's loss is resolved above the best factor's,
  and every other factor is resolved above the best or the same as it
  (within the practical size): the best, and the largest factor as good
  as it, are the answer;
- resolved, no L2 needed: every factor is resolved above no L2's, or the
  same as it;
- otherwise it spends runs where the decision is open: a factor beyond
  the grid's edge when the best or the one-standard-error choice is there,
  one between the best and a neighbour far from it, and new seeds for the
  factors not yet told apart from the best (paired: the same new seeds for
  each), until the budget is spent.

Looking again and again until a test passes would inflate false claims.
Look `k` (1, 2, ...) tests every claim at `alpha * 6 / (pi^2 k^2)`, Holm
within the look: the levels sum to `alpha` over any number of looks, so
the chance that a search ever states a false difference (L2 helps where
no factor matters, say) is at most `alpha`, however long it runs and
whatever its budget. Each run records the look that proposed it
(`l2board/search_json`), so `compare` applies the same level to the
search's folder and says what the search said.

Pure functions of a `Comparison` and of the runs trained: no Keras, no I/O.
"""

import dataclasses
import math

from l2board.analysis.claims import ALPHA
from l2board.analysis.statistics import next_grid

FIRST_GRID = (0.0, 1e-4, 1e-3, 1e-2, 1e-1)
FIRST_SEEDS = 2
# New seeds per open factor at each look: fewer looks, each with more to go on.
SEEDS_PER_LOOK = 2
# A factor between the best and a neighbour is tried only while they are this far apart (a ratio).
REFINE_RATIO = 3.5

RESOLVED_L2 = "l2_helps"
RESOLVED_NONE = "no_l2_needed"
OPEN = "open"


def look_alpha(look, alpha=ALPHA):
    """The level every claim of look `look` (1, 2, ...) is tested at: the levels of all looks sum to `alpha`.

    >>> round(look_alpha(1), 5), round(look_alpha(2), 5), round(sum(look_alpha(k) for k in range(1, 10**5)), 4)
    (0.0304, 0.0076, 0.05)
    """
    if look < 1:
        raise ValueError(f"Looks are counted from 1, not {look}.")
    return alpha * 6 / (math.pi ** 2 * look ** 2)


def first_runs(first_seeds=FIRST_SEEDS):
    """The first grid's runs: `[(factor, seed)]`, every factor of `FIRST_GRID` with seeds 0..first_seeds-1."""
    return [(factor, seed) for factor in FIRST_GRID for seed in range(first_seeds)]


@dataclasses.dataclass(frozen=True)
class Decision:
    """What a look decided.

    `outcome`: `l2_helps`, `no_l2_needed` or `open`. `best`: the factor with
    the lowest mean; `recommended`: the factor to use (the largest factor
    resolved as good as the best when L2 helps, else 0: no L2, as no factor
    is resolved better than none); `open_factors`: the factors not yet told
    apart from the best (or, when no L2 is best, from no L2); `next_runs`:
    `[(factor, seed)]` to train before the next look (empty when resolved
    or nothing fits the budget left); `closest`: the open factor nearest to
    being resolved, with its `Change` against the best (what "about N more
    runs" is said of).
    """

    look: int
    outcome: str
    best: float | None
    recommended: float
    open_factors: tuple
    next_runs: tuple
    closest: object = None


def _points_by_factor(sweep):
    return {point.factor: index for index, point in enumerate(sweep.points)}


def _settled_against(sweep, index):
    """The other points' changes against point `index`, and those not yet settled (neither higher nor the same)."""
    changes = {other: sweep.versus(index, other) for other in range(len(sweep.points))
               if other != index and not sweep.points[other].diverged}
    open_ = [other for other, change in changes.items() if change is None or change.outcome not in ("larger", "same")]
    return changes, open_


def decide(comparison, trained, look, budget_left, first_seeds=FIRST_SEEDS):
    """Decides look `look` of a search from its `Comparison` (claims at `look_alpha(look)`).

    Args:
        comparison: the `Comparison` of every run the search trained so far.
        trained: the `(factor, seed)` pairs trained (finished) so far.
        look: this look's number, from 1.
        budget_left: how many more runs the budget allows.
        first_seeds: the seeds per factor of the first grid (new factors get as many).

    Returns:
        A `Decision`.
    """
    sweep = comparison.sweep
    if sweep is None:
        # Not a curve (yet): a factor missing its runs, say. Train what the first grid lacks.
        missing = [run for run in first_runs(first_seeds) if run not in set(trained)]
        return Decision(look, OPEN, None, 0.0, (), tuple(missing[:budget_left]))
    index_of = _points_by_factor(sweep)
    best = sweep.recommendation.best_index
    best_factor = sweep.points[best].factor
    none = index_of.get(0.0)
    outcome, recommended = OPEN, 0.0
    if best_factor > 0 and none is not None:
        changes, open_ = _settled_against(sweep, best)
        against_none = changes.get(none).outcome if changes.get(none) is not None else None
        if against_none == "larger":
            # L2 helps: the most regularized factor resolved as good as the best is the answer.
            same = [sweep.points[i].factor for i, change in changes.items() if change is not None
                    and change.outcome == "same"]
            recommended = max([best_factor] + same)
            outcome = RESOLVED_L2 if not open_ else OPEN
        elif against_none == "same" and not open_:
            outcome = RESOLVED_NONE  # no L2 does as well as the best, within the practical size
        anchor = best
    elif none is not None:
        changes, open_ = _settled_against(sweep, none)
        outcome = RESOLVED_NONE if not open_ else OPEN
        anchor = none
    else:  # a curve without no L2 (a search always has it)
        changes, open_ = _settled_against(sweep, best)
        anchor = best
    closest = min((changes[i] for i in open_ if changes.get(i) is not None and changes[i].difference is not None),
                  key=lambda change: change.p_value if change.p_value is not None else 1.0, default=None)
    if outcome != OPEN:
        return Decision(look, outcome, best_factor, recommended, (), (), None)
    runs = _next_runs(sweep, best, open_, trained, budget_left, first_seeds, anchor)
    return Decision(look, OPEN, best_factor, recommended, tuple(sorted(sweep.points[i].factor for i in open_)),
                    tuple(runs), closest)


def _next_runs(sweep, best, open_, trained, budget_left, first_seeds, anchor):
    """The runs of the next batch: beyond an edge, between far-apart factors, then new seeds where it is open."""
    factors = [point.factor for point in sweep.points]
    done = set(trained)
    seeds = sorted({seed for _, seed in trained})
    runs = []

    def add(factor, seed):
        if (factor, seed) not in done and (factor, seed) not in runs and len(runs) < budget_left:
            runs.append((factor, seed))

    first = range(first_seeds)
    recommendation = sweep.recommendation
    edge = recommendation.edge or recommendation.one_se_edge
    if edge == "largest" or (edge == "smallest" and factors[best] > 0):
        for factor in next_grid(factors, edge, points=1):
            for seed in first:
                add(factor, seed)
    best_factor = factors[best]
    positive = sorted(f for f in factors if f > 0)
    # No L2 best: the question is whether any factor does as well, which seeds answer, not more factors.
    for neighbour in _neighbours(best_factor, positive) if best_factor > 0 else ():
        if max(neighbour, best_factor) / min(neighbour, best_factor) > REFINE_RATIO:
            middle = float(f"{math.sqrt(neighbour * best_factor):.3g}")
            if middle not in factors:
                for seed in first:
                    add(middle, seed)
    # New seeds, paired: the anchor and every open factor get the same ones.
    first_fresh = max(seeds, default=-1) + 1
    for seed in range(first_fresh, first_fresh + SEEDS_PER_LOOK):
        if len(runs) + 1 + (1 if open_ else 0) > budget_left:
            break
        for index in [anchor] + [i for i in open_ if i != anchor]:
            add(factors[index], seed)
    return runs


def _neighbours(factor, positive):
    """The positive factors just below and just above a positive `factor`."""
    below = [f for f in positive if f < factor]
    above = [f for f in positive if f > factor]
    return ([below[-1]] if below else []) + ([above[0]] if above else [])


@dataclasses.dataclass(frozen=True)
class Step:
    """What a search does next: train `todo` (proposed at look `look`), or stop with `decision` and `comparison`."""

    look: int
    todo: tuple = ()
    decision: Decision | None = None
    comparison: object = None


def next_step(analyse, budget, done, first_seeds=FIRST_SEEDS):
    """Replays a search's looks on the runs `done` and returns its next `Step`.

    The looks are replayed from the first grid: a look's batch depends only
    on the runs before it, so a search started again, or served to several
    machines, goes on from where it is without repeating a run.

    Args:
        analyse: `analyse(look)` returns the `Comparison` of the runs
            proposed before look `look`, with claims at `look_alpha(look)`.
        budget: the most runs the search trains.
        done: the `(factor, seed)` runs finished.
        first_seeds: seeds per factor of the first grid.
    """
    done = set(done)
    proposed = []
    look, batch = 0, first_runs(first_seeds)
    while True:
        batch = [run for run in batch if run not in proposed][:max(0, budget - len(proposed))]
        proposed += batch
        todo = tuple(run for run in batch if run not in done)
        if todo:
            return Step(look, todo)
        look += 1
        comparison = analyse(look)
        decision = decide(comparison, proposed, look, budget - len(proposed), first_seeds)
        if decision.outcome != OPEN or not decision.next_runs:
            return Step(look, decision=decision, comparison=comparison)
        batch = list(decision.next_runs)


def run_search(train, analyse, budget, first_seeds=FIRST_SEEDS, done=()):
    """The search on one machine: each step's runs, until the answer is resolved or the budget is spent.

    Args:
        train: `train(runs, look)` trains `[(factor, seed)]` proposed at
            look `look` (0 for the first grid) and records that look with each.
        analyse, budget, first_seeds: as `next_step` takes them.
        done: the `(factor, seed)` runs already trained (a search resumed).

    Returns:
        `(Decision, Comparison)` of the last look.
    """
    done = list(done)
    while True:
        step = next_step(analyse, budget, done, first_seeds)
        if step.decision is not None:
            return step.decision, step.comparison
        train(list(step.todo), step.look)
        done += step.todo
