#!/usr/bin/env bash
# Build turnkit's WebAssembly modules. wasm/turnkit-kernels.wasm (and -shared.wasm, for helper threads): the matrix product and transpose turnkit gives
# TensorFlow.js's wasm backend (native/kernels/, plain C with WebAssembly SIMD, no libc). wasm/turnkit-audio.wasm: libsoxr 0.1.3 (the resampler librosa uses through python-soxr: soxr_hq) and
# turnkit's STFT kernel on the Ooura FFT libsoxr bundles (also built two frames at a time, native/audio/tk-rdft2.cc) and turnkit's FLAC decoder (native/audio/turnkit-flac.c), compiled to WebAssembly with Debian's clang, lld and
# wasi-libc, from Debian's source package, with turnkit's entry points (native/audio/turnkit-*.c) and callback
# tables whose signatures WebAssembly accepts (native/audio/tk-rdft*.c). The result is committed, so a user needs
# only `npm ci`; this script is how to rebuild it (libsoxr is LGPL-2.1: see native/audio/COPYING.LGPL). Needs
# root for apt-get (deb-src of bookworm main is added if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
apt-get update -q
apt-get install -y -q clang lld wasi-libc libclang-rt-14-dev-wasm32 dpkg-dev patch
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > /etc/apt/sources.list.d/turnkit-src.sources
  apt-get update -q
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && apt-get source -q libsoxr=0.1.3-4)
S="$WORK/libsoxr-0.1.3/src"
N="$ROOT/native/audio"
# WebAssembly SIMD branches for libsoxr's two SIMD abstractions (dev32s.h, pffft.c), mapped from the SSE ones.
(cd "$WORK/libsoxr-0.1.3" && patch -p1 < "$N/wasm-simd.patch")
# cr32s (20-bit quality, HQ: librosa's soxr_hq) with PFFFT on WebAssembly SIMD, as python-soxr runs it on SSE;
# cr64 for VHQ; no threads; -O3 without fast-math, so every machine computes the same bits.
# The STFT's two-frames-at-once FFT: fft4g.c again, with a pair of doubles for each double (C++ for the casts).
clang++ --target=wasm32-wasi --sysroot=/usr -I/usr/include/wasm32-wasi -O3 -msimd128 -fno-exceptions -fno-rtti \
  -ffile-prefix-map="$S"=libsoxr -ffile-prefix-map="$N"=native/audio -I"$N" -I"$S" -c -o "$WORK/tk-rdft2.o" "$N/tk-rdft2.cc"
clang --target=wasm32-wasi --sysroot=/usr -I/usr/include/wasm32-wasi -L/usr/lib/wasm32-wasi -O3 -msimd128 -DSOXR_LIB \
  -ffile-prefix-map="$S"=libsoxr -ffile-prefix-map="$N"=native/audio -Wl,--strip-debug \
  -I"$N" -I"$S" -mexec-model=reactor -Wl,--no-entry -o "$ROOT/wasm/turnkit-audio.wasm" \
  "$N/turnkit-soxr.c" "$N/turnkit-stft.c" "$N/turnkit-flac.c" "$S/soxr.c" "$S/data-io.c" "$S/dbesi0.c" "$S/filter.c" "$N/tk-rdft64.c" \
  "$S/cr.c" "$S/cr32s.c" "$S/pffft32s.c" "$S/util32s.c" "$S/cr64.c" "$WORK/tk-rdft2.o" -lm
# The kernels run inside tfjs's memory (imported): no libc, no data, no stack, so they touch nothing of tfjs's.
# The same source again for a shared memory: the helper threads that take a share of a large product run it.
clang --target=wasm32 -nostdlib -O3 -msimd128 -mbulk-memory -Wl,--no-entry -Wl,--import-memory -Wl,--strip-debug \
  -ffile-prefix-map="$ROOT/native"=native -o "$ROOT/wasm/turnkit-kernels.wasm" "$ROOT/native/kernels/turnkit-kernels.c"
clang --target=wasm32 -nostdlib -O3 -msimd128 -mbulk-memory -matomics -Wl,--no-entry -Wl,--import-memory \
  -Wl,--shared-memory -Wl,--max-memory=4294967296 -Wl,--strip-debug -ffile-prefix-map="$ROOT/native"=native \
  -o "$ROOT/wasm/turnkit-kernels-shared.wasm" "$ROOT/native/kernels/turnkit-kernels.c"
sha256sum "$ROOT/wasm/turnkit-audio.wasm" "$ROOT/wasm/turnkit-kernels.wasm" "$ROOT/wasm/turnkit-kernels-shared.wasm"
