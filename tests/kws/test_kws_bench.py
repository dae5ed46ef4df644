"""The benchmark's bookkeeping on hand-made numbers: per-keyword thresholds, false-accept culprits,
and how the detector picks a keyword's threshold from options and contract."""
from export.kws_bench import culprits, per_keyword_thresholds
from pipeline.engine import Engine
from pipeline.skills.kws.detector import Detection, DetectorOptions, KeywordSpotter
from pipeline.runtime.stage import SHIPPED_MODELS


def _sweep(hits_on, fa_on, hits_go, fa_go):
    """Four thresholds; 10 'on' and 10 'go' commands."""
    return {t: {"utterances": 20, "hits_by_keyword": {"on": [hits_on[i], 10], "go": [hits_go[i], 10]},
                "false_accepts_by_keyword": {"on": fa_on[i], "go": fa_go[i]}}
            for i, t in enumerate((0.6, 0.7, 0.8, 0.9))}


def test_per_keyword_thresholds_lower_the_keyword_that_buys_detections_cheaply():
    # 'on' gains nothing below 0.9 but fires far more; 'go' needs 0.6 to be heard
    sweep = _sweep(hits_on=[10, 10, 10, 10], fa_on=[40, 30, 20, 2], hits_go=[9, 7, 5, 3], fa_go=[3, 2, 1, 0])
    assert per_keyword_thresholds(sweep, ["on", "go"], 0.95) == {"on": 0.9, "go": 0.6}
    assert per_keyword_thresholds(sweep, ["on", "go"], 0.6) == {"on": 0.9, "go": 0.9}   # 13/20 already
    # an unreachable target stops once no step detects more, without lowering 'on' for nothing
    assert per_keyword_thresholds(sweep, ["on", "go"], 1.0) == {"on": 0.9, "go": 0.6}


def test_false_accepts_are_traced_to_the_word_before_them():
    placed = [(0.0, 0.5, 0), (2.0, 2.4, 1), (10.0, 10.3, 2)]
    events = [Detection(k, 0.9, 0, 0, t, 0) for k, t in (("no", 0.6), ("no", 2.3), ("up", 2.9), ("on", 6.0))]
    assert culprits(events, placed, ["know", "cupcake", "zebra"]) == {
        "know->no": 1, "cupcake->no": 1, "cupcake->up": 1, "(noise)->on": 1}


def test_keyword_threshold_comes_from_option_then_contract():
    engine = Engine(SHIPPED_MODELS / "kws.onnx")
    params = engine.contract.params
    params["thresholds"] = {"on": 0.97}
    try:
        spot = KeywordSpotter(engine)
        th = dict(zip(spot.keywords, spot.thresholds))
        assert th["on"] == 0.97 and th["go"] == params["threshold"]
        spot = KeywordSpotter(engine, DetectorOptions(threshold=0.6, thresholds={"go": 0.7}))
        th = dict(zip(spot.keywords, spot.thresholds))
        assert th["go"] == 0.7 and th["on"] == 0.6 and th["up"] == 0.6
    finally:
        params.pop("thresholds")
