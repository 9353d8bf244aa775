#!/usr/bin/env python3
"""Write test/fixtures/librosa-log-mel.json: librosa 0.11 log-mels (and spectral flatness) of fixed signals.

Run once, by hand, and commit the output; the tests read the JSON and never need Python:

    pip install librosa==0.11.0
    python scripts/librosa-reference.py

Every input is stored as base64 little-endian float32 samples, so the fixture fully defines what the TypeScript
side must reproduce (no RNG has to match across languages). Expected log-mels are stored frame-major
([frames][nMels], the layout of src/audio/log-mel.ts), also as base64 little-endian float32.
"""

import base64
import json
import sys
import warnings
from pathlib import Path

import librosa
import numpy as np
import scipy

# The short clip is shorter than n_fft on purpose; librosa warns about it.
warnings.filterwarnings("ignore", message="n_fft=.* is too large")

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "librosa-log-mel.json"

DEFAULT_CONFIG = dict(sampleRate=22050, nFft=2048, hopLength=1024, nMels=128, fmin=0.0, fmax=None, topDb=80.0, amin=1e-10)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def tones_and_noise(sr: int, seconds: float, seed: int) -> np.ndarray:
    """Four tones (one with a slow vibrato) plus noise at about -40 dBFS, so every mel band sits well above the floor."""
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t + 3 * np.sin(2 * np.pi * 0.5 * t))
    y += 0.2 * np.sin(2 * np.pi * 1337 * t) + 0.1 * np.sin(2 * np.pi * 5000 * t) + 0.05 * np.sin(2 * np.pi * 9876.5 * t)
    y += 0.01 * np.random.default_rng(seed).standard_normal(t.size)
    return y.astype(np.float32)


def short_clip(sr: int) -> np.ndarray:
    """1500 samples (< n_fft = 2048): every frame reaches into librosa's centred zero padding."""
    t = np.arange(1500) / sr
    y = 0.5 * np.sin(2 * np.pi * (300 + 4000 * t) * t) + 0.05 * np.random.default_rng(2).standard_normal(t.size)
    return y.astype(np.float32)


def silence_gaps(sr: int) -> np.ndarray:
    """Digital silence, a loud tone, a faint noise near the 80 dB floor and a noise far below it.

    Zeros give power 0 -> 10*log10(amin) = -100 dB, which the top_db floor (global max - 80) then raises; the
    faint noise sits within a few dB of that floor so the clamp is exercised on both sides.
    """
    n = int(sr * 3.0)
    y = np.zeros(n)
    t = np.arange(n) / sr
    rng = np.random.default_rng(3)
    tone, faint, far = slice(11025, 33075), slice(39690, 50715), slice(55125, 59535)  # 0.5-1.5 s, 1.8-2.3 s, 2.5-2.7 s
    y[tone] = 0.5 * np.sin(2 * np.pi * 1000 * t[tone])
    y[faint] = 6e-4 * rng.standard_normal(faint.stop - faint.start)
    y[far] = 1e-6 * rng.standard_normal(far.stop - far.start)
    return y.astype(np.float32)


def reference(name: str, y: np.ndarray, config: dict) -> dict:
    sr, n_fft, hop = config["sampleRate"], config["nFft"], config["hopLength"]
    fmax = config["fmax"] if config["fmax"] is not None else sr / 2
    mel = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=config["nMels"], fmin=config["fmin"], fmax=fmax
    )
    db = librosa.power_to_db(mel, ref=1.0, amin=config["amin"], top_db=config["topDb"])
    assert db.dtype == np.float32 and db.shape[1] == 1 + len(y) // hop, (db.dtype, db.shape)
    floor = db.max() - config["topDb"]
    at_floor = int(np.sum(db == floor))
    near_floor = int(np.sum((db > floor) & (db < floor + 3)))
    flatness = librosa.feature.spectral_flatness(y=y, n_fft=n_fft, hop_length=hop)  # amin 1e-10, power 2
    print(f"{name}: {len(y)} samples -> {db.shape[1]} frames x {db.shape[0]} mels, max {db.max():.3f} dB, "
          f"{at_floor} at the floor, {near_floor} within 3 dB above it, flatness {flatness.mean():.5f}", file=sys.stderr)
    return {
        "name": name,
        "config": config,
        "numSamples": int(len(y)),
        "samples": b64(y),
        "frames": int(db.shape[1]),
        "nMels": int(db.shape[0]),
        "logMel": b64(db.T),  # frame-major
        "spectralFlatnessMean": float(flatness.mean()),
    }


def filterbank(config: dict) -> dict:
    """librosa.filters.mel (float32, Slaney) stored sparsely: per band, the first non-zero bin and the span."""
    sr = config["sampleRate"]
    fmax = config["fmax"] if config["fmax"] is not None else sr / 2
    w = librosa.filters.mel(sr=sr, n_fft=config["nFft"], n_mels=config["nMels"], fmin=config["fmin"], fmax=fmax)
    assert w.dtype == np.float32
    bands = []
    for row in w:
        nz = np.flatnonzero(row)
        bands.append({"firstBin": int(nz[0]), "weights": b64(row[nz[0] : nz[-1] + 1])})
    return {"config": config, "nMels": int(w.shape[0]), "nBins": int(w.shape[1]), "bands": bands}


def main() -> None:
    sr = 22050
    small = dict(DEFAULT_CONFIG, sampleRate=16000, nFft=512, hopLength=160, nMels=64, fmin=50.0, fmax=7600.0)
    signals = [
        reference("tones-noise-10s", tones_and_noise(sr, 10.0, seed=1), DEFAULT_CONFIG),
        reference("short-1500-samples", short_clip(sr), DEFAULT_CONFIG),
        reference("silence-gaps-3s", silence_gaps(sr), DEFAULT_CONFIG),
        reference("tones-noise-16k-custom-config", tones_and_noise(16000, 1.0, seed=4), small),
    ]
    fixture = {
        "generator": "scripts/librosa-reference.py",
        "reference": "librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr, n_fft, hop_length, n_mels, fmin, fmax), "
        "ref=1.0, amin, top_db); librosa.feature.spectral_flatness(y=y, n_fft, hop_length).mean()",
        "layout": "samples and logMel: base64 little-endian float32; logMel frame-major [frames][nMels]",
        "versions": {"librosa": librosa.__version__, "numpy": np.__version__, "scipy": scipy.__version__},
        "signals": signals,
        "melFilterbanks": [filterbank(DEFAULT_CONFIG), filterbank(small)],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
