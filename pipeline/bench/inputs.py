"""Benchmark inputs: synthetic tensors from the contract, or real sample files.

Sample files:
- ``.npy``: the tensor for a single-input model, used as is;
- ``.npz``: one array per input name;
- an image (``.png``, ``.jpg``, ...): preprocessed with the model contract's
  image section, the same path the runtime stages use.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from pipeline.errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
MAX_SAMPLE_BYTES = 1 << 30  # a .npy/.npz sample is loaded whole into memory
ARRAY_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK\x03\x04"}  # a .npz is a zip archive of .npy files


def parse_sizes(specs: list[str]) -> list[dict[str, int]]:
    """``["width=128,256", "batch=1"]`` -> every combination: [{width:128,batch:1}, {width:256,batch:1}]."""
    axes: dict[str, list[int]] = {}
    for spec in specs:
        axis, _, values = spec.partition("=")
        try:
            axes[axis.strip()] = [int(v) for v in values.split(",")]
        except ValueError:
            raise InputError(f"--size {spec!r}: expected AXIS=N or AXIS=N1,N2,...") from None
        if not axis.strip() or not axes[axis.strip()] or min(axes[axis.strip()]) <= 0:
            raise InputError(f"--size {spec!r}: expected AXIS=N with N > 0")
    if not axes:
        return [{}]
    return [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]


def dynamic_axes(engine) -> set[str]:
    return {d for spec in engine.inputs for d in spec.shape if isinstance(d, str)}


def batch_axis(engine) -> str | None:
    """The name of axis 0 when every input shares it as a dynamic axis (so batches can grow)."""
    names = {spec.shape[0] if spec.shape else None for spec in engine.inputs}
    name = names.pop() if len(names) == 1 else None
    return name if isinstance(name, str) else None


def load_sample(engine, path: str | Path) -> dict[str, np.ndarray]:
    """Feeds for ``engine`` from a sample file; errors name the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"sample file not found: {path}" if not path.exists() else f"{path}: not a file")
    suffix = path.suffix.lower()
    names = [spec.name for spec in engine.inputs]
    if suffix in (".npy", ".npz"):
        feeds = _array_feeds(path, suffix, names, engine.path.name)
    elif suffix in IMAGE_SUFFIXES:
        feeds = _image_feeds(engine, path, names)
    else:
        raise InputError(f"{path}: unsupported sample type {suffix!r} (use .npy, .npz or an image)")
    engine.check_feeds(feeds)
    return feeds


def _array_feeds(path: Path, suffix: str, names: list[str], model: str) -> dict[str, np.ndarray]:
    """Arrays from a .npy or .npz file; a damaged or pickled file is an InputError naming it."""
    import zipfile
    size = path.stat().st_size
    if size > MAX_SAMPLE_BYTES:
        raise InputError(f"{path}: {size:,} bytes, over the sample limit of {MAX_SAMPLE_BYTES:,} bytes")
    if suffix == ".npy" and len(names) != 1:
        raise InputError(f"{path}: a .npy file feeds a single-input model; {model} has "
                         f"inputs {names}: use an .npz with one array per input")
    with open(path, "rb") as f:
        if f.read(len(ARRAY_MAGIC[suffix])) != ARRAY_MAGIC[suffix]:
            raise InputError(f"{path}: not a {suffix} file (no {suffix} header); write it with numpy.save"
                             f"{'z' if suffix == '.npz' else ''}")
    try:
        if suffix == ".npy":
            return {names[0]: np.load(path)}
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # allow_pickle stays off: ValueError
        raise InputError(f"{path}: not a readable {suffix} array file ({exc})") from None


def _image_feeds(engine, path: Path, names: list[str]) -> dict[str, np.ndarray]:
    from pipeline.preprocess.image import read_image, to_tensor
    contract = engine.contract
    if contract is None or contract.image is None or len(names) != 1:
        raise InputError(f"{path}: an image sample needs a single-input model whose contract has an "
                         f"image section ({engine.path.name} has none)")
    frame = read_image(path)  # bounded: file bytes and decoded pixels
    tensor, _ = to_tensor(frame, contract.image)
    return {names[0]: tensor.astype(engine.inputs[0].dtype)}


def repeat_batch(feeds: dict[str, np.ndarray], batch: int) -> dict[str, np.ndarray]:
    """The same sample repeated along axis 0, for offline batches."""
    return {k: np.ascontiguousarray(np.repeat(v[:1], batch, axis=0)) for k, v in feeds.items()}
