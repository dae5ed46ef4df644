import cv2
import numpy as np
import pytest

from export.face_bench import place
from training.face.faces import variants
from training.face.faces import real_faces


@pytest.fixture(scope="session")
def faces():
    return real_faces()


@pytest.fixture(scope="session")
def models():
    from pipeline.skills.face.models import load_face_models
    return load_face_models(min_face=40)


def write_images(folder, images):
    folder.mkdir(parents=True, exist_ok=True)
    for i, rgb in enumerate(images):
        cv2.imwrite(str(folder / f"{i:02d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder


def write_video(path, rgb, frames=8):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(frames):
        writer.write(place(rgb))
    writer.release()
    return path


@pytest.fixture
def astronaut_variants(faces):
    return [faces["astronaut"]] + variants(faces["astronaut"], np.random.default_rng(1))
