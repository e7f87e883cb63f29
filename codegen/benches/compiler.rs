//! `cargo bench -p edgegen`: how fast the compiler is (import, passes and Rust emission of the
//! MLPerf Tiny float models) and how fast a few kernels are on layer shapes taken from those
//! models. Comparisons with other tools run side by side in `scripts/bench_peers.py`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use edgegen::kernels::activation::Activation;
use edgegen::kernels::{conv, gemm};

fn compile_models(c: &mut Criterion) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mlperf-tiny");
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for name in ["kws_ref_model_float32", "vww_96_float"] {
        let path = fixtures.join(format!("{name}.onnx"));
        group.bench_function(name, |b| {
            b.iter(|| {
                let compiled =
                    edgegen::compile(&path, &Default::default(), &mut |_, _| {}).unwrap();
                black_box(edgegen::backend::rust::emit(&compiled.graph).unwrap().len())
            })
        });
    }
    group.finish();
}

/// Deterministic values in [-1, 1).
fn values(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 % 2003) as f32 / 1001.5) - 1.0)
        .collect()
}

fn conv_params(c: usize, h: usize, w: usize, k: usize, groups: usize) -> conv::Conv2d {
    conv::Conv2d {
        batch: 1,
        c_in: c,
        h_in: h,
        w_in: w,
        c_out: c,
        h_out: h,
        w_out: w,
        k_h: k,
        k_w: k,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: 1,
        pad_top: k / 2,
        pad_left: k / 2,
        groups,
        activation: Activation::Relu,
    }
}

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels");
    // ResNet-8: 3×3, 16 channels, 32×32. KWS DS-CNN: 3×3 depthwise and 1×1, 64 channels, 25×5.
    let cases = [
        ("conv3x3_16ch_32x32", conv_params(16, 32, 32, 3, 1)),
        ("depthwise3x3_64ch_25x5", conv_params(64, 25, 5, 3, 64)),
        ("pointwise_64ch_25x5", conv_params(64, 25, 5, 1, 1)),
    ];
    for (name, p) in cases {
        let x = values(p.c_in * p.h_in * p.w_in);
        let w = values(p.c_out * p.c_in / p.groups * p.k_h * p.k_w);
        let b = values(p.c_out);
        let mut y = vec![0.0; p.c_out * p.h_out * p.w_out];
        group.bench_function(name, |bench| {
            bench.iter(|| conv::conv2d(black_box(p), &x, w.as_slice(), &b, &mut y))
        });
    }
    // AD autoencoder: a 640 → 128 dense layer.
    let p = gemm::Gemm {
        m: 1,
        k: 640,
        n: 128,
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
        bias: gemm::Bias::Row,
        activation: Activation::Relu,
    };
    let (a, w, bias) = (values(640), values(640 * 128), values(128));
    let mut y = vec![0.0; 128];
    group.bench_function("dense_640x128", |bench| {
        bench.iter(|| gemm::gemm(black_box(p), &a, w.as_slice(), &bias, &mut y))
    });
    group.finish();
}

criterion_group!(benches, compile_models, kernels);
criterion_main!(benches);
