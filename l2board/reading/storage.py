"""Where logs are read from: local paths through `os`, URLs (`s3://`, `gs://`, `hdfs://`, ...) through fsspec.

Local paths never come here beyond `is_url`, a string test: they are read
with `os.open` and `mmap` as before. A URL is read through fsspec and the
package of its protocol (s3fs, gcsfs, adlfs, pyarrow), imported only when a
URL is given; each is an optional extra (`pip install 'l2board[s3]'`), and
a missing one is named in one sentence. Credentials and endpoints are the
protocol's own: for S3, botocore's chain (`AWS_ACCESS_KEY_ID` and
`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, an instance role) and
`AWS_ENDPOINT_URL` for an S3-compatible server (MinIO, Ceph, moto).

An event file named by a URL is fetched whole and read from memory, so the
checks of `event_files` (checksums, resynchronization, damage notes) apply
to it byte for byte as to a local file. Errors of the remote libraries,
which raise more than `OSError`, become one sentence here.
"""

import posixpath
import re

from l2board.errors import L2BoardError

_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# The extra of setup.py that installs each protocol's package.
_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure",
           "abfss": "azure", "adl": "azure", "hdfs": "hdfs", "viewfs": "hdfs"}
# Protocols whose first path component is a bucket (or container).
_BUCKETS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss"})
_S3 = frozenset({"s3", "s3a"})
_CREDENTIALS_HINTS = {
    "s3": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, as for the aws command line",
    "gs": "set GOOGLE_APPLICATION_CREDENTIALS, or run: gcloud auth application-default login",
    "az": "set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY",
}
_CREDENTIALS_HINTS.update(s3a=_CREDENTIALS_HINTS["s3"], gcs=_CREDENTIALS_HINTS["gs"],
                          abfs=_CREDENTIALS_HINTS["az"], abfss=_CREDENTIALS_HINTS["az"])


def is_url(path):
    """Whether `path` is a URL read through fsspec (`file://` URLs are local paths, see `local_form`).

    Example:

    >>> is_url("s3://bucket/runs"), is_url("runs/a"), is_url("file:///tmp/runs")
    (True, False, False)
    """
    if not isinstance(path, str) or "://" not in path:
        return False
    match = _URL.match(path)
    return match is not None and match[1].lower() != "file"


def local_form(path):
    """Returns a `file://` URL as the local path it names, any other path as it is.

    Example:

    >>> local_form("file:///tmp/runs"), local_form("runs")
    ('/tmp/runs', 'runs')
    """
    if isinstance(path, str) and path[:7].lower() == "file://":
        from urllib.parse import unquote, urlsplit

        return unquote(urlsplit(path).path) or "/"
    return path


def protocol(url):
    """The protocol of a URL, lower-cased ("s3")."""
    return _URL.match(url)[1].lower()


def join(url, *parts):
    """Joins "/"-separated parts to a URL; empty parts add nothing."""
    for part in parts:
        if part:
            url = url.rstrip("/") + "/" + part
    return url


def normpath(url):
    """A URL without trailing slashes, and, on a file system (hdfs://), without `.`, `..` and doubled slashes.

    An object store's path (s3://, gs://, az://) is a key, not a path:
    `runs//a` and `runs/./a` name objects of their own, and stay as they are.

    Example:

    >>> normpath("hdfs://namenode/runs/./a/"), normpath("s3://bucket/runs//a/")
    ('hdfs://namenode/runs/a', 's3://bucket/runs//a')
    """
    head = _URL.match(url).end()
    rest = url[head:]
    if protocol(url) in _BUCKETS:
        return url[:head] + rest.rstrip("/")
    return url[:head] + (posixpath.normpath(rest) if rest.strip("/") else rest.rstrip("/"))


def dirname(url):
    """The URL of the folder holding `url` (a bucket's parent is the bucket)."""
    head = _URL.match(url).end()
    rest = normpath(url)[head:]
    return url[:head] + (posixpath.dirname(rest) or rest)


def basename(url):
    """The last component of a URL's path."""
    return posixpath.basename(normpath(url))


def _sentence_text(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _is_credentials_error(error):
    return "credential" in type(error).__name__.lower()


def reason(error, url=None):
    """What went wrong in a remote call, as the end of a sentence ("Permission denied (...)").

    Remote filesystems raise `OSError`s and their own exceptions (botocore's
    `NoCredentialsError`, aiohttp's connection errors): each becomes words.
    """
    if _is_credentials_error(error):
        hint = _CREDENTIALS_HINTS.get(protocol(url)) if url else None
        text = f"no credentials were found ({_sentence_text(error)})"
        return f"{text}; {hint}" if hint else text
    if isinstance(error, FileNotFoundError):
        return "No such file or directory"
    if isinstance(error, PermissionError):
        detail = _sentence_text(error)
        return "Permission denied" + (f" ({detail})" if detail not in ("", "Permission denied") else "")
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return _sentence_text(error)


class Remote:
    """One URL's filesystem, with the way back from its paths to URLs.

    fsspec works on paths without the protocol ("bucket/runs/a"); the URLs
    of what it finds are the given URL's head (`s3://`, or
    `hdfs://namenode:8020`) followed by those paths.
    """

    def __init__(self, url):
        self.protocol = protocol(url)
        try:
            import fsspec.core
        except ImportError:
            raise L2BoardError(f"Reading {self.protocol}:// needs fsspec: {_install_hint(self.protocol, 'fsspec')}.") \
                from None
        try:
            self.fs, self.path = fsspec.core.url_to_fs(url)
        except ImportError as error:
            package = _package_of(self.protocol) or getattr(error, "name", None) or "its fsspec filesystem"
            raise L2BoardError(f"Reading {self.protocol}:// needs {package}: "
                               f"{_install_hint(self.protocol, package)}.") from None
        except ValueError as error:
            if "Protocol not known" in str(error):
                raise L2BoardError(f"Cannot read '{url}': fsspec knows no {self.protocol}:// protocol.") from None
            raise L2BoardError(f"Cannot read '{url}': {_sentence_text(error)}.") from None
        except Exception as error:  # noqa: BLE001 - a filesystem's set-up may raise anything
            raise L2BoardError(f"Cannot read '{url}': {reason(error, url)}.") from None
        self.path = self.path.rstrip("/") or self.path
        stripped = url.rstrip("/")
        self.head = stripped[:len(stripped) - len(self.path)] if stripped.endswith(self.path) else None

    def url(self, path):
        """The URL of one of this filesystem's paths."""
        if self.head is None:
            return self.fs.unstrip_protocol(path)
        return self.head + path

    def missing(self, url):
        """The sentence for a URL that does not exist: it names a missing bucket, or a server that is no S3 server."""
        if self.protocol in _BUCKETS:
            bucket = self.bucket()
            if self.protocol in _S3:
                answer = self._s3_bucket_answer(bucket)
                if answer is not True:
                    return f"Cannot read '{url}': {answer}." if answer else \
                        f"No such bucket: '{self.protocol}://{bucket}' (in '{url}')."
            else:
                try:
                    exists = self.fs.exists(bucket)
                except Exception:  # noqa: BLE001 - the sentence below is still true
                    exists = True
                if not exists:
                    return f"No such bucket: '{self.protocol}://{bucket}' (in '{url}')."
        return f"No such file or folder: '{url}'."

    def bucket(self):
        """The bucket (or container) of an object store's URL."""
        return self.path.strip("/").split("/")[0]

    def not_s3(self):
        """Why this URL's S3 endpoint is no S3 server, as the end of a sentence, or `None` (it is, or no S3 URL)."""
        if self.protocol not in _S3:
            return None
        answer = self._s3_bucket_answer(self.bucket())
        return answer if isinstance(answer, str) else None

    def _s3_bucket_answer(self, bucket):
        """`True` (the bucket exists, or may), `False` (the S3 server says it does not), or why the
        server is no S3 server, as the end of a sentence.

        A missing bucket is a 404 alone to a HEAD request, which any web server
        answers so; a listing, which S3 answers with its XML (a ListBucketResult,
        or an error naming its code: NoSuchBucket), tells them apart.
        """
        try:
            listing = self.fs.call_s3("list_objects_v2", Bucket=bucket, MaxKeys=1)
            code, status = None, (listing.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if "IsTruncated" in listing:
                return True
        except Exception as error:  # noqa: BLE001 - the answer, whatever it is, is looked at below
            code, status = _s3_error(error)
        if code == "NoSuchBucket":
            return False
        if code is not None and not code.isdigit():
            return True  # an S3 error of another kind (AccessDenied, ...): the bucket may exist
        what = f"HTTP {status} without S3's answer" if status else "an answer that is not S3's"
        return (f"the endpoint {self._endpoint()} answered as no S3 server does ({what}); check that it is the "
                "address of an S3 server (AWS_ENDPOINT_URL)")

    def _endpoint(self):
        client = getattr(self.fs, "s3", None)
        return getattr(getattr(client, "meta", None), "endpoint_url", None) or "of S3"


def _s3_error(error):
    """`(code, HTTP status)` of the S3 error behind an exception (s3fs chains botocore's), else `(None, None)`."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            return (response.get("Error") or {}).get("Code"), (response.get("ResponseMetadata") or {}).get(
                "HTTPStatusCode")
        error = error.__cause__ or error.__context__
    return None, None


def _package_of(name):
    try:
        from fsspec.registry import known_implementations
    except ImportError:
        return None
    known = known_implementations.get(name)
    return known["class"].split(".")[0] if known and not known["class"].startswith("fsspec.") else \
        ("pyarrow" if known and "arrow" in known["class"] else None)


def _install_hint(name, package):
    extra = _EXTRAS.get(name)
    return f"pip install 'l2board[{extra}]'" if extra else f"pip install {package}"


def read_bytes(url):
    """Returns the bytes of the file at `url`.

    Raises:
        OSError: with `strerror` saying why in words (for `FileDamage.unreadable`).
    """
    try:
        remote = Remote(url)
    except L2BoardError as error:
        raise OSError(0, str(error).rstrip("."), url) from None
    try:
        return remote.fs.cat_file(remote.path)
    except Exception as error:  # noqa: BLE001 - remote filesystems raise more than OSError
        if isinstance(error, IsADirectoryError):
            raise OSError(error.errno, "not a regular file but a folder", url) from None
        raise OSError(getattr(error, "errno", None) or 0, reason(error, url), url) from None
