"""The runner's public hooks (on_event, on_report, enable/disable a stage) and its restarts with back-off."""
import logging
import threading

import pytest

from pipeline.daemon import health
from pipeline.errors import InputError
from pipeline.runtime.restart import MAX_RESTARTS, RestartPolicy, RestartTracker
from pipeline.runtime.stage import StageEnv
from tests.foundation.runner_fakes import ListSource, RecordingStage, make_runner, wait_until

# What the default policy waits before each restart of a pipeline that dies on every item.
DEFAULT_DELAYS = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


class EmittingStage(RecordingStage):
    def run(self, item, results):
        self.env.emit("seen", {"seq": item.seq})
        return super().run(item, results)


def test_on_report_sees_every_processed_item_and_on_event_every_event():
    env_events, hook_events, reports = [], [], []
    env = StageEnv(emit_fn=env_events.append)
    runner = make_runner([EmittingStage("emit", env)], ListSource(count=5), env=env)
    runner.on_event(hook_events.append)
    runner.on_report(reports.append)
    runner.run()
    assert [r.seq for r in reports] == [1, 2, 3, 4, 5] and reports == list(runner.reports)
    assert [e.data["seq"] for e in hook_events] == [1, 2, 3, 4, 5]
    assert env_events == hook_events   # an emit_fn given in the env still gets every event, first
    assert {e.pipeline for e in hook_events} == {"p"}


def test_a_disabled_stage_is_skipped_reset_and_comes_back():
    first, second = RecordingStage("first"), RecordingStage("second")
    runner = make_runner([first, second], ListSource(count=10))
    assert runner.step().stage_ms.keys() == {"first", "second"}
    runner.disable_stage("second")
    assert not runner.stage_enabled("second") and [s.name for s in runner.stages] == ["first"]
    assert second.reset_threads == [threading.current_thread()]   # no thread runs: reset at once
    assert runner.step().stage_ms.keys() == {"first"}
    runner.disable_stage("second")                                 # already off: not reset again
    assert len(second.reset_threads) == 1
    runner.enable_stage("second")
    assert [s.name for s in runner.stages] == ["first", "second"]  # in the configured order
    assert runner.step().stage_ms.keys() == {"first", "second"}
    assert second.seen == [1, 3] and first.seen == [1, 2, 3]
    assert runner.all_stages == [first, second]
    with pytest.raises(KeyError, match="no stage named 'third'"):
        runner.disable_stage("third")


def test_a_stage_disabled_from_another_thread_is_reset_on_the_pipeline_thread():
    stage, other = RecordingStage("s"), RecordingStage("other")
    runner = make_runner([stage, other], ListSource())
    runner.start()
    try:
        wait_until(lambda: len(other.seen) > 2, "items to flow")
        runner.disable_stage("s")
        wait_until(lambda: stage.reset_threads, "the deferred reset")
        assert stage.reset_threads[0].name == "pipeline-p"
        ran, seen_then = len(stage.seen), len(other.seen)
        wait_until(lambda: len(other.seen) > seen_then + 2, "items after the switch")
        assert len(stage.seen) == ran   # no item ran the stage after its reset
    finally:
        runner.stop()


def test_restarts_back_off_then_give_up_and_the_watchdog_is_withheld(caplog):
    waits = []
    policy = RestartPolicy(clock=lambda: 0.0, sleep=lambda s: waits.append(s) or False)
    stage = RecordingStage("boom", fail_on={0})
    runner = make_runner([stage], ListSource(), restart=policy)
    with caplog.at_level(logging.ERROR, logger="perceive.runner"):
        runner.start()
        wait_until(lambda: not runner.running, "the runner to give up")
    assert waits == DEFAULT_DELAYS and len(waits) == MAX_RESTARTS
    assert runner.counters["restarts"] == MAX_RESTARTS and runner.counters["crashes"] == MAX_RESTARTS + 1
    assert runner.gave_up and isinstance(runner.error, RuntimeError)
    assert len(stage.reset_threads) == MAX_RESTARTS          # every restart starts from fresh stage state
    restarts = [r for r in caplog.records if "restart" in r.getMessage() and "died on an error" in r.getMessage()]
    assert len(restarts) == MAX_RESTARTS and all(r.exc_info for r in restarts)   # once each, with the traceback
    assert sum("not restarted" in r.getMessage() for r in caplog.records) == 1
    state = health.check([runner], stall_s=5.0)
    assert not state.ok and not state.healthy and state.failed == []   # stuck, not bad input: no ping
    assert state.summary == f"STUCK: pipeline p: thread stopped ({MAX_RESTARTS + 1} crashes, {MAX_RESTARTS} " \
                            "restarts, given up)"


def test_a_pipeline_that_dies_once_is_restarted_and_runs_on():
    waits = []
    stage = RecordingStage("flaky", fail_on={3})
    runner = make_runner([stage], ListSource(count=8),
                         restart=RestartPolicy(sleep=lambda s: waits.append(s) or False))
    runner.start()
    wait_until(lambda: not runner.running, "the source to end")
    assert waits == [0.5] and runner.counters["restarts"] == 1 and not runner.gave_up
    assert stage.seen == [1, 2, 4, 5, 6, 7, 8]   # the item it died on is lost, nothing else
    assert runner.error is None and runner.source.finished.is_set()
    assert health.check([runner], stall_s=5.0).ok   # ended cleanly: done, not stuck


class BuggySource(ListSource):
    """Its first reader dies on a bug after two items (the error is raised by get(), as Source does)."""

    def __init__(self, count: int):
        super().__init__(count)
        self.starts = 0

    def start(self):
        self.starts += 1
        self.finished.clear()
        self.error = None
        return super().start()

    def get(self, timeout: float = 0.5):
        if self.starts == 1 and self._seq == 2:
            self.error, self.alive = KeyError("a reader bug"), False
            self.finished.set()
            raise self.error
        return super().get(timeout)


def test_a_source_that_died_on_a_bug_is_started_again_with_the_pipeline():
    source, stage = BuggySource(count=5), RecordingStage("s")
    runner = make_runner([stage], source, restart=RestartPolicy(sleep=lambda s: False))
    runner.start()
    wait_until(lambda: not runner.running, "the source to end")
    assert source.starts == 2 and runner.counters["restarts"] == 1 and runner.error is None
    assert stage.seen == [1, 2, 3, 4, 5]


def test_bad_input_is_not_restarted():
    stage = RecordingStage("reader", fail_on={2}, error=InputError("frame 2: not an image"))
    runner = make_runner([stage], ListSource(count=5), restart=RestartPolicy(sleep=lambda s: False))
    runner.start()
    wait_until(lambda: not runner.running, "the runner to stop")
    assert runner.counters["restarts"] == 0 and runner.counters["crashes"] == 1
    assert health.failure(runner) == "frame 2: not an image"   # failed: reported, the watchdog kept fed


def test_stop_ends_a_back_off_at_once():
    runner = make_runner([RecordingStage("boom", fail_on={0})], ListSource(),
                         restart=RestartPolicy(initial_s=3600.0, max_s=3600.0))
    runner.start()
    wait_until(lambda: runner.restarting, "the back-off")
    assert health.check([runner], stall_s=1e-9).ok   # waiting to restart is not stuck
    runner.stop(timeout=10.0)
    assert not runner.running and runner.counters["restarts"] == 1


def test_the_back_off_is_bounded_and_forgets_old_deaths():
    now = [0.0]
    policy = RestartPolicy(initial_s=0.5, max_s=30.0, max_restarts=10, window_s=600.0, clock=lambda: now[0])
    tracker = RestartTracker(policy)
    assert [tracker.next_delay() for _ in range(10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert tracker.next_delay() is None            # an 11th death inside the window: given up
    now[0] = 601.0                                 # every earlier death is outside the window now
    assert tracker.next_delay() == 0.5 and tracker.recent == 1
