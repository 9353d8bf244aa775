"""Compare a prepared audio-text dataset with librosa end to end (librosa decodes the source file itself).

    python3 scripts/check-librosa-end-to-end.py <dataset dir> <corpus root> [rows]

For each row: librosa.load(sr=22050, mono=True) (soundfile + soxr_hq), then
power_to_db(melspectrogram(n_fft=2048, hop_length=1024, n_mels=128), ref=1.0, amin=1e-10, top_db=80),
against the row's log_mel. Prints the max and median absolute difference in dB. Needs librosa, pyarrow.
"""
import glob
import sys

import librosa
import numpy as np
import pyarrow.parquet as pq

dataset, root = sys.argv[1], sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 10
table = pq.read_table(sorted(glob.glob(f"{dataset}/part-*.parquet")))
worst = 0.0
for row in table.slice(0, limit).to_pylist():
    y, _ = librosa.load(f"{root}/{row['source_path']}", sr=22050, mono=True)
    ref = librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=1024, n_mels=128),
        ref=1.0, amin=1e-10, top_db=80,
    ).T
    mel = np.asarray(row["log_mel"], dtype=np.float32).reshape(row["frames"], row["n_mels"])
    if ref.shape != mel.shape:
        print(f"{row['key']}: shape {mel.shape} vs librosa {ref.shape}")
        continue
    diff = np.abs(ref - mel)
    worst = max(worst, float(diff.max()))
    print(f"{row['key']}: {mel.shape[0]} frames, max |diff| {diff.max():.2e} dB, median {np.median(diff):.2e} dB")
print(f"worst max |diff|: {worst:.2e} dB")
