"""The Sandpool kernel: ipykernel's kernel with less overhead per cell, plus an IPython extension.

Imported by ipykernel (``--IPKernelApp.kernel_class=sandpool_kernel.SandpoolKernel`` and
``--IPKernelApp.outstream_class=sandpool_kernel.QuietFlushOutStream``) and by IPython
(``--ext=sandpool_kernel``) once kernel_launcher.py, in the same folder, has started
ipykernel. A trivial cell took ~8 ms through the agent with ipykernel as it comes; most of it
was waiting on ipykernel's own threads, not running code (see the two classes below).

As an extension it runs inside the kernel, before the first cell, and does three things:

1. Registers a private display format, ``application/vnd.sandpool.value+json``, for JSON
   primitives (None, bool, int, finite float, str). IPython only offers ``text/plain`` for a
   cell's last expression; this lets the agent return ``2`` or ``"abc"`` as real JSON, as
   Azure does, while lists, dicts and everything else keep IPython's text repr (which is what
   Azure returns for them, and what clients parse). The agent strips this format from what it
   returns as displays.
2. Pre-imports the modules named in ``SANDPOOL_PRELOAD`` (comma-separated). A warm pool
   exists so that a session's first request is fast; paying numpy/pandas/matplotlib's import
   time while the sandbox waits in the pool, rather than in the user's first cell, is the
   point. Modules are only put in ``sys.modules``: the user namespace stays empty.
3. Nothing else: it must stay cheap, since it is part of every sandbox's start-up time.
"""
import importlib
import json
import math
import os
import sys

from ipykernel.iostream import OutStream
from ipykernel.ipkernel import IPythonKernel
from traitlets import Float

VALUE_MIME = "application/vnd.sandpool.value+json"

# Strings bigger than this stay text/plain (IPython already abbreviates long reprs); they
# would otherwise be serialised twice into every reply.
_MAX_JSON_CHARS = 1_000_000


def _as_json_text(value):
    """JSON text for a primitive value (None, bool, int, finite float, str); None otherwise.

    Only primitives: Azure returns a list or dict result as IPython's text repr, and clients
    parse that text (AutoGen splits a package list on ",\n", reference section 4.2.1).
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
    for name in filter(None, (part.strip() for part in os.environ.get("SANDPOOL_PRELOAD", "").split(","))):
        try:
            importlib.import_module(name)
        except Exception as error:  # a missing optional module must not stop the kernel
            print(f"sandpool: could not preload {name}: {error}", file=sys.__stderr__, flush=True)


def load_ipython_extension(ip):
    _register_value_formatter(ip)
    _preload()


class SandpoolKernel(IPythonKernel):
    """IPythonKernel without two waits that serve clients the agent is not.

    - Before each reply ipykernel sleeps 0.5 ms so that output flushed just before reaches
      clients first. The agent waits for iopub's "idle", which leaves through the same output
      thread after all output, so it has no use for the nap.
    - Before each request ipykernel hands a callback to its control thread so that control
      messages sent earlier are handled first. The agent opens no control channel (interrupts
      are signals), so there is never anything to order, only a thread to wake.
    """

    _execute_sleep = Float(0.0).tag(config=True)

    async def _flush_control_queue(self):
        return None


class QuietFlushOutStream(OutStream):
    """ipykernel's stdout/stderr, minus the flushes that have nothing to send.

    ipykernel flushes both streams twice per cell (before the reply, before "idle"), and each
    flush hands a callback to its output thread and waits for it: about 0.6 ms apiece here,
    most of a trivial cell's time. When nothing was written since the last flush there is
    nothing to wait for. Ordering is unaffected: whatever *was* written still goes through
    the original flush, and every iopub message leaves through the same thread in order.
    """

    def flush(self):
        if not self._flush_pending and not self._subprocess_flush_pending:
            with self._buffer_lock:
                if self._buffer.tell() == 0:
                    return
        super().flush()
