"""Motion liveness on synthetic point tracks: a projected plane fits one homography, a turning 3-D face does not."""
import numpy as np
import pytest

from pipeline.skills.face.liveness import context_box
from pipeline.skills.face.liveness_motion import (DEPTH, FROZEN, LOST, PLANAR, STILL, MotionParams, MotionTracker,
                                           PairMotion, classify_tracks, window_verdict)

FOCAL, DISTANCE = 600.0, 600.0      # a 160-unit face at 600 units fills 160 px
TRACK_NOISE_PX = 0.1                # pyramidal LK on a sharp face: about a tenth of a pixel


def rotation(yaw_deg, pitch_deg):
    y, p = np.radians([yaw_deg, pitch_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rx @ ry


def project(points):
    return points[:, :2] / points[:, 2:] * FOCAL + np.array([320.0, 240.0])


def tracks(points, yaw, pitch, shift, rng):
    """Image positions of object-centred ``points`` before and after the object turns and moves."""
    before = project(points + [0, 0, DISTANCE])
    after = project(points @ rotation(yaw, pitch).T + np.array([*shift[:2], DISTANCE + shift[2]]))
    noise = rng.normal(0, TRACK_NOISE_PX, (2,) + before.shape)
    return (before + noise[0]).astype(np.float32), (after + noise[1]).astype(np.float32)


def plane(n, rng):
    return np.column_stack([rng.uniform(-80, 80, (n, 2)), np.zeros(n)])


def face_cloud(n, rng, depth=60.0, radius=80.0):
    """Points on the front half of an ellipsoid: the nose and brow stand out of the cheeks and outline."""
    r = radius * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * np.pi, n)
    x, y = r * np.cos(a), 1.2 * r * np.sin(a)
    z = -depth * np.sqrt(np.clip(1 - (r / radius) ** 2, 0, 1))
    return np.column_stack([x, y, z])


@pytest.mark.parametrize("seed", range(5))
def test_a_moved_photo_is_planar_and_a_turning_head_is_not(seed):
    rng = np.random.default_rng(seed)
    params = MotionParams()
    yaw, pitch = rng.uniform(3, 8) * rng.choice([-1, 1]), rng.uniform(-3, 3)
    shift = rng.uniform(-8, 8, 3)
    photo = classify_tracks(*tracks(plane(100, rng), yaw, pitch, shift, rng), params)
    head = classify_tracks(*tracks(face_cloud(100, rng), yaw, pitch, shift, rng), params)
    assert photo.kind == PLANAR, photo
    assert photo.offplane <= params.max_planar_offplane
    assert head.kind == DEPTH, head
    assert head.offplane >= params.min_offplane


def test_tiny_motion_is_no_evidence_and_few_points_are_lost():
    rng = np.random.default_rng(0)
    still = classify_tracks(*tracks(plane(100, rng), 0.0, 0.0, (0.2, 0.1, 0.0), rng), MotionParams())
    assert still.kind == STILL
    few = classify_tracks(*tracks(plane(5, rng), 5.0, 0.0, (0, 0, 0), rng), MotionParams())
    assert few.kind == LOST


def test_window_verdict_rules():
    planar, depth, still, frozen = (PairMotion(k) for k in (PLANAR, DEPTH, STILL, FROZEN))
    assert window_verdict([frozen, frozen, depth, depth]).kind == FROZEN       # half the pairs repeat
    assert window_verdict([planar, planar, still, still]).kind == PLANAR
    assert window_verdict([planar, planar, depth, still]).kind == PLANAR       # two planar per 3-D pair
    assert window_verdict([planar, depth, depth, still]).kind == DEPTH
    assert window_verdict([still, still, still]).kind == STILL
    assert window_verdict([]).kind == STILL


def test_a_repeated_frame_is_frozen_and_a_lost_face_restarts_the_track():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    box = np.array([100, 60, 220, 200], np.float32)
    tracker = MotionTracker(window=5)
    assert tracker.update(frame, box) is None                 # the first frame has nothing to compare with
    assert tracker.update(frame.copy(), box).kind == FROZEN
    assert tracker.update(frame, None) is None                # the face left ...
    assert tracker.update(frame, box) is None                 # ... so the next frame starts a new track
    assert tracker.verdict().kind == FROZEN


def test_context_box_is_scaled_about_the_face_and_shifted_inside_the_frame():
    x1, y1, x2, y2 = context_box(np.array([300, 200, 340, 240]), (480, 640), 2.7)
    assert (x2 - x1, y2 - y1) == (108, 108) and (x1 + x2) / 2 == pytest.approx(320, abs=1)
    x1, y1, x2, y2 = context_box(np.array([0, 0, 100, 100]), (480, 640), 4.0)   # at the corner: shifted, not cut
    assert (x1, y1) == (0, 0) and (x2, y2) == (400, 400)
    x1, y1, x2, y2 = context_box(np.array([200, 100, 500, 400]), (480, 640), 4.0)  # too big: limited to fit
    assert y1 >= 0 and y2 <= 479 and x1 >= 0 and x2 <= 639
