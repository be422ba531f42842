"""Worker processes that answer failure sets.

Why not `ProcessPoolExecutor`: its workers keep state between tasks only in module globals, and
each worker needs the topology (large) once, not with every set. Here each worker's loop holds
its `SetSolver` as a local and receives only failure sets. Workers are spawned (no fork of a
process that has threads), so a script that starts a pool needs the usual
`if __name__ == "__main__":` guard.

`resilience` takes any factory `(solver, jobs) -> object with submit(failed) -> Future and
shutdown(wait, cancel_futures)`: `SetPool` is the default, a test may answer in-process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection, wait
from typing import Protocol

from dpmsmt.resilience.solve import SetSolver

__all__ = ["PoolFactory", "SetExecutor", "SetPool", "serve"]


class SetExecutor(Protocol):
    """What `resilience` needs of a pool."""

    def submit(self, failed: tuple[str, ...]) -> Future: ...

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None: ...


PoolFactory = Callable[[SetSolver, int], SetExecutor]


def serve(conn: Connection, payload: bytes) -> None:
    """A worker's loop: unpickle the solver once, then answer each failure set sent until None
    (or the parent goes away)."""
    try:
        solve = pickle.loads(payload)
        while (failed := conn.recv()) is not None:
            try:
                answer = (True, solve(failed))
            except Exception as e:  # the parent raises it from the future
                answer = (False, e)
            conn.send(answer)
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return


class SetPool:
    """`jobs` spawned workers, each given one failure set at a time; a thread in this process
    collects their answers into the futures and hands out the sets waiting."""

    def __init__(self, solver: SetSolver, jobs: int):
        context = multiprocessing.get_context("spawn")
        payload = pickle.dumps(solver.for_worker(), protocol=pickle.HIGHEST_PROTOCOL)
        self._lock = threading.Lock()
        self._waiting: deque[tuple[Future, tuple[str, ...]]] = deque()
        self._busy: dict[Connection, Future] = {}
        self._idle: list[Connection] = []
        self._futures: set[Future] = set()
        self._processes = []
        for _ in range(jobs):
            parent, child = context.Pipe()
            process = context.Process(target=serve, args=(child, payload), daemon=True)
            process.start()
            child.close()
            self._processes.append(process)
            self._idle.append(parent)
        self._collector = threading.Thread(
            target=self._collect, args=(list(self._idle),), daemon=True
        )
        self._collector.start()

    def submit(self, failed: tuple[str, ...]) -> Future:
        future: Future = Future()
        with self._lock:
            self._futures.add(future)
            self._waiting.append((future, failed))
            self._hand_out()
        return future

    def _hand_out(self) -> None:
        """Give waiting sets to idle workers (with the lock held)."""
        while self._waiting and self._idle:
            future, failed = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            conn = self._idle.pop(0)
            self._busy[conn] = future
            conn.send(failed)

    def _collect(self, conns: list[Connection]) -> None:
        while conns:
            for conn in wait(conns):
                try:
                    ok, value = conn.recv()
                except (EOFError, OSError):  # the worker ended (shut down, or died)
                    conns.remove(conn)
                    self._lost(conn, last=not conns)
                    continue
                with self._lock:
                    future = self._busy.pop(conn)
                    self._idle.append(conn)
                    self._hand_out()
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _lost(self, conn: Connection, last: bool) -> None:
        """A worker ended: its set (and, with no worker left, every waiting set) fails."""
        with self._lock:
            if conn in self._idle:
                self._idle.remove(conn)
            lost = [self._busy.pop(conn)] if conn in self._busy else []
            if last:
                lost += [f for f, _ in self._waiting if f.set_running_or_notify_cancel()]
                self._waiting.clear()
        for future in lost:
            future.set_exception(BrokenProcessPool("a worker process ended while solving"))

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """With `wait`, answer every set submitted and stop the workers; else end them now."""
        if cancel_futures:
            with self._lock:
                for future, _ in self._waiting:
                    future.cancel()
                self._waiting.clear()
        if not wait:
            for process in self._processes:
                process.terminate()
            return
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            if not future.cancelled():
                future.exception()  # waits
        with self._lock:
            for conn in self._idle:
                with contextlib.suppress(OSError):  # it ended already: the collector sees it
                    conn.send(None)
        for process in self._processes:
            process.join()
        self._collector.join()
