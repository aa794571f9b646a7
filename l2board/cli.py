"""The `l2board` command line: parses, calls the library, prints."""

import os
import shlex
import signal
import sys

import click

from l2board import parameter_types as types
from l2board.analysis.patience import DEFAULT_PATIENCE, MAX_PATIENCE
from l2board.errors import Interrupted, L2BoardError
from l2board.training.experiment import format_duration
from l2board.safe_text import printable


class _Commands(click.Group):
    """The command group; Ctrl-C ends in l2board's own message, not click's "Aborted."."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted("Interrupted.") from None
        except EOFError as error:  # click would take it for Ctrl-D and say "Aborted."
            raise L2BoardError(f"An input ended before it was complete ({error or 'end of file'}).") from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="l2board")
def cli():
    """See what L2 regularization does to a Keras model."""


def _training_options(function):
    """The options `train` and `experiment` share, in the order of --help."""
    options = [
        click.option("--dataset", type=types.DatasetName(), default="cifar100", show_default=True,
                     help="cifar100, cifar10, mnist, fashion_mnist (keras.datasets), digits (offline), "
                          "or a .npz with x_train, y_train, x_test, y_test."),
        click.option("--weight-decay", type=types.FiniteFloat(0, types.MAX_FACTOR), default=0.0, show_default=True,
                     help="Decoupled weight decay (AdamW instead of Adam)."),
        click.option("--epochs", type=types.COUNT, default=10, show_default=True),
        click.option("--batch-size", type=types.COUNT, default=32, show_default=True,
                     help="32, as the tutorial."),
        click.option("--train-size", type=types.COUNT, default=None,
                     help="Train on this many images, chosen at random (default: all)."),
        click.option("--validation", type=types.ValidationSplit(), default="test", show_default=True,
                     help="'test' to validate on the test set, or a fraction of the training set to hold out."),
        click.option("--label-noise", type=types.FiniteFloat(0, 1), default=0.0, show_default=True,
                     help="Share of training labels replaced by random ones, to provoke overfitting."),
        click.option("--learning-rate", type=types.FiniteFloat(0, types.MAX_FACTOR, min_open=True), default=0.001,
                     show_default=True),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.command()
@_training_options
@click.option("--l2", type=types.FiniteFloat(0, types.MAX_FACTOR), default=0.01, show_default=True,
              help="Keras L2 factor; 0 for none.")
@click.option("--l2-layers", type=types.LayerSpec(), default="conv1", show_default=True,
              help="Layers whose kernel carries L2: comma-separated from conv1, conv2, fc1, output, or 'all'.")
@click.option("--seed", type=types.SEED, default=0, show_default=True, help="Seeds data, weights and shuffling.")
@click.option("--logdir", type=types.Folder(), default=None,
              help="The run folder (default: runs/<what the run is>).")
@click.option("--overwrite", is_flag=True,
              help="Replace a run already in --logdir (only a folder holding nothing but an l2board run).")
def train(dataset, weight_decay, epochs, batch_size, train_size, validation, label_noise, learning_rate,
          l2, l2_layers, seed, logdir, overwrite):
    """Train the tutorial's CIFAR-100 CNN with L2Monitor into a run folder."""
    from l2board.training.run_folders import make_run_dir, plan_run_dir
    from l2board.training.runs import TrainingConfig

    config = TrainingConfig(dataset=dataset, l2=l2, l2_layers=l2_layers, weight_decay=weight_decay,
                            epochs=epochs, batch_size=batch_size, train_size=train_size,
                            validation=validation, label_noise=label_noise, seed=seed,
                            learning_rate=learning_rate)
    plan = plan_run_dir(logdir or os.path.join("runs", config.name), overwrite=overwrite,
                        explicit=logdir is not None)
    from l2board.training.datasets import load_dataset
    from l2board.training.runs import train_run

    data = _load_then_tensorflow(config.dataset, lambda: load_dataset(
        config.dataset, config.validation, config.train_size, config.label_noise, config.seed))
    folder = make_run_dir(plan)  # only now, with everything checked
    if plan.note:
        click.echo(plan.note)
    click.echo(f"Training the documented CNN ({config.name}) on {data.description}")
    try:
        train_run(config, folder, dataset=data)
    except KeyboardInterrupt:
        raise Interrupted(f"Interrupted during training; the epochs finished so far are in {folder}; "
                          f"report on them with: l2board compare {shlex.quote(folder)}") from None
    click.echo(f"Run written to {printable(folder)}; open it with: "
               f"tensorboard --logdir {printable(shlex.quote(os.path.dirname(folder) or '.'))}")


def _progress(k, n, name, elapsed, remaining):
    left = f", about {format_duration(remaining)} left" if remaining is not None else ""
    click.echo(click.style(f"[run {k} of {n}] {name} (elapsed {format_duration(elapsed)}{left})", bold=True))


def _report(folders, logdir, plot_path):
    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs
    from l2board.rendering.plotting import plot_comparison
    from l2board.rendering.report import render_table

    comparison = compare_runs(read_runs(folders))
    click.echo("")
    click.echo(render_table(comparison, colour=sys.stdout.isatty()))
    plot_comparison(comparison, plot_path)
    click.echo(f"\nPlot written to {printable(plot_path)}")
    click.echo(f"Open the runs in TensorBoard with: tensorboard --logdir {printable(shlex.quote(logdir))}")
    return comparison


@cli.command()
@_training_options
@click.option("--l2", "l2_values", type=types.L2Factor(0, types.MAX_FACTOR), multiple=True, required=True,
              help="An L2 factor to train; repeat for each (0 for none). The first is the baseline. 'auto' searches "
                   "for the factor within --budget runs.")
@click.option("--budget", type=click.IntRange(1, 100_000), default=None,
              help="With --l2 auto: the most runs the search trains.")
@click.option("--l2-layers", "layer_specs", type=types.LayerSpec(), multiple=True, default=("conv1",),
              show_default=True,
              help="Where L2 goes (as for train); repeat to try several.")
@click.option("--seeds", type=click.IntRange(1, 1000), default=None,
              help="Seeds per configuration; the report gives mean ± std. [default: 1; with --l2 auto, 2 per factor "
                   "of its first grid]")
@click.option("--seed", type=types.SEED, default=0, show_default=True, help="The first seed.")
@click.option("--logdir", type=types.Folder(), required=True, help="The experiment's folder.")
@click.option("--overwrite", is_flag=True,
              help="Replace runs already in --logdir (only folders holding nothing but an l2board run).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Where to draw the report's figure (default: LOGDIR/report.png).")
@click.option("--peer-timeout", type=click.IntRange(1, 7 * 24 * 3600), default=600, show_default=True,
              metavar="SECONDS",
              help="Spread over machines (KERASTUNER_TUNER_ID set): how long a worker waits for its chief to answer, "
                   "and the chief for a worker to be heard from, before either stops with a message.")
def experiment(dataset, weight_decay, epochs, batch_size, train_size, validation, label_noise, learning_rate,
               l2_values, budget, layer_specs, seeds, seed, logdir, overwrite, plot_path, peer_timeout):
    """Train every L2 factor (and seed), then compare them; or search for the factor (--l2 auto).

    Each configuration and seed is trained into its own folder under LOGDIR;
    then the report of `l2board compare` is printed and its plot written.
    Ctrl-C keeps the finished runs; compare them later with l2board compare.

    With --l2 auto --budget N, the factor is searched for: a coarse grid with
    no L2 among it, then runs where the answer is still open, until it is
    resolved or N runs are trained; started again on the same LOGDIR, the
    search goes on where it stopped.
    """
    from l2board.training import distributed
    from l2board.training.experiment import (default_config, experiment_configs, load_first_dataset, plan_experiment,
                                             run_experiment)
    from l2board.output_files import check_outside_runs
    from l2board.rendering.plotting import check_plot_path

    if "auto" in l2_values or budget is not None:
        _check_search_options(l2_values, budget, layer_specs, seeds)
    search_seeds, seeds = seeds, seeds or 1
    if seed + seeds - 1 > types.MAX_SEED:
        raise click.BadParameter(f"seeds {seed} to {seed + seeds - 1} go past the largest seed, {types.MAX_SEED}.",
                                 param_hint="'--seeds'")
    base = default_config(dataset=dataset, weight_decay=weight_decay, epochs=epochs, batch_size=batch_size,
                          train_size=train_size, validation=validation, label_noise=label_noise,
                          seed=seed, learning_rate=learning_rate)
    runs = [] if "auto" in l2_values else experiment_configs(base, list(l2_values), list(layer_specs), seeds)
    plot_path = plot_path or os.path.join(logdir, "report.png")
    check_outside_runs(plot_path, "--plot", [os.path.join(logdir, name) for name, _ in runs])
    try:
        check_plot_path(plot_path, created_folder=logdir)  # LOGDIR itself is created later
    except L2BoardError as error:
        raise click.BadParameter(str(error), param_hint="'--plot'") from None
    if "auto" in l2_values:
        _experiment_search(base, layer_specs[0], budget, search_seeds, logdir, overwrite, plot_path, peer_timeout)
        return
    mode = distributed.role()
    if mode is not None:
        _experiment_distributed(mode, runs, logdir, overwrite, plot_path, peer_timeout)
        return
    plans = plan_experiment(runs, logdir, overwrite=overwrite)
    datasets = _load_then_tensorflow(runs[0][1].dataset, lambda: load_first_dataset(runs))
    folders = run_experiment(runs, logdir, progress=_progress, plans=plans, datasets=datasets)
    _report(folders, logdir, plot_path)


def _check_search_options(l2_values, budget, layer_specs, seeds):
    """Refuses options that do not go with --l2 auto (or --budget without it), one sentence each."""
    if "auto" not in l2_values:
        raise click.BadParameter("is the λ search's budget: give it with --l2 auto.", param_hint="'--budget'")
    if len(l2_values) > 1:
        raise click.BadParameter("auto searches the factors itself: give it alone, without other --l2 factors.",
                                 param_hint="'--l2'")
    if budget is None:
        raise click.BadParameter("auto needs --budget N, the most runs the search may train.", param_hint="'--l2'")
    if len(layer_specs) > 1:
        raise click.BadParameter("--l2 auto searches the factor for one choice of layers: give one --l2-layers.",
                                 param_hint="'--l2-layers'")
    if seeds is not None and seeds < 2:
        raise click.BadParameter("--l2 auto needs at least 2 seeds per factor of its first grid, to have intervals.",
                                 param_hint="'--seeds'")
    from l2board.analysis.factor_search import FIRST_SEEDS
    from l2board.training.search import check_budget

    try:
        check_budget(budget, seeds or FIRST_SEEDS)
    except L2BoardError as error:
        raise click.BadParameter(str(error), param_hint="'--budget'") from None


def _experiment_search(base, layers, budget, seeds, logdir, overwrite, plot_path, peer_timeout):
    """`experiment --l2 auto`: the λ search on this machine or over several, then its report and why it stopped."""
    from l2board.analysis.factor_search import FIRST_SEEDS
    from l2board.training import distributed
    from l2board.training.search import SearchFolder, SearchSettings, run_distributed_search, run_search

    settings = SearchSettings(base, tuple(layers), budget, seeds or FIRST_SEEDS)
    folder = SearchFolder(settings, logdir)
    mode = distributed.role()
    if mode == "worker":
        tuner_id = os.environ["KERASTUNER_TUNER_ID"]
        link = distributed.worker_link(peer_timeout, click.echo)  # before TensorFlow loads
        _quiet_tensorflow()
        trained = run_distributed_search(
            settings, logdir, progress=lambda name, _: click.echo(click.style(f"[{tuner_id}] {name}", bold=True)),
            wait=peer_timeout, say=click.echo, link=link)
        click.echo(f"{tuner_id}: trained {len(trained)} run(s) into {printable(logdir)}; the chief reports when the "
                   "search is done.")
        return
    if overwrite:
        folder.clear()  # the search's own runs, each checked to be an l2board run; anything else is refused
    folder.finished()  # another search's runs there are refused before anything is trained
    if mode == "chief":
        from l2board.writing.log_folder import ensure_writable_dir

        def serving():
            click.echo(f"Serving the λ search (a budget of {budget} runs) to KerasTuner workers on {chief.ip}:"
                       f"{chief.port}; its report follows when it is resolved or its budget spent.")

        # A port that cannot be served is refused before anything is made.
        with distributed.Chief(peer_timeout, serving) as chief:
            ensure_writable_dir(logdir)
            _keras_for_a_chief()
            run_distributed_search(settings, logdir, chief=chief)
        step = folder.next_step()
        decision, comparison = step.decision, step.comparison
    else:
        _quiet_tensorflow()
        try:
            decision, comparison, _ = run_search(settings, logdir, progress=_progress)
        except KeyboardInterrupt:
            raise Interrupted(f"Interrupted; the search's finished runs are in {logdir}; start the same command again "
                              "to go on where it stopped.") from None
    _search_report(folder, decision, comparison, budget, logdir, plot_path)


def _search_report(folder, decision, comparison, budget, logdir, plot_path):
    """The search's report: the comparison of its runs, why it stopped and what it recommends, how to go on."""
    from l2board.rendering.plotting import plot_comparison
    from l2board.rendering.report import render_table
    from l2board.rendering.wording import search_sentences

    spent = len(folder.finished())
    click.echo("")
    click.echo(render_table(comparison, colour=sys.stdout.isatty()))
    click.echo("")
    for sentence in search_sentences(decision, comparison, spent, budget):
        click.echo(printable(sentence))
    if decision.outcome == "open":
        command = sys.argv[1:]
        more = _budget_to_go_on(decision, budget)
        at = command.index("--budget") if "--budget" in command else None
        if at is not None and at + 1 < len(command):
            command[at + 1] = str(more)
        click.echo("To go on: l2board " + " ".join(shlex.quote(arg) for arg in command))
    plot_comparison(comparison, plot_path)
    click.echo(f"\nPlot written to {printable(plot_path)}")
    click.echo(f"Open the runs in TensorBoard with: tensorboard --logdir {printable(shlex.quote(logdir))}")


def _budget_to_go_on(decision, budget):
    """A budget that would let an open search try what its closest open question needs."""
    closest = decision.closest
    if closest is not None and closest.seeds_needed:
        return budget + 2 * max(1, closest.seeds_needed - closest.n_value)
    return budget + 10


def _experiment_distributed(mode, runs, logdir, overwrite, plot_path, peer_timeout):
    """The experiment as KerasTuner's distributed grid search: the chief serves and reports, workers train."""
    from l2board.writing.log_folder import ensure_writable_dir
    from l2board.training import distributed
    from l2board.training.experiment import plan_experiment

    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    if mode == "chief":
        def serving():
            click.echo(f"Serving {len(runs)} runs to KerasTuner workers on {chief.ip}:{chief.port}; the comparison "
                       f"follows when all are trained (or, if no worker is heard from for "
                       f"{distributed.span(peer_timeout)}, a message).")

        # A port that cannot be served is refused before anything is made.
        with distributed.Chief(peer_timeout, serving) as chief:
            if overwrite or not distributed.resuming(logdir):
                plan_experiment(runs, logdir, overwrite=overwrite)  # refuses what is not ours, before serving
            else:
                distributed.check_same_runs(runs, logdir)
            ensure_writable_dir(logdir)
            distributed.save_runs(runs, logdir)
            _keras_for_a_chief()
            _report(distributed.run_distributed(runs, logdir, overwrite=overwrite, chief=chief), logdir, plot_path)
        return
    link = distributed.worker_link(peer_timeout, click.echo)  # the chief answers before TensorFlow loads
    _quiet_tensorflow()
    trained = distributed.run_distributed(
        runs, logdir, progress=lambda name, _: click.echo(click.style(f"[{tuner_id}] {name}", bold=True)),
        wait=peer_timeout, say=click.echo, link=link)
    click.echo(f"{tuner_id}: trained {len(trained)} run(s) into {printable(logdir)}; the chief reports when all "
               "are done.")


DEMO_NOISE, DEMO_TRAIN_SIZE, DEMO_EPOCHS, DEMO_SEED = 0.4, 300, 30, 0
DEMO_ALL_LAYERS_L2 = 0.01


@cli.command()
@click.option("--logdir", type=types.Folder(), default=None,
              help="The demo's folder (default: runs/demo-<date and time>).")
@click.option("--epochs", type=types.COUNT, default=DEMO_EPOCHS, show_default=True)
@click.option("--overwrite", is_flag=True,
              help="Replace the demo's runs already in --logdir (only folders holding nothing but an l2board run).")
def demo(logdir, epochs, overwrite):
    """Reproduce the tutorial's L2 experiment offline, in about two minutes.

    Trains the documented CNN three ways on scikit-learn's handwritten digits
    (no download): without L2, with the tutorial's L2 (0.01 on conv1 only),
    and with L2 on every layer; then prints the comparison, writes its plot,
    and says how to open the runs in TensorBoard.
    """
    from l2board.training.experiment import plan_experiment, run_experiment
    from l2board.training.runs import TrainingConfig

    base = dict(dataset="digits", train_size=DEMO_TRAIN_SIZE, label_noise=DEMO_NOISE, epochs=epochs, seed=DEMO_SEED)
    runs = [("no-l2", TrainingConfig(l2=0.0, **base)),
            ("tutorial-l2-0.01-conv1", TrainingConfig(l2=0.01, l2_layers="conv1", **base)),
            (f"l2-{DEMO_ALL_LAYERS_L2:g}-all", TrainingConfig(l2=DEMO_ALL_LAYERS_L2, l2_layers="all", **base))]
    if logdir is None:
        from l2board.writing.log_folder import make_fresh_log_dir

        logdir = make_fresh_log_dir("runs", prefix="demo-")
    plans = plan_experiment(runs, logdir, overwrite=overwrite)
    click.echo(
        f"The data: {DEMO_TRAIN_SIZE} of scikit-learn's handwritten digits, enlarged to 32x32x3 for the "
        f"tutorial's CIFAR network, with {100 * DEMO_NOISE:.0f}% of their labels replaced by random ones. "
        "Why: a network this large memorizes random labels, so overfitting shows within a minute, and "
        "regularization has something to fight (Zhang et al., 2017). Validation uses 449 clean test digits.")
    _quiet_tensorflow()
    folders = run_experiment(runs, logdir, progress=_progress, verbose=2, plans=plans)
    _report(folders, logdir, os.path.join(logdir, "report.png"))


@cli.command()
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv", "markdown"]),
              default="table", show_default=True, help="Output format; the JSON is documented in docs/compare-json.md.")
@click.option("--plot", "plot_path", type=types.PlotPath(), default=None,
              help="Also draw the curves into this .png, .svg or .pdf file.")
@click.option("--metric", default=None,
              help="Metric to compare (default: an accuracy-like one, else another whose direction is known, "
                   "the most runs log).")
@click.option("--higher-is-better/--lower-is-better", "higher_is_better", default=None,
              help="Which way --metric is better, for a metric l2board does not know by name (it knows "
                   "accuracy, AUC, F1, MAE, MSE, perplexity...).")
@click.option("--baseline", default=None, help="Run or configuration to compare against (default: the first).")
@click.option("--patience", default=DEFAULT_PATIENCE, show_default=True, type=click.IntRange(1, MAX_PATIENCE),
              help="Patience of the EarlyStopping that is replayed on val_loss.")
@click.option("--tag", "tag_mappings", type=types.TagMapping(), multiple=True,
              help="Which logged tags hold a role, for names l2board does not recognise: ROLE=TRAIN,VAL "
                   "(e.g. loss=Loss/train,Loss/val or accuracy=train_acc,val_acc); repeat per role.")
@click.option("--loss-includes-penalty/--loss-excludes-penalty", "loss_includes_penalty", default=None,
              help="For runs not logged by L2Monitor: whether their logged loss includes the regularization "
                   "penalties (Keras's does). Default: unknown, and the report says the loss measures may "
                   "include them.")
@click.option("--output", "-o", type=types.OutputFile(), default=None,
              help="Write the report to this file instead of the terminal.")
def compare(runs, output_format, plot_path, metric, higher_is_better, baseline, patience, tag_mappings,
            loss_includes_penalty, output):
    """Compare runs with and without L2: did it reduce overfitting?

    Each RUN is a log folder (as L2Monitor or keras.callbacks.TensorBoard
    writes it), a folder holding runs, an event file, or a glob pattern; each
    may be a URL (s3://bucket/runs, gs://..., through fsspec). Runs
    whose names differ only by a seed suffix (run-seed0, run-seed1 or
    run/seed0, ...) are averaged as one configuration. A run that cannot be
    analysed (no validation values, say) is listed as skipped, with why.
    """
    from l2board.analysis.comparison import compare_runs
    from l2board.reading.logs import read_runs
    from l2board.rendering.report import render

    from l2board.output_files import atomic_output, check_outside_runs
    from l2board.reading.storage import is_url

    if output and plot_path and os.path.realpath(output) == os.path.realpath(plot_path):
        raise click.BadParameter(f"'{output}' is also the --plot file; give the report another name.",
                                 param_hint="'--output'")
    if higher_is_better is not None and metric is None:
        raise click.BadParameter("says which way a metric is better: name the metric with --metric too.",
                                 param_hint="'--higher-is-better' / '--lower-is-better'")
    comparison = compare_runs(read_runs(runs, tag_map=types.tag_map_of(tag_mappings)), baseline=baseline,
                              metric=metric, patience=patience, loss_includes_penalty=loss_includes_penalty,
                              higher_is_better=higher_is_better)
    from l2board.freed_memory import return_freed_memory

    return_freed_memory()  # what reading held, before the report is made (l2board/freed_memory.py)
    # Outputs are local files: runs read from URLs (s3://...) cannot hold them.
    folders = [run.path for run in comparison.runs if not is_url(run.path)]
    for path, option in ((output, "--output"), (plot_path, "--plot")):
        if path:
            check_outside_runs(path, option, folders)
    from l2board.rendering.wording import file_note_sentence

    for note in comparison.file_notes:
        click.echo(f"Warning: {printable(file_note_sentence(note))}", err=True)
    if plot_path:
        from l2board.rendering.plotting import plot_comparison

        plot_comparison(comparison, plot_path)
    # The warnings went to stderr above; a report on the terminal would
    # repeat them, a report written to a file keeps them.
    text = render(comparison, output_format, colour=output is None and sys.stdout.isatty(),
                  warnings=output is not None)
    if output:
        with atomic_output(output, "the report") as handle:
            handle.write(text + "\n")
        click.echo(f"Report written to {printable(output)}")
    else:
        click.echo(text)
    if plot_path:
        click.echo(f"Plot written to {printable(plot_path)}", err=output_format != "table" and output is None)


def _load_then_tensorflow(dataset, load):
    """Returns `load()`, having loaded TensorFlow quietly after it: digits and .npz data are checked, and bad
    sizes refused, before TensorFlow's seconds of start-up. keras.datasets need TensorFlow to load at all."""
    from l2board.training.datasets import KERAS_DATASETS

    if dataset in KERAS_DATASETS:
        _quiet_tensorflow()
    loaded = load()
    _quiet_tensorflow()
    return loaded


def _keras_for_a_chief():
    """Keras on its NumPy backend, unless it is loaded already: a chief serves runs to its workers and never trains,
    and KerasTuner's oracle needs no framework; loading TensorFlow would cost it seconds and half a gigabyte."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "numpy"


def _quiet_tensorflow():
    """Imports TensorFlow without its C++ start-up notices on stderr.

    TensorFlow prints oneDNN, CUDA-driver and CPU-feature notices while it
    loads and sets up devices, before its logging can be configured: noise
    for the users of a command line. They are captured and shown only if
    the import fails.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_logical_devices()
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {printable(message)}", err=True)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    """Runs the CLI; user errors end in one sentence and exit status 1."""
    import warnings

    warnings.showwarning = _show_warning
    # `kill` and a closed terminal end l2board as Ctrl-C does: half-written
    # outputs are removed and the message says what was kept.
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _raise_keyboard_interrupt)
    try:
        status = cli.main(args=argv, prog_name="l2board", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except L2BoardError as error:
        from l2board.rendering.wording import error_sentence

        click.echo(f"Error: {printable(error_sentence(error))}", err=True)
        sys.exit(getattr(error, "exit_code", 1))
    except KeyboardInterrupt:  # before a command started, or after it ended
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
