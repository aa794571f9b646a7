"""`l2board compare` and the Python API on runs in object storage (issue 13).

A real S3 server (moto's, in server mode) runs on loopback, started here;
runs written by TensorFlow's own writer are uploaded to it and read back
through s3fs, as from AWS. Nothing leaves the machine: the endpoint is
loopback (`AWS_ENDPOINT_URL`, botocore's standard variable), the
credentials are dummies, the EC2 metadata service is off and no AWS
configuration file is read.
"""

import json
import os
import shutil
import sys

import pytest
from conftest import free_port, installed_script, run_child, said, write_run

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

from l2board.log_format.regularization_setup import RegularizationSetup, WeightVariable  # noqa: E402

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("remote_logs")

NO_L2 = RegularizationSetup(variables=(WeightVariable("dense/kernel", 100, True),), optimizer="Adam")
L2 = RegularizationSetup(variables=(WeightVariable("dense/kernel", 100, True, "L2", l2=0.01),), optimizer="Adam")
BUCKET = "l2board-test"


def _runs(root):
    """Two configurations of two seeds each, as L2Monitor lays them out."""
    for name, setup, gap, penalty in (("no_l2", NO_L2, 0.05, 0.0), ("l2", L2, 0.01, 0.1)):
        for seed in range(2):
            train = [1.2 / (e + 1) - 0.01 * seed for e in range(8)]
            val = [1.0 - 0.05 * e + gap * e * e / 4 + 0.01 * seed for e in range(8)]
            write_run(root / f"{name}-seed{seed}", setup=setup,
                      train={"epoch_accuracy": [min(1.0, 0.5 + 0.08 * e) for e in range(8)],
                             "epoch_data_loss": train, "epoch_loss": [d + penalty for d in train],
                             "epoch_penalty": [penalty] * 8},
                      validation={"epoch_accuracy": [0.45 + 0.04 * e - gap * e / 2 for e in range(8)],
                                  "epoch_data_loss": val, "epoch_loss": [d + penalty for d in val]})
    return root


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on loopback holding `s3://BUCKET/runs/` (and its local twin)."""
    import s3fs

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()  # returns once the server accepts connections
    endpoint = f"http://127.0.0.1:{server._port}"
    try:
        fs = s3fs.S3FileSystem(key="testing", secret="testing", client_kwargs={"endpoint_url": endpoint},
                               skip_instance_cache=True)
        fs.mkdir(BUCKET)
        local = _runs(tmp_path_factory.mktemp("remote") / "runs")
        fs.put(str(local), f"{BUCKET}/runs", recursive=True)
        yield {"endpoint": endpoint, "fs": fs, "local": local}
    finally:
        server.stop()


def _env(s3, credentials=True):
    env = dict(AWS_ENDPOINT_URL=s3["endpoint"], AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1",
           AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull)
    if credentials:
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    return env


def compare(s3, *args, credentials=True, python_prelude=None):
    """Runs `l2board compare ARGS` as a subprocess, or under `python -c` after `python_prelude`."""
    if python_prelude is None:
        command = [installed_script("l2board"), "compare", *map(str, args)]
    else:
        code = (python_prelude + "\nimport sys\nfrom l2board.cli import main\n"
                f"sys.argv = ['l2board', 'compare', *{list(map(str, args))!r}]\nmain()\n")
        command = [sys.executable, "-c", code]
    return run_child(command, capture_output=True, text=True, timeout=120, env=_env(s3, credentials))


def _json_without_roots(result, *roots):
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for root in roots:
        text = text.replace(str(root), "ROOT")
    return json.loads(text)


def test_a_folder_of_runs_in_s3_gives_the_numbers_of_the_same_runs_on_disk(s3):
    local = compare(s3, s3["local"], "--format", "json")
    remote = compare(s3, f"s3://{BUCKET}/runs", "--format", "json")
    assert _json_without_roots(remote, f"s3://{BUCKET}/runs") == _json_without_roots(local, s3["local"])
    assert [r["name"] for r in json.loads(remote.stdout)["runs"]] == ["l2-seed0", "l2-seed1", "no_l2-seed0",
                                                                      "no_l2-seed1"]
    assert remote.stderr == local.stderr == ""


def test_a_glob_and_single_runs_by_url(s3):
    local = compare(s3, *sorted(s3["local"].glob("no_l2-*")), "--format", "json", "--baseline", "no_l2")
    remote = compare(s3, f"s3://{BUCKET}/runs/no_l2-*", "--format", "json", "--baseline", "no_l2")
    assert _json_without_roots(remote, f"s3://{BUCKET}/runs") == _json_without_roots(local, s3["local"])
    one = compare(s3, f"s3://{BUCKET}/runs/l2-seed0/", "--format", "json")
    assert [r["name"] for r in _json_without_roots(one)["runs"]] == ["l2-seed0"]
    # A run's train/ named beside its folder of runs is that run, counted once, as on disk.
    local = compare(s3, s3["local"], s3["local"] / "l2-seed0" / "train", "--format", "json")
    remote = compare(s3, f"s3://{BUCKET}/runs", f"s3://{BUCKET}/runs/l2-seed0/train/", "--format", "json")
    assert _json_without_roots(remote, f"s3://{BUCKET}/runs") == _json_without_roots(local, s3["local"])
    # An event file named directly stands for its run, as on disk.
    (event,) = s3["fs"].glob(f"{BUCKET}/runs/l2-seed1/validation/events.out.tfevents.*")
    named = compare(s3, f"s3://{event}", f"s3://{BUCKET}/runs/l2-seed0", "--format", "json")
    assert sorted(r["name"] for r in _json_without_roots(named)["runs"]) == ["l2-seed0", "l2-seed1"]


def test_plot_of_remote_runs_is_written_locally(s3, tmp_path):
    result = compare(s3, f"s3://{BUCKET}/runs", "--plot", tmp_path / "report.png")
    assert result.returncode == 0, result.stderr
    assert "Verdict:" in result.stdout and f"Plot written to {tmp_path}/report.png" in result.stdout
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_a_damaged_file_in_s3_gets_the_note_it_gets_on_disk(s3, tmp_path, damage):
    local = tmp_path / "runs"
    shutil.copytree(s3["local"], local)
    (path,) = (local / "no_l2-seed0" / "validation").glob("events.out.tfevents.*")
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[:-9]
    else:
        data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    prefix = f"{BUCKET}/damaged-{damage}"
    s3["fs"].put(str(local), prefix, recursive=True)
    on_disk = compare(s3, local, "--format", "json")
    remote = compare(s3, f"s3://{prefix}", "--format", "json")
    assert _json_without_roots(remote, f"s3://{prefix}") == _json_without_roots(on_disk, local)
    assert on_disk.stderr.replace(str(local), "ROOT") == remote.stderr.replace(f"s3://{prefix}", "ROOT")
    assert "Warning: " in remote.stderr and ("cut off" if damage == "truncated" else "damaged record") in remote.stderr
    assert "Traceback" not in remote.stderr


def test_the_python_api_reads_urls(s3, monkeypatch):
    import l2board

    for name, value in _env(s3).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    runs = l2board.read_runs(f"s3://{BUCKET}/runs")
    local = l2board.read_runs(str(s3["local"]))
    assert [r.name for r in runs] == [r.name for r in local]
    assert [sorted(r.scalars) for r in runs] == [sorted(r.scalars) for r in local]
    for remote_run, local_run in zip(runs, local):
        for key, series in local_run.scalars.items():
            assert list(remote_run.scalars[key].values) == list(series.values)
    comparison = l2board.compare(f"s3://{BUCKET}/runs", baseline="no_l2")
    assert comparison.to_dict()["verdict"] == l2board.compare(str(s3["local"]), baseline="no_l2").to_dict()["verdict"]


def _one_error_line(result):
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


def test_missing_things_are_one_sentence_each(s3):
    assert _one_error_line(compare(s3, "s3://no-such-bucket/runs")) == \
        "Error: No such bucket: 's3://no-such-bucket' (in 's3://no-such-bucket/runs')."
    assert _one_error_line(compare(s3, "s3://no-such-bucket/runs/*")) == \
        "Error: No such bucket: 's3://no-such-bucket' (in 's3://no-such-bucket/runs/*')."
    assert _one_error_line(compare(s3, f"s3://{BUCKET}/nothing")) == \
        f"Error: No such file or folder: 's3://{BUCKET}/nothing'."
    assert _one_error_line(compare(s3, f"s3://{BUCKET}/runs/zz-*")) == \
        f"Error: No file or folder matches 's3://{BUCKET}/runs/zz-*'."
    s3["fs"].pipe(f"{BUCKET}/notes/readme.txt", b"not a log")
    assert _one_error_line(compare(s3, f"s3://{BUCKET}/notes")) == \
        f"Error: No TensorBoard event files in 's3://{BUCKET}/notes'."
    assert _one_error_line(compare(s3, f"s3://{BUCKET}/notes/readme.txt")) == \
        f"Error: 's3://{BUCKET}/notes/readme.txt' is neither a log folder nor a TensorBoard event file."
    assert _one_error_line(compare(s3, "nosuchprotocol://x/runs")) == \
        "Error: Cannot read 'nosuchprotocol://x/runs': fsspec knows no nosuchprotocol:// protocol."


def test_missing_credentials_are_one_sentence_and_never_reach_aws(s3):
    line = _one_error_line(compare(s3, f"s3://{BUCKET}/runs", credentials=False))
    assert line == (f"Error: Cannot read 's3://{BUCKET}/runs': no credentials were found (Unable to locate "
                    "credentials); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, as for the "
                    "aws command line.")


# A real import failure: a finder ahead of all others refuses the named modules.
BLOCK_IMPORTS = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {names!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Refuse())
"""


@pytest.mark.parametrize("blocked, message", [
    (("s3fs",), "Error: Reading s3:// needs s3fs: pip install 'l2board[s3]'."),
    (("fsspec", "s3fs"), "Error: Reading s3:// needs fsspec: pip install 'l2board[s3]'."),
])
def test_a_missing_package_is_named_with_the_extra_that_installs_it(s3, blocked, message):
    result = compare(s3, f"s3://{BUCKET}/runs", python_prelude=BLOCK_IMPORTS.format(names=set(blocked)))
    assert _one_error_line(result) == message


def test_local_reading_imports_no_remote_filesystem(s3):
    code = ("import sys\nfrom l2board.cli import main\n"
            f"sys.argv = ['l2board', 'compare', {str(s3['local'])!r}, '--format', 'json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fsspec', 's3fs', 'botocore', 'tensorflow')),"
            " file=sys.stderr)")
    result = run_child([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stderr.strip().endswith("[]"), result.stderr


def test_the_lowest_level_reports_a_url_it_cannot_fetch_as_unreadable(s3, monkeypatch):
    from l2board.reading.event_files import FileDamage, iter_records

    for name, value in _env(s3).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    url = f"s3://{BUCKET}/runs/gone/events.out.tfevents.1.v2"  # listed, then deleted: the same request
    damage = FileDamage(url)
    assert list(iter_records(url, damage)) == []
    assert said(damage) == f"Could not read {url}: No such file or directory; its run is reported without it."
    (event,) = s3["fs"].glob(f"{BUCKET}/runs/l2-seed0/train/events.out.tfevents.*")
    (local,) = (s3["local"] / "l2-seed0" / "train").glob("events.out.tfevents.*")
    intact = FileDamage(f"s3://{event}")
    assert list(iter_records(f"s3://{event}", intact)) == list(iter_records(local, FileDamage(str(local))))
    assert not intact


def test_file_urls_are_local_paths(s3):
    local = compare(s3, s3["local"], "--format", "json")
    assert compare(s3, s3["local"].as_uri(), "--format", "json").stdout == local.stdout


def test_an_endpoint_nobody_answers_is_one_sentence(s3):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_child([installed_script("l2board"), "compare", f"s3://{BUCKET}/runs"], capture_output=True,
                       text=True, timeout=120, env=dict(_env(s3), AWS_ENDPOINT_URL=closed, AWS_MAX_ATTEMPTS="1"))
    assert _one_error_line(result) == (f"Error: Cannot read 's3://{BUCKET}/runs': Could not connect to the endpoint "
                                       f"URL: \"{closed}/{BUCKET}/runs\".")


def _put_runs(s3, prefix):
    """Uploads the local runs file by file under `prefix` + their relative path, the key exactly so."""
    for path in sorted(s3["local"].rglob("*")):
        if path.is_file():
            s3["fs"].pipe(f"{prefix}{path.relative_to(s3['local'])}", path.read_bytes())


def test_runs_under_keys_with_a_doubled_slash_or_a_dot_are_read(s3):
    # Keys are names, not paths: "runs//l2-seed0" (a logdir of "s3://bucket/runs/" + "/l2-seed0") is not
    # "runs/l2-seed0". Those runs were read at the key without "//", where nothing is, and said to hold
    # no summary.
    _put_runs(s3, f"{BUCKET}/doubled/runs//")
    _put_runs(s3, f"{BUCKET}/dotted/./runs/")
    local = _json_without_roots(compare(s3, s3["local"], "--format", "json"), s3["local"])
    doubled = compare(s3, f"s3://{BUCKET}/doubled/runs", "--format", "json")
    assert _json_without_roots(doubled, f"s3://{BUCKET}/doubled/runs/") == local
    assert doubled.stderr == ""
    dotted = compare(s3, f"s3://{BUCKET}/dotted/./runs/", "--format", "json")
    assert _json_without_roots(dotted, f"s3://{BUCKET}/dotted/./runs") == local
    one = compare(s3, f"s3://{BUCKET}/doubled/runs//l2-seed0", "--format", "json")
    assert [(r["name"], r["path"]) for r in _json_without_roots(one)["runs"]] == [
        ("l2-seed0", f"s3://{BUCKET}/doubled/runs//l2-seed0")]


def test_a_run_folder_whose_key_ends_in_an_empty_name_is_named_truly(s3):
    # train/ and validation/ under "l2-seed0//": their run's own name is empty, which a URL cannot tell from
    # "l2-seed0" itself (it used to be read there, and said to hold no summary).
    for path in sorted((s3["local"] / "l2-seed0").rglob("*")):
        if path.is_file():
            relative = path.relative_to(s3["local"] / "l2-seed0")
            s3["fs"].pipe(f"{BUCKET}/empty-name/l2-seed0//{relative}", path.read_bytes())
    run = f"s3://{BUCKET}/empty-name/l2-seed0/"
    assert _one_error_line(compare(s3, f"s3://{BUCKET}/empty-name")) == (
        f"Error: Cannot read the run in '{run}': the key of its folder ends in an empty name (as in "
        f"'{run}/validation'), which l2board cannot tell from the folder above it; copy the run under a key "
        "without '//'.")


class _WebPage(__import__("http.server").server.BaseHTTPRequestHandler):
    """A web server that is no S3 server: it answers every request with a page (200)."""

    protocol_version = "HTTP/1.1"

    def _answer(self, with_body):
        page = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if with_body:
            self.wfile.write(page)

    def do_GET(self):  # noqa: N802 - http.server's name
        self._answer(True)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def log_message(self, *args):
        pass


@pytest.fixture
def web_servers(tmp_path):
    """Two servers on loopback that are not S3: Python's file server on an empty folder (404 to every key)
    and one that answers 200 with a page to every request."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    servers = {"404": http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      functools.partial(Quiet, directory=str(tmp_path))),
               "200": http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {status: f"http://127.0.0.1:{server.server_address[1]}" for status, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", ["404", "200"])
@pytest.mark.parametrize("url", [f"s3://{BUCKET}/runs", f"s3://{BUCKET}/runs/*",
                                 f"s3://{BUCKET}/runs/l2-seed0/train/events.out.tfevents.1.v2"])
def test_an_endpoint_that_is_no_s3_server_is_named_as_such(s3, web_servers, status, url):
    endpoint = web_servers[status]
    result = run_child([installed_script("l2board"), "compare", url], capture_output=True, text=True, timeout=120,
                       env=dict(_env(s3), AWS_ENDPOINT_URL=endpoint))
    assert _one_error_line(result) == (
        f"Error: Cannot read '{url}': the endpoint {endpoint} answered as no S3 server does (HTTP {status} without "
        "S3's answer); check that it is the address of an S3 server (AWS_ENDPOINT_URL).")


# -- many runs, fetched concurrently (issue 19) ------------------------------------------------------------------

MANY_SEEDS = 9  # 2 configurations x 9 seeds x 2 files: more than PARALLEL_MIN_URLS, so worker processes read them


@pytest.fixture(scope="module")
def many(s3, tmp_path_factory):
    """18 runs on disk, a cut-off last record in one file and a damaged record in another, and their copy in S3."""
    from l2board.reading.event_records import PARALLEL_MIN_URLS

    local = tmp_path_factory.mktemp("many") / "runs"
    for name, setup, gap in (("no_l2", NO_L2, 0.05), ("l2", L2, 0.01)):
        for seed in range(MANY_SEEDS):
            train = [1.2 / (e + 1) - 0.01 * seed for e in range(6)]
            write_run(local / f"{name}-seed{seed}", setup=setup,
                      train={"epoch_loss": train, "epoch_accuracy": [0.5 + 0.07 * e for e in range(6)]},
                      validation={"epoch_loss": [1.0 - 0.05 * e + gap * e * e / 4 + 0.01 * seed for e in range(6)]})
    (cut,) = (local / "l2-seed3" / "validation").glob("events.out.tfevents.*")
    cut.write_bytes(cut.read_bytes()[:-9])
    (flipped,) = (local / "no_l2-seed5" / "train").glob("events.out.tfevents.*")
    data = bytearray(flipped.read_bytes())
    data[-5] ^= 0x10  # the last byte of the last record's data, before its checksum
    flipped.write_bytes(bytes(data))
    assert sum(1 for _ in local.rglob("events.out.tfevents.*")) > PARALLEL_MIN_URLS
    s3["fs"].put(str(local), f"{BUCKET}/many", recursive=True)
    return {"local": local, "url": f"s3://{BUCKET}/many"}


# What l2board reads of a set, every way: each event file's records (path, scalars, texts, other tags, the
# sentence of its damage) and each run (name, values, the sentences of its notes), with the set's root as ROOT.
_READ_EVERY_WAY = """
import json, sys
from l2board.analysis.notes import record_note
from l2board.reading import discovery, event_records, storage
from l2board.reading.logs import read_runs
from l2board.rendering.wording import file_note_sentence

url, local, deleted = sys.argv[1], sys.argv[2], sys.argv[3:]

def said(record, root):
    return file_note_sentence(record_note(record)).replace(root, "ROOT")

def jobs_of(root):
    return [(path, sub) for folder, members in discovery.run_folders([root])
            for sub, path in discovery.run_sources(folder, members)[0]]

def records(sources, root):
    return [[source.path.replace(root, "ROOT", 1), source.folder,
             {tag: [steps.tolist(), values.tolist()] for tag, (steps, values) in sorted(source.scalars.items())},
             sorted(source.texts.items()), sorted(source.other_tags.items()), source.first_wall_time,
             said(source.damage, root) if source.damage else None] for source in sources]

def runs(root):
    return [[run.name, sorted([list(key), series.steps.tolist(), series.values.tolist()]
                              for key, series in run.scalars.items()),
             [said(note, root) for note in run.notes()]] for run in read_runs([root])]

remote_jobs, local_jobs = jobs_of(url), jobs_of(local)
for path in deleted:  # listed, then gone before it is fetched
    storage.Remote(path).fs.rm(storage.Remote(path).path)
print(json.dumps({
    "in_workers": bool(event_records._workers()) and len(remote_jobs) >= event_records.PARALLEL_MIN_URLS,
    "together": records(event_records.read_event_files(remote_jobs), url),
    "fetched_ahead_in_one_process": records(event_records._read_urls(remote_jobs), url),
    "one_by_one": records([event_records.read_event_file(path, sub) for path, sub in remote_jobs], url),
    "local": records(event_records.read_event_files(local_jobs), local),
    "runs": None if deleted else runs(url), "local_runs": None if deleted else runs(local)}))
"""


def _read_every_way(s3, url, local, *deleted):
    result = run_child([sys.executable, "-c", _READ_EVERY_WAY, url, local, *deleted], capture_output=True,
                       text=True, timeout=300, env=dict(_env(s3), L2BOARD_CACHE="off"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_many_runs_fetched_concurrently_are_the_runs_read_one_by_one_and_on_disk(s3, many):
    read = _read_every_way(s3, many["url"], str(many["local"]))
    assert read["in_workers"] == ((os.cpu_count() or 1) > 1)  # the worker processes' path, where there are cores
    assert read["together"] == read["fetched_ahead_in_one_process"] == read["one_by_one"] == read["local"]
    assert len(read["together"]) == 4 * MANY_SEEDS
    assert read["runs"] == read["local_runs"] and len(read["runs"]) == 2 * MANY_SEEDS
    # The damaged objects among them are reported as on disk: a cut-off last record, a damaged record skipped.
    damage = dict(sorted((path, sentence) for path, *_, sentence in read["together"] if sentence))
    assert list(damage) == [f"ROOT/l2-seed3/validation/{_event_name(many['local'] / 'l2-seed3' / 'validation')}",
                            f"ROOT/no_l2-seed5/train/{_event_name(many['local'] / 'no_l2-seed5' / 'train')}"]
    assert ["cut off" in sentence for sentence in damage.values()] == [True, False]
    assert [" 1 damaged record skipped" in sentence for sentence in damage.values()] == [False, True]


def _event_name(folder):
    (path,) = folder.glob("events.out.tfevents.*")
    return path.name


def test_many_damaged_runs_in_s3_get_the_report_and_warnings_they_get_on_disk(s3, many):
    on_disk = compare(s3, many["local"], "--format", "json")
    remote = compare(s3, many["url"], "--format", "json")
    assert _json_without_roots(remote, many["url"]) == _json_without_roots(on_disk, many["local"])
    assert on_disk.stderr.replace(str(many["local"]), "ROOT") == remote.stderr.replace(many["url"], "ROOT")
    assert remote.stderr.count("Warning: ") == 2 and "Traceback" not in remote.stderr


def test_an_object_deleted_between_listing_and_fetching_is_one_sentence_naming_it(s3, many):
    prefix = f"{BUCKET}/many-deleted"
    s3["fs"].put(str(many["local"]), prefix, recursive=True)
    gone = f"s3://{prefix}/l2-seed0/train/{_event_name(many['local'] / 'l2-seed0' / 'train')}"
    read = _read_every_way(s3, f"s3://{prefix}", str(many["local"]), gone)
    expected = "Could not read ROOT/l2-seed0/train/{}: No such file or directory; its run is reported without it."
    for way in ("together", "fetched_ahead_in_one_process", "one_by_one"):
        unreadable = {path: sentence for path, *_, sentence in read[way] if sentence and "Could not read" in sentence}
        assert unreadable == {gone.replace(f"s3://{prefix}", "ROOT"): expected.format(gone.rsplit("/", 1)[1])}, way
        # Every other file is read as on disk.
        assert [r for r in read[way] if r[0] not in unreadable] == [r for r in read["local"] if r[0] not in unreadable]


def test_fetching_ahead_holds_a_bounded_window_of_files_and_gives_each_files_bytes(s3, monkeypatch):
    from l2board.reading import storage

    for name, value in _env(s3).items():
        monkeypatch.setenv(name, value)
    keys = sorted(s3["fs"].find(f"{BUCKET}/runs"))
    assert len(keys) > 5
    taken = []

    def urls():
        for key in keys:
            taken.append(key)
            yield f"s3://{key}"

    window = 3
    for handed, (url, read) in enumerate(storage.fetch_ahead(urls(), window=window), start=1):
        # Asked for: the files handed over and `window` more, never further ahead.
        assert len(taken) == min(len(keys), handed + window)
        assert url == f"s3://{keys[handed - 1]}" and read() == s3["fs"].cat_file(keys[handed - 1])
    assert handed == len(keys)


@pytest.fixture(scope="module")
def keep_alive_s3(many):
    """moto's S3 under an HTTP/1.1 server that keeps connections open between requests, as S3 does (moto's own,
    werkzeug's development server, closes each after its answer), holding `many`'s runs."""
    import threading

    import s3fs
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    wsgi = pytest.importorskip("cheroot.wsgi")

    port = free_port()
    server = wsgi.Server(("127.0.0.1", port), DomainDispatcherApplication(create_backend_app), numthreads=8)
    server.prepare()  # listening from here on
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        fs = s3fs.S3FileSystem(key="testing", secret="testing", client_kwargs={"endpoint_url": endpoint},
                               skip_instance_cache=True)
        # moto's buckets live in this process: the same as the s3 fixture's server holds, under another name.
        fs.mkdir("l2board-keep-alive")
        for folder in sorted(many["local"].glob("*/*")):  # one upload per folder, its connections left open
            fs.put(str(folder), f"l2board-keep-alive/many/{folder.relative_to(many['local']).as_posix()}",
                   recursive=True)
        yield {"endpoint": endpoint, "url": "s3://l2board-keep-alive/many", "local": many["local"]}
    finally:
        server.stop()
        thread.join(timeout=60)


def test_many_runs_from_a_server_that_keeps_connections_open_give_the_report_and_their_warnings_alone(keep_alive_s3):
    # The reading workers are forked from a process whose S3 connections are open: they must neither use nor
    # close them (closing them on the worker's own event loop, asyncio printed a traceback per worker).
    if (os.cpu_count() or 1) < 2:
        pytest.skip("on one core, compare forks no reading worker: nothing to test")
    on_disk = compare(keep_alive_s3, keep_alive_s3["local"], "--format", "json")
    remote = compare(keep_alive_s3, keep_alive_s3["url"], "--format", "json")
    assert _json_without_roots(remote, keep_alive_s3["url"]) == _json_without_roots(on_disk, keep_alive_s3["local"])
    assert remote.stderr.replace(keep_alive_s3["url"], "ROOT") == \
        on_disk.stderr.replace(str(keep_alive_s3["local"]), "ROOT")


def test_only_the_filesystems_fsspec_caches_are_kept_for_the_process(tmp_path):
    # Kept, so that a forked worker never finalizes one (above); but a filesystem fsspec makes anew for every
    # file (zip://, ftp://: not cached) would keep one connection or open file per file read.
    import zipfile

    from l2board.reading import storage

    with zipfile.ZipFile(tmp_path / "runs.zip", "w") as archive:
        archive.writestr("run/train/events.out.tfevents.1.host", b"")
    kept = dict(storage._OPENED)
    zipped = [storage.Remote(f"zip://run/train::file://{tmp_path}/runs.zip") for _ in range(3)]
    assert zipped[0].fs is not zipped[1].fs and storage._OPENED == kept
    cached = [storage.Remote("memory://l2board-kept/run") for _ in range(3)]
    assert cached[0].fs is cached[1].fs and list(storage._OPENED.values()).count(cached[0].fs) == 1
