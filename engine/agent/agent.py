#!/usr/bin/python3
"""Sandpool sandbox agent: one stateful IPython kernel behind a Unix socket.

Runs inside every code-interpreter sandbox (baked into the image at /opt/sandpool/agent.py,
started by tini as the image's entrypoint) as the unprivileged user ``sandbox`` (uid 1000).
It starts one IPython kernel eagerly, with its working directory in /mnt/data, and serves the
host engine on a Unix socket (default /run/sandpool/agent.sock, a folder bind-mounted from
the host; override with ``--socket`` or SANDPOOL_AGENT_SOCKET). The socket is mode 0666
because the engine connects as root and, under gVisor, through ``--host-uds``.

Wire protocol
=============

Newline-delimited JSON (UTF-8), one object per line, in both directions. A connection may
carry many requests, and requests on one connection may be in flight at the same time:
replies come back in completion order, matched by ``id`` (any JSON value chosen by the
client, echoed verbatim). Several connections may be open at once.

Request:  ``{"id": <any>, "op": "<operation>", ...arguments}``
Reply:    ``{"id": <same>, "ok": true, "data": {...}}``
      or  ``{"id": <same>, "ok": false, "error": {"code": "<Code>", "message": "<text>"}}``

Any request may carry ``"owner": str``, an opaque tag of the session it is sent for. The first
one the agent sees binds the sandbox to it for its whole life; a request with a different
owner is refused with ``WrongOwner`` and nothing runs (a sandbox never serves two sessions,
whatever the engine believes; requests without an owner, such as health checks, are served).

Error codes: ``BadRequest`` (malformed line, unknown op, bad argument; ``id`` is null when
the line could not be parsed), ``Busy`` (another execution held the kernel for this
request's whole timeout), ``KernelUnavailable`` (the kernel could not be (re)started),
``WrongOwner`` (see above), ``Internal`` (a bug in the agent).

Operations:

``health`` -> ``{"ok": bool, "kernel": "starting"|"idle"|"busy"|"dead", "executions": n,
  "restarts": n, "agentVersion": str, "uptimeMs": n, "kernelReadyMs": n|null,
  "lastError": str|null}``. ``ok`` is true when the kernel can take an execution now or as
  soon as the running one ends (idle or busy). ``kernelReadyMs`` is how long the current
  kernel took from launch to its first reply. Answered at once, even while a cell runs.

``execute {"code": str, "timeoutMs": n}`` -> ``{"status": "Success"|"Failure"|"Timeout",
  "stdout": str, "stderr": str, "result": <JSON value>|str|null, "displays":
  [{"mimeType": str, "data": str}], "executionTimeMs": n, "executionCount": n|null,
  "error"?: {"name": str, "value": str, "traceback": [str]}}``.
  - ``result`` is the cell's last expression: its ``application/json`` representation when
    it has one, the value itself when it is plain JSON data (None/bool/number/str and
    lists/dicts of them), otherwise IPython's ``text/plain`` repr as a string; null when the
    cell ends with a statement.
  - ``displays`` are rich outputs in order (display(), plt.show(), a figure left open at the
    end of the cell, a rich last expression such as a Figure): one entry per output, in the
    richest format it has (image/png and image/jpeg are base64).
  - A failing cell is ``Failure`` with ``error``; its traceback (ANSI codes stripped) is also
    appended to ``stderr``.
  - ``timeoutMs`` (default 60000) counts from the request's arrival, including the wait for
    another execution to finish. When it passes, the agent interrupts the kernel (SIGINT);
    if the cell has not stopped after INTERRUPT_GRACE_S it restarts the kernel (state lost,
    files in /mnt/data kept). Either way the reply is ``Timeout`` with an explanation in
    ``stderr``, sent within about INTERRUPT_GRACE_S + 1 s after the deadline.
  - If the kernel process dies during the cell (os._exit, the memory limit), the reply is
    ``Failure`` with error name ``KernelDied``, and a new kernel is started.
  - Only one execution runs at a time; others wait in arrival order.

  Example: ``{"id": 7, "op": "execute", "code": "x = 6 * 7\nx", "timeoutMs": 5000}`` ->
  ``{"id": 7, "ok": true, "data": {"status": "Success", "stdout": "", "stderr": "",
  "result": 42, "displays": [], "executionTimeMs": 9, "executionCount": 3}}``

``interrupt`` -> ``{"ok": true}``: SIGINT to the kernel; a running cell fails with
  KeyboardInterrupt.

``restart`` -> ``{"ok": true, "kernel": state}``: kills the kernel and starts a new one (all
  variables lost), replying once it is ready (or with KernelUnavailable). A cell running at
  that moment ends as ``Failure`` with error name ``KernelRestarted``.

Files (the data folder, /mnt/data)
----------------------------------

``path`` is relative to the data folder: names separated by single '/', never '.', '..' or
empty ("" is the folder itself where a directory is expected); anything else is
``BadRequest``. No symbolic link is ever followed, at any step of a path, nor acted on.
An entry: ``{"path": "sub/a.csv", "name": "a.csv", "type": "file"|"directory", "size": n,
"lastModified": "2025-01-02T03:04:05.123456789Z", "contentType": "text/csv; charset=utf-8"}``.

``listFiles {"path": str, "recursive": bool}`` -> ``{"files": [entry]}``: what ``path`` holds,
  sorted by name; with ``recursive`` also everything below, each directory followed by its
  contents. Links, FIFOs, sockets and uploads in progress are not listed. More than
  MAX_LIST_ENTRIES entries, or directories nested deeper than MAX_LIST_DEPTH, is ``TooManyFiles``.

``statFile {"path": str}`` -> entry. ``deleteFile {"path": str}`` -> the entry it removed (a
  directory only when empty).

``readFile {"path": str}`` and ``writeFile {"path": str, "maxBytes": n}`` stream bytes, so each
  must be the first request of a connection of its own, which carries nothing else and is
  closed after it:
  - readFile: the reply line (the entry, or an error), then exactly ``size`` raw bytes. A
    connection that ends sooner means the file could not be sent whole.
  - writeFile: after the request line come frames, each a 4-byte big-endian length and that
    many bytes (at most MAX_FRAME_BYTES), then a frame of length 0. The reply (the entry, or an
    error) follows that frame, or comes early on an error (``TooLarge`` past ``maxBytes``,
    ``StorageFull``), after which the rest is read and dropped. If the connection ends before
    the final frame, the upload is discarded. Missing directories are created; the file is
    written beside its target and renamed over it at the end, mode 0644.

File error codes: ``NotFound``, ``NotAFile`` (a directory, FIFO or socket where a file is
needed), ``NotADirectory``, ``SymbolicLink``, ``Changed`` (replaced while being opened),
``DirectoryNotEmpty``, ``PermissionDenied`` (code changed its mode), ``TooLarge``,
``StorageFull``, ``TooManyFiles``.

Output limits: stdout and stderr are each cut at MAX_STREAM_CHARS, displays at MAX_DISPLAY_BYTES
in total, with a note saying so; request lines are limited to MAX_REQUEST_BYTES.
"""
import argparse
import asyncio
import errno
import json
import mimetypes
import os
import pwd
import queue
import re
import secrets
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from hmac import compare_digest as hmac_compare

AGENT_VERSION = "1"

DEFAULT_SOCKET = "/run/sandpool/agent.sock"
DATA_DIR = "/mnt/data"
# The kernel program (engine/agent/sandpool_kernel.py), in the image.
KERNEL_PROGRAM = "/opt/sandpool/kernel/sandpool_kernel.py"
# Matplotlib's font cache, built once at image build time (a rebuild costs ~1 s per sandbox).
PREBUILT_MPL_CACHE = "/opt/sandpool/matplotlib"

DEFAULT_TIMEOUT_MS = 60_000
MAX_TIMEOUT_MS = 24 * 3600 * 1000
INTERRUPT_GRACE_S = 2.0
KERNEL_START_TIMEOUT_S = 60.0
MAX_REQUEST_BYTES = 16 * 1024 * 1024
MAX_STREAM_CHARS = 1_000_000
MAX_DISPLAY_BYTES = 32 * 1024 * 1024
# How often a waiting execution checks that the kernel process is still alive.
LIVENESS_POLL_S = 0.25
# Files: an upload is written under this prefix beside its target, then renamed over it.
UPLOAD_PREFIX = ".sandpool-upload-"
TRANSFER_OPS = ("readFile", "writeFile")
FRAME_HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 1024 * 1024
MAX_LIST_ENTRIES = 10_000
MAX_LIST_DEPTH = 64
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
MIB = 1024 * 1024
# The kernel's own stdout/stderr that reach the agent's log, per kernel (see forward_kernel_output).
KERNEL_LOG_BUDGET_BYTES = 256 * 1024

VALUE_MIME = "application/vnd.sandpool.value+json"  # see sandpool_kernel.py
# Richest first: a display with several representations is returned in the first one it has.
DISPLAY_PREFERENCE = (
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "image/gif",
    "application/pdf",
    "text/html",
    "text/markdown",
    "text/latex",
    "application/json",
    "text/plain",
)
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")

STARTED_AT = time.monotonic()


def log(message):
    # The container's stderr: visible with the runtime's logs, never sent to clients.
    print(f"sandpool-agent[{time.monotonic() - STARTED_AT:7.3f}s] {message}", file=sys.stderr, flush=True)


class AgentError(Exception):
    """An error reply: ``code`` is one of the protocol's error codes."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def strip_ansi(text):
    return ANSI_ESCAPE.sub("", text)


class Output:
    """Collects one execution's iopub messages into the reply's fields."""

    def __init__(self):
        self.stdout = []
        self.stderr = []
        self.sizes = {"stdout": 0, "stderr": 0}
        self.truncated = {"stdout": 0, "stderr": 0}
        self.result = None
        self.displays = []
        self.display_bytes = 0
        self.dropped_displays = 0
        self.error = None
        self.execution_count = None

    def stream(self, name, text):
        name = "stderr" if name == "stderr" else "stdout"
        room = MAX_STREAM_CHARS - self.sizes[name]
        if room <= 0:
            self.truncated[name] += len(text)
            return
        if len(text) > room:
            self.truncated[name] += len(text) - room
            text = text[:room]
        self.sizes[name] += len(text)
        (self.stderr if name == "stderr" else self.stdout).append(text)

    def display(self, bundle):
        for mime in DISPLAY_PREFERENCE:
            if mime in bundle:
                data = bundle[mime]
                if not isinstance(data, str):
                    data = json.dumps(data, ensure_ascii=False)
                # A figure returned as the last expression is usually also open, so the inline
                # backend shows it again at the end of the cell: keep one copy.
                if any(d["mimeType"] == mime and d["data"] == data for d in self.displays):
                    return
                if self.display_bytes + len(data) > MAX_DISPLAY_BYTES:
                    self.dropped_displays += 1
                    return
                self.display_bytes += len(data)
                self.displays.append({"mimeType": mime, "data": data})
                return

    def handle(self, msg):
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "stream":
            self.stream(content.get("name"), content.get("text", ""))
        elif kind in ("display_data", "update_display_data"):
            self.display(content.get("data", {}))
        elif kind == "execute_result":
            bundle = content.get("data", {})
            self.execution_count = content.get("execution_count")
            if "application/json" in bundle:
                self.result = bundle["application/json"]
            elif VALUE_MIME in bundle:
                try:
                    self.result = json.loads(bundle[VALUE_MIME])
                except ValueError:
                    self.result = bundle.get("text/plain")
            else:
                self.result = bundle.get("text/plain")
            # Rich results (a Figure, an image) are also displays, as a notebook shows them.
            if any(mime in bundle for mime in DISPLAY_PREFERENCE[:5]):
                self.display(bundle)
        elif kind == "error":
            traceback = [strip_ansi(line) for line in content.get("traceback", [])]
            self.error = {"name": content.get("ename", ""), "value": content.get("evalue", ""), "traceback": traceback}
        elif kind == "clear_output":
            # Jupyter semantics would clear the visible output; for a request/response API we
            # keep what was printed, which is what a caller reading logs expects.
            pass

    def add_note(self, stream, text):
        self.stream(stream, text if text.endswith("\n") else text + "\n")

    def reply(self, status, started):
        if self.error:
            traceback = self.error["traceback"]
            self.stream("stderr", ("\n".join(traceback) if traceback else f"{self.error['name']}: {self.error['value']}") + "\n")
        for name in ("stdout", "stderr"):
            if self.truncated[name]:
                (self.stderr if name == "stderr" else self.stdout).append(
                    f"\n[sandpool: {self.truncated[name]} more characters of {name} were cut]\n"
                )
        if self.dropped_displays:
            self.stderr.append(f"\n[sandpool: {self.dropped_displays} display(s) dropped: over {MAX_DISPLAY_BYTES} bytes]\n")
        reply = {
            "status": status,
            "stdout": "".join(self.stdout),
            "stderr": "".join(self.stderr),
            "result": self.result,
            "displays": self.displays,
            "executionTimeMs": round((time.monotonic() - started) * 1000),
            "executionCount": self.execution_count,
        }
        if self.error:
            reply["error"] = self.error
        return reply


class Kernel:
    """Owns the IPython kernel process: start, readiness, executions, interrupts, restarts.

    Everything runs on the agent's single asyncio loop; the socket server never waits on the
    kernel, so health and interrupt requests are answered while a cell runs.
    """

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.state = "starting"
        self.generation = 0  # bumped at every (re)start, so a waiting execution notices it
        self.executions = 0
        self.restarts = 0
        self.last_error = None
        self.ready_ms = None
        self.process = None  # KernelProcess
        self.kc = None  # KernelChannels
        self.ready = asyncio.Event()
        self.exec_lock = asyncio.Lock()
        self.lifecycle_task = None
        self.busy = False

    # -- lifecycle ----------------------------------------------------------------------------

    def begin_restart(self, reason):
        """Marks the kernel unavailable *now* and starts a replacement in the background.

        Marking synchronously matters: an execution queued behind the one that triggered the
        restart must wait for the new kernel, not run on the dying one.
        """
        log(f"restarting the kernel: {reason}")
        self.generation += 1
        self.restarts += 1
        self.ready.clear()
        self.state = "starting"
        previous = self.lifecycle_task
        self.lifecycle_task = asyncio.get_running_loop().create_task(self._replace(previous))
        return self.lifecycle_task

    async def start(self):
        self.lifecycle_task = asyncio.get_running_loop().create_task(self._replace(None))
        await self.lifecycle_task

    async def _replace(self, previous):
        if previous is not None and not previous.done():
            previous.cancel()
            try:
                await previous
            except BaseException:
                pass
        generation = self.generation
        await self._stop()
        for attempt in range(1, 4):
            try:
                await self._launch()
            except asyncio.CancelledError:
                await self._stop()
                raise
            except Exception as error:
                self.last_error = f"kernel start failed (attempt {attempt}): {error}"
                log(self.last_error)
                await self._stop()
                await asyncio.sleep(0.5 * attempt)
                continue
            if generation == self.generation:
                self.state = "idle"
                self.ready.set()
            return
        self.state = "dead"

    async def _launch(self):
        launched = time.monotonic()
        process = KernelProcess(self.data_dir)
        self.process = process
        threading.Thread(target=forward_kernel_output, args=(process.output, self.generation), daemon=True, name="kernel-output").start()
        kc = KernelChannels(process.channel_socket)
        self.kc = kc
        await self._wait_ready(kc, process, launched + KERNEL_START_TIMEOUT_S)
        await self._warm_up(kc, process, launched + KERNEL_START_TIMEOUT_S)
        self.ready_ms = round((time.monotonic() - launched) * 1000)
        self.last_error = None
        log(f"kernel ready in {self.ready_ms} ms (generation {self.generation})")

    async def _wait_ready(self, kc, process, deadline):
        """Waits for the kernel's answer to kernel_info: IPython is loaded and reading requests."""
        msg_id = kc.kernel_info()
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the kernel did not answer within {KERNEL_START_TIMEOUT_S:.0f} s")
            try:
                reply = await kc.get_shell_msg(timeout=LIVENESS_POLL_S)
            except queue.Empty:
                if not process.alive():
                    raise RuntimeError(f"the kernel exited during start-up ({process.exit_description()})")
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        # Its "idle" follows the reply; leave nothing queued for the first execution.
        while True:
            try:
                msg = await kc.get_iopub_msg(timeout=LIVENESS_POLL_S)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise RuntimeError("the kernel answered kernel_info but never went idle")
                continue
            if msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == msg_id:
                return

    async def _warm_up(self, kc, process, deadline):
        """Runs one throwaway cell before the kernel counts as ready.

        A fresh IPython kernel's first cell is several times slower than the next ones (code
        paths, the output thread, the display formatters all run for the first time); paying
        that here keeps it out of a new session's first request. Not stored in history, so
        the user's first cell is still In[1].
        """
        msg_id = kc.execute("print('', end='')\n0", silent=False, store_history=False)
        idle = await self._collect(kc, process, msg_id, Output(), self.generation, asyncio.get_running_loop().time() + max(deadline - time.monotonic(), 0.001))
        if idle is not True:
            raise RuntimeError(f"the warm-up cell did not finish ({idle})")
        await self._drain_shell_reply(kc, msg_id, Output())

    async def _stop(self):
        kc, process = self.kc, self.process
        self.kc = self.process = None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:
                pass
        if process is not None:
            await process.kill()

    # -- operations ---------------------------------------------------------------------------

    def health(self):
        state = self.state
        if state == "idle" and self.busy:
            state = "busy"
        return {
            "ok": state in ("idle", "busy"),
            "kernel": state,
            "executions": self.executions,
            "restarts": self.restarts,
            "agentVersion": AGENT_VERSION,
            "uptimeMs": round((time.monotonic() - STARTED_AT) * 1000),
            "kernelReadyMs": self.ready_ms,
            "lastError": self.last_error,
        }

    async def interrupt(self):
        process = self.process
        if process is None or not self.ready.is_set():
            return {"ok": True, "note": "no kernel running"}
        process.interrupt()
        return {"ok": True}

    async def restart(self):
        task = self.begin_restart("restart requested")
        try:
            await asyncio.wait_for(asyncio.shield(task), KERNEL_START_TIMEOUT_S + 10)
        except asyncio.TimeoutError:
            raise AgentError("KernelUnavailable", "the new kernel did not start in time")
        if self.state == "dead":
            raise AgentError("KernelUnavailable", self.last_error or "the kernel could not be started")
        return {"ok": True, "kernel": self.state}

    async def execute(self, code, timeout_ms):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        started = time.monotonic()
        try:
            # wait_for wraps its awaitable in a task: skip it when there is nothing to wait for.
            if self.exec_lock.locked():
                await asyncio.wait_for(self.exec_lock.acquire(), timeout=max(deadline - loop.time(), 0.001))
            else:
                await self.exec_lock.acquire()
        except asyncio.TimeoutError:
            raise AgentError("Busy", f"another execution kept the kernel busy for this request's whole timeout ({timeout_ms} ms)")
        try:
            if self.state == "dead":
                raise AgentError("KernelUnavailable", self.last_error or "the kernel could not be started")
            try:
                if not self.ready.is_set():
                    await asyncio.wait_for(self.ready.wait(), timeout=max(deadline - loop.time(), 0.001))
            except asyncio.TimeoutError:
                if self.state == "dead":
                    raise AgentError("KernelUnavailable", self.last_error or "the kernel could not be started")
                out = Output()
                out.add_note("stderr", f"Execution timed out after {timeout_ms / 1000:g} s while the kernel was still starting; the code did not run.")
                return out.reply("Timeout", started)
            self.busy = True
            try:
                return await self._run(code, timeout_ms, deadline, started)
            finally:
                self.busy = False
                self.executions += 1
        finally:
            self.exec_lock.release()

    async def _run(self, code, timeout_ms, deadline, started):
        loop = asyncio.get_running_loop()
        kc, process, generation = self.kc, self.process, self.generation
        out = Output()
        msg_id = kc.execute(code, silent=False, store_history=True)
        while True:
            idle = await self._collect(kc, process, msg_id, out, generation, deadline)
            if idle is True:
                break
            if idle == "restarted":
                out.error = {
                    "name": "KernelRestarted",
                    "value": "The kernel was restarted while this code ran; variables and imports are lost (files in /mnt/data are kept).",
                    "traceback": [],
                }
                return out.reply("Failure", started)
            if idle == "died":
                description = process.exit_description()
                self.begin_restart(f"the kernel died ({description})")
                out.error = {
                    "name": "KernelDied",
                    "value": f"The kernel process ended while running this code ({description}); it was restarted, so variables and imports are lost (files in /mnt/data are kept).",
                    "traceback": [],
                }
                return out.reply("Failure", started)
            # The deadline passed: interrupt, give the cell a moment to stop, else restart.
            log(f"execution timed out after {timeout_ms} ms; interrupting")
            process.interrupt()
            stopped = await self._collect(kc, process, msg_id, out, generation, loop.time() + INTERRUPT_GRACE_S)
            # The KeyboardInterrupt we caused is not the user's error; keep their partial output.
            out.error = None
            if stopped is True:
                out.add_note("stderr", f"Execution timed out after {timeout_ms / 1000:g} s; the kernel was interrupted (variables and imports are kept).")
            else:
                self.begin_restart("the timed-out execution did not stop after an interrupt")
                out.add_note(
                    "stderr",
                    f"Execution timed out after {timeout_ms / 1000:g} s; the kernel did not stop when interrupted and was restarted (variables and imports are lost; files in /mnt/data are kept).",
                )
            return out.reply("Timeout", started)

        await self._drain_shell_reply(kc, msg_id, out)
        return out.reply("Failure" if out.error else "Success", started)

    async def _collect(self, kc, process, msg_id, out, generation, deadline):
        """Feeds iopub messages of msg_id into out until the kernel goes idle.

        Returns True (idle), "timeout", "restarted" (someone replaced the kernel) or "died".
        """
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return "timeout"
            if generation != self.generation:
                return "restarted"
            wait = min(LIVENESS_POLL_S, remaining)
            try:
                msg = await kc.get_iopub_msg(timeout=wait)
            except queue.Empty:
                if generation != self.generation:
                    return "restarted"
                if not process.alive():
                    return "died"
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                return True
            out.handle(msg)

    async def _drain_shell_reply(self, kc, msg_id, out):
        # The execute_reply carries pager output (e.g. `obj?`) and must be consumed so the
        # shell channel does not fill up; it has normally arrived before iopub's idle.
        try:
            while True:
                reply = await kc.get_shell_msg(timeout=1.0)
                if reply["parent_header"].get("msg_id") != msg_id:
                    continue
                content = reply["content"]
                if out.execution_count is None:
                    out.execution_count = content.get("execution_count")
                for payload in content.get("payload", []):
                    if payload.get("source") == "page":
                        text = payload.get("data", {}).get("text/plain", "")
                        out.stream("stdout", strip_ansi(text) + "\n")
                return
        except queue.Empty:
            log(f"no execute_reply for {msg_id}")

    async def shutdown(self):
        if self.lifecycle_task is not None and not self.lifecycle_task.done():
            self.lifecycle_task.cancel()
        await self._stop()


class KernelChannels:
    """The agent's end of its kernel's socket (sandpool_kernel.py), on the agent's asyncio loop.

    Requests go out as JSON lines; the kernel's lines come back as Jupyter-shaped messages and
    are queued by channel: "shell" (replies) and "iopub" (output and status), as the agent read
    them from ipykernel. Liveness is the process itself; interrupts are signals.
    """

    # A kernel line longer than this (a display far over MAX_DISPLAY_BYTES) is dropped unread.
    MAX_LINE_BYTES = MAX_DISPLAY_BYTES + MIB
    SEND_TIMEOUT_S = 10.0

    def __init__(self, sock):
        self.sock = sock
        sock.setblocking(False)
        self.queues = {"shell": asyncio.Queue(), "iopub": asyncio.Queue()}
        self.loop = asyncio.get_running_loop()
        self.buffer = bytearray()
        self.discarding = False
        self.closed = False
        self.loop.add_reader(sock.fileno(), self._receive)

    def _receive(self):
        try:
            chunk = self.sock.recv(4 * MIB)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the kernel ended; waiting executions notice through the process
            self.loop.remove_reader(self.sock.fileno())
            return
        self.buffer += chunk
        while True:
            end = self.buffer.find(b"\n")
            if end < 0:
                if len(self.buffer) > self.MAX_LINE_BYTES:
                    log("dropped a kernel message over the size limit")
                    self.buffer.clear()
                    self.discarding = True
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            if self.discarding:  # the rest of the oversized line
                self.discarding = False
                continue
            try:
                msg = json.loads(line)
                queue_ = self.queues[msg["channel"]]
                msg.setdefault("parent_header", {})
            except (ValueError, KeyError, TypeError) as error:  # a malformed line must not kill the agent's loop
                log(f"dropped an unreadable kernel message: {error}")
                continue
            queue_.put_nowait(msg)

    def _send(self, msg_type, content):
        msg_id = secrets.token_hex(8)
        data = (json.dumps({"msg_id": msg_id, "msg_type": msg_type, "content": content}, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")
        # The kernel reads requests whenever it is not running a cell, and the agent sends only
        # then (one execution at a time), so this wait is short; a kernel that stopped reading
        # is treated as dead by the caller.
        deadline = time.monotonic() + self.SEND_TIMEOUT_S
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
                view = view[sent:]
            except (BlockingIOError, InterruptedError):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([], [self.sock], [], remaining)[1]:
                    raise RuntimeError("the kernel stopped reading requests")
        return msg_id

    def kernel_info(self):
        return self._send("kernel_info_request", {})

    def execute(self, code, silent=False, store_history=True):
        return self._send("execute_request", {"code": code, "silent": silent, "store_history": store_history})

    async def _get(self, name, timeout):
        try:
            messages = self.queues[name]
            # Usually the message is already here; wait_for would still make a task for it.
            if not messages.empty():
                return messages.get_nowait()
            return await asyncio.wait_for(messages.get(), timeout)
        except asyncio.TimeoutError:
            raise queue.Empty from None

    async def get_shell_msg(self, timeout):
        return await self._get("shell", timeout)

    async def get_iopub_msg(self, timeout):
        return await self._get("iopub", timeout)

    def stop_channels(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.loop.remove_reader(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()


def forward_kernel_output(pipe, generation):
    """Drains the kernel process's own stdout/stderr into the agent's log, up to a budget.

    The kernel writes its own problems there (start-up errors, a preload that failed); user
    code's output goes to the cell instead. Left to the container's log, a flood could fill the
    host's disk; left unread, a full pipe would freeze the kernel. So we always read, and log
    only the first KERNEL_LOG_BUDGET_BYTES.
    """
    budget = KERNEL_LOG_BUDGET_BYTES
    dropped = 0
    try:
        with pipe:
            while True:
                chunk = os.read(pipe.fileno(), 65536)
                if not chunk:
                    break
                if budget > 0:
                    sys.stderr.buffer.write(chunk[:budget])
                    sys.stderr.flush()
                    dropped += max(len(chunk) - budget, 0)
                    budget -= len(chunk)
                else:
                    dropped += len(chunk)
    except (OSError, ValueError):
        pass
    if dropped:
        log(f"kernel {generation}: {dropped} more bytes of its output were not logged")


class KernelProcess:
    """One kernel process (sandpool_kernel.py): its own session and process group, so SIGINT to
    the group interrupts a cell and SIGKILL ends it with whatever the user's code spawned."""

    def __init__(self, cwd):
        # One socket pair: the kernel gets its end as a descriptor, nothing to find on disk.
        self.channel_socket, kernel_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ)
        # Inside the kernel, matplotlib uses the inline backend so plt.show() and figures left
        # open become displays, as in Jupyter. The image default (Agg) stays for other processes.
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        env.pop("SANDPOOL_AGENT_SOCKET", None)
        env["SANDPOOL_KERNEL_FD"] = str(kernel_end.fileno())
        try:
            self.process = subprocess.Popen(
                # sys.path[0] is the kernel's folder, not the working directory (/mnt/data): a
                # user's file named numpy.py or IPython.py cannot break a kernel (re)start. The
                # kernel puts the working directory back for the user's own imports.
                [sys.executable, KERNEL_PROGRAM],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                # The kernel's own log (start-up errors); its cells' output comes through the socket.
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(kernel_end.fileno(),),
                # Its own session and process group: signals reach the kernel and its children,
                # and never the agent.
                start_new_session=True,
            )
        finally:
            kernel_end.close()
        self.output = self.process.stdout

    def alive(self):
        return self.process.poll() is None

    def _signal_group(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass
        except OSError:
            try:
                self.process.send_signal(signum)
            except OSError:
                pass

    def interrupt(self):
        if self.alive():
            self._signal_group(signal.SIGINT)

    async def kill(self):
        self._signal_group(signal.SIGKILL)
        for _ in range(250):  # SIGKILL is immediate; 5 s covers a very busy host
            if not self.alive():
                break
            await asyncio.sleep(0.02)

    def exit_description(self):
        code = self.process.poll()
        if code is None:
            return "still running"
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            hint = " (probably out of memory)" if -code == signal.SIGKILL else ""
            return f"killed by {name}{hint}"
        return f"exit code {code}"


# -- files in the data folder ------------------------------------------------------------------


def rfc3339(ns):
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def content_type(name):
    guessed = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def parse_data_path(raw, allow_root=False):
    """A protocol ``path``: relative to the data folder, '/'-separated, no empty, '.' or '..' part.

    The engine turns what clients send (``/mnt/data/x``, ``./x``, ``a//b``) into this form; the
    agent only checks it, so that nothing it is handed can name a place outside the folder.
    """
    if not isinstance(raw, str):
        raise AgentError("BadRequest", "`path` must be a string")
    if raw == "":
        if allow_root:
            return []
        raise AgentError("BadRequest", "`path` must name a file, not the data folder itself")
    parts = raw.split("/")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES or any(
        part in ("", ".", "..") or "\0" in part or len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in parts
    ):
        raise AgentError(
            "BadRequest",
            f"`path` {raw[:300]!r} is not a path inside the data folder: use names relative to it, separated by single "
            f"'/', without '.' or '..', each at most {MAX_NAME_BYTES} bytes ({MAX_PATH_BYTES} in all)",
        )
    return parts


def symlink_refusal(shown):
    return AgentError("SymbolicLink", f"{shown} is a symbolic link; the file API never follows, replaces or deletes links (handle it from code)")


def readable_name(name):
    """False for names that are not valid UTF-8 (user code can create them): they cannot travel in JSON."""
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


class DataFiles:
    """The session's files: everything under the data folder, and nothing else.

    User code shares the folder and can plant symbolic links in it (to /etc/passwd, or to a
    directory elsewhere). Every path is therefore walked one component at a time from a
    descriptor of the folder, each step opened with O_NOFOLLOW relative to the previous one, so
    no link is ever followed: not to read, write, list or delete, and not half-way through a
    path. A link, like a FIFO or a socket, is not a file this API serves: it is not listed, and
    naming it is an error that says so.
    """

    def __init__(self, root):
        self.root = root

    # -- walking ------------------------------------------------------------------------------

    def _open_root(self):
        return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _refusal(self, dir_fd, name, shown, error):
        """The AgentError for an OSError met while opening ``name`` (shown as ``shown``) in ``dir_fd``."""
        if isinstance(error, AgentError):
            return error
        if error.errno == errno.ENOENT:
            return AgentError("NotFound", f"{shown} does not exist")
        if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EISDIR):
            try:
                mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
            except OSError:
                mode = None
            if mode is not None and stat.S_ISLNK(mode):
                return symlink_refusal(shown)
            if mode is not None and stat.S_ISDIR(mode):
                return AgentError("NotAFile", f"{shown} is a directory, not a file")
            return AgentError("NotADirectory", f"{shown} is not a directory")
        if error.errno in (errno.EACCES, errno.EPERM):
            return AgentError("PermissionDenied", f"{shown} cannot be accessed: its permissions were changed from code (chmod it back from code)")
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return self.storage_full()
        return AgentError("Internal", f"{shown}: {error.strerror}")

    def _open_entry(self, dir_fd, name, shown, directory):
        """Opens the directory (or regular file) ``name`` in ``dir_fd`` without following a link.

        O_NOFOLLOW alone is not enough: gVisor (the December 2022 release) follows a final link
        when O_DIRECTORY is given. So the entry is lstat-ed first, refused if it is a link or of
        the wrong kind, opened, and the descriptor must be that very inode: a link swapped in
        between the two steps is caught as well.
        """
        try:
            before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as error:
            raise self._refusal(dir_fd, name, shown, error) from None
        if stat.S_ISLNK(before.st_mode):
            raise symlink_refusal(shown)
        if directory and not stat.S_ISDIR(before.st_mode):
            raise AgentError("NotADirectory", f"{shown} is not a directory")
        if not directory and stat.S_ISDIR(before.st_mode):
            raise AgentError("NotAFile", f"{shown} is a directory, not a file; list it instead")
        if not directory and not stat.S_ISREG(before.st_mode):
            raise AgentError("NotAFile", f"{shown} is not a regular file (a FIFO, socket or device)")
        # O_NONBLOCK: should a FIFO be swapped in after the lstat, opening it must not hang.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_DIRECTORY if directory else os.O_NONBLOCK)
        try:
            fd = os.open(name, flags, dir_fd=dir_fd)
        except OSError as error:
            raise self._refusal(dir_fd, name, shown, error) from None
        after = os.fstat(fd)
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            os.close(fd)
            raise AgentError("Changed", f"{shown} was replaced while it was being opened (by code running in the session); try again")
        return fd

    def _open_child_dir(self, dir_fd, name, shown, create):
        try:
            return self._open_entry(dir_fd, name, shown, directory=True)
        except AgentError as error:
            if error.code != "NotFound" or not create:
                raise
        try:
            os.mkdir(name, 0o755, dir_fd=dir_fd)
        except FileExistsError:
            pass  # made meanwhile (by code, or a concurrent upload): the open below checks what it is
        except OSError as error:
            raise self._refusal(dir_fd, name, shown, error) from None
        return self._open_entry(dir_fd, name, shown, directory=True)

    def open_dir(self, parts, create=False):
        """A descriptor of the directory ``parts`` (created with its parents when ``create``)."""
        fd = self._open_root()
        try:
            for depth, name in enumerate(parts):
                child = self._open_child_dir(fd, name, "/".join(parts[: depth + 1]), create)
                os.close(fd)
                fd = child
            return fd
        except BaseException:
            os.close(fd)
            raise

    def entry(self, parts, st):
        is_dir = stat.S_ISDIR(st.st_mode)
        return {
            "path": "/".join(parts),
            "name": parts[-1],
            "type": "directory" if is_dir else "file",
            "size": st.st_size,
            "lastModified": rfc3339(st.st_mtime_ns),
            "contentType": "application/octet-stream" if is_dir else content_type(parts[-1]),
        }

    def _lstat_served(self, dir_fd, parts):
        """lstat of the last part of ``parts`` in ``dir_fd``; refuses links, FIFOs, sockets."""
        shown = "/".join(parts)
        try:
            st = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
        except OSError as error:
            raise self._refusal(dir_fd, parts[-1], shown, error) from None
        if stat.S_ISLNK(st.st_mode):
            raise symlink_refusal(shown)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise AgentError("NotAFile", f"{shown} is not a regular file (a FIFO, socket or device)")
        return st

    # -- operations ---------------------------------------------------------------------------

    def list(self, parts, recursive):
        fd = self.open_dir(parts)
        entries = []
        try:
            self._scan(fd, parts, recursive, entries)
        finally:
            os.close(fd)
        return {"files": entries}

    def _scan(self, fd, parts, recursive, entries):
        if len(parts) > MAX_LIST_DEPTH:
            raise AgentError("TooManyFiles", f"{'/'.join(parts[:MAX_LIST_DEPTH])} nests more than {MAX_LIST_DEPTH} directories deep; list a deeper directory with `path`")
        with os.scandir(fd) as scan:
            children = sorted((child for child in scan if readable_name(child.name) and not child.name.startswith(UPLOAD_PREFIX)), key=lambda child: child.name)
        for child in children:
            try:
                st = child.stat(follow_symlinks=False)
            except OSError:
                continue  # removed meanwhile
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                continue
            if len(entries) >= MAX_LIST_ENTRIES:
                raise AgentError("TooManyFiles", f"more than {MAX_LIST_ENTRIES} files and directories; list one directory at a time with `path` (without `recursive`)")
            child_parts = parts + [child.name]
            entries.append(self.entry(child_parts, st))
            if recursive and stat.S_ISDIR(st.st_mode):
                try:
                    sub = self._open_entry(fd, child.name, "/".join(child_parts), directory=True)
                except AgentError:
                    continue  # replaced by a link or removed meanwhile
                try:
                    self._scan(sub, child_parts, True, entries)
                finally:
                    os.close(sub)

    def stat(self, parts):
        fd = self.open_dir(parts[:-1])
        try:
            return self.entry(parts, self._lstat_served(fd, parts))
        finally:
            os.close(fd)

    def delete(self, parts):
        fd = self.open_dir(parts[:-1])
        try:
            st = self._lstat_served(fd, parts)
            entry = self.entry(parts, st)
            try:
                if stat.S_ISDIR(st.st_mode):
                    os.rmdir(parts[-1], dir_fd=fd)
                else:
                    # unlink never follows a link: if code swapped one in meanwhile, the link goes.
                    os.unlink(parts[-1], dir_fd=fd)
            except OSError as error:
                if error.errno == errno.ENOTEMPTY:
                    raise AgentError("DirectoryNotEmpty", f"{entry['path']} is a directory that is not empty; delete the files in it first") from None
                raise self._refusal(fd, parts[-1], entry["path"], error) from None
            return entry
        finally:
            os.close(fd)

    def open_read(self, parts):
        """(binary file object, entry) of a regular file, opened without following links."""
        dir_fd = self.open_dir(parts[:-1])
        try:
            fd = self._open_entry(dir_fd, parts[-1], "/".join(parts), directory=False)
        finally:
            os.close(dir_fd)
        file = os.fdopen(fd, "rb", buffering=0)
        try:
            return file, self.entry(parts, os.fstat(fd))
        except BaseException:
            file.close()
            raise

    def begin_write(self, parts):
        dir_fd = self.open_dir(parts[:-1], create=True)
        try:
            return Upload(self, dir_fd, parts)
        except BaseException:
            os.close(dir_fd)
            raise

    def storage_full(self):
        try:
            usage = os.statvfs(self.root)
            total = usage.f_blocks * usage.f_frsize
            free = usage.f_bavail * usage.f_frsize
            detail = f" ({total // MIB} MiB in all, {free // MIB} MiB free)"
        except OSError:
            detail = ""
        return AgentError("StorageFull", f"{self.root} is full{detail}; delete files the session no longer needs and try again")


class Upload:
    """One file being written: into a hidden temporary file next to the target, renamed over it
    at the end, so the target is never seen half-written and an aborted upload leaves nothing."""

    def __init__(self, files, dir_fd, parts):
        self.files = files
        self.dir_fd = dir_fd
        self.parts = parts
        self.fd = None
        self._check_target()
        self.temp_name = f"{UPLOAD_PREFIX}{secrets.token_hex(8)}"
        try:
            self.fd = os.open(self.temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
            # Readable by the kernel whatever the agent's umask (both run as the sandbox user).
            os.fchmod(self.fd, 0o644)
        except OSError as error:
            raise files._refusal(dir_fd, self.temp_name, "/".join(parts), error) from None

    def _check_target(self):
        try:
            st = os.stat(self.parts[-1], dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        except OSError as error:
            raise self.files._refusal(self.dir_fd, self.parts[-1], "/".join(self.parts), error) from None
        shown = "/".join(self.parts)
        if stat.S_ISLNK(st.st_mode):
            raise symlink_refusal(shown)
        if stat.S_ISDIR(st.st_mode):
            raise AgentError("NotAFile", f"{shown} is a directory; upload under another name")

    def write(self, data):
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except OSError as error:
                if error.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise self.files.storage_full() from None
                raise
            view = view[written:]

    def commit(self):
        self._check_target()
        try:
            os.rename(self.temp_name, self.parts[-1], src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        except OSError as error:
            raise self.files._refusal(self.dir_fd, self.parts[-1], "/".join(self.parts), error) from None
        self.temp_name = None
        entry = self.files.entry(self.parts, os.fstat(self.fd))
        self.close()
        return entry

    def close(self):
        """Ends the upload; a temporary file not yet renamed is removed."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.temp_name is not None:
            try:
                os.unlink(self.temp_name, dir_fd=self.dir_fd)
            except OSError:
                pass
            self.temp_name = None
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None


def transfer_request(line):
    """The request on a connection's first line if it is a transfer (readFile, writeFile)."""
    try:
        request = json.loads(line)
    except ValueError:
        return None
    return request if isinstance(request, dict) and request.get("op") in TRANSFER_OPS else None


async def read_frames(reader):
    """A writeFile body: frames of a 4-byte big-endian length and that many bytes; length 0 ends it."""
    while True:
        (length,) = FRAME_HEADER.unpack(await reader.readexactly(FRAME_HEADER.size))
        if length == 0:
            return
        if length > MAX_FRAME_BYTES:
            raise AgentError("BadRequest", f"a frame of {length} bytes is longer than the {MAX_FRAME_BYTES} allowed")
        yield await reader.readexactly(length)


class Server:
    """The newline-delimited JSON protocol over the Unix socket."""

    def __init__(self, kernel, files):
        self.kernel = kernel
        self.files = files
        self.owner = None

    def check_owner(self, request):
        owner = request.get("owner")
        if owner is None:
            return
        if not isinstance(owner, str) or not owner:
            raise AgentError("BadRequest", "`owner` must be a non-empty string")
        if self.owner is None:
            self.owner = owner
        elif not hmac_compare(self.owner.encode(), owner.encode()):
            raise AgentError("WrongOwner", "this sandbox already serves another session; nothing was run")

    async def handle_connection(self, reader, writer):
        write_lock = asyncio.Lock()
        tasks = set()

        async def send(message):
            line = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
            async with write_lock:
                if writer.is_closing():
                    return
                writer.write(line.encode("utf-8"))
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    pass

        first = True
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than the stream limit
                    await send({"id": None, "ok": False, "error": {"code": "BadRequest", "message": f"request line longer than {MAX_REQUEST_BYTES} bytes"}})
                    break
                except (ConnectionError, OSError):
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                if first:
                    first = False
                    transfer = transfer_request(line)
                    if transfer is not None:
                        await self.handle_transfer(transfer, reader, writer)
                        break
                # Each request runs on its own so a long execute never holds up a health check.
                task = asyncio.get_running_loop().create_task(self.handle_request(line, send))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            # Requests already running finish (an execute keeps its place); their replies are
            # dropped if the connection is gone.
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()

    async def handle_request(self, line, send):
        request_id = None
        try:
            try:
                request = json.loads(line)
            except ValueError as error:
                raise AgentError("BadRequest", f"not valid JSON: {error}")
            if not isinstance(request, dict):
                raise AgentError("BadRequest", "a request must be a JSON object")
            request_id = request.get("id")
            self.check_owner(request)
            data = await self.dispatch(request)
            await send({"id": request_id, "ok": True, "data": data})
        except AgentError as error:
            await send({"id": request_id, "ok": False, "error": {"code": error.code, "message": str(error)}})
        except asyncio.CancelledError:
            # Only the agent's own shutdown cancels a request; anything else is a bug that must
            # still get an answer, never silence.
            if asyncio.current_task().cancelling():
                raise
            log("internal error: a request was cancelled")
            await send({"id": request_id, "ok": False, "error": {"code": "Internal", "message": "the request was cancelled inside the agent"}})
        except Exception as error:
            log(f"internal error: {error!r}")
            await send({"id": request_id, "ok": False, "error": {"code": "Internal", "message": f"{type(error).__name__}: {error}"}})

    async def handle_transfer(self, request, reader, writer):
        """readFile or writeFile: the one request of its connection, whose bytes follow it."""
        request_id = request.get("id")

        async def reply(message):
            writer.write((json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
            await writer.drain()

        try:
            try:
                if request["op"] == "readFile":
                    await self.send_file(request, reply, writer)
                else:
                    await self.receive_file(request, reply, reader)
            except AgentError as error:
                await reply({"id": request_id, "ok": False, "error": {"code": error.code, "message": str(error)}})
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the engine gave up on the transfer and closed the connection: nobody to answer
        except Exception as error:
            log(f"internal error in {request['op']}: {error!r}")
            try:
                await reply({"id": request_id, "ok": False, "error": {"code": "Internal", "message": f"{type(error).__name__}: {error}"}})
            except (ConnectionError, OSError):
                pass

    async def send_file(self, request, reply, writer):
        self.check_owner(request)
        file, entry = self.files.open_read(parse_data_path(request.get("path")))
        with file:
            await reply({"id": request.get("id"), "ok": True, "data": entry})
            size = entry["size"]
            try:
                sent = await asyncio.get_running_loop().sendfile(writer.transport, file, 0, size) if size else 0
            except OSError as error:
                log(f"readFile {entry['path']} failed after its header: {error!r}")
                sent = -1
        if sent != size:
            # The file shrank while being sent (code truncated it) or could not be read: the
            # engine must not take fewer bytes for the whole file, so the connection ends short.
            writer.transport.abort()

    async def receive_file(self, request, reply, reader):
        frames = read_frames(reader)
        try:
            # Inside the try: a refused upload's frames are still read and dropped below.
            self.check_owner(request)
            parts = parse_data_path(request.get("path"))
            max_bytes = request.get("maxBytes")
            if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
                raise AgentError("BadRequest", "writeFile needs `maxBytes` (a whole number of bytes)")
            upload = self.files.begin_write(parts)
            try:
                received = 0
                async for chunk in frames:
                    received += len(chunk)
                    if received > max_bytes:
                        raise AgentError("TooLarge", f"the file is larger than the {max_bytes} bytes this upload may write")
                    upload.write(chunk)
                entry = upload.commit()
            finally:
                upload.close()
        except AgentError as error:
            await reply({"id": request.get("id"), "ok": False, "error": {"code": error.code, "message": str(error)}})
            # The engine stops sending when it reads the answer; what it sent meanwhile is read
            # and dropped, so it never writes into a closed socket before seeing the answer.
            try:
                async for _ in frames:
                    pass
            except (ConnectionError, asyncio.IncompleteReadError, AgentError):
                pass
            return
        await reply({"id": request.get("id"), "ok": True, "data": entry})

    async def dispatch(self, request):
        op = request.get("op")
        if op == "health":
            return self.kernel.health()
        if op == "execute":
            code = request.get("code")
            if not isinstance(code, str):
                raise AgentError("BadRequest", "execute needs `code` (a string)")
            timeout_ms = request.get("timeoutMs", DEFAULT_TIMEOUT_MS)
            if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float)) or not 0 < timeout_ms <= MAX_TIMEOUT_MS:
                raise AgentError("BadRequest", f"`timeoutMs` must be a number between 1 and {MAX_TIMEOUT_MS}")
            return await self.kernel.execute(code, float(timeout_ms))
        if op == "interrupt":
            return await self.kernel.interrupt()
        if op == "restart":
            return await self.kernel.restart()
        if op == "listFiles":
            recursive = request.get("recursive", False)
            if not isinstance(recursive, bool):
                raise AgentError("BadRequest", "`recursive` must be true or false")
            return self.files.list(parse_data_path(request.get("path", ""), allow_root=True), recursive)
        if op == "statFile":
            return self.files.stat(parse_data_path(request.get("path")))
        if op == "deleteFile":
            return self.files.delete(parse_data_path(request.get("path")))
        if op in TRANSFER_OPS:
            raise AgentError("BadRequest", f"{op} streams bytes: send it as the first request of a connection of its own")
        raise AgentError(
            "BadRequest", f"unknown op {op!r}; expected health, execute, interrupt, restart, listFiles, statFile, deleteFile, readFile or writeFile"
        )


# -- start-up --------------------------------------------------------------------------------


def prepare_writable_dirs():
    """Creates the per-sandbox folders under /tmp that HOME and the env variables point at.

    The image's root filesystem is read-only at run time: HOME (/home/sandbox is a symlink to
    /tmp/home), IPython's, Jupyter's and matplotlib's folders must live in /tmp.
    """
    home = os.path.realpath(os.path.expanduser("~"))
    for path in (
        home,
        os.environ.get("IPYTHONDIR"),
        os.environ.get("MPLCONFIGDIR"),
        os.environ.get("JUPYTER_RUNTIME_DIR"),
        os.environ.get("XDG_CACHE_HOME"),
    ):
        if path:
            os.makedirs(path, mode=0o700, exist_ok=True)
    mpl_dir = os.environ.get("MPLCONFIGDIR")
    if mpl_dir and os.path.isdir(PREBUILT_MPL_CACHE):
        for name in os.listdir(PREBUILT_MPL_CACHE):
            target = os.path.join(mpl_dir, name)
            if not os.path.exists(target):
                shutil.copy2(os.path.join(PREBUILT_MPL_CACHE, name), target)


def bind_socket(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        os.unlink(path)  # a stale socket from a previous agent in the same sandbox
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    sock.listen(64)
    sock.setblocking(False)
    return sock


def drop_privileges(user, data_dir):
    """When started as root (a runtime that ignored the image's USER), become `user`.

    The socket is bound before this, so it works even if /run/sandpool is root-only; the
    data folder is handed to the user so the kernel can write there.
    """
    if os.getuid() != 0:
        return
    entry = pwd.getpwnam(user)
    try:
        if os.stat(data_dir).st_uid != entry.pw_uid:
            os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    except OSError as error:
        log(f"cannot hand {data_dir} to {user}: {error}")
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir
    log(f"started as root; now running as {user} (uid {entry.pw_uid})")


async def serve(args):
    sock = bind_socket(args.socket)
    drop_privileges(args.user, args.data_dir)
    prepare_writable_dirs()
    if not os.access(args.data_dir, os.W_OK):
        log(f"warning: {args.data_dir} is not writable by uid {os.getuid()}")

    kernel = Kernel(args.data_dir)
    server = Server(kernel, DataFiles(args.data_dir))
    listener = await asyncio.start_unix_server(server.handle_connection, sock=sock, limit=MAX_REQUEST_BYTES)
    log(f"listening on {args.socket}")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    if args.lazy_kernel:
        kernel.state = "idle"
        kernel.ready.set()  # for tests of the socket alone; execute will fail
    else:
        loop.create_task(kernel.start())
    await stop.wait()
    log("stopping")
    listener.close()
    await kernel.shutdown()
    try:
        os.unlink(args.socket)
    except OSError:
        pass


def ensure_writable_stdio():
    """Points stdout and stderr at /dev/null when they cannot be written to.

    A task created without stdio gets /dev/null from containerd's shim; runc passes it on as
    is, but gVisor (this release) hands the sandbox a descriptor on which every write fails
    with EBADF. The first log line would then kill the agent. A zero-length write tells.
    """
    for fd in (1, 2):
        try:
            os.write(fd, b"")
        except OSError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)


def main():
    ensure_writable_stdio()
    parser = argparse.ArgumentParser(description="Sandpool sandbox agent (see the module docstring for the protocol).")
    parser.add_argument("--socket", default=os.environ.get("SANDPOOL_AGENT_SOCKET", DEFAULT_SOCKET))
    parser.add_argument("--data-dir", default=os.environ.get("SANDPOOL_DATA_DIR", DATA_DIR))
    parser.add_argument("--user", default="sandbox", help="user to become when started as root")
    parser.add_argument("--lazy-kernel", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
