"""The λ search's policy, run on simulated runs: its error control under the null, and what it finds otherwise.

The search's own loop (`run_search`), looks (`look_alpha`) and decisions
(`decide`, over `compare_reports`: the same λ curve and claims as `l2board
compare`) run; only the training is replaced by numbers drawn here.
"""

import math

import numpy as np
import pytest

from l2board.analysis import factor_search
from l2board.analysis.comparison import compare_reports
from l2board.analysis.run_analysis import RunReport

SEARCHES = 300


def setup_of(factor):
    variable = {"path": "d/kernel", "size": 100, "trainable": True}
    if factor:
        variable.update(regularizer="L2", l2=factor)
    return {"variables": [variable, {"path": "out/kernel", "size": 10, "trainable": True}]}


class SimulatedSearch:
    """Runs a search whose training draws each run's validation loss: `loss(factor) + seed effect + noise`."""

    def __init__(self, rng, loss, spread=0.05, seed_spread=0.05):
        self.rng, self.loss, self.spread, self.seed_spread = rng, loss, spread, seed_spread
        self.seed_effects, self.runs = {}, []

    def train(self, runs, look):
        for factor, seed in runs:
            effect = self.seed_effects.setdefault(seed, self.rng.normal(0, self.seed_spread))
            value = self.loss(factor) + effect + self.rng.normal(0, self.spread)
            name = f"l2-{factor:g}-seed{seed}" if factor else f"no-l2-seed{seed}"
            report = RunReport(name=name, path=name, label=f"L2 {factor:g}", configuration=name.rsplit("-seed", 1)[0],
                               logged_by_l2monitor=True, metric=None, epochs=10, last_epoch=9, seed=seed,
                               loss_basis="data_loss", setup=setup_of(factor))
            report.val_data_loss_at_stop = report.final_val_data_loss = value
            report.data_loss_gap_final = value - 0.3
            self.runs.append((look, report))

    def analyse(self, look):
        reports = [report for proposed, report in self.runs if proposed < look]
        return compare_reports(reports, alpha=factor_search.look_alpha(look), search_look=look)

    def run(self, budget):
        return factor_search.run_search(self.train, self.analyse, budget)


def test_the_levels_of_every_look_sum_to_alpha():
    assert sum(factor_search.look_alpha(k) for k in range(1, 100_000)) == pytest.approx(0.05, rel=1e-4)
    assert factor_search.look_alpha(1) > factor_search.look_alpha(2) > factor_search.look_alpha(3)


def test_where_no_factor_matters_it_recommends_no_l2_at_the_promised_rate():
    # No factor changes the loss: any "L2 helps" is a false claim. Budget 30: several looks each.
    rng = np.random.default_rng(22)
    claimed, looks, spent = 0, [], []
    for _ in range(SEARCHES):
        search = SimulatedSearch(rng, lambda factor: 1.0)
        decision, comparison = search.run(budget=30)
        claimed += decision.outcome == factor_search.RESOLVED_L2 or decision.recommended != 0.0
        looks.append(decision.look)
        spent.append(len(search.runs))
        assert len(search.runs) <= 30
    rate, error = claimed / SEARCHES, math.sqrt(0.05 * 0.95 / SEARCHES)
    assert rate <= 0.05 + 2 * error, rate
    assert max(looks) > 2  # the null did make it look several times: the control is what kept it honest


def test_a_clear_optimum_is_found_and_resolved_within_the_budget():
    # The loss falls from 1.0 without L2 to its lowest at 0.01, and rises above: L2 helps.
    def loss(factor):
        return 1.0 if factor == 0 else 0.6 + 0.15 * abs(math.log10(factor) + 2)

    rng = np.random.default_rng(5)
    for budget, resolved_at_least in ((50, 0.8), (30, 0.0)):
        outcomes = []
        for _ in range(20):
            search = SimulatedSearch(rng, loss, spread=0.01, seed_spread=0.03)
            decision, comparison = search.run(budget=budget)
            outcomes.append(decision)
            assert len(search.runs) <= budget and comparison.sweep.recommendation.best_factor == decision.best
        # L2's lead over none is resolved and 0.01 recommended, with 30 runs already; with 50 every other
        # factor is told apart from it too (the search stops before its budget is spent).
        assert sum(d.recommended == 0.01 for d in outcomes) >= 18, outcomes
        assert sum(d.outcome == factor_search.RESOLVED_L2 for d in outcomes) >= resolved_at_least * 20, outcomes
    assert all(d.outcome == factor_search.OPEN and d.closest is not None for d in outcomes)  # budget 30: open


def test_it_goes_beyond_the_first_grid_when_the_best_is_at_its_edge():
    def loss(factor):  # better and better up to 1.0: the first grid stops at 0.1
        return 1.0 - 0.3 * math.log10(1 + factor * 1000) / 3

    search = SimulatedSearch(np.random.default_rng(1), loss, spread=0.01, seed_spread=0.01)
    decision, _ = search.run(budget=30)
    factors = {report.val_data_loss_at_stop and float(report.name.split("-")[1]) for _, report in search.runs
               if report.name.startswith("l2-")}
    assert max(factors) > 0.1 and len(search.runs) <= 30


def test_a_resumed_search_replays_its_looks_and_trains_only_what_is_missing():
    rng = np.random.default_rng(3)
    first = SimulatedSearch(rng, lambda factor: 1.0 - 0.1 * (factor > 0))
    decision, _ = first.run(budget=24)
    # Started again with the same runs on disk: nothing new is proposed, the same decision is reached.
    again = SimulatedSearch(rng, first.loss)
    again.runs = list(first.runs)
    done = [(float(r.name.split("-")[1]) if r.name.startswith("l2-") else 0.0, r.seed) for _, r in first.runs]
    trained = []
    again_decision, _ = factor_search.run_search(lambda runs, look: trained.extend(runs), again.analyse, 24,
                                                 done=done)
    assert trained == [] and again_decision == decision
