"""Keyword-spotter front ends: audio blocks in, feature steps (and their energy, dB) out.

A model's contract says which it needs (``audio.feature``):
- ``log-mel`` (v1-v7): our own log-mel frames (pipeline/skills/kws/features.py), one per 10 ms hop.
- ``speech-embedding`` (v8): Google's speech_embedding as shipped by openWakeWord (Apache-2.0): a
  mel-spectrogram graph (16 kHz audio in int16 range -> 32 mel bins every 10 ms, 32 ms window) and an
  embedding graph (76 mel frames -> 96 values), one embedding per 8 mel frames (80 ms). The two graph
  files are named in the contract's ``params.front_end`` and sit next to the model.

Streaming is exact: every step computes its 8 new mel frames from the same 1632 samples and its
embedding from the same 76 frames, however the audio was cut into blocks, so a stream fed block by
block gives the very numbers of the whole clip (the mel graph clips each call's input to 80 dB below
that input's peak, so one call on a whole clip would NOT give the same frames). The stream is taken
to start after silence (mel frames of silence fill the ring at first), so step j covers the audio up
to sample 1280 (j + 1).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.contract import AudioSpec
from pipeline.engine import Engine, EngineConfig
from pipeline.errors import ContractError
from pipeline.skills.kws.features import LOG_FLOOR, StreamingLogMel, check_clip

LOG_MEL, SPEECH_EMBEDDING = "log-mel", "speech-embedding"
INT16_SCALE = 32767.0          # the mel graph was exported for int16-range samples
MEL_HOP = 160                  # samples per mel frame (10 ms)
MEL_WINDOW = 512               # samples under one mel frame
MELS_PER_STEP = 8              # mel frames per embedding step (80 ms)
EMBED_FRAMES = 76              # mel frames under one embedding (0.775 s)
STEP = MEL_HOP * MELS_PER_STEP                         # 1280 samples, 80 ms
STEP_WINDOW = MEL_WINDOW + MEL_HOP * (MELS_PER_STEP - 1)   # 1632 samples give a step's 8 mel frames
CARRY = STEP_WINDOW - STEP                             # 352 samples shared by consecutive steps
ENERGY_FLOOR = 1e-10


def mel_transform(mel: np.ndarray) -> np.ndarray:
    """openWakeWord's scaling of the mel graph's output towards Google's TensorFlow front end."""
    return mel / 10.0 + 2.0


class LogMelFrontEnd:
    """Our log-mel frames; energy is the dB of each frame's mel power."""

    def __init__(self, spec: AudioSpec):
        self.spec, self.dim = spec, spec.n_mels
        self._mel = StreamingLogMel(spec)

    def reset(self) -> None:
        self._mel.reset()

    def push(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        feats = self._mel.push(samples)
        return feats, 10 * np.log10(np.exp(feats).sum(axis=1) + LOG_FLOOR)


class SpeechEmbeddingFrontEnd:
    """Streaming speech_embedding: carries the unconsumed samples and the ring of the last 76 mel frames."""

    def __init__(self, spec: AudioSpec, mel_path: Path, embedding_path: Path, config: EngineConfig | None = None):
        config = config or EngineConfig(warmup_runs=0)
        self.spec = spec
        self.mel = Engine(mel_path, config, require_contract=False, warmup=False)
        self.embedding = Engine(embedding_path, config, require_contract=False, warmup=False)
        self._mel_in, self._emb_in = self.mel.inputs[0].name, self.embedding.inputs[0].name
        self.dim = int(self.embedding.outputs[0].shape[-1])
        silence = self._mel_frames(np.zeros((1, MEL_WINDOW), np.float32))[0, :1]
        self._silent_ring = np.repeat(silence, EMBED_FRAMES - MELS_PER_STEP, axis=0)
        self.reset()

    def reset(self) -> None:
        self._buffer = np.zeros(CARRY, np.float32)          # the silence before the stream
        self._ring = self._silent_ring.copy()               # mel frames of that silence

    def _mel_frames(self, windows: np.ndarray) -> np.ndarray:
        """(n, samples) float in [-1, 1] -> (n, frames, 32) scaled mel."""
        out = self.mel.run({self._mel_in: windows * np.float32(INT16_SCALE)})
        mel = next(iter(out.values()))
        return mel_transform(mel.reshape(len(windows), -1, mel.shape[-1]))

    def step(self, windows: np.ndarray, rings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of B streams: (B, STEP_WINDOW) samples and (B, frames, 32) mel rings -> (B, 96)
        embeddings and the new rings. The mel graph clips each input to 80 dB below its own peak, so
        its frames depend on the samples it is given: every step gives it exactly its own window."""
        rings = np.concatenate([rings, self._mel_frames(windows)], axis=1)[:, -EMBED_FRAMES:]
        out = self.embedding.run({self._emb_in: rings[..., None].astype(np.float32)})
        return next(iter(out.values())).reshape(len(windows), -1), rings

    def push(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        samples = check_clip(samples, self.spec, where="audio block")
        x = np.concatenate([self._buffer, samples])
        n = (len(x) - CARRY) // STEP
        feats, energy = np.zeros((n, self.dim), np.float32), np.zeros(n)
        for j in range(n):   # one step at a time: the same computation whatever the block size
            window = x[j * STEP:j * STEP + STEP_WINDOW]
            emb, rings = self.step(window[None], self._ring[None])
            feats[j], self._ring = emb[0], rings[0]
            energy[j] = 10 * np.log10(np.mean(window[CARRY:] ** 2) + ENERGY_FLOOR)
        self._buffer = x[n * STEP:].copy()
        return feats, energy

    def embed_batch(self, audio: np.ndarray) -> np.ndarray:
        """(B, N) clips, each as a stream from its start -> (B, N // STEP, 96): what ``push`` gives for
        each (training computes its sequences this way, many at once)."""
        x = np.concatenate([np.zeros((len(audio), CARRY), np.float32), audio.astype(np.float32)], axis=1)
        rings = np.repeat(self._silent_ring[None], len(audio), axis=0)
        steps = (x.shape[1] - CARRY) // STEP
        out = np.zeros((len(audio), steps, self.dim), np.float32)
        for j in range(steps):
            out[:, j], rings = self.step(x[:, j * STEP:j * STEP + STEP_WINDOW], rings)
        return out


def front_end_paths(model_path: Path, params: dict) -> tuple[Path, Path]:
    """The mel and embedding graphs a speech-embedding model names, next to the model file."""
    names = params.get("front_end") or {}
    if not isinstance(names, dict) or not {"melspectrogram", "embedding"} <= set(names):
        raise ContractError(f"{model_path.name}: a speech-embedding model needs params.front_end "
                            "{melspectrogram: file, embedding: file}")
    return model_path.parent / names["melspectrogram"], model_path.parent / names["embedding"]


def make_front_end(engine: Engine):
    """The front end a keyword model's contract asks for, on the model's engine configuration."""
    spec, params = engine.contract.audio, engine.contract.params
    if spec.feature == LOG_MEL:
        return LogMelFrontEnd(spec)
    if spec.feature == SPEECH_EMBEDDING:
        mel, emb = front_end_paths(engine.path, params)
        return SpeechEmbeddingFrontEnd(spec, mel, emb, replace(engine.config, warmup_runs=0))
    raise ContractError(f"{engine.path.name}: audio.feature '{spec.feature}' is not a keyword front end "
                        f"({LOG_MEL}, {SPEECH_EMBEDDING})")
