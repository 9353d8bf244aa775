"""librosa's log-mel of a 10 s clip at 22,050 Hz (n_fft 2048, hop 1024, 128 mels, power_to_db top_db 80), one
thread: the same signal bench/run.ts times turnkit on. Prints one JSON line: ms per clip (median of 5 runs of 50)."""
import json, time
import numpy as np
import librosa

sr = 22050
i = np.arange(sr * 10)
y = (0.5 * np.sin(2 * np.pi * 440 * i / sr) + 0.01 * np.sin(i * 12.9898)).astype(np.float32)
f = lambda: librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=1024, n_mels=128), ref=1.0, top_db=80.0)
for _ in range(5):
    f()
runs = []
for _ in range(5):
    t = time.perf_counter()
    for _ in range(50):
        f()
    runs.append((time.perf_counter() - t) / 50 * 1000)
print(json.dumps({"ms_per_clip": round(sorted(runs)[2], 3)}))
