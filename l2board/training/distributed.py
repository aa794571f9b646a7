"""An experiment's runs spread over machines, by KerasTuner's distributed mode.

`l2board experiment` trains its grid (factors × layers × seeds) one run
after another. Started with KerasTuner's documented environment (one chief
and any number of workers, each with `KERASTUNER_TUNER_ID` = `chief`,
`tuner0`, `tuner1`, ..., and the chief's `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT`), the same command makes the grid a KerasTuner grid
search over the run names: the chief serves the trials and, once every run
is trained, prints the comparison as on one machine; each worker trains the
runs it is given into the shared `--logdir`. No scheduler of our own.

The search state lives in `<logdir>/.l2board-tuner/`. A worker that is
killed and started again with the same `KERASTUNER_TUNER_ID` is given its
unfinished run again (KerasTuner keeps a trial per tuner id), which replaces
what that run had written; finished runs stay. A chief started again
without `--overwrite` resumes the search (KerasTuner's `overwrite=False`).

No wait is endless (`--peer-timeout`, default 10 minutes): the chief binds
its port before anything is created, and refuses one another chief holds;
it serves while a worker has been heard from within that time (a worker
training a run says so every `heartbeat_interval` seconds), and stops with
one sentence when none has. A worker says when the chief does not answer,
waits that long for it (at the start, or after it stopped answering), and
then goes on, or stops with one sentence.
"""

import json
import os
import re
import threading
import time

from l2board.errors import L2BoardError
from l2board.safe_text import printable

TUNER_FOLDER = ".l2board-tuner"
PROJECT = "experiment"
ENVIRONMENT = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
DEFAULT_WAIT_S = 600
# How long a worker waits for a chief that is up to answer, before it says that it waits.
_FIRST_ANSWER_S = 2.0
# How often the chief looks whether the search is done.
_CHIEF_POLL_S = 0.25


def role():
    """Returns `None` (no KerasTuner environment: one machine), `"chief"` or `"worker"`.

    Raises:
        L2BoardError: for an incomplete environment, naming what is missing,
            or a port that is no port (see `oracle_address`).
    """
    present = [name for name in ENVIRONMENT if os.environ.get(name)]
    if not present:
        return None
    missing = [name for name in ENVIRONMENT if name not in present]
    if missing:
        raise L2BoardError(f"KerasTuner's distributed mode needs {', '.join(ENVIRONMENT)}; "
                           f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set.")
    oracle_address()
    # As KerasTuner decides: a tuner id with "chief" in it serves the trials.
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def oracle_address():
    """The chief's `(ip, port)`, from `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`.

    Raises:
        L2BoardError: for a port that is not a number from 1 to 65535 (0
            would let the system choose one, which no worker could be told).
    """
    text = os.environ["KERASTUNER_ORACLE_PORT"].strip()
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise L2BoardError(f"KERASTUNER_ORACLE_PORT is '{text}', not a port: give the chief and its workers the same "
                           "port number, from 1 to 65535.")
    return os.environ["KERASTUNER_ORACLE_IP"].strip(), int(text)


def span(seconds):
    """A wait in words: `45 s`, `10 min`.

    Example:

    >>> span(45), span(600), span(90)
    ('45 s', '10 min', '90 s')
    """
    return f"{seconds // 60:g} min" if seconds >= 120 and seconds % 60 == 0 else f"{seconds:g} s"


def heartbeat_interval(wait):
    """How often a worker training a run tells its chief it is alive: well within the chief's wait."""
    return min(30.0, wait / 4)


class Chief:
    """The chief's gRPC server: bound at once, so that a port in use is refused before anything is created.

    gRPC binds with SO_REUSEPORT by default, so that a second chief on the
    same port would bind too and serve half the requests; it is turned off.

    Args:
        wait: how long the chief serves without hearing from any worker.
        serving: called once the chief answers workers (KerasTuner's oracle, and with it TensorFlow, loaded).

    Raises:
        L2BoardError: when the port cannot be bound, saying why.
    """

    def __init__(self, wait=DEFAULT_WAIT_S, serving=None):
        from concurrent import futures

        os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # errors reach the user as our sentences
        import grpc

        self.wait, self.heard, self.serving = wait, time.monotonic(), serving or (lambda: None)
        self.ip, self.port = oracle_address()
        problem = _bind_problem(self.ip, self.port)
        if problem is None:
            self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), options=[("grpc.so_reuseport", 0)],
                                      interceptors=[_contact_recorder(grpc, self)])
            try:
                if self.server.add_insecure_port(f"{_host(self.ip)}:{self.port}") == self.port:
                    return
            except RuntimeError:
                pass
            problem = _bind_problem(self.ip, self.port) or "gRPC could not bind it"
        raise L2BoardError(f"The chief cannot serve on {_host(self.ip)}:{self.port}: {problem}; give the chief "
                           "and its workers another KERASTUNER_ORACLE_PORT.")

    def serve(self, oracle, runs):
        """Serves `oracle`'s trials until every run is trained and every worker was told to stop.

        Raises:
            L2BoardError: when no worker has been heard from for `wait` seconds and runs are left.
        """
        def trained():
            return len(oracle.trials) >= len(runs) and not oracle.ongoing_trials

        def left():
            done = {trial.hyperparameters.values.get("run") for trial in oracle.trials.values()
                    if trial.status == "COMPLETED"}
            names = [name for name in runs if name not in done]
            return f"{len(names)} of {len(runs)} runs are not trained ({', '.join(names)})"

        self.serve_until(oracle, trained, left)

    def serve_until(self, oracle, trained, left):
        """Serves `oracle`'s trials until `trained()` and every worker was told to stop.

        Args:
            oracle: the KerasTuner oracle to serve.
            trained: whether there is nothing left to train (and nothing is being trained).
            left: what is left, in words, for the sentence of a chief no worker is heard from.

        Raises:
            L2BoardError: when no worker has been heard from for `wait` seconds and runs are left.
        """
        from keras_tuner.src import protos
        from keras_tuner.src.distribute import oracle_chief

        protos.get_service_grpc().add_OracleServicer_to_server(oracle_chief.OracleServicer(oracle), self.server)
        self.heard = time.monotonic()
        self.server.start()
        self.serving()
        while True:
            time.sleep(_CHIEF_POLL_S)
            done = trained()
            if done and not oracle.tuner_ids:
                return  # every worker that asked was told to stop
            silent = time.monotonic() - self.heard
            if silent <= self.wait:
                continue
            if done:
                return  # a worker that asked once is gone: there is nothing left to give it
            raise L2BoardError(
                f"No worker has been heard from for {span(self.wait)}, and {left()}; start the workers again (a "
                "worker started with the same KERASTUNER_TUNER_ID is given its unfinished run) and this chief again: "
                "it resumes the search.")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Stops serving and frees the port."""
        self.server.stop(None)


def _host(ip):
    return f"[{ip}]" if ":" in ip and not ip.startswith("[") else ip


def _bind_problem(ip, port):
    """Why `ip:port` cannot be listened on here, in words, or `None` when it can (tried with a socket of its own)."""
    import errno
    import socket

    try:
        family, kind, _, _, address = socket.getaddrinfo(ip.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as error:
        return f"'{ip}' is not an address ({getattr(error, 'strerror', None) or error})"
    with socket.socket(family, kind) as probe:
        # As gRPC binds: a port whose last connections are closing is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} is in use (by another chief, or another program)"
            if error.errno == errno.EADDRNOTAVAIL:
                return f"{ip} is not an address of this machine"
            if error.errno == errno.EACCES:
                return f"port {port} is reserved to the system administrator"
            return error.strerror or str(error)
    return None


def _contact_recorder(grpc, chief):
    class ContactRecorder(grpc.ServerInterceptor):
        """Notes the time of every request: the chief knows when a worker was last heard from."""

        def intercept_service(self, continuation, handler_call_details):
            chief.heard = time.monotonic()
            return continuation(handler_call_details)

    return ContactRecorder()


class _PatientStub:
    """A worker's link to the chief: each request waits for the chief a bounded time, and says that it waits.

    KerasTuner's own client waits an hour per request, silently (and a
    worker started before its chief waits so too). The link is made, and
    the chief waited for, with gRPC alone: a worker without a chief answers
    without loading KerasTuner and TensorFlow. `attach` then gives it
    KerasTuner's stub.
    """

    def __init__(self, wait, say):
        import grpc

        self.grpc, self.wait, self.say = grpc, wait, say or (lambda message: None)
        self.ip, self.port = oracle_address()
        self.tuner_id = os.environ["KERASTUNER_TUNER_ID"]
        # A chief that comes back is noticed within seconds, not after gRPC's backoff of up to two minutes.
        self.channel = grpc.insecure_channel(f"{_host(self.ip)}:{self.port}", options=[
            ("grpc.initial_reconnect_backoff_ms", 1000), ("grpc.min_reconnect_backoff_ms", 1000),
            ("grpc.max_reconnect_backoff_ms", 2000)])
        self.stub = None
        self.answered = False
        self.lost = L2BoardError

    def attach(self, keras_tuner):
        """Sends KerasTuner's requests through this link; a chief lost from then on is fatal to KerasTuner."""
        from keras_tuner.src import protos

        self.stub = protos.get_service_grpc().OracleStub(self.channel)

        class ChiefLost(L2BoardError, keras_tuner.errors.FatalError):
            """Fatal to KerasTuner, which would otherwise count the run failed and ask the chief again."""

        self.lost = ChiefLost
        return self

    def __getattr__(self, name):
        if name.startswith("__") or self.__dict__.get("stub") is None:  # copy and pickle ask before `stub` exists
            raise AttributeError(name)
        method = getattr(self.stub, name)

        def call(request, **options):
            deadline = time.monotonic() + self.wait
            self.wait_for_chief(deadline)
            options.update(wait_for_ready=True, timeout=max(1.0, deadline - time.monotonic()))
            try:
                return method(request, **options)
            except self.grpc.RpcError as error:
                if error.code() in (self.grpc.StatusCode.UNAVAILABLE, self.grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise self._gone() from None
                raise L2BoardError(f"{self.tuner_id}: the chief at {self._address()} answered with an error: "
                                   f"{error.details() or error.code().name}.") from None

        return call

    def heartbeat(self, interval):
        """A context in which this worker tells the chief every `interval` seconds that it is alive (once attached)."""
        if self.stub is None:
            raise RuntimeError("attach KerasTuner to the link before its heartbeat")
        return _Heartbeat(self.stub, interval)

    def _ready(self, timeout):
        ready = self.grpc.channel_ready_future(self.channel)
        try:
            ready.result(timeout=max(0.0, timeout))
            return True
        except self.grpc.FutureTimeoutError:
            ready.cancel()
            return False

    def wait_for_chief(self, deadline):
        """Returns once the chief answers; says so when it does not at once; raises at `deadline` (monotonic)."""
        if self._ready(_FIRST_ANSWER_S):
            self.answered = True
            return
        if self.answered:
            self.say(f"{self.tuner_id}: the chief at {self._address()} does not answer; waiting up to "
                     f"{span(self.wait)} for it to come back (a chief started again resumes the search).")
        else:
            self.say(f"{self.tuner_id}: waiting up to {span(self.wait)} for the chief at {self._address()} "
                     "(KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT) to serve the runs.")
        if not self._ready(deadline - time.monotonic()):
            raise self._gone()
        self.answered = True
        self.say(f"{self.tuner_id}: the chief answered.")

    def _gone(self):
        if self.answered:
            return self.lost(f"{self.tuner_id}: the chief at {self._address()} stopped answering and did not come "
                             f"back within {span(self.wait)}; start the chief again (it resumes the search), then "
                             "this worker.")
        return self.lost(f"{self.tuner_id}: no chief answered at {self._address()} within {span(self.wait)}; start "
                         "the chief (KERASTUNER_TUNER_ID=chief, the same KERASTUNER_ORACLE_IP and "
                         "KERASTUNER_ORACLE_PORT), then this worker again.")

    def _address(self):
        return f"{_host(self.ip)}:{self.port}"


class _Heartbeat:
    """Asks the chief for the search space every `interval` seconds, from a thread, until the context ends."""

    def __init__(self, stub, interval):
        self.stub, self.interval, self.stopped = stub, interval, threading.Event()
        self.thread = threading.Thread(target=self._beat, name="l2board-heartbeat", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()

    def _beat(self):
        from keras_tuner.src import protos

        while not self.stopped.wait(self.interval):
            try:
                self.stub.GetSpace(protos.get_service().GetSpaceRequest(), timeout=self.interval)
            except Exception:  # noqa: BLE001 - a beat that is not heard is the chief's to notice
                pass


def resuming(logdir):
    """Whether a distributed experiment's search was started in `logdir` before."""
    return os.path.exists(os.path.join(logdir, TUNER_FOLDER, PROJECT, "oracle.json"))


def _runs_file(logdir):
    return os.path.join(logdir, TUNER_FOLDER, "runs.json")


def check_same_runs(runs, logdir):
    """Refuses to resume a search with other runs than it was started with (the saved trials name those).

    Raises:
        L2BoardError: naming the runs it was started with.
    """
    try:
        with open(_runs_file(logdir), encoding="utf-8") as file:
            started = json.load(file)
    except (OSError, ValueError):
        return
    if started != [name for name, _ in runs]:
        raise L2BoardError(
            f"The search in '{logdir}' was started with the runs {', '.join(started)}; resume it with the same "
            "options, or pass --overwrite to start it anew.")


def save_runs(runs, logdir):
    """Records the search's runs, so that a resumed one can be checked (see `check_same_runs`)."""
    from l2board.output_files import atomic_output

    os.makedirs(os.path.dirname(_runs_file(logdir)), exist_ok=True)
    with atomic_output(_runs_file(logdir), "the list of runs of the search") as file:
        file.write(json.dumps([name for name, _ in runs]))


def keras_tuner_or_refusal():
    """KerasTuner, or one sentence saying how to install it."""
    check_keras_tuner()
    try:
        import keras_tuner
    except ImportError as error:  # installed, but a module it needs is missing or broken
        raise L2BoardError(f"KERASTUNER_TUNER_ID is set: spreading an experiment over machines needs KerasTuner, "
                           f"which is installed but fails to import ({printable(str(error))}): pip install "
                           "--force-reinstall keras-tuner.") from None
    return keras_tuner


def check_keras_tuner():
    """Refuses, in one sentence saying how to install it, where KerasTuner is missing (without importing it)."""
    import importlib.util

    if importlib.util.find_spec("keras_tuner") is None:
        raise L2BoardError("KERASTUNER_TUNER_ID is set: spreading an experiment over machines needs KerasTuner: "
                           "pip install keras-tuner.")


def worker_link(wait, say):
    """A worker's link to its chief, once the chief answers: before KerasTuner or TensorFlow is loaded.

    Args:
        wait: how long to wait for the chief.
        say: called with a sentence when the chief does not answer at once, and when it answers.

    Raises:
        L2BoardError: KerasTuner is not installed, or no chief answered within `wait`.
    """
    check_keras_tuner()
    link = _PatientStub(wait, say)
    link.wait_for_chief(time.monotonic() + wait)
    return link


def keras_tuner_and_link(chief, link, wait, say):
    """KerasTuner and, on a worker (`chief` is `None`), its link to the chief, made unless given, attached to it."""
    if chief is None and link is None:
        link = worker_link(wait, say)
    keras_tuner = keras_tuner_or_refusal()
    return keras_tuner, link.attach(keras_tuner) if link is not None else None


def work(tuner, link, wait):
    """A worker's search: every request through `link`, a heartbeat while a run trains."""
    tuner.link = link
    tuner.oracle.stub = link  # KerasTuner's client sends every request through its `stub`
    tuner.heartbeat_interval = heartbeat_interval(wait)
    tuner.search(verbose=0)


def run_distributed(runs, logdir, overwrite=False, verbose=1, progress=None, chief=None, wait=DEFAULT_WAIT_S,
                    say=None, link=None):
    """Trains `runs` as a KerasTuner grid search in the chief's and workers' processes.

    Args:
        runs: `(name, TrainingConfig)` pairs (see `experiment_configs`).
        logdir: the experiment's folder, shared by every machine.
        overwrite: start the search anew (and replace runs already there).
        verbose: Keras's progress output.
        progress: called with `(name, tuner id)` before a worker trains a run.
        chief: on the chief, its bound `Chief`; `None` on a worker.
        wait: on a worker, how long it waits for the chief to answer.
        say: called with a sentence when a worker waits for its chief, and when the wait ends.
        link: on a worker, its `worker_link` if made already (the chief waited for before TensorFlow loads).

    Returns:
        On the chief, every run folder once all are trained; on a worker, the
        folders it trained.

    Raises:
        L2BoardError: when a wait ends without the peer (see the module's doc).
    """
    keras_tuner, link = keras_tuner_and_link(chief, link, wait, say)
    tuner = _run_tuner(keras_tuner)(runs, logdir, verbose, progress, overwrite)
    if chief is not None and _all_completed(tuner, len(runs)):
        # A finished search started again: there is nothing left to serve.
        return [os.path.join(logdir, name) for name, _ in runs]
    if chief is not None:
        tuner.oracle.verbose = 0
        tuner.save()  # as KerasTuner's chief does before serving
        chief.serve(tuner.oracle, [name for name, _ in runs])
        return [os.path.join(logdir, name) for name, _ in runs]
    work(tuner, link, wait)
    return tuner.trained


def _all_completed(tuner, count):
    statuses = [trial.status for trial in tuner.oracle.trials.values()]
    return len(statuses) >= count and all(status == "COMPLETED" for status in statuses)


def _run_tuner(keras_tuner):
    class RunTuner(keras_tuner.Tuner):
        """A tuner whose trials are the experiment's runs, by name."""

        def __init__(self, runs, logdir, verbose, progress, overwrite):
            hyperparameters = keras_tuner.HyperParameters()
            hyperparameters.Choice("run", [name for name, _ in runs])
            oracle = keras_tuner.oracles.GridSearchOracle(
                objective=keras_tuner.Objective("val_loss", "min"), max_trials=len(runs),
                hyperparameters=hyperparameters)
            super().__init__(oracle=oracle, directory=os.path.join(logdir, TUNER_FOLDER), project_name=PROJECT,
                             overwrite=overwrite)
            self.configs, self.logdir, self.verbose, self.progress = dict(runs), logdir, verbose, progress
            self.trained, self.datasets = [], {}
            self.link, self.heartbeat_interval = None, None

        def run_trial(self, trial, *args, **kwargs):
            from l2board.training.run_folders import make_run_dir, plan_run_dir
            from l2board.training.experiment import _dataset_for
            from l2board.training.runs import train_run

            name = trial.hyperparameters.get("run")
            if self.progress:
                self.progress(name, self.tuner_id)
            # This trial's own folder: what is there is this run's, from a
            # killed worker (the chief refused other runs before serving);
            # only an l2board run is ever replaced.
            plan = plan_run_dir(os.path.join(self.logdir, name), overwrite=True, explicit=True, replace_empty=True)
            config = self.configs[name]
            with self.link.heartbeat(self.heartbeat_interval):  # training is silent for as long as it takes
                history = train_run(config, make_run_dir(plan), dataset=_dataset_for(config, self.datasets),
                                    verbose=self.verbose)
            self.trained.append(plan.folder)
            return {"val_loss": float(history.history["val_loss"][-1])}

    return RunTuner
