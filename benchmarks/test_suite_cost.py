"""Where the README's test command spends its time: wall, CPU, and every process it starts.

Runs `python -m pytest` (the README's test command after its setup) with a
`sitecustomize` on PYTHONPATH that records, as each Python process ends, its
CPU seconds, whether it loaded TensorFlow, the test that started it
(PYTEST_CURRENT_TEST, which children inherit) and its command. Prints the
wall time and CPU of the whole run, then the CPU by test file and by kind of
process. On 2 cores the wall time is at best half the CPU: the CPU is what a
faster suite must cut.

    python benchmarks/test_suite_cost.py [pytest arguments...]   # e.g. --durations=40
"""

import collections
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

RECORDER = r'''
import atexit, os, sys
def _record():
    try:
        import resource
        usage = resource.getrusage(resource.RUSAGE_SELF)
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        with open(os.environ["SUITE_COST_LOG"], "a") as log:
            log.write("\t".join([f"{usage.ru_utime + usage.ru_stime:.2f}", str("tensorflow" in sys.modules), test,
                                 " ".join(sys.argv)[:200].replace("\t", " ").replace("\n", " ")]) + "\n")
    except Exception:
        pass
atexit.register(_record)
'''


def kind(command):
    words = command.split()
    if not words:
        return "?"
    program = os.path.basename(words[0])
    if program in ("l2board", "cli.py") and len(words) > 1:
        return f"l2board {words[1]}"
    if program == "-c":
        return "python -c (pytest-xdist workers, test scripts)"
    return program


def main(args):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "sitecustomize.py"), "w") as handle:
            handle.write(RECORDER)
        log = os.path.join(folder, "processes.tsv")
        env = dict(os.environ, SUITE_COST_LOG=log,
                   PYTHONPATH=os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH")])))
        start = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=root,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wall = time.monotonic() - start
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows = []
        if os.path.exists(log):
            with open(log) as handle:
                rows = [line.rstrip("\n").split("\t") for line in handle if line.count("\t") == 3]
    lines = result.stdout.strip().splitlines()
    # With --durations=N, pytest's slowest tests, which say where the workers' own time goes.
    print("\n".join(line for line in lines if re.match(r"[0-9.]+s (setup|call|teardown) ", line)))
    print(lines[-1] if lines else "(no output)")
    cpu = children.ru_utime + children.ru_stime
    print(f"wall {wall:.0f} s, CPU {cpu:.0f} s in all ({cpu / wall:.2f} cores busy on average); "
          f"{len(rows)} Python processes recorded, {sum(r[1] == 'True' for r in rows)} of them loaded TensorFlow")
    by_file, by_kind, by_test = (collections.defaultdict(lambda: [0.0, 0, 0]) for _ in range(3))
    for seconds, tensorflow, test, command in rows:
        for table, key in ((by_file, test.split("::")[0] or "(pytest and its workers)"), (by_kind, kind(command)),
                           (by_test, test or "(pytest and its workers)")):
            table[key][0] += float(seconds)
            table[key][1] += 1
            table[key][2] += tensorflow == "True"
    for title, table in (("CPU by test file (processes, of them with TensorFlow)", by_file),
                         ("CPU by kind of process", by_kind),
                         ("CPU by test, its own children included", by_test)):
        print(f"\n{title}:")
        for key, (seconds, count, with_tf) in sorted(table.items(), key=lambda item: -item[1][0])[:30]:
            print(f"  {seconds:7.1f} s  {count:4d} ({with_tf:3d})  {key}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
