"""The Sandpool kernel: IPython's InteractiveShell in a process of its own, talking to the agent
over one socket.

Run by the agent as ``python3 -s /opt/sandpool/kernel/sandpool_kernel.py`` with the socket's
descriptor in SANDPOOL_KERNEL_FD. It replaces ipykernel, whose Jupyter messaging (five signed
messages per cell, each through zmq's I/O threads on both ends and ipykernel's IOPub thread)
cost 5-9 ms of CPU for a ``print(1)`` whose ``run_cell`` costs 0.26 ms (docs/benchmarks.md). The
shell is IPython's, so cells behave as in Jupyter: magics, ``!`` commands, ``_`` and ``Out``,
rich reprs, matplotlib's inline backend, tracebacks.

Protocol, one JSON object per line each way:

- agent → kernel: ``{"msg_id", "msg_type": "kernel_info_request" | "execute_request",
  "content": {"code", "silent", "store_history"}}``
- kernel → agent: ``{"channel": "shell" | "iopub", "msg_type", "content", "parent_header":
  {"msg_id"}}`` with Jupyter's message types and contents (stream, display_data,
  execute_result, error, execute_reply, kernel_info_reply, status), so the agent reads them as it
  read ipykernel's. Every execute_request ends with an execute_reply, then status idle.

Output: sys.stdout/sys.stderr send ``stream`` messages (at the end of the cell, and whenever
64 KiB are waiting); descriptors 1 and 2 are pipes read by a thread, so output of C code and
subprocesses (``!ls``, ``os.system``) reaches the cell too. Interrupts are SIGINT to the process
group (KeyboardInterrupt in the cell, as in Jupyter). The kernel ends when the agent's end of the
socket closes.

Before the first cell it registers a display format for JSON primitives and pre-imports
SANDPOOL_PRELOAD (see load_ipython_extension).
"""
import importlib
import json
import math
import os
import select
import signal
import socket
import sys
import threading

VALUE_MIME = "application/vnd.sandpool.value+json"

# Strings bigger than this stay text/plain (IPython already abbreviates long reprs); they
# would otherwise be serialised twice into every reply.
_MAX_JSON_CHARS = 1_000_000
# A stream sends what it holds once this much is waiting, so a chatty cell does not hold it all.
_STREAM_CHUNK_CHARS = 64 * 1024
# How long the end of a cell waits for output of subprocesses still in the descriptor pipes.
_FD_DRAIN_TIMEOUT_S = 1.0


def _as_json_text(value):
    """JSON text for a primitive value (None, bool, int, finite float, str); None otherwise.

    Only primitives: Azure returns a list or dict result as IPython's text repr, and clients
    parse that text (AutoGen splits a package list on ",\\n", reference section 4.2.1).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None  # "nan" and "inf" stay text, as in Azure's examples
    if value is not None and not isinstance(value, (bool, int, float, str)):
        return None
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (ValueError, TypeError):  # an int too large for the platform's converter
        return None
    return text if len(text) <= _MAX_JSON_CHARS else None


def _register_value_formatter(ip):
    """A private display format for JSON primitives, so the agent returns ``2`` or ``"abc"`` as JSON.

    IPython only offers ``text/plain`` for a cell's last expression; lists, dicts and everything
    else keep IPython's text repr (which is what Azure returns for them, and what clients parse).
    """
    from IPython.core.formatters import BaseFormatter
    from traitlets import ObjectName, Unicode

    class ValueFormatter(BaseFormatter):
        format_type = Unicode(VALUE_MIME)
        _return_type = str
        # No object defines this; values are matched by type only (see for_type below).
        print_method = ObjectName("_repr_sandpool_value_")

    formatter = ValueFormatter(parent=ip.display_formatter)
    for kind in (type(None), bool, int, float, str):
        formatter.for_type(kind, _as_json_text)
    ip.display_formatter.formatters[VALUE_MIME] = formatter
    # DisplayFormatter computes only the "active" types, fixed when it was created.
    if ip.display_formatter.active_types and VALUE_MIME not in ip.display_formatter.active_types:
        ip.display_formatter.active_types = [*ip.display_formatter.active_types, VALUE_MIME]


def _preload():
    """Pre-imports SANDPOOL_PRELOAD (comma-separated) while the sandbox waits in the pool.

    A warm pool exists so that a session's first request is fast: numpy/pandas/matplotlib's
    import time is paid here rather than in the user's first cell. Modules are only put in
    sys.modules; the user namespace stays empty.
    """
    for name in filter(None, (part.strip() for part in os.environ.get("SANDPOOL_PRELOAD", "").split(","))):
        try:
            importlib.import_module(name)
        except Exception as error:  # a missing optional module must not stop the kernel
            _log(f"could not preload {name}: {error}")


def load_ipython_extension(ip):
    _register_value_formatter(ip)
    _preload()


# The kernel's own messages (start-up problems) go to the agent's log through the descriptor the
# kernel was started with; descriptors 1 and 2 become the cell's output below.
_log_file = sys.__stderr__


def _log(message):
    try:
        print(f"sandpool kernel: {message}", file=_log_file, flush=True)
    except (OSError, ValueError):
        pass


class Channel:
    """The socket to the agent: whole JSON lines out, from any thread, one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.parent = None  # msg_id of the request being handled
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self):
        # A forked child (multiprocessing, os.fork) must never write to this socket: its lines
        # would interleave with the kernel's. Its streams write to the captured descriptors.
        self.lock = threading.Lock()

    @property
    def forked(self):
        return os.getpid() != self.pid

    def send(self, channel, msg_type, content, parent=None):
        if self.forked:
            return
        line = json.dumps(
            {"channel": channel, "msg_type": msg_type, "content": content, "parent_header": {"msg_id": parent or self.parent}},
            ensure_ascii=False,
            default=str,
        )
        data = (line + "\n").encode("utf-8", "surrogateescape")
        with self.lock:
            if threading.current_thread() is not threading.main_thread():
                self.sock.sendall(data)
                return
            # An interrupt (SIGINT, a timeout) must not cut a line short: the rest would corrupt
            # the next message, perhaps the "idle" the agent waits for. It is raised right after.
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                self.sock.sendall(data)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class ChannelStream:
    """sys.stdout or sys.stderr: text collected, then sent as Jupyter ``stream`` messages."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, channel, name, fileno):
        self.channel = channel
        self.name = name
        self._fileno = fileno
        self._parts = []
        self._size = 0
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self):
        # The parent's unsent text stays the parent's; a lock another thread held at the fork
        # would never be released here.
        self._parts = []
        self._size = 0
        self._lock = threading.Lock()

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            with self._lock:
                self._parts.append(text)
                self._size += len(text)
                full = self._size >= _STREAM_CHUNK_CHARS
            if full:
                self.flush()
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        with self._lock:
            if not self._parts:
                return
            text = "".join(self._parts)
            self._parts.clear()
            self._size = 0
            if self.channel.forked:
                # To the captured descriptor, which the kernel's capture thread forwards.
                data = text.encode("utf-8", "replace")
                while data:
                    data = data[os.write(self._fileno, data) :]
                return
            # Sent under the stream's lock: two flushes of one stream cannot swap their order.
            self.channel.send("iopub", "stream", {"name": self.name, "text": text})

    def isatty(self):
        return False

    def readable(self):
        return False

    def writable(self):
        return True

    def seekable(self):
        return False

    def fileno(self):
        # Code that hands sys.stdout to a subprocess gets the descriptor, which is captured too.
        return self._fileno

    @property
    def closed(self):
        return False


class DescriptorCapture:
    """Makes descriptor `fd` a pipe whose bytes a thread writes to `stream` (subprocess output)."""

    def __init__(self, fd, stream):
        self.fd = fd
        self.stream = stream
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self.read_end = read_end
        self.reading = False
        self.drained = threading.Condition()
        self.marker = None
        threading.Thread(target=self._run, daemon=True, name=f"fd{fd}-capture").start()

    def _run(self):
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = b""
        while True:
            select.select([self.read_end], [], [])
            self.reading = True
            try:
                chunk = os.read(self.read_end, 65536)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            marker = self.marker
            found = marker is not None and marker in pending
            if found:
                pending = pending.replace(marker, b"")
            # Hold back a tail that could be the start of a marker.
            keep = len(marker) - 1 if marker is not None and not found else 0
            ready, pending = (pending[: len(pending) - keep], pending[len(pending) - keep :]) if keep else (pending, b"")
            text = decoder.decode(ready)
            if text:
                self.stream.write(text)
            self.reading = False
            if found:
                with self.drained:
                    self.marker = None
                    self.drained.notify_all()

    def drain(self, count):
        """Waits until what was written to the descriptor so far has reached the stream."""
        readable, _, _ = select.select([self.read_end], [], [], 0)
        if not readable and not self.reading:
            return
        marker = f"\x00sandpool-drain-{count}\x00".encode()
        with self.drained:
            self.marker = marker
            os.write(self.fd, marker)
            self.drained.wait_for(lambda: self.marker is None, timeout=_FD_DRAIN_TIMEOUT_S)
            self.marker = None


def _flush_streams():
    """Sends what the cell printed so far, before a message that must come after it."""
    sys.stdout.flush()
    sys.stderr.flush()


def _make_shell(channel):
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type
    from traitlets.config import Config

    class ChannelDisplayPublisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            _flush_streams()
            channel.send("iopub", "update_display_data" if update else "display_data", {"data": data, "metadata": metadata or {}, "transient": transient or {}})

        def clear_output(self, wait=False):
            channel.send("iopub", "clear_output", {"wait": wait})

    class ChannelDisplayHook(DisplayHook):
        """The cell's last expression, as an ``execute_result`` instead of ``Out[n]:`` on stdout."""

        def start_displayhook(self):
            self._result = None

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            self._result = {"data": format_dict, "metadata": md_dict or {}}

        def finish_displayhook(self):
            _flush_streams()
            if self._result is not None:
                channel.send("iopub", "execute_result", {**self._result, "execution_count": self.prompt_count})
            self._result = None

    class SandpoolShell(InteractiveShell):
        displayhook_class = Type(ChannelDisplayHook)
        display_pub_class = Type(ChannelDisplayPublisher)
        # `!cmd` reads the command's output itself and writes it to sys.stdout, so it lands in
        # order with the cell's prints (as in ipykernel); os.system output arrives through the
        # descriptor capture, in order only with other descriptor writes.
        system = InteractiveShell.system_piped

        def _showtraceback(self, etype, evalue, stb):
            _flush_streams()
            channel.send("iopub", "error", {"ename": getattr(etype, "__name__", str(etype)), "evalue": str(evalue), "traceback": list(stb) if isinstance(stb, list) else [str(stb)]})

    payload = []

    def page(_shell, data, start=0, screen_lines=0, pager_cmd=None):
        # `obj?` and %pycat: returned with the reply, as ipykernel does, not through `less`.
        text = data.get("text/plain", "") if isinstance(data, dict) else str(data)
        payload.append({"source": "page", "data": {"text/plain": text}, "start": start})

    config = Config()
    # No history database: nothing to write, nothing to lock, faster start.
    config.HistoryManager.hist_file = ":memory:"
    shell = SandpoolShell.instance(config=config, colors="NoColor")
    shell.set_hook("show_in_pager", page, 99)
    return shell, payload


def main():
    sock = socket.socket(fileno=int(os.environ.pop("SANDPOOL_KERNEL_FD")))
    channel = Channel(sock)
    global _log_file
    # The agent's pipe for the kernel's own log, kept aside before 1 and 2 become the cells' output.
    _log_file = os.fdopen(os.dup(2), "w", buffering=1)
    sys.stdout = ChannelStream(channel, "stdout", 1)
    sys.stderr = ChannelStream(channel, "stderr", 2)
    captures = [DescriptorCapture(1, sys.stdout), DescriptorCapture(2, sys.stderr)]

    # Hidden while IPython loads: importing jedi (tab completion, which nothing asks of this
    # kernel) costs ~0.1 s of every sandbox's start. User code can still import it afterwards.
    sys.modules["jedi"] = None
    try:
        shell, payload = _make_shell(channel)
    finally:
        del sys.modules["jedi"]
    # As in Jupyter: the working directory (/mnt/data) is importable, after the kernel's own folder.
    sys.path.insert(1, "")
    load_ipython_extension(shell)

    reader = sock.makefile("rb")
    cells = 0
    while True:
        try:
            line = reader.readline()
        except KeyboardInterrupt:  # an interrupt that arrived between cells
            continue
        if not line:
            os._exit(0)  # the agent is gone
        try:
            request = json.loads(line)
        except ValueError:
            _log("dropped an unreadable request")
            continue
        msg_id = request.get("msg_id")
        kind = request.get("msg_type")
        channel.parent = msg_id
        try:
            if kind == "kernel_info_request":
                channel.send("shell", "kernel_info_reply", {"status": "ok", "implementation": "sandpool", "language_info": {"name": "python", "version": sys.version.split()[0]}})
            elif kind == "execute_request":
                content = request.get("content") or {}
                cells += 1
                result = shell.run_cell(content.get("code", ""), store_history=bool(content.get("store_history", True)), silent=bool(content.get("silent", False)))
                for capture in captures:
                    capture.drain(cells)
                _flush_streams()
                pages = payload[:]
                payload.clear()
                error = result.error_before_exec or result.error_in_exec
                channel.send(
                    "shell",
                    "execute_reply",
                    {"status": "error" if error else "ok", "execution_count": result.execution_count, "payload": pages},
                )
            else:
                _log(f"unknown request {kind!r}")
        except KeyboardInterrupt:
            pass  # an interrupt that arrived after the cell: the cell's output is complete
        finally:
            try:
                _flush_streams()
                channel.send("iopub", "status", {"execution_state": "idle"}, parent=msg_id)
            except KeyboardInterrupt:
                channel.send("iopub", "status", {"execution_state": "idle"}, parent=msg_id)


if __name__ == "__main__":
    main()
