"""A real `tensorboard --logdir` shows what L2Monitor wrote, in both loading modes."""

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from conftest import installed_script, start_child


def start_tensorboard(logdir, load_fast):
    process = start_child(
        [installed_script("tensorboard"), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0",
         f"--load_fast={load_fast}", "--reload_interval", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return process, int(match.group(1))
    process.kill()
    raise AssertionError("TensorBoard did not start:\n" + "".join(seen))


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


@pytest.mark.parametrize("load_fast", ["false", "true"])
def test_tensorboard_shows_every_kind_of_summary(cnn_run, load_fast):
    import os

    logdir = os.path.dirname(cnn_run["log_dir"])
    process, port = start_tensorboard(logdir, load_fast)
    try:
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
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
