#!/usr/bin/env python3
"""Time edgegen's generated code against the other ways to run the same model, side by side.

For each model: `edgegen build` writes the Rust code, a small timing program around it is
compiled with `rustc -C opt-level=3 -C codegen-units=1` (and `-C target-cpu=native` unless
--portable), and it and every peer that can run the model time the fixture's first reference
input many times, one thread each, in one run:

  litert-builtin  the TFLite interpreter (ai-edge-litert) with its builtin optimized kernels and
                  no delegate (OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
  litert-xnnpack  the TFLite interpreter with its default XNNPACK delegate (OpResolverType.AUTO)
  tflite-micro    TensorFlow Lite Micro's interpreter (the tflite_micro package: its portable
                  reference kernels, as on a microcontroller without CMSIS-NN)
  onnxruntime     for ONNX models: one thread, all graph optimisations, CPU provider

The tools take turns: each of `--batches` rounds times one batch of runs of every tool, one
after another, so that a slow spell of a shared machine falls on all of them rather than on
whichever tool was being timed. The script prints each tool's median time per inference and,
for each peer, the median over the rounds of its time over edgegen's in the same round (above
1: edgegen is faster), plus edgegen's arena and weight bytes and the rustc time. Timings on a
shared machine are still noisy: compare the ratios of one run, not absolute times across
runs.

Needs: the repository's Rust toolchain, and Python with `fixtures/requirements.txt` installed
(numpy, onnxruntime, ai-edge-litert, tflite-micro). Run from anywhere:

    python3 scripts/bench_peers.py                        # the MLPerf Tiny int8 and float models
    python3 scripts/bench_peers.py --models kws_ref_model --runs 2000
    python3 scripts/bench_peers.py --peers litert-builtin litert-xnnpack
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

PEERS = ["litert-builtin", "litert-xnnpack", "tflite-micro", "onnxruntime"]
DEFAULT_MODELS = [
    "kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8",
    "kws_ref_model_float32", "vww_96_float", "pretrainedResnet", "ad01_fp32",
]

# Rust element types of the model inputs and outputs, by numpy dtype.
RUST_TYPES = {"float32": "f32", "int8": "i8", "uint8": "u8", "int32": "i32"}

# The timing program: reads one input per model input (raw little-endian values) and runs the
# model `warmup` times, then `batches` batches of `per_batch` runs, printing nanoseconds per run
# for each batch. The model's output is folded into a checksum so the work cannot be optimised
# away.
HARNESS = """\
#![deny(warnings)]
mod model;

fn main() {{
    let args: Vec<String> = std::env::args().collect();
    let (warmup, batches, per_batch): (usize, usize, usize) =
        (args[1].parse().unwrap(), args[2].parse().unwrap(), args[3].parse().unwrap());
    {reads}
    let mut model = Box::new(model::Model::new());
    {outputs}
    let mut checksum = 0f64;
    for _ in 0..warmup {{
        model.run({args});
    }}
    for _ in 0..batches {{
        let start = std::time::Instant::now();
        for _ in 0..per_batch {{
            model.run({args});
            checksum += output_0[0] as f64;
        }}
        println!("{{}}", start.elapsed().as_nanos() as f64 / per_batch as f64);
    }}
    eprintln!("checksum {{checksum}}");
}}
"""


def fixture(name):
    """(model path, [input arrays], kind) of a fixture of manifest.json or tflite_manifest.json."""
    import numpy as np

    for manifest, reference in (("manifest.json", "reference"), ("tflite_manifest.json", "reference/tflite")):
        for entry in json.loads((FIXTURES / manifest).read_text())["models"]:
            if entry["name"] != name:
                continue
            directory = FIXTURES / reference / name
            arrays = [np.load(directory / f"input_{i}.npy") for i in range(len(entry["inputs"]))]
            specs = entry["inputs"]
            # The TFLite references stack samples on a new axis: take the first sample.
            if manifest == "tflite_manifest.json":
                arrays = [a[0] for a in arrays]
            else:
                arrays = [a[:1] if a.shape[0] > 1 and list(a.shape[1:]) == s["shape"][1:] else a
                          for a, s in zip(arrays, specs)]
            return FIXTURES / entry["model"], arrays, specs
    sys.exit(f"no fixture named {name!r} in fixtures/manifest.json or fixtures/tflite_manifest.json")


def edgegen_binary():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "edgegen"], cwd=ROOT, check=True)
    return ROOT / "target" / "release" / "edgegen"


def build_edgegen(edgegen, model_path, inputs, work, portable):
    code = work / "model.rs"
    subprocess.run([str(edgegen), "build", str(model_path), "-o", str(code)], check=True)
    source = code.read_text()
    arena = int(re.search(r"pub const ARENA_BYTES: usize = (\d+);", source).group(1))
    weights = int(re.search(r"pub const WEIGHT_BYTES: usize = (\d+);", source).group(1))
    n_outputs = len(re.findall(r"pub const OUTPUT(?:_\d+)?_LEN: usize", source))

    def const(kind, i, n):
        return f"model::{kind.upper()}" if n == 1 else f"model::{kind.upper()}_{i}"

    reads = []
    for i, array in enumerate(inputs):
        ty = RUST_TYPES[str(array.dtype)]
        size = array.dtype.itemsize
        reads.append(
            f"let input_{i}: [{ty}; {const('input', i, len(inputs))}_LEN] = std::fs::read(&args[{4 + i}])"
            f".expect(\"input\").chunks_exact({size}).map(|c| {ty}::from_le_bytes(c.try_into().unwrap()))"
            f".collect::<Vec<_>>().try_into().expect(\"input size\");")
    out_types = re.findall(r"pub type Output\d*Elem = (\w+);", source)
    outputs = [f"let mut output_{j} = [0{out_types[j]}; {const('output', j, n_outputs)}_LEN];"
               for j in range(n_outputs)]
    args = ", ".join([f"&input_{i}" for i in range(len(inputs))] + [f"&mut output_{j}" for j in range(n_outputs)])
    (work / "main.rs").write_text(HARNESS.format(reads="\n    ".join(reads), outputs="\n    ".join(outputs), args=args))
    flags = ["-C", "opt-level=3", "-C", "codegen-units=1"]
    if not portable:
        flags += ["-C", "target-cpu=native"]
    binary = work / "bench"
    started = time.perf_counter()
    subprocess.run(["rustc", "--edition", "2021", *flags, str(work / "main.rs"), "-o", str(binary)], check=True)
    return binary, arena, weights, time.perf_counter() - started


def edgegen_batch(binary, input_files, per_batch):
    """Nanoseconds per run of one batch of the generated code (its harness warms up first)."""
    out = subprocess.run(
        [str(binary), str(max(10, per_batch // 10)), "1", str(per_batch), *map(str, input_files)],
        check=True, capture_output=True, text=True)
    return float(out.stdout.split()[0])


def calls_batch(call, per_batch):
    """Nanoseconds per call of one batch of `per_batch` calls."""
    started = time.perf_counter_ns()
    for _ in range(per_batch):
        call()
    return (time.perf_counter_ns() - started) / per_batch


def time_in_turns(tools, batches):
    """{tool: median ns per run} and {peer: median of its per-round ratio to edgegen} from
    `batches` rounds of one batch of each tool (`tools`: name -> function timing one batch)."""
    samples = {name: [] for name in tools}
    for _ in range(batches):
        for name, batch in tools.items():
            samples[name].append(batch())
    times = {name: statistics.median(s) for name, s in samples.items()}
    ratios = {name: statistics.median(t / e for t, e in zip(s, samples["edgegen"]))
              for name, s in samples.items() if name != "edgegen"}
    return times, ratios


def litert(model_path, inputs, xnnpack):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(model_path=str(model_path), num_threads=1, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    for detail, array in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], array.reshape(detail["shape"]))
    return interpreter.invoke


def tflite_micro(model_path, inputs):
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(model_path), arena_size=4 << 20)
    for i, array in enumerate(inputs):
        interpreter.set_input(array, i)
    return interpreter.invoke


def onnxruntime(model_path, inputs, specs):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    feeds = {spec["name"]: array for spec, array in zip(specs, inputs)}
    return lambda: session.run(None, feeds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS,
                        help="fixture names (fixtures/manifest.json, fixtures/tflite_manifest.json)")
    parser.add_argument("--peers", nargs="+", default=PEERS, choices=PEERS, help="which peers to time")
    parser.add_argument("--runs", type=int, default=300, help="timed runs per model and tool")
    parser.add_argument("--batches", type=int, default=10, help="timing batches (the median is reported)")
    parser.add_argument("--portable", action="store_true", help="no -C target-cpu=native")
    options = parser.parse_args()

    import numpy as np

    edgegen = edgegen_binary()
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgegen-bench-") as tmp:
        for name in options.models:
            model_path, inputs, specs = fixture(name)
            tflite = model_path.suffix == ".tflite"
            inputs = [np.ascontiguousarray(a.reshape([1] + list(s["shape"][1:])), dtype=a.dtype)
                      for a, s in zip(inputs, specs)]
            work = Path(tmp) / name
            work.mkdir()
            input_files = []
            for i, array in enumerate(inputs):
                path = work / f"input_{i}.bin"
                path.write_bytes(array.astype(array.dtype.newbyteorder("<")).tobytes())
                input_files.append(path)
            binary, arena, weights, compile_seconds = build_edgegen(edgegen, model_path, inputs, work, options.portable)
            per_batch = max(1, options.runs // options.batches)
            tools = {"edgegen": lambda: edgegen_batch(binary, input_files, per_batch)}
            for peer in options.peers:
                if peer.startswith("litert") and tflite:
                    call = litert(model_path, inputs, xnnpack=peer == "litert-xnnpack")
                elif peer == "tflite-micro" and tflite:
                    call = tflite_micro(model_path, inputs)
                elif peer == "onnxruntime" and not tflite:
                    call = onnxruntime(model_path, inputs, specs)
                else:
                    continue
                # tflite-micro's reference kernels are slow: fewer runs keep the script short.
                runs = max(options.batches, options.runs // 10) if peer == "tflite-micro" else options.runs
                n = max(1, runs // options.batches)
                for _ in range(max(10, n // 10)):
                    call()
                tools[peer] = lambda call=call, n=n: calls_batch(call, n)
            times, ratios = time_in_turns(tools, options.batches)
            rows.append((name, times, ratios, arena, weights, compile_seconds))
            shown = ", ".join(f"{tool} {t / 1e3:.1f} µs" for tool, t in times.items())
            print(f"{name}: {shown}", file=sys.stderr, flush=True)

    tools = ["edgegen"] + [p for p in options.peers if any(p in r[1] for r in rows)]
    print()
    header = f"{'model':<24}" + "".join(f" {t + ' µs':>17}" for t in tools) + \
        "".join(f" {t + '/edgegen':>24}" for t in tools[1:]) + f" {'arena B':>9} {'weights B':>10} {'rustc s':>8}"
    print(header)
    for name, times, ratios, arena, weights, compile_seconds in rows:
        line = f"{name:<24}"
        for t in tools:
            line += f" {times[t] / 1e3:>17.1f}" if t in times else f" {'-':>17}"
        for t in tools[1:]:
            line += f" {ratios[t]:>24.2f}" if t in ratios else f" {'-':>24}"
        print(line + f" {arena:>9} {weights:>10} {compile_seconds:>8.1f}")
    print("\nOne thread each, taking turns; a ratio (the median over the rounds of the peer's time over"
          "\nedgegen's in the same round) above 1 means the generated code is faster than that peer.")


if __name__ == "__main__":
    main()
