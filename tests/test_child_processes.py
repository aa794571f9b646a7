"""The children tests start (`conftest.start_child`, `run_child`) start as from a terminal, however pytest was started.

`pytest &` in a shell script starts pytest with SIGINT and SIGQUIT ignored;
a job may be started with signals blocked; the shell's variables may steer
l2board. None of that may reach a test's child.
"""

import os
import signal
import subprocess

from conftest import run_child, start_child


def _signal_masks(status):
    """`{SigBlk: mask, SigIgn: mask}` of a process, from its /proc status."""
    return {line.split(":")[0]: int(line.split(":")[1], 16) for line in status.splitlines()
            if line.startswith(("SigBlk:", "SigIgn:"))}


# The shell's own status, read with builtins before it starts anything: while it forks (`cat`, say), a shell
# blocks every signal for a moment, and a status read then shows that moment, not what the child was given.
OWN_STATUS = 'while IFS= read -r line; do echo "$line"; done < /proc/$$/status'


def test_a_child_gets_a_terminals_signals_an_empty_stdin_and_no_steering_variables(monkeypatch):
    # As a background job of a script, and with a signal blocked: what the child must not inherit.
    ignored = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGQUIT)}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    monkeypatch.setenv("L2BOARD_CACHE", "off")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    try:
        # `sh` reports what it was given: a program that does not reset signals at start, as Python does.
        report = run_child(["sh", "-c", f"{OWN_STATUS}; echo ---; readlink /proc/$$/fd/0; echo ---; env"],
                           capture_output=True, text=True, timeout=60, env={"TF_CPP_MIN_LOG_LEVEL": "1"})
        process = start_child(["sh", "-c", OWN_STATUS], stdout=subprocess.PIPE, text=True)
        started = process.communicate(timeout=60)[0]
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        for number, handler in ignored.items():
            signal.signal(number, handler)
    assert report.returncode == 0, report.stderr
    status, stdin, environment = report.stdout.split("---\n")
    assert _signal_masks(status) == _signal_masks(started) == {"SigBlk": 0, "SigIgn": 0}
    assert stdin == "/dev/null\n"
    variables = dict(line.split("=", 1) for line in environment.splitlines() if "=" in line)
    assert "L2BOARD_CACHE" not in variables and "KERAS_BACKEND" not in variables
    assert variables["TF_CPP_MIN_LOG_LEVEL"] == "1" and variables["XDG_CACHE_HOME"] == os.environ["XDG_CACHE_HOME"]
