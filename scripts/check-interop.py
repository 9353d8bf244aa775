#!/usr/bin/env python3
"""Read a turnkit dataset with pyarrow, DuckDB and Hugging Face datasets, independently of the Node code that wrote it.

Usage: python3 scripts/check-interop.py <out>            (the directory write-interop-sample.ts wrote)
       python3 scripts/check-interop.py <dataset-dir>    (any dataset: types, hashes and counts only)

Prints each column's type as both readers see it, checks shard sha256/size/rows and the ledger against
manifest.json, recomputes the dataset version from canonical JSON, and, when expected.json and log_mel.npy sit
beside the dataset, compares every value, list<float32> bit for bit (NaN, -0 and subnormals included). When the
`datasets` package is importable, it also checks the dataset card (README.md): its features are the ones datasets
derives from the part files, it lists every part file and the manifest's row count, and
`datasets.load_dataset(<dataset-dir>)` (which reads the card's configuration) gives the manifest's rows and the
schema's columns. Exit 1 on any mismatch. Needs pyarrow, duckdb and numpy (datasets optional); the turnkit tests
never run this.
"""
import hashlib
import json
import os
import sys
import tempfile

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
    ledger = manifest["ledger"]
    if sha256_file(os.path.join(dataset, ledger["file"])) != ledger["sha256"]:
        problems.append(f"{ledger['file']}: sha256 differs from manifest")
    # Manifest format turnkit-dataset/2: the ledger is part of the version.
    version = "sha256:" + hashlib.sha256(canonical_json({
        "schemaHash": manifest["schema"]["hash"],
        "settings": manifest["pipeline"]["settings"],
        "shards": [s["sha256"] for s in manifest["shards"]],
        "ledger": {"sha256": ledger["sha256"], "lines": ledger["lines"]},
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

    loaded = check_datasets(dataset, manifest, table, keys, problems)

    print()
    if problems:
        for p in problems:
            print("PROBLEM:", p)
        return 1
    print("interop OK: pyarrow and DuckDB read every shard; hashes, counts and version agree"
          + (", and every value matches bit for bit" if os.path.exists(expected_path) else "")
          + ("; datasets.load_dataset reads it through its card" if loaded else ""))
    return 0


def read_card(dataset):
    """The YAML front matter of the dataset card (README.md) as a dict, or None when there is no card."""
    import yaml  # PyYAML: a dependency of datasets, which parses cards with it too

    path = os.path.join(dataset, "README.md")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.startswith("---\n"):
        return {}
    return yaml.safe_load(text[4:text.index("\n---\n", 4)]) or {}


def check_datasets(dataset, manifest, table, keys, problems):
    """The dataset card against the files, then datasets.load_dataset on the folder. True when it was tried."""
    try:
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # a local folder: nothing to fetch
        import datasets
    except ImportError:
        print("\n(datasets not importable: the card and load_dataset not checked)")
        return False
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    print(f"\nHugging Face datasets {datasets.__version__}:")
    card = read_card(dataset)
    if card is None:
        problems.append("README.md: no dataset card beside manifest.json")
        return False
    schema_columns = [field.name for field in table.schema]
    schema_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas", f"{manifest['schema']['id']}.json")
    if os.path.exists(schema_file):
        with open(schema_file, encoding="utf-8") as f:
            schema_columns = [field["name"] for field in json.load(f)["fields"]]

    # The card's own statements: every part file in its one configuration, the manifest's row count, and the
    # features datasets itself derives from the part files' Arrow schema.
    configs = card.get("configs", [])
    data_files = [f for c in configs for d in c.get("data_files", []) for f in ([d["path"]] if isinstance(d["path"], str) else d["path"])]
    splits = card.get("dataset_info", {}).get("splits", [])
    card_features = card.get("dataset_info", {}).get("features", [])
    derived = datasets.Features.from_arrow_schema(table.schema)._to_yaml_list()
    print(f"  card: configs {[c['config_name'] for c in configs]}, {len(data_files)} data files, "
          f"splits {[(s['name'], s['num_examples']) for s in splits]}, {len(card_features)} features")
    if data_files != [s["file"] for s in manifest["shards"]]:
        problems.append(f"README.md: data_files {data_files}, manifest shards {[s['file'] for s in manifest['shards']]}")
    if sum(s["num_examples"] for s in splits) != manifest["rows"]:
        problems.append(f"README.md: splits hold {sum(s['num_examples'] for s in splits)} examples, manifest {manifest['rows']} rows")
    if card_features != derived:
        problems.append(f"README.md: features {card_features} differ from those datasets derives from the parts: {derived}")
    else:
        print("  card features equal Features.from_arrow_schema(part schema)._to_yaml_list()")
    if [f["name"] for f in card_features] != schema_columns:
        problems.append(f"README.md: feature names {[f['name'] for f in card_features]}, schema columns {schema_columns}")

    # load_dataset on the folder: the card's configuration picks the files, its dataset_info the features, and
    # datasets checks the split's num_examples against the rows it read.
    with tempfile.TemporaryDirectory() as cache:
        builder = datasets.load_dataset_builder(dataset, cache_dir=cache)
        print(f"  load_dataset_builder: config {builder.config.name!r}, data_files "
              f"{ {k: [os.path.basename(p) for p in v] for k, v in builder.config.data_files.items()} }")
        loaded = datasets.load_dataset(dataset, cache_dir=cache)
        print(f"  load_dataset({os.path.basename(dataset)!r}): " + ", ".join(f"{name}: {len(d)} rows x {len(d.column_names)} columns" for name, d in loaded.items()))
        rows = sum(len(d) for d in loaded.values())
        if rows != manifest["rows"]:
            problems.append(f"datasets: {rows} rows, manifest {manifest['rows']}")
        for name, d in loaded.items():
            if d.column_names != schema_columns:
                problems.append(f"datasets: split {name} has columns {d.column_names}, schema {schema_columns}")
            if d.features._to_yaml_list() != card_features:
                problems.append(f"datasets: split {name} features differ from the card's")
        if list(loaded) == ["train"] and loaded["train"]["key"][:] != keys:
            problems.append("datasets: keys differ from DuckDB's (order or values)")
        if "split" in schema_columns:
            by_split = {}
            for s in loaded[list(loaded)[0]]["split"]:
                by_split[s] = by_split.get(s, 0) + 1
            print(f"  rows by the split column: {dict(sorted(by_split.items()))}")
    return True


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
