#!/bin/sh
# Prepares fuzzing from the fixtures: copies the fixture models into the corpora
# codegen/fuzz/corpus/onnx and corpus/tflite (the directories `cargo fuzz run onnx` and
# `cargo fuzz run tflite` use), those under 8 KiB also into corpus/onnx_small and
# corpus/tflite_small (for runs with `-max_len=8192`, a hundred times faster than runs that
# mutate the MLPerf Tiny models), and writes codegen/fuzz/onnx.dict, a libFuzzer dictionary of
# the operator types and attribute names the ONNX front end reads (`-dict=fuzz/onnx.dict`).
# Run from anywhere. None of this is committed (see .gitignore); libFuzzer adds to the corpora.
set -eu
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
fixtures="$fuzz_dir/../../fixtures"
onnx_src="$fuzz_dir/../src/frontend/onnx"
mkdir -p "$fuzz_dir/corpus/onnx" "$fuzz_dir/corpus/tflite"
cp "$fixtures"/models/*.onnx "$fixtures"/errors/*.onnx "$fixtures"/mlperf-tiny/*.onnx \
    "$fuzz_dir/corpus/onnx/"
cp "$fixtures"/models/*.tflite "$fixtures"/errors/*.tflite "$fixtures"/mlperf-tiny/*.tflite \
    "$fuzz_dir/corpus/tflite/"
find "$fixtures/tflite_ops" -name '*.tflite' -exec cp {} "$fuzz_dir/corpus/tflite/" \;
for format in onnx tflite; do
    mkdir -p "$fuzz_dir/corpus/${format}_small"
    find "$fixtures" -name "*.$format" -size -8k \
        -exec cp {} "$fuzz_dir/corpus/${format}_small/" \;
done
{
    sed -n '/^pub const SUPPORTED_OPS/,/^];/p' "$onnx_src/mod.rs" | grep -o '"[A-Za-z0-9_]*"'
    grep -ohE '\.(int|ints|float|floats|string|strings|bool)\("[a-z_]+"' "$onnx_src"/*.rs |
        grep -o '"[a-z_]*"'
} | sort -u >"$fuzz_dir/onnx.dict"
for corpus in onnx tflite onnx_small tflite_small; do
    echo "corpus/$corpus: $(ls "$fuzz_dir/corpus/$corpus" | wc -l) files"
done
echo "onnx.dict: $(wc -l <"$fuzz_dir/onnx.dict") words"
