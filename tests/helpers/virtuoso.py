"""A private Virtuoso open-source instance for tests and benchmarks.

It installs nothing: it runs Debian's ``virtuoso-opensource`` binaries (``virtuoso-t``, ``isql-vt``) with a
``virtuoso.ini`` of its own in a folder of its own, listening on free loopback ports only. The configuration follows
``../shared/recipes/virtuoso.md``: ``ResultSetMaxRows`` raised far above the 10,000 default (which truncates results
silently), ``MaxQueryExecutionTime`` set, and — because this is a throw-away test instance — SPARQL Update granted to
the anonymous ``SPARQL`` account so the HTTP endpoint accepts updates.

Use :class:`Virtuoso` as a context manager::

    with Virtuoso(tmp_path) as v:
        v.sparql_url   # http://127.0.0.1:PORT/sparql

or the pytest fixture :func:`virtuoso_instance`, which skips with ``install virtuoso-opensource (Debian)`` when the
binary is missing and fails loudly (with the server's log) when it is present but does not start.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

SERVER_BINARY = "virtuoso-t"
CLIENT_BINARY = "isql-vt"
MISSING_MESSAGE = "install virtuoso-opensource (Debian)"
DBA_USER = "dba"
DBA_PASSWORD = "dba"  # a fresh database's default; fine for a private loopback instance

_INI = """\
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {dir}/virtuoso-temp.db
TransactionFile    = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort               = 127.0.0.1:{sql_port}
LiteMode                 = 0
DisableUnixSocket        = 1
DisableTcpSocket         = 0
MaxClientConnections     = 64
CheckpointInterval       = 60
O_DIRECT                 = 0
CaseMode                 = 2
MaxStaticCursorRows      = 5000
CheckpointAuditTrail     = 0
AllowOSCalls             = 0
SchedulerInterval        = 10
DirsAllowed              = ., {dir}, {data_dirs}
ThreadCleanupInterval    = 0
ThreadThreshold          = 10
ResourcesCleanupInterval = 0
FreeTextBatchSize        = 100000
SingleCPU                = 0
PrefixResultNames        = 0
RdfFreeTextRulesSize     = 100
IndexTreeMaps            = 64
MaxMemPoolSize           = 200000000
MaxQueryMem              = 1G
VectorSize               = 1000
MaxVectorSize            = 1000000
AdjustVectorSize         = 0
ThreadsPerQuery          = 2
AsyncQueueMaxThreads     = 10
NumberOfBuffers          = {buffers}
MaxDirtyBuffers          = {dirty_buffers}

[HTTPServer]
ServerPort                  = 127.0.0.1:{http_port}
ServerRoot                  = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections        = 64
DavRoot                     = DAV
EnabledDavVSP               = 0
HTTPProxyEnabled            = 0
TempASPXDir                 = 0
ServerThreads               = 32
MaxKeepAlives               = 32
KeepAliveTimeout            = 10
MaxCachedProxyConnections   = 10
ProxyConnectionCacheTimeout = 15
HTTPThreadSize              = 280000
HttpPrintWarningsInOutput   = 0
Charset                     = UTF-8
EnabledGzipContent          = 0

[Client]
SQL_PREFETCH_ROWS  = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT  = 0
SQL_TXN_TIMEOUT    = 0

[SPARQL]
ResultSetMaxRows           = {max_rows}
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime      = {max_seconds}
DeferInferenceRulesInit    = 0
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def virtuoso_available() -> bool:
    """True when Debian's ``virtuoso-opensource`` binaries are on the PATH."""
    return shutil.which(SERVER_BINARY) is not None and shutil.which(CLIENT_BINARY) is not None


class VirtuosoStartError(RuntimeError):
    """The binary is there but the server did not come online (the message holds the end of its log)."""


class Virtuoso:
    """One private Virtuoso server in ``directory`` on free loopback ports.

    ``memory_gb`` sizes the buffer pool (about 85,000 buffers per GB), ``max_rows`` is ``ResultSetMaxRows`` and
    ``max_seconds`` is ``MaxQueryExecutionTime``. ``data_dirs`` are extra folders the bulk loader may read.
    """

    def __init__(
        self,
        directory: Path,
        *,
        memory_gb: float = 0.5,
        max_rows: int = 10_000_000,
        max_seconds: int = 120,
        data_dirs: tuple[Path, ...] = (),
        start_timeout: float = 60.0,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.memory_gb = memory_gb
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.data_dirs = tuple(Path(d).resolve() for d in data_dirs)
        self.start_timeout = start_timeout
        self.sql_port = 0
        self.http_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._output: Path = self.directory / "virtuoso.out"

    # -- addresses -------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the HTTP server."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def sparql_url(self) -> str:
        """The SPARQL 1.1 query (and, on this instance, update) endpoint."""
        return self.base_url + "/sparql"

    @property
    def pid(self) -> int | None:
        """Process id of the running server, or None."""
        return self._process.pid if self._process is not None else None

    # -- life cycle ------------------------------------------------------------------------------------------
    def start(self) -> Virtuoso:
        """Write ``virtuoso.ini``, start the server and wait for "Server online"; returns self.

        Raises :class:`FileNotFoundError` when the binary is missing and :class:`VirtuosoStartError` when the server
        does not come online within ``start_timeout`` seconds.
        """
        if not virtuoso_available():
            raise FileNotFoundError(MISSING_MESSAGE)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sql_port, self.http_port = free_port(), free_port()
        while self.http_port == self.sql_port:
            self.http_port = free_port()
        buffers = max(10_000, int(85_000 * self.memory_gb))
        ini = _INI.format(
            dir=self.directory,
            sql_port=self.sql_port,
            http_port=self.http_port,
            data_dirs=", ".join(str(d) for d in self.data_dirs) or str(self.directory),
            buffers=buffers,
            dirty_buffers=buffers * 3 // 4,
            max_rows=self.max_rows,
            max_seconds=self.max_seconds,
        )
        ini_path = self.directory / "virtuoso.ini"
        ini_path.write_text(ini, encoding="utf-8")
        out = self._output.open("wb")
        self._process = subprocess.Popen(
            [SERVER_BINARY, "+foreground", "+configfile", str(ini_path)],
            cwd=self.directory,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        out.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise VirtuosoStartError(f"virtuoso-t exited with {self._process.returncode}:\n{self.log_tail()}")
            if "Server online" in self._read_logs():
                break
            time.sleep(0.2)
        else:
            self.stop()
            raise VirtuosoStartError(f"virtuoso-t not online after {self.start_timeout:.0f} s:\n{self.log_tail()}")
        # Test instance only: let the anonymous SPARQL account run updates over HTTP.
        self.isql("GRANT SPARQL_UPDATE TO \"SPARQL\";")
        log.info("Virtuoso online: %s (sql port %d, pid %d)", self.sparql_url, self.sql_port, self._process.pid)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Shut the server down (``shutdown;`` through isql, then terminate/kill its process id if needed)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            subprocess.run(
                [CLIENT_BINARY, f"127.0.0.1:{self.sql_port}", DBA_USER, DBA_PASSWORD, "exec=shutdown;"],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> Virtuoso:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- administration --------------------------------------------------------------------------------------
    def isql(self, *statements: str, timeout: float = 600.0) -> str:
        """Run SQL statements as dba through ``isql-vt``; returns its output.

        Raises :class:`RuntimeError` when isql exits non-zero or reports an error (``*** Error``).
        """
        args = [CLIENT_BINARY, f"127.0.0.1:{self.sql_port}", DBA_USER, DBA_PASSWORD]
        args += [f"exec={s}" for s in statements]
        done = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
        output = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
        if done.returncode != 0 or "*** Error" in output:
            raise RuntimeError(f"isql failed ({done.returncode}): {output.strip()}")
        return output

    def bulk_load(self, folder: Path, pattern: str, graph: str) -> None:
        """Load files matching ``pattern`` in ``folder`` with the bulk loader (``.nq`` files keep their graphs;
        other files go to ``graph``), checkpoint, and raise :class:`RuntimeError` if any file failed."""
        folder = Path(folder).resolve()
        self.isql(f"ld_dir('{folder}', '{pattern}', '{graph}');")
        self.isql("rdf_loader_run();", "checkpoint;")
        status = self.isql("SELECT ll_file, ll_state, ll_error FROM DB.DBA.load_list WHERE ll_error IS NOT NULL;")
        if "0 Rows" not in status:
            raise RuntimeError(f"bulk load reported errors: {status}")

    def _read_logs(self) -> str:
        text = ""
        for path in (self._output, self.directory / "virtuoso.log"):
            if path.exists():
                text += path.read_text(encoding="utf-8", errors="replace")
        return text

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's output and log, for error messages."""
        return "\n".join(self._read_logs().splitlines()[-lines:])
