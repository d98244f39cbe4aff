"""Where notebooks execute: a local process pool by default, or a Dask cluster.

Both sit behind one small interface, ``submit(function, argument)`` returning a future with
``result()``, ``as_completed(futures)`` and ``close()``, so the coordinator (``grade``) runs the
same code path on one machine and on many. The function and its argument are plain picklable
data (``execute.run_job`` and a job dict); only the coordinator writes the gradebook.

A local worker exits as soon as its coordinator is gone, even after ``kill -9``: nothing of a
killed run stays behind (its sandboxed kernels die with their worker, and multiprocessing's
resource tracker once no worker holds its pipe). The rerun resumes from the journal.
"""
import concurrent.futures
import multiprocessing
import os
import threading
import time


class LocalExecutor:
    """``workers`` processes on this machine (default: one per core)."""

    def __init__(self, workers=None):
        self.workers = workers or os.cpu_count() or 1
        # spawn: a forked worker would inherit the coordinator's open gradebook connection and threads
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=exit_with_parent, initargs=(os.getpid(),))

    def submit(self, function, argument):
        return self.pool.submit(function, argument)

    def as_completed(self, futures):
        return concurrent.futures.as_completed(futures)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def exit_with_parent(parent, every=0.5):
    """Worker initializer: a thread that ends this process once ``parent`` is no longer its
    parent (an orphan is re-parented), since a pool worker waits for work forever otherwise."""
    def watch():
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)
    threading.Thread(target=watch, name="exit-with-coordinator", daemon=True).start()


class DaskExecutor:
    """Jobs run on the workers of a dask.distributed scheduler at ``address`` (``tcp://host:8786``)."""

    def __init__(self, address):
        from distributed import Client
        self.client = Client(address)
        self.workers = sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values())

    def submit(self, function, argument):
        return self.client.submit(function, argument, pure=False)

    def as_completed(self, futures):
        from distributed import as_completed
        return as_completed(futures)

    def close(self):
        self.client.close()


def make_executor(workers=None, dask_scheduler=None):
    return DaskExecutor(dask_scheduler) if dask_scheduler else LocalExecutor(workers)
