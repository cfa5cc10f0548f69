"""Tailor's background work, as django-tasks Tasks (the library Wagtail runs its own tasks with).

`flush_events_task` folds the event log into the hourly aggregates reviews read
(`variants.aggregation.flush_events`: one batch of at most FLUSH_BATCH_SIZE events per source, then
pruning). Recording an event calls `flush_soon()` once its transaction has committed, and that
enqueues the task at most once every ``TAILOR["FLUSH_INTERVAL_SECONDS"]`` per process (the first one
interval after the process's first counted event; None: never). Enqueueing is all a recording
request does; where and when the flush runs is the site's ``TASKS`` setting (the ``"default"``
backend, queue ``"default"``):

- a worker, off the request path (recommended in production), e.g. the database backend, which
  django-tasks 0.12 moved to its own package::

      # pip install "django-tasks-db[compat]"; then run `manage.py db_worker` beside the app servers
      INSTALLED_APPS += ["django_tasks_db"]
      TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

  An enqueue is then one INSERT, once per interval per process;
- in the process that enqueues it, in the request that comes due, after its transaction commits::

      TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

  This is django-tasks' default when ``TASKS`` is not set, and the demo's: no worker to run, but
  one request per interval per process pays for one flush batch (FLUSH_BATCH_SIZE bounds it).

The flush task also enqueues `purge_task` (retention: `manage.py tailor_purge`) once every
``TAILOR["PURGE_INTERVAL_SECONDS"]`` (a day) across all processes.

A site may also leave the enqueueing off (``FLUSH_INTERVAL_SECONDS: None``) and run
``manage.py tailor_flush_events`` itself (from cron, or ``--every 60`` as a long-running process);
the command flushes synchronously, everything pending. Any number of flushes may run at once: each
event is folded in exactly once. Each task run folds at most FLUSH_BATCH_SIZE events per source,
so one app process's enqueues keep up with FLUSH_BATCH_SIZE events per FLUSH_INTERVAL_SECONDS; raise
it when a worker runs the flush and the site records more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django_tasks import TaskResult, task

from tailor.settings import on_reload, tailor_settings
from variants.aggregation import flush_events
from variants.privacy import purge, purge_due

logger = logging.getLogger("tailor.events")


@task()
def flush_events_task(batch_size: int | None = None, max_batches: int | None = 1) -> dict:
    """Fold pending events into the hourly aggregates: `max_batches` batches of `batch_size` (default
    FLUSH_BATCH_SIZE) per source (None: until nothing is left). Returns what it did, JSON-safe."""
    done = flush_events(batch_size=batch_size, max_batches=max_batches).as_dict()
    purge_soon()
    return done


@task()
def purge_task(batch_size: int = 1000, max_batches: int | None = 50) -> dict:
    """Delete what is past its retention window (`variants.privacy.purge`: profiles, event log,
    receipts, aggregates), at most `max_batches` batches per kind. Returns the counts, JSON-safe."""
    return purge(batch_size=batch_size, max_batches=max_batches).counts


def purge_soon() -> TaskResult | None:
    """Enqueue `purge_task` once per TAILOR["PURGE_INTERVAL_SECONDS"] across all processes (the flush
    task calls this, so a site whose events are flushed is also purged; None: only `tailor_purge`).
    Never raises."""
    try:
        return purge_task.enqueue() if purge_due() else None
    except Exception:
        logger.warning("could not enqueue the retention purge", exc_info=True)
        return None


_lock = threading.Lock()
_next_enqueue: float | None = None


def flush_soon(clock: Callable[[], float] = time.monotonic) -> TaskResult | None:
    """Enqueue `flush_events_task` if FLUSH_INTERVAL_SECONDS have passed since this process last did
    (the first time: one interval after the first call). Returns the task's result handle when it
    enqueued (with the immediate backend the flush has run already), else None. Never raises: a
    backend that cannot take the task is logged, and the next try is one interval later.
    """
    global _next_enqueue
    interval = tailor_settings.FLUSH_INTERVAL_SECONDS
    if not interval:
        return None
    now = clock()
    due = _next_enqueue
    if due is not None and now < due:
        return None  # the common case: one clock read and a comparison
    if not _lock.acquire(blocking=False):
        return None  # another thread of this process is enqueueing
    try:
        if _next_enqueue is None:
            _next_enqueue = now + float(interval)
            return None
        if now < _next_enqueue:
            return None
        _next_enqueue = now + float(interval)
        return flush_events_task.enqueue()
    except Exception:
        logger.warning("could not enqueue the event flush", exc_info=True)
        return None
    finally:
        _lock.release()


@on_reload
def _reset_flush_clock() -> None:
    global _next_enqueue
    _next_enqueue = None
