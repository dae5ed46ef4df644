"""The daemon restarts a pipeline thread that dies on a bug, counts it in metrics, keeps the systemd
watchdog fed while it backs off, and withholds it once the pipeline keeps dying (given up).

In process (the back-off must be steered, and the dying stage is a test type), but over the real
interfaces: sd_notify datagrams on a NOTIFY_SOCKET and the Prometheus endpoint over HTTP."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from pipeline.assembly import STAGES, StageConfig
from pipeline.config.tree import load_config
from pipeline.daemon.service import Daemon
from pipeline.runtime.restart import MAX_RESTARTS, RestartPolicy
from pipeline.runtime.stage import Stage
from tests.daemon.daemon_harness import NotifyListener, daemon_section
from tests.daemon.test_daemon_file_failure import scrape, series
from tests.foundation.runner_fakes import WAIT_S, wait_until

WATCHDOG_USEC = 200_000   # a ping every 0.1 s while healthy
STATUSES_AFTER = 2        # STATUS= messages seen after the pipeline was given up before judging the pings

PIPELINES = """
[[pipelines]]
name = "boom"
[pipelines.source]
type = "synthetic_video"
width = 32
height = 32
fps = 200
[[pipelines.stages]]
type = "test_boom"

[[pipelines]]
name = "ok"
[pipelines.source]
type = "synthetic_video"
width = 32
height = 32
fps = 200
[[pipelines.stages]]
type = "delay"
ms = 1
"""


@dataclass(kw_only=True)
class BoomConfig(StageConfig):
    pass


class BoomStage(Stage):
    def run(self, item, results):
        raise RuntimeError(f"a bug on item {item.seq}")


@pytest.fixture
def boom_stage():
    STAGES.register("test_boom", BoomConfig)(BoomStage)
    yield
    del STAGES.entries["test_boom"]


@pytest.fixture
def notify(tmp_path, monkeypatch):
    listener = NotifyListener(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield listener
    listener.close()


def start_daemon(path, policy: RestartPolicy) -> tuple[Daemon, threading.Thread]:
    """What Daemon.run does up to its main loop, with the restart policy swapped for the test's."""
    daemon = Daemon(str(path))
    daemon.restart_policy = policy
    config = load_config(path, require_pipelines=True)
    daemon._start_sinks(config.daemon)
    daemon.runners, daemon.config = daemon._build_runners(config), config
    for runner in daemon.runners:
        runner.start()
    loop = threading.Thread(target=daemon._loop, daemon=True)
    loop.start()
    return daemon, loop


def test_a_pipeline_that_keeps_dying_is_restarted_counted_then_given_up_and_the_watchdog_trips(
        tmp_path, boom_stage, notify):
    path = tmp_path / "daemon.toml"
    path.write_text(daemon_section(tmp_path) + PIPELINES)
    waits, go_on = [], threading.Event()
    policy = RestartPolicy(clock=lambda: 0.0, sleep=lambda s: waits.append(s) or go_on.wait(WAIT_S))
    daemon, loop = start_daemon(path, policy)
    try:
        boom = next(r for r in daemon.runners if r.config.name == "boom")
        wait_until(lambda: boom.restarting, "the first back-off")
        pings = len(notify.with_key("WATCHDOG"))
        wait_until(lambda: len(notify.with_key("WATCHDOG")) > pings, "a ping during the back-off")

        go_on.set()   # every further back-off ends at once: the pipeline dies until it is given up
        wait_until(lambda: not boom.running, "the pipeline to be given up")
        assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0][:MAX_RESTARTS] and boom.gave_up

        def stuck_at() -> int | None:
            return next((i for i, m in enumerate(list(notify.messages))
                         if m.get("STATUS", "").startswith("STUCK: pipeline boom: thread stopped")), None)
        wait_until(lambda: stuck_at() is not None, "a STUCK status")
        wait_until(lambda: sum("STATUS" in m for m in notify.messages[stuck_at():]) > STATUSES_AFTER,
                   "more status messages")
        after = notify.messages[stuck_at():]
        assert not any("WATCHDOG" in m for m in after), after   # withheld: systemd restarts the service

        text = scrape(daemon.metrics.port)
        assert series(text, 'perceive_restarts_total{pipeline="boom"}') == MAX_RESTARTS
        assert series(text, 'perceive_crashes_total{pipeline="boom"}') == MAX_RESTARTS + 1
        assert series(text, 'perceive_restarts_total{pipeline="ok"}') == 0
        assert series(text, 'perceive_pipeline_running{pipeline="ok"}') == 1   # the others serve on
        assert series(text, "perceive_healthy") == 0
        assert series(text, 'perceive_pipeline_failed{pipeline="boom"}') == 0   # a bug, not bad input
        assert series(text, 'perceive_pipeline_given_up{pipeline="boom"}') == 1
        assert series(text, 'perceive_pipeline_given_up{pipeline="ok"}') == 0
    finally:
        go_on.set()
        daemon._stop.set()
        loop.join(WAIT_S)
        daemon._shutdown()
