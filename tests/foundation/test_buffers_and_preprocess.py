import threading

import cv2
import numpy as np
import pytest

from pipeline.contract import ImageSpec
from pipeline.errors import InputError
from pipeline.preprocess.image import to_tensor
from pipeline.ringbuffer import LatestSlot, RingBuffer
from pipeline.sources.sensor import SampleValidator, parse_line


def test_ring_buffer_wraps_in_order_and_counts_overflow():
    ring = RingBuffer(8)
    out = np.zeros((3, 1), np.float32)
    ring.write(np.arange(6))
    assert ring.read(out, 0) == 3 and out[:, 0].tolist() == [0, 1, 2]
    ring.write(np.arange(6, 12))  # 9 unread > capacity 8: the oldest one is lost
    assert ring.overflowed == 1
    got = []
    while ring.read(out, 0):
        got += out[:, 0].tolist()
    assert got == [4, 5, 6, 7, 8, 9]  # 10, 11 wait for a full block
    ring.close()
    assert ring.read(out, 0) == 2 and out[:2, 0].tolist() == [10, 11]


def test_blocking_write_loses_nothing():
    ring = RingBuffer(4)
    received = []

    def consume():
        out = np.zeros((2, 1), np.float32)
        while len(received) < 20:
            if ring.read(out, 1.0):
                received.extend(out[:, 0].tolist())

    t = threading.Thread(target=consume)
    t.start()
    ring.write(np.arange(20), wait=True)
    t.join(5)
    assert received == list(range(20)) and ring.overflowed == 0


def test_latest_slot_counts_drops():
    slot = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.get(0) == 4 and slot.dropped == 4 and slot.get(0.01) is None


SPEC = ImageSpec(color="RGB", layout="NCHW", mean=[0.5] * 3, std=[0.5] * 3, height=32, width=64,
                 resize="letterbox")


def test_to_tensor_converts_colour_layout_and_scale():
    frame = np.zeros((8, 32, 3), np.uint8)  # scaled 2x to 16x64, then padded to 32x64
    frame[..., 0] = 255  # blue in BGR
    x, transform = to_tensor(frame, SPEC)
    assert x.shape == (1, 3, 32, 64) and x.dtype == np.float32
    assert x[0, 2, 0, 0] == pytest.approx(1.0) and x[0, 0, 0, 0] == pytest.approx(-1.0)  # RGB: blue last
    assert x[0, 0, 31, 0] == pytest.approx(-1.0)  # letterbox padding at the bottom (zeros -> -1)
    assert transform.to_frame(np.array([[64.0, 16.0]]))[0].tolist() == [32.0, 8.0]


def test_to_tensor_accepts_gray_and_bgra():
    assert to_tensor(np.zeros((20, 20), np.uint8), SPEC)[0].shape == (1, 3, 32, 64)
    assert to_tensor(np.zeros((20, 20, 4), np.uint8), SPEC)[0].shape == (1, 3, 32, 64)
    gray = ImageSpec(color="GRAY", layout="NCHW", height=32, width=0, resize="keep_height")
    x, _ = to_tensor(cv2.cvtColor(np.zeros((16, 40), np.uint8), cv2.COLOR_GRAY2BGR), gray)
    assert x.shape == (1, 1, 32, 80)


@pytest.mark.parametrize("frame, message", [
    (np.zeros((10, 10, 3), np.float32), "must be uint8"),
    (np.zeros((10, 10, 2), np.uint8), "HxW, HxWx3 or HxWx4"),
    (np.zeros((0, 10, 3), np.uint8), "empty"),
    ("not an image", "numpy array"),
])
def test_bad_frames_get_clear_errors(frame, message):
    with pytest.raises(InputError, match=message):
        to_tensor(frame, SPEC)


def test_sensor_validator_names_each_rejection():
    v = SampleValidator(["ax", "ay"], "t", rate_hz=10.0, tolerance=0.2)
    cols = ["t", "ax", "ay"]
    assert v.check(parse_line("0.0,1,2", "csv", cols))[0] is None
    assert v.check(parse_line("0.1,1,nan", "csv", cols))[0] == "non_finite"
    assert v.check({"t": 0.1, "ax": 1})[0] == "missing_channel"
    assert parse_line("0.1,1", "csv", cols) is None  # malformed
    assert v.check(parse_line("0.0,1,2", "csv", cols))[0] == "duplicate_timestamp"
    assert v.check(parse_line("0.1,1,2", "csv", cols))[0] is None
    assert v.check(parse_line("0.05,1,2", "csv", cols))[0] == "out_of_order"
    assert v.check(parse_line('{"t": 0.2, "ax": "x", "ay": 1}', "ndjson", cols))[0] == "malformed"
    for i in range(3, 10):  # then a 50 Hz stream where 10 Hz is expected
        v.check({"t": 0.2 + 0.02 * i, "ax": 0, "ay": 0})
    assert v.check({"t": 0.5, "ax": 0, "ay": 0})[0] == "rate_mismatch"
