"""Packaging for l2board: see README.md."""

from setuptools import find_packages, setup

setup(
    name="l2board",
    version="0.1.0",
    description=(
        "See what L2 regularization does to a Keras model: penalties, data "
        "loss and weight norms in TensorBoard, and overfitting reports."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["l2board", "l2board.*"]) + ["tensorboard_plugin_l2board"],
    package_dir={"tensorboard_plugin_l2board": "plugins/tensorboard_plugin_l2board"},
    package_data={"tensorboard_plugin_l2board": ["static/*.js", "static/*.css", "http_api.md"]},
    install_requires=[
        "tensorflow>=2.16",  # Keras 3
        "tensorboard",
        "click>=8",
        "numpy",
        # The offline demo trains on scikit-learn's bundled handwritten digits:
        # real images that need no download.
        "scikit-learn",
        # Confidence intervals and power over seeds (l2board compare): SciPy's
        # t tests, rather than hand-written statistics; scikit-learn needs it anyway.
        "scipy>=1.11",
        # C CRC32C for checking event files without TensorFlow (Google's,
        # also behind google-cloud-storage); pure Python would be ~100x slower.
        "google-crc32c>=1.5",
        # l2board compare --plot.
        "matplotlib>=3.6",
        # compare --format json and the L2 tab's /report: a thousand runs' report (24 MB) encoded in 0.1 s
        # where the standard library takes 1.5 s; well kept, with wheels for every platform (json is the fallback).
        "orjson>=3.9",
    ],
    extras_require={
        # tensorboardX: the real writer of the tensorboardX / torch.utils.tensorboard
        # layouts the read side recognises (tests/log_writers.py); small, no torch.
        # pandas: the test of the Python API's to_pandas(); jax: L2Monitor's
        # tests on Keras's JAX backend (CPU wheels, about 90 MB); statsmodels:
        # the reference for the seeds-needed power calculation (12 MB);
        # keras-tuner: l2board.tuning's search test.
        # moto[server] and s3fs: tests/test_remote_logs.py reads runs from a real S3 server (moto's, on
        # loopback, started by the test) through s3fs, as compare reads s3:// on AWS; no network.
        # cheroot: moto's S3 served as S3 serves, keeping connections open between requests (moto's own
        # server closes each), for the test of workers forked with open connections (small, pure Python).
        # pytest-xdist: the README's test command runs the suite on every core (pytest.ini).
        "test": ["pytest>=7", "pytest-timeout", "hypothesis>=6", "tensorboardX>=2.6", "pandas>=1.5", "jax>=0.4.30",
                 "statsmodels>=0.14", "keras-tuner>=1.4", "moto[server]>=5", "s3fs", "cheroot>=10",
                 "pytest-xdist>=3.5"],
        # l2board.tuning: L2Monitor in KerasTuner searches (a run per trial and execution).
        "tuning": ["keras-tuner>=1.4"],
        # Runs.to_pandas() and Comparison.to_pandas() in notebooks.
        "pandas": ["pandas>=1.5"],
        # compare and read_runs on URLs, through fsspec (imported only when a URL is given):
        # each protocol's package, named in the error when it is missing.
        "remote": ["fsspec"],
        "s3": ["fsspec", "s3fs"],
        "gcs": ["fsspec", "gcsfs"],
        "azure": ["fsspec", "adlfs"],
        "hdfs": ["fsspec", "pyarrow"],  # and Hadoop's libhdfs, which pip does not install
    },
    entry_points={
        "console_scripts": ["l2board = l2board.cli:main"],
        # A plain `tensorboard --logdir` finds the L2 tab through this.
        "tensorboard_plugins": ["l2board = tensorboard_plugin_l2board.l2_plugin:L2BoardPlugin"],
    },
)
