"""The `l2board` command line: parses, calls the library, prints."""

import os
import sys

import click

from l2board.errors import L2BoardError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="l2board")
def cli():
    """See what L2 regularization does to a Keras model."""


@cli.command()
@click.option("--logdir", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder that receives the run folder.")
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(min=1), help="Training epochs.")
@click.option("--train-size", default=600, show_default=True, type=click.IntRange(min=32, max=1348),
              help="Training images taken from the digits' training split.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for weights, shuffling and data.")
def demo(logdir, epochs, train_size, seed):
    """Train the tutorial's CNN briefly, offline, with L2Monitor.

    Trains the documented CNN (L2 0.01 on conv1, as the tutorial) on
    scikit-learn's bundled handwritten digits enlarged to 32x32x3, so that no
    download is needed, and writes TensorBoard logs under LOGDIR.
    """
    _quiet_tensorflow()
    from l2board.callback import make_fresh_log_dir
    from l2board.training import train_documented_cnn_on_digits

    run_dir = make_fresh_log_dir(logdir, prefix="demo-")
    train_documented_cnn_on_digits(run_dir, epochs=epochs, train_size=train_size, seed=seed)
    click.echo(f"Logs written to {run_dir}")
    click.echo(f"Open them with: tensorboard --logdir {logdir}")


@cli.command()
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv", "markdown"]),
              default="table", show_default=True, help="Output format; the JSON is documented in docs/compare-json.md.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw the curves into this .png, .svg or .pdf file.")
@click.option("--metric", default=None, help="Accuracy-like metric to compare (default: accuracy, or the one all runs share).")
@click.option("--baseline", default=None, help="Run or configuration to compare against (default: the first).")
@click.option("--patience", default=5, show_default=True, type=click.IntRange(min=1),
              help="Patience of the EarlyStopping that is replayed on val_loss.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of the terminal.")
def compare(runs, output_format, plot_path, metric, baseline, patience, output):
    """Compare runs with and without L2: did it reduce overfitting?

    Each RUN is a log folder (as L2Monitor or keras.callbacks.TensorBoard
    writes it), a folder holding runs, an event file, or a glob pattern. Runs
    whose names differ only by a seed suffix (run-seed0, run-seed1 or
    run/seed0, ...) are averaged as one configuration.
    """
    from l2board.analysis import compare_runs
    from l2board.logs import read_runs
    from l2board.report import render

    comparison = compare_runs(read_runs(runs), baseline=baseline, metric=metric, patience=patience)
    for warning in comparison.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if plot_path:
        from l2board.plotting import plot_comparison

        plot_comparison(comparison, plot_path)
    text = render(comparison, output_format, colour=output is None and sys.stdout.isatty())
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as error:
            raise L2BoardError(f"Cannot write the report to '{output}': {error.strerror or error}.") from None
        click.echo(f"Report written to {output}")
    else:
        click.echo(text)
    if plot_path:
        click.echo(f"Plot written to {plot_path}", err=output_format != "table" and output is None)


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
    click.echo(f"Warning: {message}", err=True)


def main(argv=None):
    """Runs the CLI; user errors end in one sentence and exit status 1."""
    import warnings

    warnings.showwarning = _show_warning
    try:
        status = cli.main(args=argv, prog_name="l2board", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except L2BoardError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted; the epochs finished so far are in the logs.", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
