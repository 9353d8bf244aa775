"""The pipeline a Python user would write instead of `turnkit prepare`: librosa.load (its default soxr_hq
resampling; audioread + ffmpeg for containers soundfile cannot read), melspectrogram (n_fft 2048, hop 1024,
128 mels), power_to_db (top_db 80), rows into a pyarrow table, one zstd Parquet file per process.
One thread per process (OMP/MKL/OpenBLAS/NUMBA limited by the caller's environment).

Usage: python etl.py SRC_DIR OUT_DIR PROCESSES   prints one JSON line: clips, seconds, clips_per_sec, cpu_ms_per_clip
(CPU of the worker processes and their children, from the first clip to the last file written)
"""
import glob, json, os, resource, sys, time
from multiprocessing import Pool

import librosa
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def features(path):
    y, sr = librosa.load(path, sr=22050, mono=True, duration=10.0)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=1024, n_mels=128)
    db = librosa.power_to_db(mel, ref=1.0, top_db=80.0).astype(np.float32)
    return {"key": os.path.relpath(path), "frames": db.shape[1], "n_mels": db.shape[0], "log_mel": db.T.reshape(-1)}


def work(args):
    index, paths, out = args
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    rows = [features(p) for p in paths]
    table = pa.table({
        "key": [r["key"] for r in rows],
        "frames": pa.array([r["frames"] for r in rows], pa.int32()),
        "n_mels": pa.array([r["n_mels"] for r in rows], pa.int32()),
        "log_mel": pa.array([r["log_mel"] for r in rows], pa.list_(pa.float32())),
    })
    pq.write_table(table, os.path.join(out, f"part-{index:05d}.parquet"), compression="zstd")
    now = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # ffmpeg, when audioread falls back to it
    return len(rows), (now.ru_utime - cpu.ru_utime) + (now.ru_stime - cpu.ru_stime) + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    src, out, processes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    paths = sorted(p for ext in ("wav", "flac", "m4a", "mp3") for p in glob.glob(os.path.join(src, "**", f"*.{ext}"), recursive=True))
    chunks = [(i, paths[i::processes], out) for i in range(processes)]
    started = time.perf_counter()
    with Pool(processes) as pool:
        done = pool.map(work, chunks)
    seconds = time.perf_counter() - started
    n = sum(d[0] for d in done)
    cpu = sum(d[1] for d in done)
    print(json.dumps({"clips": n, "seconds": round(seconds, 3), "clips_per_sec": round(n / seconds, 2), "cpu_ms_per_clip": round(1000 * cpu / n, 2)}))
