"""A thousand runs read from S3 against the same runs read from local disk, cold, side by side.

The log set is benchmarks/thousand_runs.py's (1,000 runs x 100 epochs, 3,000
event files, about 480 MB), reused from its folder when complete, else
written there by that script's `make_logs`. moto's S3 server is started on
loopback in this process (as tests/test_remote_logs.py starts it) and the
set is uploaded to it once. Nothing leaves the machine: the endpoint is
loopback, the credentials are dummies.

Then, in each round, in an order that alternates from round to round, two
fresh processes each call `l2board.read_runs` once (every event file
fetched or read and parsed, every CRC checked):

- local: the folder on disk;
- s3: `s3://<bucket>/runs`, through fsspec and s3fs.

With `--baseline-source DIR` (another l2board's source tree, such as
`git archive REV l2board | tar -x -C DIR`), a third reader, s3 read by that
tree (first on `PYTHONPATH`), joins each round: its ratio to local is the
one before a change.

All run with the parse cache off (`L2BOARD_CACHE=off`): every file is
parsed. "Cold" is a first read in a fresh process: for s3, a new s3fs with
nothing listed or fetched; the event files are in the OS page cache (it
cannot be dropped without root) and in moto's memory. The script prints, per
round and as medians: the whole process and the `read_runs` call, the CPU
seconds of the reader (its process and its worker processes) and of the S3
server (this process's CPU while the reader ran: moto serves every request
here), the peak resident memory of the reader and of its largest worker
process, and the ratio s3 / local. Both reads must
give the same runs, values, texts and damage notes (a digest of each).

Usage:
    python benchmarks/remote_logs.py [--logdir /tmp/l2board-thousand] [--rounds 5] [--baseline-source DIR]
"""

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time

from compare_command import check_tree, free_port  # benchmarks/, beside this script
from thousand_runs import log_set

BUCKET = "l2board-bench"

# A fresh reader: the time of read_runs, its CPU with its workers', its peak memory, and a digest of what it read.
_READER = """
import hashlib, json, resource, sys, time
start = time.perf_counter()
import l2board
called = time.perf_counter()
runs = l2board.read_runs(sys.argv[1])
seconds = time.perf_counter() - called
root = sys.argv[1].rstrip("/")
digest = hashlib.sha256()
for run in runs:
    digest.update(repr((run.name, run.path.replace(root, "ROOT", 1), sorted(run.texts.items()),
                        sorted(run.other_tags.items()),
                        [(d.path.replace(root, "ROOT", 1), d.bad_records, d.resyncs, d.skipped_bytes, d.truncated,
                          d.unreadable, d.unframed_tail) for d in run.damage])).encode())
    for key in sorted(run.scalars):
        series = run.scalars[key]
        digest.update(repr(key).encode() + series.steps.tobytes() + series.values.tobytes())
own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
# VmHWM, not ru_maxrss: a process started by fork and exec keeps the ru_maxrss of its parent, which holds moto's
# copy of the log set.
with open("/proc/self/status") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"source": l2board.__file__, "read": seconds, "runs": len(runs), "digest": digest.hexdigest(),
                  "cpu": own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime,
                  "rss_mib": peak_kib / 1024, "worker_rss_mib": workers.ru_maxrss / 1024}))
"""



def start_s3():
    """moto's S3 server on loopback, in this process; returns `(server, endpoint)`."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request would be timed too
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{server._port}"


def reader_environment(endpoint):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "L2BOARD_"))}
    env.update(L2BOARD_CACHE="off", AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull)
    return env


def read_once(target, env):
    """One fresh reader of `target` in `env`: its results, the whole process's time and the server's CPU meanwhile."""
    server_cpu = time.process_time()  # this process does nothing else meanwhile: its CPU is moto's
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-P", "-c", _READER, target], capture_output=True, text=True, env=env)
    whole = time.perf_counter() - start
    server_cpu = time.process_time() - server_cpu
    if result.returncode != 0:
        raise RuntimeError(f"reading {target} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]), whole=whole, server_cpu=server_cpu,
                warnings=result.stderr.strip())


def median_interval(values, coverage=0.95):
    """A distribution-free interval for the median of `values`: the pair of order statistics, as close to the
    middle as can be, that holds it with at least `coverage` (from the binomial distribution of signs);
    `None` when there are too few values for that coverage."""
    from math import comb

    ordered, n = sorted(values), len(values)
    best = None
    for k in range(n // 2):  # the interval from the (k+1)-th smallest to the (k+1)-th largest
        held = 1 - 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n
        if held >= coverage:
            best = (ordered[k], ordered[n - 1 - k], held)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="/tmp/l2board-thousand")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-source", help="another l2board's source tree, read from s3 as a third reader")
    args = parser.parse_args()
    logdir = log_set(args.logdir)

    import s3fs

    server, endpoint = start_s3()
    try:
        fs = s3fs.S3FileSystem(key="testing", secret="testing", client_kwargs={"endpoint_url": endpoint},
                               skip_instance_cache=True)
        fs.mkdir(BUCKET)
        start = time.perf_counter()
        fs.put(logdir, f"{BUCKET}/runs", recursive=True)
        files = sum("tfevents" in name for _, _, names in os.walk(logdir) for name in names)
        print(f"Uploaded {files} event files to moto's S3 server at {endpoint} in "
              f"{time.perf_counter() - start:.1f} s.\n", flush=True)
        env = reader_environment(endpoint)
        readers = {"local": (logdir, env), "s3": (f"s3://{BUCKET}/runs", env)}
        if args.baseline_source:
            readers["s3 base"] = (f"s3://{BUCKET}/runs", dict(env, PYTHONPATH=os.path.abspath(args.baseline_source)))
            check_tree(args.baseline_source, readers["s3 base"][1])
        measured = {name: [] for name in readers}
        print(f"{'round':>5} {'reader':>7} {'whole s':>8} {'read s':>7} {'CPU s':>6} {'server CPU s':>12} "
              f"{'peak MiB':>9}  (reader, largest worker)")
        for round_ in range(args.rounds):
            names = list(readers) if round_ % 2 == 0 else list(reversed(readers))
            for name in names:
                result = read_once(*readers[name])
                measured[name].append(result)
                print(f"{round_ + 1:>5} {name:>7} {result['whole']:8.2f} {result['read']:7.2f} {result['cpu']:6.1f} "
                      f"{result['server_cpu']:12.1f} {result['rss_mib']:5.0f}, {result['worker_rss_mib']:.0f}",
                      flush=True)
                if result["warnings"]:
                    print(f"       {name} said: {result['warnings'][:300]}")
    finally:
        server.stop()

    local, remote = measured["local"], measured["s3"]
    every = [r for results in measured.values() for r in results]
    same = all(r["runs"] == local[0]["runs"] and r["digest"] == local[0]["digest"] for r in every)
    print(f"\nEach read {local[0]['runs']} runs; runs, values, texts and damage notes the same in every read: "
          f"{'yes' if same else 'NO'}. Sources: " + "; ".join(f"{name} {results[0]['source']}"
                                                             for name, results in measured.items()))

    def median(results, field):
        return statistics.median(r[field] for r in results)

    print(f"\nMedians of {args.rounds} rounds (this machine, {os.cpu_count()} cores):")
    for field, label in (("whole", "whole process"), ("read", "read_runs call"), ("cpu", "reader's CPU")):
        ratios = [r[field] / l[field] for l, r in zip(local, remote)]
        print(f"  {label:<15} local {median(local, field):7.2f} s   s3 {median(remote, field):7.2f} s   "
              f"s3/local {statistics.median(ratios):.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
    if "s3 base" in measured:
        base = measured["s3 base"]
        ratios = [b["whole"] / l["whole"] for l, b in zip(local, base)]
        print(f"  {'baseline tree':<15} s3 {median(base, 'whole'):7.2f} s whole process, s3/local "
              f"{statistics.median(ratios):.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)}); reader's CPU "
              f"{median(base, 'cpu'):.1f} s, S3 server's {median(base, 'server_cpu'):.1f} s")
    print(f"  S3 server's CPU while s3 was read: {median(remote, 'server_cpu'):.1f} s (moto, in this process, "
          "on the same cores)")
    print(f"  peak resident memory: local {median(local, 'rss_mib'):.0f} MiB, its largest worker "
          f"{median(local, 'worker_rss_mib'):.0f} MiB; s3 {median(remote, 'rss_mib'):.0f} MiB, its largest worker "
          f"{median(remote, 'worker_rss_mib'):.0f} MiB")
    ratios = [r["whole"] / l["whole"] for l, r in zip(local, remote)]
    interval = median_interval(ratios)
    if interval is None:
        print(f"\nTarget: s3 <= 2x local, cold (whole process): median {statistics.median(ratios):.2f}x; too few "
              "rounds for a 95% interval of the median (7 or more), so not resolved.")
    else:
        low, high, held = interval
        verdict = "met" if high <= 2 else "NOT met" if low > 2 else "not resolved (the interval holds 2x)"
        print(f"\nTarget: s3 <= 2x local, cold (whole process): {verdict}: median {statistics.median(ratios):.2f}x, "
              f"{held:.1%} interval of the median {low:.2f}x to {high:.2f}x (order statistics of the rounds).")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
