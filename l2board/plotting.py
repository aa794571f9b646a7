"""Draws a `Comparison` as one figure, with matplotlib and no display."""

import os

from l2board.errors import L2BoardError


def plot_comparison(comparison, path):
    """Writes the comparison's curves to a PNG, SVG or PDF file.

    Six panels: accuracy (training dashed, validation solid), data loss
    (likewise), the accuracy gap, the validation loss as Keras logs it
    (penalty included), the mean training penalty, and the total weight L2
    norm; one colour per run.

    Args:
        comparison: a `Comparison`.
        path: the file to write; its extension picks the format.

    Raises:
        L2BoardError: for an unknown extension or a file that cannot be written.
    """
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension not in ("png", "svg", "pdf"):
        raise L2BoardError(f"Cannot write a plot to '{path}': use a .png, .svg or .pdf file name.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise L2BoardError(f"Cannot write the plot to '{path}': the folder '{folder}' does not exist.")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise L2BoardError(f"Cannot write the plot to '{path}': permission denied.")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metric = comparison.metric or "metric"
    panels = (
        (f"{metric}", ("metric_epochs", "train_metric", "val_metric"), 100.0, "%"),
        ("data loss (no penalty)", ("data_loss_epochs", "train_data_loss", "val_data_loss"), 1.0, ""),
        (f"{metric} gap: train - val", ("metric_epochs", None, "metric_gap_pp"), 1.0, "pp"),
        ("val_loss as Keras logs it (with penalty)", ("val_loss_epochs", None, "val_loss"), 1.0, ""),
        ("training penalty", ("penalty_epochs", None, "penalty"), 1.0, ""),
        ("total weight L2 norm", ("weight_l2_epochs", None, "weight_l2"), 1.0, ""),
    )
    figure, axes = plt.subplots(2, 3, figsize=(15, 8.5), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    # One colour per configuration: the seeds of a configuration share it.
    configuration_of = {run: c for c in comparison.configurations for run in c.runs}
    colour_of = {c.name: colours[i % len(colours)] for i, c in enumerate(comparison.configurations)}
    for axis, (title, (x_key, train_key, val_key), scale, unit) in zip(axes.flat, panels):
        drawn = False
        labelled = set()
        for run in comparison.runs:
            curves = run.curves
            if x_key not in curves or val_key not in curves:
                continue
            configuration = configuration_of[run.name]
            colour = colour_of[configuration.name]
            label = None
            if configuration.name not in labelled:
                labelled.add(configuration.name)
                seeds = f" ({len(configuration.runs)} runs)" if len(configuration.runs) > 1 else ""
                label = f"{configuration.name}: {configuration.label}{seeds}"
            if train_key:
                axis.plot(curves[x_key], [scale * v for v in curves[train_key]], "--", color=colour, alpha=0.7)
            axis.plot(curves[x_key], [scale * v for v in curves[val_key]], "-", color=colour, label=label)
            drawn = True
        axis.set_title(title + (f" ({unit})" if unit else ""))
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        if not drawn:
            axis.text(0.5, 0.5, "not logged (L2Monitor logs it)", ha="center", va="center",
                      transform=axis.transAxes, color="grey")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if not handles:
        for axis in axes.flat:
            handles, labels = axis.get_legend_handles_labels()
            if handles:
                break
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncol=min(3, len(handles)), fontsize="small")
    figure.suptitle("l2board compare: solid = validation, dashed = training\n" + " ".join(comparison.verdict),
                    fontsize="medium", wrap=True)
    try:
        figure.savefig(path, dpi=110)
    except OSError as error:
        raise L2BoardError(f"Cannot write the plot to '{path}': {error.strerror or error}.") from None
    finally:
        plt.close(figure)
    return path
