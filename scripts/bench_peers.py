#!/usr/bin/env python3
"""Time edgegen's generated code against onnxruntime on the same models, side by side.

For each model: `edgegen build` writes the Rust code, a small timing program around it is
compiled with `rustc -C opt-level=3` (and `-C target-cpu=native` unless --portable), and both it
and an onnxruntime session (one thread, all graph optimisations, CPU provider) run the fixture's
reference input many times. The script prints the median time per inference of each and the
ratio, plus edgegen's arena and weight bytes. Timings on a shared machine are noisy: compare the
ratios of one run, not absolute times across runs.

Needs: the repository's Rust toolchain, and Python with numpy and onnxruntime
(`pip install -r fixtures/requirements.txt`). Run from anywhere:

    python3 scripts/bench_peers.py                 # the MLPerf Tiny float models
    python3 scripts/bench_peers.py --models digits_mlp cnn_bn --runs 2000
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# The timing program: reads one input per model input (raw little-endian f32) and runs the model
# `warmup` times, then `batches` batches of `per_batch` runs, printing nanoseconds per run for
# each batch. The model's output is folded into a checksum so the work cannot be optimised away.
HARNESS = """\
#![deny(warnings)]
mod model;

fn read(path: &str) -> Vec<f32> {{
    std::fs::read(path).expect("input").chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}}

fn main() {{
    let args: Vec<String> = std::env::args().collect();
    let (warmup, batches, per_batch): (usize, usize, usize) =
        (args[1].parse().unwrap(), args[2].parse().unwrap(), args[3].parse().unwrap());
    {reads}
    let mut model = Box::new(model::Model::new());
    {outputs}
    let mut checksum = 0f32;
    for _ in 0..warmup {{
        model.run({args});
    }}
    for _ in 0..batches {{
        let start = std::time::Instant::now();
        for _ in 0..per_batch {{
            model.run({args});
            checksum += {first_output}[0];
        }}
        println!("{{}}", start.elapsed().as_nanos() as f64 / per_batch as f64);
    }}
    eprintln!("checksum {{checksum}}");
}}
"""


def fixture_entry(name):
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    for entry in manifest["models"]:
        if entry["name"] == name:
            return entry
    sys.exit(f"no fixture named {name!r} in fixtures/manifest.json")


def edgegen_binary():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "edgegen"], cwd=ROOT, check=True)
    return ROOT / "target" / "release" / "edgegen"


def build_edgegen(edgegen, model_path, n_inputs, n_outputs, work, portable):
    code = work / "model.rs"
    subprocess.run([str(edgegen), "build", str(model_path), "-o", str(code)], check=True)
    source = code.read_text()
    arena = int(re.search(r"pub const ARENA_BYTES: usize = (\d+);", source).group(1))
    weights = int(re.search(r"pub const WEIGHT_BYTES: usize = (\d+);", source).group(1))

    def const(kind, i, n):
        return f"model::{kind.upper()}" if n == 1 else f"model::{kind.upper()}_{i}"

    reads = "\n    ".join(
        f"let input_{i}: [f32; {const('input', i, n_inputs)}_LEN] = read(&args[{4 + i}]).try_into().expect(\"input size\");"
        for i in range(n_inputs)
    )
    outputs = "\n    ".join(
        f"let mut output_{j} = [0f32; {const('output', j, n_outputs)}_LEN];" for j in range(n_outputs)
    )
    args = ", ".join([f"&input_{i}" for i in range(n_inputs)] + [f"&mut output_{j}" for j in range(n_outputs)])
    (work / "main.rs").write_text(
        HARNESS.format(reads=reads, outputs=outputs, args=args, first_output="output_0")
    )
    flags = ["-C", "opt-level=3", "-C", "codegen-units=1"]
    if not portable:
        flags += ["-C", "target-cpu=native"]
    binary = work / "bench"
    started = time.perf_counter()
    subprocess.run(["rustc", "--edition", "2021", *flags, str(work / "main.rs"), "-o", str(binary)], check=True)
    return binary, arena, weights, time.perf_counter() - started


def time_edgegen(binary, input_files, runs, batches):
    per_batch = max(1, runs // batches)
    out = subprocess.run(
        [str(binary), str(max(10, per_batch // 10)), str(batches), str(per_batch), *map(str, input_files)],
        check=True,
        capture_output=True,
        text=True,
    )
    return statistics.median(float(line) for line in out.stdout.split())


def time_onnxruntime(model_path, feeds, runs, batches):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    per_batch = max(1, runs // batches)
    for _ in range(max(10, per_batch // 10)):
        session.run(None, feeds)
    samples = []
    for _ in range(batches):
        started = time.perf_counter_ns()
        for _ in range(per_batch):
            session.run(None, feeds)
        samples.append((time.perf_counter_ns() - started) / per_batch)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--models",
        nargs="+",
        default=["kws_ref_model_float32", "vww_96_float", "pretrainedResnet", "ad01_fp32"],
        help="fixture names (see fixtures/manifest.json)",
    )
    parser.add_argument("--runs", type=int, default=300, help="timed runs per model and tool")
    parser.add_argument("--batches", type=int, default=10, help="timing batches (the median is reported)")
    parser.add_argument("--portable", action="store_true", help="no -C target-cpu=native")
    options = parser.parse_args()

    import numpy as np

    edgegen = edgegen_binary()
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgegen-bench-") as tmp:
        for name in options.models:
            entry = fixture_entry(name)
            model_path = FIXTURES / entry["model"]
            reference = FIXTURES / "reference" / name
            inputs = [np.load(reference / f"input_{i}.npy") for i in range(len(entry["inputs"]))]
            work = Path(tmp) / name
            work.mkdir()
            input_files = []
            for i, array in enumerate(inputs):
                path = work / f"input_{i}.bin"
                path.write_bytes(np.ascontiguousarray(array, dtype="<f4").tobytes())
                input_files.append(path)
            binary, arena, weights, compile_seconds = build_edgegen(
                edgegen, model_path, len(inputs), len(entry["outputs"]), work, options.portable
            )
            ours = time_edgegen(binary, input_files, options.runs, options.batches)
            feeds = {spec["name"]: array for spec, array in zip(entry["inputs"], inputs)}
            theirs = time_onnxruntime(model_path, feeds, options.runs, options.batches)
            rows.append((name, ours, theirs, arena, weights, compile_seconds))
            print(f"{name}: edgegen {ours / 1e3:.1f} µs, onnxruntime {theirs / 1e3:.1f} µs", file=sys.stderr)

    print()
    print(f"{'model':<24} {'edgegen µs':>11} {'onnxruntime µs':>15} {'ORT / edgegen':>14} {'arena B':>9} {'weights B':>10} {'rustc s':>8}")
    for name, ours, theirs, arena, weights, compile_seconds in rows:
        print(
            f"{name:<24} {ours / 1e3:>11.1f} {theirs / 1e3:>15.1f} {theirs / ours:>14.2f} "
            f"{arena:>9} {weights:>10} {compile_seconds:>8.1f}"
        )
    print("\nOne thread each; ORT / edgegen above 1 means the generated code is faster.")


if __name__ == "__main__":
    main()
