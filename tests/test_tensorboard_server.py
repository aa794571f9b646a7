"""A real `tensorboard --logdir` shows what L2Monitor wrote, in both loading modes."""

import contextlib
import json
import re
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from conftest import installed_script, start_child


@contextlib.contextmanager
def tensorboard_command(logdir, load_fast):
    """`tensorboard --logdir LOGDIR` as a user types it: the installed command, in a process of its own; yields
    its port once it says where it serves."""
    process = start_child(
        [installed_script("tensorboard"), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0",
         f"--load_fast={load_fast}", "--reload_interval", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, seen, port = time.monotonic() + 120, [], None
        while port is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            seen.append(line)
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            port = match and int(match.group(1))
        assert port, "TensorBoard did not start:\n" + "".join(seen)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def tensorboard_server(logdir, load_fast):
    """A real TensorBoard server on loopback, started in this process; yields its port.

    TensorBoard's own Python API (`TensorBoard.launch`, as notebooks start it) with the plugins the
    command loads (its own and the installed ones: the L2 tab), the same flags, the same data
    provider, and for `load_fast="true"` the same Rust data server in a process of its own. It
    costs this process no second TensorFlow start-up, which is what a `tensorboard` process spends
    most of its time on. The logs are read once (`--reload_interval 0`): every test writes its runs
    before it starts the server, and nothing keeps reading after the server is shut down.
    """
    from tensorboard import default, program

    servers = []

    def server(wsgi_app, flags):
        servers.append(program.create_port_scanning_werkzeug_server(wsgi_app, flags))
        return servers[-1]

    board = program.TensorBoard(plugins=default.get_plugins(), server_class=server)
    board.configure(argv=[None, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0",
                          f"--load_fast={load_fast}", "--reload_interval", "0"])
    url = board.launch()
    try:
        yield int(re.search(r":(\d+)/", url).group(1))
    finally:
        servers[0].shutdown()
        servers[0].server_close()


def get_json(port, path, deadline=60, until=lambda data: True, post=None):
    end = time.monotonic() + deadline
    while True:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            data=None if post is None else json.dumps(post).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            data = json.loads(response.read())
        if until(data) or time.monotonic() > end:
            return data
        time.sleep(0.5)


@pytest.mark.parametrize("load_fast, serve", [("false", tensorboard_server), ("true", tensorboard_command)],
                         ids=["in-process", "command"])
def test_tensorboard_shows_every_kind_of_summary(cnn_run, load_fast, serve):
    import os

    logdir = os.path.dirname(cnn_run["log_dir"])
    with serve(logdir, load_fast) as port:
        tags = get_json(port, "/data/plugin/scalars/tags",
                        until=lambda d: "epoch_data_loss" in d.get("run/validation", {}))
        assert {"epoch_loss", "epoch_accuracy", "epoch_data_loss", "epoch_penalty", "epoch_penalty_share",
                "penalty_total", "penalty/conv1/kernel", "weight_norm/l2/fc1/kernel",
                "weight_norm_total/init_distance"} <= set(tags["run/train"])
        assert {"epoch_loss", "epoch_data_loss", "epoch_penalty"} <= set(tags["run/validation"])
        query = urllib.parse.urlencode({"run": "run/validation", "tag": "epoch_data_loss"})
        points = get_json(port, f"/data/plugin/scalars/scalars?{query}")
        assert [p[1] for p in points] == [0, 1]
        assert [p[2] for p in points] == pytest.approx(cnn_run["history"]["val_reference"], rel=1e-5)
        histograms = get_json(port, "/data/plugin/histograms/tags")
        assert "weight_histogram/fc1/kernel" in histograms["run/train"]
        text = get_json(port, "/data/plugin/text/tags")
        assert "l2board/setup" in text["run/train"]
        plugins = get_json(port, "/data/plugins_listing")
        assert plugins["hparams"]["enabled"]
        experiment = get_json(port, "/data/plugin/hparams/experiment", post={"experimentName": ""})
        hparams = {h["name"]: h for h in experiment["hparamInfos"]}
        assert hparams["l2/fc1/kernel"]["domainInterval"]["minValue"] == pytest.approx(0.01)
        assert hparams["regularization"]["domainDiscrete"] == ["L2 0.01 on every layer (99.97% of weights)"]
        metrics = {(m["name"]["group"], m["name"]["tag"]) for m in experiment["metricInfos"]}
        assert ("validation", "epoch_data_loss") in metrics
