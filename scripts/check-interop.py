#!/usr/bin/env python3
"""Read a turnkit dataset with pyarrow and DuckDB, independently of the Node code that wrote it.

Usage: python3 scripts/check-interop.py <out>            (the directory write-interop-sample.ts wrote)
       python3 scripts/check-interop.py <dataset-dir>    (any dataset: types, hashes and counts only)

Prints each column's type as both readers see it, checks shard sha256/size/rows against manifest.json,
recomputes the dataset version from canonical JSON, and, when expected.json and log_mel.npy sit beside the
dataset, compares every value, list<float32> bit for bit (NaN, -0 and subnormals included). Exit 1 on any
mismatch. Needs pyarrow, duckdb and numpy; the turnkit tests never run this.
"""
import hashlib
import json
import os
import sys

import duckdb
import numpy as np
import pyarrow.parquet as pq


def canonical_json(value):
    # Matches src/formats/json.ts canonicalJson for the integers and strings manifests hold (sorted keys, no
    # whitespace, non-ASCII kept). Python writes some floats differently from JS (1e-07 vs 1e-7).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    dataset = os.path.join(root, "dataset") if os.path.exists(os.path.join(root, "dataset", "manifest.json")) else root
    problems = []

    with open(os.path.join(dataset, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    files = [os.path.join(dataset, s["file"]) for s in manifest["shards"]]
    print(f"dataset {dataset}: {manifest['rows']} rows in {len(files)} shards, schema "
          f"{manifest['schema']['id']} v{manifest['schema']['version']}")

    for shard, path in zip(manifest["shards"], files):
        if os.path.getsize(path) != shard["bytes"]:
            problems.append(f"{shard['file']}: size {os.path.getsize(path)}, manifest {shard['bytes']}")
        if sha256_file(path) != shard["sha256"]:
            problems.append(f"{shard['file']}: sha256 differs from manifest")
        meta = pq.ParquetFile(path).metadata
        codecs = sorted({meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(meta.num_columns)})
        print(f"  {shard['file']}: {meta.num_rows} rows, {meta.num_row_groups} row groups, codecs {codecs}, created_by {meta.created_by!r}")
        if meta.num_rows != shard["rows"]:
            problems.append(f"{shard['file']}: {meta.num_rows} rows, manifest {shard['rows']}")
    version = "sha256:" + hashlib.sha256(canonical_json({
        "schemaHash": manifest["schema"]["hash"],
        "settings": manifest["pipeline"]["settings"],
        "shards": [s["sha256"] for s in manifest["shards"]],
    }).encode("utf-8")).hexdigest()
    print(f"version recomputed in Python: {'matches' if version == manifest['version'] else 'DIFFERS'} ({version})")
    if version != manifest["version"]:
        problems.append(f"version: manifest {manifest['version']}, recomputed {version}")

    # pyarrow: one table over all shards, in manifest order.
    table = pq.read_table(files[0]) if len(files) == 1 else __import__("pyarrow").concat_tables([pq.read_table(p) for p in files])
    print("\npyarrow schema:")
    for field in table.schema:
        meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        print(f"  {field.name:18} {str(field.type):40} nullable={field.nullable}{'  ' + str(meta) if meta else ''}")
    schema_meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items() if not k.startswith(b"ARROW")}
    print(f"  schema metadata: {schema_meta}")

    # DuckDB: its own Parquet reader, not pyarrow's.
    con = duckdb.connect()
    glob = [p.replace("'", "''") for p in files]
    source = "read_parquet([" + ", ".join(f"'{p}'" for p in glob) + "])"
    print("\nDuckDB types:")
    for name, type_, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall():
        print(f"  {name:18} {type_}")
    keys = [r[0] for r in con.execute(f"SELECT key FROM {source}").fetchall()]
    if keys != sorted(keys, key=lambda k: k.encode("utf-8")):
        problems.append("DuckDB: rows are not sorted by key")
    if len(keys) != manifest["rows"]:
        problems.append(f"DuckDB: {len(keys)} rows, manifest {manifest['rows']}")

    expected_path = os.path.join(root, "expected.json")
    if os.path.exists(expected_path):
        problems += compare_values(root, table, con, source)
    else:
        print("\n(no expected.json beside the dataset: values not compared)")

    print()
    if problems:
        for p in problems:
            print("PROBLEM:", p)
        return 1
    print("interop OK: pyarrow and DuckDB read every shard; hashes, counts and version agree"
          + (", and every value matches bit for bit" if os.path.exists(expected_path) else ""))
    return 0


def compare_values(root, table, con, source):
    problems = []
    with open(os.path.join(root, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)["rows"]
    mel_all = np.load(os.path.join(root, "log_mel.npy"))
    assert mel_all.dtype == np.dtype("<f4")
    rows = table.to_pylist()
    if len(rows) != len(expected):
        return [f"{len(rows)} rows read, {len(expected)} expected"]

    # pyarrow: the flat float32 child buffer, compared as uint32 bit patterns.
    flat = table.column("log_mel").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    bits_equal = flat.dtype == np.float32 and np.array_equal(flat.view(np.uint32), mel_all.view(np.uint32))
    print(f"\npyarrow log_mel: {flat.size} float32 values, bit-exact: {bits_equal}")
    if not bits_equal:
        problems.append("pyarrow: log_mel values differ from log_mel.npy")

    # DuckDB: lists come back as Python floats (doubles); float32 -> double -> float32 is exact.
    duck = con.execute(f"SELECT log_mel FROM {source}").fetchall()
    duck_flat = np.array([v for (mel,) in duck for v in mel], dtype=np.float32)
    duck_equal = np.array_equal(duck_flat.view(np.uint32), mel_all.view(np.uint32))
    print(f"DuckDB log_mel: {duck_flat.size} values, bit-exact: {duck_equal}")
    if not duck_equal:
        problems.append("DuckDB: log_mel values differ from log_mel.npy")

    for row, want in zip(rows, expected):
        start, length = want["log_mel"]
        if len(row["log_mel"]) != length:
            problems.append(f"{want['key']}: log_mel has {len(row['log_mel'])} values, expected {length}")
        for name, value in want.items():
            if name == "log_mel":
                continue
            got = row[name]
            if name in ("duration_sec", "rms_dbfs", "peak", "spectral_flatness"):
                same = np.float32(got).view(np.uint32) == np.float32(value).view(np.uint32)
            else:
                same = got == value
            if not same:
                problems.append(f"{want['key']}: {name} is {got!r}, expected {value!r}")
    print(f"other columns: {len(expected)} rows x {len(expected[0]) - 1} fields compared "
          f"({'all equal' if not problems else 'see problems'})")
    return problems


if __name__ == "__main__":
    sys.exit(main(sys.argv))
