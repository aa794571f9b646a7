"""The L2 tab on a long run: reading every point again from the event files, against `l2board compare`.

TensorBoard keeps 1,000 points per scalar tag, so the tab reads a longer
run again from its event files (plugins/tensorboard_plugin_l2board/
provider_runs.py), within `MAX_FULL_READ_BYTES` per request. This script
writes a run of `--epochs` epochs (two tags, as tests/log_writers.py
`long_run` writes it), then measures side by side, each in a fresh process,
in a rotating order, several rounds:

- compare: `read_runs` + `compare_runs` on the run (what `l2board compare` does);
- tab: one `/report?run=long` request through the plugin over TensorBoard's
  own data provider (loaded before the clock starts, as a running
  TensorBoard has it), which reads the run again from its files.

It prints the median time of each, their ratio, the tab's peak memory
(maximum resident set of its process, less that of the same process before
the request) and what those rates give for `MAX_FULL_READ_BYTES`.

Usage:
    python benchmarks/long_run_tab.py [--epochs 100000] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

COMPARE = """
import json, resource, sys, time
from l2board.analysis.comparison import compare_runs
from l2board.reading.logs import read_runs
start = time.perf_counter()
(run,) = compare_runs(read_runs([sys.argv[1] + "/long"]), patience=5).runs
print(json.dumps({"seconds": time.perf_counter() - start, "epochs": run.epochs}))
"""

TAB = """
import json, resource, sys, time
from tensorboard.backend import application
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from werkzeug.test import Client
from tensorboard_plugin_l2board.l2_plugin import L2BoardPlugin
multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"scalars": 1000, "text": 10})
multiplexer.AddRunsFromDirectory(sys.argv[1])
multiplexer.Reload()
data = data_provider.MultiplexerDataProvider(multiplexer, sys.argv[1])
plugin = L2BoardPlugin(base_plugin.TBContext(data_provider=data, logdir=sys.argv[1]))
client = Client(application.TensorBoardWSGI([plugin], data_provider=data))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
response = client.get("/data/plugin/l2board/report?run=long&patience=5")
seconds = time.perf_counter() - start
(run,) = json.loads(response.get_data(as_text=True))["runs"]
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"seconds": seconds, "epochs": run["epochs"], "grown_kb": grown}))
"""


def measure(code, logdir):
    out = subprocess.run([sys.executable, "-c", code, logdir], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    sys.path.insert(0, os.path.join(HERE, "..", "plugins"))
    from log_writers import long_run

    from tensorboard_plugin_l2board.provider_runs import MAX_FULL_READ_BYTES

    with tempfile.TemporaryDirectory() as logdir:
        long_run(os.path.join(logdir, "long"), epochs=args.epochs)
        size = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(logdir) for f in files)
        times = {"compare": [], "tab": []}
        grown = []
        for round_ in range(args.rounds):
            for name in (("compare", "tab") if round_ % 2 == 0 else ("tab", "compare")):
                result = measure(COMPARE if name == "compare" else TAB, logdir)
                assert result["epochs"] == args.epochs, result
                times[name].append(result["seconds"])
                if name == "tab":
                    grown.append(result["grown_kb"] / 1024)
    compare, tab = statistics.median(times["compare"]), statistics.median(times["tab"])
    points = 2 * args.epochs
    print(f"run: {args.epochs:,} epochs x 2 tags = {points:,} points, {size / 2**20:.1f} MiB of event files")
    print(f"compare (read + analyse): {compare:.2f} s   tab /report: {tab:.2f} s   tab / compare: {tab / compare:.2f}")
    print(f"tab memory grown during the request: {statistics.median(grown):.0f} MiB")
    scale = MAX_FULL_READ_BYTES / size
    print(f"at MAX_FULL_READ_BYTES = {MAX_FULL_READ_BYTES / 2**20:.0f} MiB: about {points * scale / 1e6:.1f} million "
          f"points, {tab * scale:.0f} s, {statistics.median(grown) * scale:.0f} MiB")


if __name__ == "__main__":
    main()
