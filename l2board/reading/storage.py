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
to it byte for byte as to a local file. Many are fetched concurrently
(`fetch_ahead`), a bounded number at a time. Errors of the remote
libraries, which raise more than `OSError`, become one sentence here.
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
# How many remote files one process fetches ahead of the one it parses:
# enough requests in flight to hide each one's latency, and a bound on
# memory (this many files and one more) whatever the size of the set.
FETCH_WINDOW = 16

# The filesystems this process has opened, by fsspec's token, kept for its life. A reading worker forked from
# it inherits them, with connections that belong to this process's event loop. Were one dropped in the worker
# (fsspec empties its instance cache after a fork), its finalizer would close them on the worker's own loop,
# which asyncio refuses with a traceback ("Task exception was never retrieved"): kept, they are never
# finalized there (a worker ends by os._exit). Only those fsspec caches: one it does not (ftp://, zip://)
# is made anew for every file, and keeping each would keep its connection open.
_OPENED = {}


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
        if getattr(type(self.fs), "cachable", False):
            _OPENED[self.fs._fs_token] = self.fs
        self.path = self.path.rstrip("/") or self.path
        stripped = url.rstrip("/")
        self.head = stripped[:len(stripped) - len(self.path)] if stripped.endswith(self.path) else None

    def url(self, path):
        """The URL of one of this filesystem's paths."""
        if self.head is None:
            return self.fs.unstrip_protocol(path)
        return self.head + path

    def listing(self, path):
        """The entries of a folder (`fs.ls(path, detail=True)`).

        A folder that fsspec's listings cache (`fs.dircache`) holds, as the
        one recursive listing of a log set fills it, is answered here: an
        async filesystem's `ls` would cost a round trip to its event loop's
        thread for each of the thousands of folders of a large set.
        """
        cached = getattr(self.fs, "dircache", None)
        entries = cached.get(path) if cached is not None else None
        return list(entries) if entries is not None else self.fs.ls(path, detail=True)

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
    return _cat(*_whole_file(url), url)


def _cat(remote, whole, url):
    try:
        return remote.fs.cat_file(remote.path, **whole)
    except Exception as error:  # noqa: BLE001 - remote filesystems raise more than OSError
        raise _unreadable(error, url) from None


async def _fetch(remote, whole, url):
    """`_cat` on an async filesystem (fsspec names its coroutines with a leading underscore)."""
    try:
        return await remote.fs._cat_file(remote.path, **whole)
    except Exception as error:  # noqa: BLE001 - as in _cat
        raise _unreadable(error, url) from None


def _whole_file(url):
    """`(Remote, options of cat_file)` that fetch `url` whole, or the OSError that says why it cannot be."""
    try:
        remote = Remote(url)
    except L2BoardError as error:
        raise OSError(0, str(error).rstrip("."), url) from None
    # One request per file: s3fs would first ask a file's size (a HEAD) to
    # fetch a large one in ranges, twice the requests for the many small
    # files of a log set; `fetch_ahead` overlaps whole files instead.
    return remote, {"max_concurrency": 1} if remote.protocol in _S3 else {}


def _unreadable(error, url):
    """The OSError, in words, of a remote filesystem's error while reading `url`."""
    if isinstance(error, IsADirectoryError):
        return OSError(error.errno, "not a regular file but a folder", url)
    return OSError(getattr(error, "errno", None) or 0, reason(error, url), url)


def _start_fetching(url):
    """A `concurrent.futures.Future` of the bytes of `url` (or of the OSError that says why not).

    On an async filesystem (s3fs, gcsfs, adlfs) the request goes to its
    event loop, which runs in a thread of fsspec's and serves every request
    of the process at once; any other is read here and now.
    """
    import asyncio
    from concurrent.futures import Future

    done = Future()
    try:
        remote, whole = _whole_file(url)
        if getattr(remote.fs, "async_impl", False):
            return asyncio.run_coroutine_threadsafe(_fetch(remote, whole, url), remote.fs.loop)
        done.set_result(_cat(remote, whole, url))
    except OSError as error:
        done.set_exception(error)
    return done


def fetch_ahead(urls, window=FETCH_WINDOW):
    """Yields, for each URL in the order given, the reader of its bytes, with up to `window` more files requested.

    The requests overlap one another and the caller's parsing (on async
    filesystems, see `_start_fetching`). At most `window` files are being
    fetched or wait to be read, and the caller holds the one it reads:
    memory is bounded by `window + 1` files whatever the number of URLs.
    Requests still out when the caller stops are cancelled.

    Yields:
        `(url, reader)`: `reader()` returns the file's bytes, or raises the
        `OSError` that `read_bytes` raises (a file deleted since it was
        listed, say), so a failed fetch is reported as a failed read is.
    """
    from collections import deque
    from itertools import islice

    urls = iter(urls)
    ahead = deque((url, _start_fetching(url)) for url in islice(urls, window))
    try:
        while ahead:
            url, fetched = ahead.popleft()
            fetched.exception()  # the window moves on once this file is in memory (or failed)
            following = next(urls, None)
            if following is not None:
                ahead.append((following, _start_fetching(following)))
            yield url, fetched.result
    finally:
        for _, fetched in ahead:
            fetched.cancel()
