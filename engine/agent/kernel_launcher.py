"""Starts the Sandpool kernel: ipykernel's launcher, faster to start and to answer.

Run by the agent as ``python3 /opt/sandpool/kernel/kernel_launcher.py -f CONNECTION_FILE …``
with the options that select sandpool_kernel.py's classes and extension. It does what
``ipykernel_launcher`` does, with three differences:

- sys.path[0] is this folder, not the working directory (/mnt/data), so a user's file named
  numpy.py or ipykernel.py cannot break a kernel (re)start, and sandpool_kernel is importable.
  IPython adds the working directory back for the user's own imports, as in Jupyter.
- jedi, IPython's tab-completion engine, is hidden while IPython loads: nothing asks this
  kernel to complete code, and importing jedi costs ~0.1 s of every sandbox's start. IPython
  handles its absence; user code can still import it afterwards.
- Message dates are not parsed (see _skip_message_dates).
"""
import sys


def _skip_message_dates():
    # jupyter_client parses every header's ISO date into a datetime with dateutil (~0.3 ms a
    # message on this hardware, several per cell); the kernel never reads them, and dates it
    # sends are written from its own clock. Headers keep the date as the string received.
    import jupyter_client.session

    jupyter_client.session.extract_dates = lambda obj: obj


def main():
    sys.modules["jedi"] = None
    try:
        from ipykernel import kernelapp
    finally:
        del sys.modules["jedi"]
    _skip_message_dates()
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
