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

Error codes: ``BadRequest`` (malformed line, unknown op, bad argument; ``id`` is null when
the line could not be parsed), ``Busy`` (another execution held the kernel for this
request's whole timeout), ``KernelUnavailable`` (the kernel could not be (re)started),
``Internal`` (a bug in the agent).

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

Output limits: stdout and stderr are each cut at MAX_STREAM_CHARS, displays at MAX_DISPLAY_BYTES
in total, with a note saying so; request lines are limited to MAX_REQUEST_BYTES.
"""
import argparse
import asyncio
import json
import os
import pwd
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

AGENT_VERSION = "1"

DEFAULT_SOCKET = "/run/sandpool/agent.sock"
DATA_DIR = "/mnt/data"
# The kernel launcher and extension (engine/agent/sandpool_kernel.py) in the image.
KERNEL_LAUNCHER = "/opt/sandpool/kernel/sandpool_kernel.py"
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
        self.kc = None  # jupyter_client AsyncKernelClient
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
        # The process first, the client library second: importing jupyter_client and zmq
        # takes ~0.2 s under runc and over 1 s under gVisor, and the kernel's own start-up
        # (several times longer) runs meanwhile on the other core.
        process = KernelProcess(self.generation, self.data_dir)
        self.process = process
        threading.Thread(target=forward_kernel_output, args=(process.output, self.generation), daemon=True, name="kernel-output").start()
        from jupyter_client.asynchronous import AsyncKernelClient

        kc = AsyncKernelClient(connection_file=process.connection_file)
        kc.load_connection_file()
        # No heartbeat or control channel: liveness is the process itself, interrupts are signals.
        kc.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
        self.kc = kc
        await self._wait_ready(kc, process, launched + KERNEL_START_TIMEOUT_S)
        await self._warm_up(kc, process, launched + KERNEL_START_TIMEOUT_S)
        self.ready_ms = round((time.monotonic() - launched) * 1000)
        self.last_error = None
        log(f"kernel ready in {self.ready_ms} ms (generation {self.generation})")

    async def _wait_ready(self, kc, process, deadline):
        """Waits for the kernel's first kernel_info reply and proves iopub is connected.

        jupyter_client's wait_for_ready polls in 1 s steps; a pool sandbox is only useful
        once this returns, so we poll tightly instead.
        """
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
        # ZMQ subscriptions are asynchronous: the first iopub messages can be lost if the
        # subscription reached the kernel late. Ask again until a status message comes through.
        while True:
            try:
                while True:
                    msg = await kc.get_iopub_msg(timeout=0.2)
                    if msg["msg_type"] == "status":
                        return
            except queue.Empty:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the kernel's output channel (iopub) never connected")
            kc.kernel_info()
            try:
                await kc.get_shell_msg(timeout=1.0)
            except queue.Empty:
                pass

    async def _warm_up(self, kc, process, deadline):
        """Runs one throwaway cell before the kernel counts as ready.

        A fresh IPython kernel's first cell is several times slower than the next ones (code
        paths, the output thread, the display formatters all run for the first time); paying
        that here keeps it out of a new session's first request. Not stored in history, so
        the user's first cell is still In[1].
        """
        msg_id = kc.execute("print('', end='')\n0", silent=False, store_history=False, allow_stdin=False)
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
            await asyncio.wait_for(self.exec_lock.acquire(), timeout=max(deadline - loop.time(), 0.001))
        except asyncio.TimeoutError:
            raise AgentError("Busy", f"another execution kept the kernel busy for this request's whole timeout ({timeout_ms} ms)")
        try:
            if self.state == "dead":
                raise AgentError("KernelUnavailable", self.last_error or "the kernel could not be started")
            try:
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
        msg_id = kc.execute(code, silent=False, store_history=True, allow_stdin=False, stop_on_error=False)
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
                # The outer bound matters: a restart closes this client's sockets, and a poll
                # pending on a closed zmq socket never completes.
                msg = await asyncio.wait_for(kc.get_iopub_msg(timeout=wait), timeout=wait + 0.5)
            except (queue.Empty, asyncio.TimeoutError):
                if generation != self.generation:
                    return "restarted"
                if not process.alive():
                    return "died"
                continue
            except asyncio.CancelledError:
                # pyzmq cancels the polls pending on a socket it closes: a restart closed this
                # client. Only a cancellation of this task itself must propagate.
                if asyncio.current_task().cancelling() or generation == self.generation:
                    raise
                return "restarted"
            except Exception:  # channels closed under us by a restart
                if generation != self.generation:
                    return "restarted"
                raise
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
                reply = await asyncio.wait_for(kc.get_shell_msg(timeout=1.0), timeout=1.5)
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
        except (queue.Empty, asyncio.TimeoutError):
            log(f"no execute_reply for {msg_id}")
        except asyncio.CancelledError:  # the client was closed by a restart (see _collect)
            if asyncio.current_task().cancelling():
                raise

    async def shutdown(self):
        if self.lifecycle_task is not None and not self.lifecycle_task.done():
            self.lifecycle_task.cancel()
        await self._stop()


def forward_kernel_output(pipe, generation):
    """Drains the kernel process's own stdout/stderr into the agent's log, up to a budget.

    ipykernel copies low-level output of user code (C extensions, subprocesses: os.system)
    to its original stdout/stderr as well as to the client. Left to the container's log, a
    `yes` in a subprocess could fill the host's disk; left unread, a full pipe would freeze
    the kernel. So we always read, and log only the first KERNEL_LOG_BUDGET_BYTES (kernel
    start-up errors land there).
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
    """One IPython kernel process, started the way jupyter_client's LocalProvisioner does it.

    We launch it ourselves rather than through KernelManager so that it starts before the
    agent has imported jupyter_client (see Kernel._launch). What KernelManager would add is
    exactly this: a connection file, a Popen in a new session, SIGINT to its process group to
    interrupt, SIGKILL to the group to stop (which also ends whatever the user's code spawned).
    """

    PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")

    def __init__(self, generation, cwd):
        runtime_dir = os.environ.get("JUPYTER_RUNTIME_DIR", "/tmp/.jupyter/runtime")
        os.makedirs(runtime_dir, mode=0o700, exist_ok=True)
        name = f"kernel-{os.getpid()}-{generation}"
        # IPC sockets in /tmp rather than TCP on loopback: no ports to pick, nothing reachable
        # through the network stack, and they work the same under gVisor. With the ipc
        # transport a "port" is only a suffix of the socket path.
        self.ipc_prefix = os.path.join(runtime_dir, name)
        self.connection_file = os.path.join(runtime_dir, f"{name}.json")
        info = {port: index + 1 for index, port in enumerate(self.PORTS)}
        info.update(
            transport="ipc",
            ip=self.ipc_prefix,
            key=secrets.token_hex(32),
            signature_scheme="hmac-sha256",
            kernel_name="python3",
        )
        fd = os.open(self.connection_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(info, file)
        env = dict(os.environ)
        # Inside the kernel, matplotlib uses the inline backend so plt.show() and figures left
        # open become displays, as in Jupyter. The image default (Agg) stays for other processes.
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        env.pop("SANDPOOL_AGENT_SOCKET", None)
        # As jupyter_client does: the kernel exits when its parent (the agent) dies, and does
        # not print its "how to connect to me" banner.
        env["JPY_PARENT_PID"] = str(os.getpid())
        argv = [
            sys.executable,
            KERNEL_LAUNCHER,
            "-f",
            self.connection_file,
            "--ext=sandpool_kernel",
            # No history database: nothing to write, nothing to lock, faster start.
            "--HistoryManager.hist_file=:memory:",
            "--InteractiveShell.colors=NoColor",
            # Not "debugpy_stream undefined" at every start; errors are still logged.
            "--IPKernelApp.log_level=ERROR",
        ]
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own session and process group: signals reach the kernel and its children,
            # and never the agent.
            start_new_session=True,
        )
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
        for path in [self.connection_file] + [f"{self.ipc_prefix}-{index + 1}" for index in range(len(self.PORTS))]:
            try:
                os.unlink(path)
            except OSError:
                pass

    def exit_description(self):
        code = self.process.poll()
        if code is None:
            return "still running"
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            hint = " (probably out of memory)" if -code == signal.SIGKILL else ""
            return f"killed by {name}{hint}"
        return f"exit code {code}"


class Server:
    """The newline-delimited JSON protocol over the Unix socket."""

    def __init__(self, kernel):
        self.kernel = kernel

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
        raise AgentError("BadRequest", f"unknown op {op!r}; expected health, execute, interrupt or restart")


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
    server = Server(kernel)
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


def main():
    parser = argparse.ArgumentParser(description="Sandpool sandbox agent (see the module docstring for the protocol).")
    parser.add_argument("--socket", default=os.environ.get("SANDPOOL_AGENT_SOCKET", DEFAULT_SOCKET))
    parser.add_argument("--data-dir", default=os.environ.get("SANDPOOL_DATA_DIR", DATA_DIR))
    parser.add_argument("--user", default="sandbox", help="user to become when started as root")
    parser.add_argument("--lazy-kernel", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
