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


def serve(conn: Connection) -> None:
    """A worker's loop: receive the solver once, then answer each failure set sent until None
    (or the parent goes away)."""
    try:
        solve = pickle.loads(conn.recv_bytes())
        while (failed := conn.recv()) is not None:
            try:
                answer = (True, solve(failed))
            except Exception as e:  # the parent raises it from the future
                answer = (False, e)
            conn.send(answer)
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return


class SetPool:
    """Up to `jobs` spawned workers, each given one failure set at a time and started when a set
    finds none idle (as `ProcessPoolExecutor` does: a few sets on many CPUs start a few); a
    thread in this process collects their answers into the futures and hands out the sets
    waiting. A worker that ends while sets are left breaks the pool, as there."""

    def __init__(self, solver: SetSolver, jobs: int):
        self._context = multiprocessing.get_context("spawn")
        self._payload = pickle.dumps(solver.for_worker(), protocol=pickle.HIGHEST_PROTOCOL)
        self._jobs = jobs
        self._lock = threading.Lock()
        self._waiting: deque[tuple[Future, tuple[str, ...]]] = deque()
        self._busy: dict[Connection, Future] = {}
        self._idle: list[Connection] = []
        self._conns: list[Connection] = []  # the live workers'
        self._futures: set[Future] = set()
        self._processes: list = []
        self._broken = self._closing = False
        self._wake, self._waker = self._context.Pipe(duplex=False)  # a new worker, or closing
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    @property
    def workers(self) -> int:
        """How many worker processes were started."""
        return len(self._processes)

    def submit(self, failed: tuple[str, ...]) -> Future:
        future: Future = Future()
        with self._lock:
            if self._broken:
                raise BrokenProcessPool("a worker process ended while solving")
            self._futures.add(future)
            self._waiting.append((future, failed))
            if not self._idle and len(self._processes) < self._jobs:
                self._start_worker()
            self._hand_out()
        return future

    def _start_worker(self) -> None:
        """One more worker (with the lock held); the collector is woken to listen to it. The
        solver goes to it from a thread: writing it waits until the new process has started and
        reads, which the sets already waiting need not wait for."""
        parent, child = self._context.Pipe()
        process = self._context.Process(target=serve, args=(child,), daemon=True)
        process.start()
        child.close()
        self._processes.append(process)
        self._conns.append(parent)
        self._waker.send(None)
        threading.Thread(target=self._introduce, args=(parent,), daemon=True).start()

    def _introduce(self, conn: Connection) -> None:
        """Send the solver to a new worker, then give it sets (or, when closing, the end)."""
        try:
            conn.send_bytes(self._payload)
        except OSError:  # it ended already: the collector sees it
            return
        with self._lock:
            if self._closing:
                with contextlib.suppress(OSError):
                    conn.send(None)
                return
            self._idle.append(conn)
            self._hand_out()

    def _hand_out(self) -> None:
        """Give waiting sets to idle workers (with the lock held)."""
        while self._waiting and self._idle:
            future, failed = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            conn = self._idle.pop(0)
            self._busy[conn] = future
            conn.send(failed)

    def _collect(self) -> None:
        while True:
            with self._lock:
                conns = list(self._conns)
                if self._closing and not conns:
                    return
            for conn in wait([self._wake, *conns]):
                if conn is self._wake:
                    self._wake.recv()
                    continue
                try:
                    ok, value = conn.recv()
                except (EOFError, OSError):  # the worker ended (shut down, or died)
                    self._lost(conn)
                    continue
                with self._lock:
                    future = self._busy.pop(conn)
                    self._idle.append(conn)
                    self._hand_out()
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _lost(self, conn: Connection) -> None:
        """A worker ended: while sets are left, its set and every waiting set fail."""
        with self._lock:
            self._conns.remove(conn)
            if conn in self._idle:
                self._idle.remove(conn)
            lost = [self._busy.pop(conn)] if conn in self._busy else []
            if lost or (self._waiting and not self._closing):
                self._broken = True
                lost += [f for f, _ in self._waiting if f.set_running_or_notify_cancel()]
                self._waiting.clear()
        for future in lost:
            future.set_exception(BrokenProcessPool("a worker process ended while solving"))

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """With `wait`, answer every set submitted and stop the workers; else end them now."""
        with self._lock:
            if cancel_futures:
                for future, _ in self._waiting:
                    future.cancel()
                self._waiting.clear()
            futures = list(self._futures)
        if wait:
            for future in futures:
                if not future.cancelled():
                    future.exception()  # waits
        with self._lock:
            self._closing = True
            for conn in self._idle if wait else ():
                with contextlib.suppress(OSError):  # it ended already: the collector sees it
                    conn.send(None)
            self._waker.send(None)
        for process in self._processes:
            if not wait:
                process.terminate()
            else:
                process.join()
        if wait:
            self._collector.join()
