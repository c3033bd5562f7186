"""SIGTERM as an exception, so a terminated command cleans up like an interrupted one.

``with sigterm_raises():`` makes SIGTERM raise :class:`Terminated` in the main thread.
Python runs a signal handler at the next bytecode boundary, wherever that is; if that
happens inside a ``__del__``, a weakref callback or a library's ``except BaseException``,
the exception is printed as "ignored" or swallowed and the command would go on to the
end. Long loops therefore call :func:`checkpoint` once per chunk: it raises
:class:`Terminated` again when a SIGTERM arrived but did not stop the command.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Terminated", "checkpoint", "sigterm_raises"]


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so ``finally`` blocks and cleanups run.

    A ``BaseException`` (like ``KeyboardInterrupt``), so ``except Exception`` handlers on
    the way up do not swallow it.
    """


_state = {"received": False, "delivered": False}


def checkpoint() -> None:
    """Raise :class:`Terminated` if a SIGTERM arrived and its exception was swallowed."""
    if _state["received"] and not _state["delivered"]:
        _state["delivered"] = True
        raise Terminated


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` instead of killing.

    Without it the process dies at once and a half-written temporary file stays behind.
    A second SIGTERM does not interrupt the cleanup of the first. Only the main thread
    can set signal handlers; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.update(received=False, delivered=False)

    def handler(signum: int, frame: FrameType | None) -> None:
        if not _state["received"]:
            _state["received"] = True
            raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except Terminated:
        _state["delivered"] = True
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        _state.update(received=False, delivered=False)
