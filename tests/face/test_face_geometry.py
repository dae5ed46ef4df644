"""Alignment geometry and detector behaviour on real photos."""
import cv2
import numpy as np

from pipeline.skills.face.align import align, similarity_transform


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = np.deg2rad(17), 1.7, np.array([12.0, -4.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], shift, atol=1e-9)


def test_aligned_chip_puts_the_landmarks_on_the_template(faces, models):
    detector, embedder = models
    bgr = cv2.cvtColor(faces["astronaut"], cv2.COLOR_RGB2BGR)
    face = detector.detect(bgr)[0]
    chip = align(bgr, face.landmarks, embedder.template, embedder.size)
    pad = 60
    again = detector.detect(cv2.copyMakeBorder(chip, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
    assert len(again) == 1
    error = np.linalg.norm(again[0].landmarks - pad - embedder.template, axis=1)
    # pixels in the 150 px chip: eyes land on the template; a smile moves the mouth corners, which a
    # similarity transform (rotation, scale, shift) cannot follow
    assert error[:2].max() < 5.0 and error.mean() < 7.0, error
    m = similarity_transform(face.landmarks, embedder.template)
    moved = face.landmarks @ m[:, :2].T + m[:, 2]
    assert np.linalg.norm(moved - embedder.template, axis=1).mean() < 7.0


def test_detector_finds_the_real_faces_with_landmarks_inside_the_box(faces, models):
    detector, _ = models
    for name in ("astronaut", "grace_hopper", "lfw_000", "lfw_050"):
        found = detector.detect(cv2.cvtColor(faces[name], cv2.COLOR_RGB2BGR))
        assert len(found) == 1, name
        x1, y1, x2, y2 = found[0].box
        lm = found[0].landmarks
        assert ((lm[:, 0] > x1) & (lm[:, 0] < x2) & (lm[:, 1] > y1) & (lm[:, 1] < y2)).all(), name
        assert lm[0, 0] < lm[1, 0] and lm[2, 1] < lm[3, 1]  # left eye left of right eye, nose above mouth


def test_min_face_skips_small_faces(faces, models):
    from pipeline.skills.face.detector import DetectorParams, FaceDetector
    detector, _ = models
    bgr = cv2.cvtColor(faces["astronaut"], cv2.COLOR_RGB2BGR)  # 512 px photo, face about 86 px
    assert len(detector.detect(bgr)) == 1
    strict = FaceDetector(detector.pnet, detector.rnet, detector.onet, DetectorParams(min_face=140))
    assert strict.detect(bgr) == [] and len(strict.scales(512, 512)) < len(detector.scales(512, 512))
