"""The L2 tab on a thousand runs: `/runs` and `/report`, once TensorBoard serves every run.

Uses the log set of `thousand_runs.py` (1,000 runs x 100 epochs of what
L2Monitor writes for the documented CNN; written once into `--logdir` and
reused when complete). Starts `tensorboard --logdir` on loopback with
`--load_fast=true` (the Rust data server, the default where it is
installed), waits until it serves every run's validation data loss (an
observable state, polled), then times, first call and median of the next
`--repeats`: TensorBoard's own run list `/data/runs` (the unit: what a
route costs that does no work of ours), its `/data/plugins_listing` (every
page load asks it; it includes the tab's `is_active`), the tab's `/runs`
(its first route; it reads the runs' texts only) and `/report` without `run=` (every run,
bounded at the plugin's `MAX_RUNS`), the latter also gzipped as a browser
asks for it (`Accept-Encoding: gzip`; the tab keeps each answer, and its
gzip, by the state of its runs' data). Prints each time and its ratio to the
run list's, with issue 19's targets (warm: `/runs` at most 0.5 s, `/report`
at most 1 s).

Usage:
    python benchmarks/thousand_runs_tab.py --logdir /tmp/l2board-thousand [--repeats 5]
"""

import argparse
import gzip
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request

from dashboard_latency import fetch, start_tensorboard  # benchmarks/, beside this script
from thousand_runs import EPOCHS, RUNS, log_set


def fetch_gzipped(port, path):
    """As `fetch`, asking for gzip as a browser does; the time includes reading the body, not unpacking it."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept-Encoding": "gzip, deflate"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body, encoding = response.read(), response.headers.get("Content-Encoding")
    elapsed = time.perf_counter() - start
    return elapsed, json.loads(gzip.decompress(body) if encoding == "gzip" else body)


def wait_until_loaded(port, limit=1800):
    """Polls until every run's validation data loss has every epoch (the last run's series checked)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        _, tags = fetch(port, "/data/plugin/scalars/tags")
        loaded = [run for run, names in tags.items() if run.endswith("/validation") and "epoch_data_loss" in names]
        if len(loaded) == RUNS:
            query = urllib.parse.urlencode({"run": sorted(loaded)[-1], "tag": "epoch_data_loss"})
            _, points = fetch(port, f"/data/plugin/scalars/scalars?{query}")
            if len(points) == EPOCHS:
                return
        time.sleep(0.5)
    raise RuntimeError("TensorBoard did not serve every run in time")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", required=True, help="the log set of thousand_runs.py (written there if missing)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logdir = log_set(args.logdir)
    process, port = start_tensorboard(logdir, "true")
    try:
        start = time.perf_counter()
        wait_until_loaded(port)
        print(f"TensorBoard served every run {time.perf_counter() - start:.1f} s after it started listening")
        results = {}
        for name, path, get in (("TensorBoard's run list", "/data/runs", fetch),
                                ("plugins_listing", "/data/plugins_listing", fetch),
                                ("/runs", "/data/plugin/l2board/runs", fetch),
                                ("/report (every run)", "/data/plugin/l2board/report", fetch),
                                ("/report, gzip", "/data/plugin/l2board/report", fetch_gzipped)):
            times = [get(port, path)[0] for _ in range(args.repeats + 1)]
            results[name] = (times[0], statistics.median(times[1:]))
        _, runs = fetch(port, "/data/plugin/l2board/runs")
        _, report = fetch(port, "/data/plugin/l2board/report")
        assert len(runs["runs"]) == RUNS, len(runs["runs"])
        assert len(report["runs"]) == RUNS and all(r["epochs"] == EPOCHS for r in report["runs"])
    finally:
        process.terminate()
        process.wait(timeout=60)
    unit = results["TensorBoard's run list"][1]
    targets = {"/runs": 0.5, "/report (every run)": 1.0, "/report, gzip": 1.0}
    for name, (first, warm) in results.items():
        line = f"{name:23s} first {first:7.3f} s, warm (median of {args.repeats}) {warm:7.3f} s ({warm / unit:6.1f} x the run list)"
        if name in targets:
            line += f"; target warm at most {targets[name]} s: {'met' if warm <= targets[name] else 'NOT met'}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
