"""The Sandpool kernel: ipykernel's launcher plus an IPython extension.

Run as a script (``python3 /opt/sandpool/kernel/sandpool_kernel.py -f CONNECTION_FILE …``),
it starts ipykernel like ``ipykernel_launcher`` does, only faster (see ``_launch``). Its
folder is then sys.path[0], which is how IPython finds it again as the extension
``--ext=sandpool_kernel``. As an extension it runs inside the kernel, before the first
cell, and does three things:

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

VALUE_MIME = "application/vnd.sandpool.value+json"

# Results bigger than this stay text/plain (IPython already abbreviates long reprs); they
# would otherwise be serialised twice into every reply.
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


def _launch():
    # Like ipykernel_launcher, with two differences:
    # - sys.path[0] is this folder, not the working directory (/mnt/data), so a user's file
    #   named numpy.py or ipykernel.py cannot break a kernel (re)start. IPython adds the
    #   working directory back for the user's own imports, as in Jupyter.
    # - jedi, IPython's tab-completion engine, is hidden while IPython loads: nothing asks
    #   this kernel to complete code, and importing jedi costs ~0.1 s of every sandbox's
    #   start. IPython handles its absence; user code can still import it afterwards.
    sys.modules["jedi"] = None
    try:
        from ipykernel import kernelapp
    finally:
        del sys.modules["jedi"]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    _launch()
