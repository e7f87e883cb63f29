//! The C kernel library tested directly: each int8 C kernel is called on random shapes and
//! values (padding, strides, dilations, groups, sparse formats, both roundings) in one C
//! program, and its output bytes must equal the Rust kernel's on the same arguments, on this
//! machine and, when `mcu-count` is at hand (as in CI), on an emulated Cortex-M4, where the
//! kernels' DSP paths (SXTB16, SMLAD, SSAT) are the ones compiled. The models
//! of `c_backend.rs` cover the shapes real layers have; these cover the corners they do not.

use std::fmt::Write as _;
use std::process::Command;

use edgegen::backend::lower::sparse::{WeightFormat, encode};
use edgegen::kernels::{int8, nhwc, sparse_conv};

/// A small deterministic generator (xorshift64*), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.range(-128, 127) as i8).collect()
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// `static const T name[] = {...};` (C99 has no empty arrays: one element for none).
fn c_array<T: ToString>(out: &mut String, ty: &str, name: &str, values: &[T]) {
    let items: Vec<String> = values.iter().map(T::to_string).collect();
    let items = if items.is_empty() {
        "0".to_string()
    } else {
        items.join(", ")
    };
    let _ = writeln!(out, "static const {ty} {name}[] = {{{items}}};");
}

fn window_literal(p: &nhwc::Window) -> String {
    format!(
        "{{ .batch = {}, .h_in = {}, .w_in = {}, .c_in = {}, .h_out = {}, .w_out = {}, .c_out = {}, \
         .k_h = {}, .k_w = {}, .stride_h = {}, .stride_w = {}, .dilation_h = {}, .dilation_w = {}, \
         .pad_top = {}, .pad_left = {}, .groups = {} }}",
        p.batch,
        p.h_in,
        p.w_in,
        p.c_in,
        p.h_out,
        p.w_out,
        p.c_out,
        p.k_h,
        p.k_w,
        p.stride_h,
        p.stride_w,
        p.dilation_h,
        p.dilation_w,
        p.pad_top,
        p.pad_left,
        p.groups
    )
}

/// One call of a C kernel: the declarations, the call writing `y`, and the bytes the Rust
/// kernel wrote.
struct Case {
    name: String,
    body: String,
    y_len: usize,
    expected: Vec<i8>,
}

/// The geometries [`conv_case`] draws.
#[derive(Clone, Copy, PartialEq)]
enum Geometry {
    /// Small images, kernels up to 3 × 3, depthwise, grouped or plain.
    Any,
    /// A 1 × 1 kernel of one group, stride 1 and no padding, so that output pixel `i` reads
    /// input pixel `i`.
    Pointwise,
    /// Depthwise, on images up to 200 pixels wide and 24 high: the C depthwise kernel's bands
    /// of widened rows (several to an image, or too wide for its work space), its 3 × 3 paths
    /// of stride 1 and 2, and kernels up to 5 × 5 with any stride, padding at every side.
    Depthwise,
}

/// Random convolution geometry with requantization parameters.
fn conv_case(
    rng: &mut Rng,
    geometry: Geometry,
) -> (nhwc::Window, Vec<i32>, Vec<i32>, i32, i32, bool) {
    let (h, w) = (1 + rng.below(6), 1 + rng.below(6));
    let (k_h, k_w) = (1 + rng.below(3), 1 + rng.below(3));
    let (dilation_h, dilation_w) = (1 + rng.below(2), 1 + rng.below(2));
    let (stride_h, stride_w) = (1 + rng.below(2), 1 + rng.below(2));
    let (pad_top, pad_left) = (rng.below(3), rng.below(3));
    let (groups, cin_g, cout_g) = match rng.below(4) {
        0 => (1 + rng.below(6), 1, 1 + rng.below(2)),
        1 => (1 + rng.below(3), 1 + rng.below(3), 1 + rng.below(3)),
        2 => (1, 1 + rng.below(7), 1 + rng.below(7)),
        // Wider input pixels.
        _ => (1, 29 + rng.below(6), 1 + rng.below(3)),
    };
    // Input channels of every count up to 40: bitmask rows that end inside a byte, and runs
    // that cross rows or need fillers.
    let ((k_h, k_w), (stride_h, stride_w), (pad_top, pad_left), (groups, cin_g)) =
        if geometry == Geometry::Pointwise {
            ((1, 1), (1, 1), (0, 0), (1, 1 + rng.below(40)))
        } else if geometry == Geometry::Depthwise {
            let kernel = if rng.coin() {
                (3, 3)
            } else {
                (1 + rng.below(5), 1 + rng.below(5))
            };
            let stride = (1 + rng.below(3), 1 + rng.below(3));
            (
                kernel,
                if rng.coin() { (stride.0, 1) } else { stride },
                (rng.below(4), rng.below(4)),
                (1 + rng.below(6), 1),
            )
        } else {
            (
                (k_h, k_w),
                (stride_h, stride_w),
                (pad_top, pad_left),
                (groups, cin_g),
            )
        };
    // Depthwise: one time in eight with dilation, which the C kernel's bands do not take.
    let ((h, w), (dilation_h, dilation_w), cout_g) = if geometry == Geometry::Depthwise {
        let dilated = rng.below(8) == 0;
        let widest = if rng.below(4) == 0 { 200 } else { 60 };
        (
            (1 + rng.below(24), 1 + rng.below(widest)),
            if dilated { (dilation_h, 2) } else { (1, 1) },
            1,
        )
    } else {
        ((h, w), (dilation_h, dilation_w), cout_g)
    };
    let span_h = (k_h - 1) * dilation_h + 1;
    let span_w = (k_w - 1) * dilation_w + 1;
    let (h_in, w_in) = (h.max(span_h), w.max(span_w));
    // The bottom and right padding up to 3 (or none, as for SAME padding of stride 2).
    let (pad_bottom, pad_right) = if geometry == Geometry::Depthwise {
        (rng.below(4), rng.below(4))
    } else {
        (pad_top, pad_left)
    };
    let h_out = (h_in + pad_top + pad_bottom).saturating_sub(span_h) / stride_h + 1;
    let w_out = (w_in + pad_left + pad_right).saturating_sub(span_w) / stride_w + 1;
    let p = nhwc::Window {
        batch: 1,
        h_in,
        w_in,
        c_in: groups * cin_g,
        h_out,
        w_out,
        c_out: groups * cout_g,
        k_h,
        k_w,
        stride_h,
        stride_w,
        dilation_h,
        dilation_w,
        pad_top,
        pad_left,
        groups,
    };
    let multipliers = (0..p.c_out)
        .map(|_| rng.range(1 << 30, i32::MAX as i64) as i32)
        .collect();
    // Shifts below -1 only, half the time: the one-multiply requantization's range.
    let highest_shift = if rng.coin() { -2 } else { 1 };
    let shifts = (0..p.c_out)
        .map(|_| rng.range(-12, highest_shift) as i32)
        .collect();
    let (zx, zy) = (rng.range(-128, 127) as i32, rng.range(-128, 127) as i32);
    (p, multipliers, shifts, zx, zy, rng.coin())
}

/// `mult` and `shift`, and `const eg_nhwc_ConvQuant q` of them: `q` in C.
fn quant_literal(out: &mut String, q: &nhwc::ConvQuant) {
    c_array(out, "int32_t", "mult", q.multipliers);
    c_array(out, "int32_t", "shift", q.shifts);
    let _ = writeln!(
        out,
        "const eg_nhwc_ConvQuant q = {{ .input_zero_point = {}, .multipliers = mult, \
         .multipliers_len = {}, .shifts = shift, .shifts_len = {}, .output_zero_point = {}, \
         .output_min = {}, .output_max = {}, .single_rounding = {}, .one_multiply = {}, \
         .rounding_base = {}, .negative_rounding = {} }};",
        q.input_zero_point,
        q.multipliers.len(),
        q.shifts.len(),
        q.output_zero_point,
        q.output_min,
        q.output_max,
        u8::from(q.single_rounding),
        u8::from(q.one_multiply),
        q.rounding_base,
        q.negative_rounding
    );
}

fn conv_cases(rng: &mut Rng, index: usize, geometry: Geometry) -> Vec<Case> {
    let (p, multipliers, shifts, zx, zy, single_rounding) = conv_case(rng, geometry);
    // The one-multiply requantization where it applies, half the time.
    let rounded = if rng.coin() {
        edgegen::quant::requantize_roundings(&multipliers, &shifts, zy, single_rounding)
    } else {
        None
    };
    let (rounding_base, negative_rounding) = rounded.unwrap_or_default();
    let q = nhwc::ConvQuant {
        input_zero_point: zx,
        multipliers: &multipliers,
        shifts: &shifts,
        output_zero_point: zy,
        output_min: -128 + rng.below(50) as i32,
        output_max: 127 - rng.below(50) as i32,
        single_rounding,
        one_multiply: rounded.is_some(),
        rounding_base,
        negative_rounding,
    };
    let per_channel = p.k_h * p.k_w * p.c_in / p.groups;
    let x = rng.i8s(p.h_in * p.w_in * p.c_in);
    let density = rng.below(101);
    let w: Vec<i8> = rng
        .i8s(p.c_out * per_channel)
        .into_iter()
        .map(|v| if rng.below(100) < density { v } else { 0 })
        .collect();
    let bias: Vec<i32> = if rng.coin() {
        (0..p.c_out)
            .map(|_| rng.range(-5000, 5000) as i32)
            .collect()
    } else {
        Vec::new()
    };
    let y_len = p.h_out * p.w_out * p.c_out;
    let mut common = String::new();
    c_array(&mut common, "int8_t", "x", &x);
    if !bias.is_empty() {
        c_array(&mut common, "int32_t", "bias", &bias);
    }
    let _ = writeln!(common, "const eg_nhwc_Window p = {};", window_literal(&p));
    quant_literal(&mut common, &q);
    // The bias with the input zero point folded in, and the pixel a tap outside the image
    // reads, for the kernels that take them.
    let folded: Vec<i32> = (0..p.c_out)
        .map(|oc| {
            let sum: i32 = w[oc * per_channel..][..per_channel]
                .iter()
                .map(|&v| v as i32)
                .sum();
            bias.get(oc).copied().unwrap_or(0) - zx * sum
        })
        .collect();
    let zero_pixel = vec![zx as i8; p.c_in];
    c_array(&mut common, "int32_t", "folded", &folded);
    c_array(&mut common, "int8_t", "zero_pixel", &zero_pixel);
    // Each case uses some of these.
    common.push_str("(void)folded, (void)zero_pixel;\n");
    if !bias.is_empty() {
        common.push_str("(void)bias;\n");
    }
    let bias_arg = if bias.is_empty() {
        "NULL, 0".to_string()
    } else {
        format!("bias, {}", bias.len())
    };
    let mut cases = Vec::new();

    let mut expected = vec![0i8; y_len];
    nhwc::conv_i8(p, q, &x, &w, &bias, &mut expected);
    let mut body = common.clone();
    c_array(&mut body, "int8_t", "w", &w);
    let _ = writeln!(
        body,
        "eg_nhwc_conv_i8(p, q, x, {}, w, {}, {bias_arg}, y, {y_len});",
        x.len(),
        w.len()
    );
    cases.push(Case {
        name: format!("conv_i8 #{index} {p:?}"),
        body,
        y_len,
        expected: expected.clone(),
    });

    for format in [WeightFormat::Runs, WeightFormat::Bitmask] {
        let encoded = encode(format, p.c_out, per_channel, |i| w[i] == 0);
        let values: Vec<i8> = encoded.positions.iter().map(|&i| w[i]).collect();
        let mut sparse = vec![0i8; y_len];
        let kernel = if format == WeightFormat::Runs {
            sparse_conv::conv_i8_runs(
                p,
                q,
                &x,
                &values,
                &encoded.index,
                &bias,
                &mut sparse,
            );
            "eg_sparse_conv_conv_i8_runs"
        } else {
            sparse_conv::conv_i8_bitmask(
                p,
                q,
                &x,
                &values,
                &encoded.index,
                &bias,
                &mut sparse,
            );
            "eg_sparse_conv_conv_i8_bitmask"
        };
        assert_eq!(
            sparse, expected,
            "the Rust sparse kernel differs from the dense one"
        );
        let mut body = common.clone();
        c_array(&mut body, "int8_t", "values", &values);
        c_array(&mut body, "uint8_t", "index", &encoded.index);
        let _ = writeln!(
            body,
            "{kernel}(p, q, x, {}, values, {}, index, {}, {bias_arg}, y, {y_len});",
            x.len(),
            values.len(),
            encoded.index.len()
        );
        cases.push(Case {
            name: format!("{kernel} #{index} {p:?}"),
            body,
            y_len,
            expected: sparse,
        });

        // A pointwise layer whose output pixel i reads input pixel i, through the sparse
        // pointwise kernel with the input zero point folded into the bias.
        let identity = p.k_h == 1
            && p.k_w == 1
            && p.stride_h == 1
            && p.stride_w == 1
            && p.pad_top == 0
            && p.pad_left == 0
            && p.groups == 1
            && (p.h_in, p.w_in) == (p.h_out, p.w_out);
        if identity {
            let mut pointwise = vec![0i8; y_len];
            let kernel = if format == WeightFormat::Runs {
                sparse_conv::pointwise_i8_runs(
                    p,
                    q,
                    &x,
                    &values,
                    &encoded.index,
                    &folded,
                    &mut pointwise,
                );
                "eg_sparse_conv_pointwise_i8_runs"
            } else {
                sparse_conv::pointwise_i8_bitmask(
                    p,
                    q,
                    &x,
                    &values,
                    &encoded.index,
                    &folded,
                    &mut pointwise,
                );
                "eg_sparse_conv_pointwise_i8_bitmask"
            };
            assert_eq!(
                pointwise, expected,
                "the Rust sparse pointwise kernel differs from the dense one"
            );
            let mut body = common.clone();
            c_array(&mut body, "int8_t", "values", &values);
            c_array(&mut body, "uint8_t", "index", &encoded.index);
            let _ = writeln!(
                body,
                "{kernel}(p, q, x, {}, values, {}, index, {}, folded, {}, y, {y_len});",
                x.len(),
                values.len(),
                encoded.index.len(),
                folded.len()
            );
            cases.push(Case {
                name: format!("{kernel} #{index} {p:?}"),
                body,
                y_len,
                expected: pointwise,
            });
        }
    }

    // A depthwise layer (one output per channel) through the depthwise kernel, its weights
    // laid out [k_h, k_w, c].
    if p.groups == p.c_in && p.c_out == p.c_in {
        let taps = p.k_h * p.k_w;
        let hwc: Vec<i8> = (0..w.len())
            .map(|i| w[(i % p.c_in) * taps + i / p.c_in])
            .collect();
        let mut depthwise = vec![0i8; y_len];
        nhwc::depthwise_i8(p, q, &x, &hwc, &folded, &zero_pixel, &mut depthwise);
        assert_eq!(
            depthwise, expected,
            "the Rust depthwise kernel differs from conv_i8"
        );
        let mut body = common.clone();
        c_array(&mut body, "int8_t", "w", &hwc);
        let _ = writeln!(
            body,
            "eg_nhwc_depthwise_i8(p, q, x, {}, w, {}, folded, {}, zero_pixel, {}, y, {y_len});",
            x.len(),
            hwc.len(),
            folded.len(),
            zero_pixel.len()
        );
        cases.push(Case {
            name: format!("depthwise_i8 #{index} {p:?}"),
            body,
            y_len,
            expected: depthwise,
        });
    }

    // A one-group layer through the kernel with the input zero point folded into the bias,
    // with work space for the two input patches widened to 16 bits (which a core with the DSP
    // extension uses when c_in is a multiple of 4), copied and then widened but for the last
    // per_channel % 4 values (other widths, more than one tap), as they are (more than one
    // tap), and without.
    if p.groups == 1 {
        let per_channel = p.k_h * p.k_w * p.c_in;
        let copied_widened =
            (2 * per_channel).next_multiple_of(4) + 4 * (per_channel - per_channel % 4);
        for patches_len in [4 * per_channel, copied_widened, 2 * per_channel, 0] {
            let mut folded_y = vec![0i8; y_len];
            let mut patches = vec![0i8; patches_len];
            nhwc::conv_i8_folded(
                p,
                q,
                &x,
                &w,
                &folded,
                &zero_pixel,
                &mut patches,
                &mut folded_y,
            );
            assert_eq!(
                folded_y, expected,
                "the Rust conv_i8_folded kernel differs from conv_i8 ({patches_len}-byte patches)"
            );
            let mut body = common.clone();
            c_array(&mut body, "int8_t", "w", &w);
            let patches = if patches_len == 0 {
                "NULL, 0".to_string()
            } else {
                let _ = writeln!(body, "uint32_t patches[{}];", patches_len.div_ceil(4));
                format!("(int8_t *)patches, {patches_len}")
            };
            let _ = writeln!(
                body,
                "eg_nhwc_conv_i8_folded(p, q, x, {}, w, {}, folded, {}, zero_pixel, {}, {patches}, \
                 y, {y_len});",
                x.len(),
                w.len(),
                folded.len(),
                zero_pixel.len()
            );
            cases.push(Case {
                name: format!("conv_i8_folded #{index} {p:?} {patches_len}-byte patches"),
                body,
                y_len,
                expected: folded_y,
            });
        }
    }

    // The same layer with weights shared among a codebook of 3 to 20 values.
    let count = 3 + rng.below(18);
    let codebook = rng.i8s(count);
    let choices: Vec<usize> = (0..w.len()).map(|_| rng.below(count)).collect();
    let indices: Vec<u8> = if count <= 16 {
        choices
            .chunks(2)
            .map(|pair| (pair[0] | pair.get(1).map_or(0, |&h| h << 4)) as u8)
            .collect()
    } else {
        choices.iter().map(|&c| c as u8).collect()
    };
    let mut shared = vec![0i8; y_len];
    nhwc::conv_i8_codebook(p, q, &x, &codebook, &indices, &bias, &mut shared);
    let mut body = common;
    c_array(&mut body, "int8_t", "codebook", &codebook);
    c_array(&mut body, "uint8_t", "indices", &indices);
    let _ = writeln!(
        body,
        "eg_nhwc_conv_i8_codebook(p, q, x, {}, codebook, {count}, indices, {}, {bias_arg}, y, {y_len});",
        x.len(),
        indices.len()
    );
    cases.push(Case {
        name: format!("conv_i8_codebook #{index} {p:?}"),
        body,
        y_len,
        expected: shared,
    });

    // Pooling over the same window (input channels only).
    let pool = nhwc::Window {
        c_out: p.c_in,
        groups: p.c_in,
        ..p
    };
    let max = rng.coin();
    let (lo, hi) = (-128 + rng.below(20) as i32, 127 - rng.below(20) as i32);
    let pool_len = p.h_out * p.w_out * p.c_in;
    let mut pooled = vec![0i8; pool_len];
    nhwc::pool_i8(pool, max, lo, hi, &x, &mut pooled);
    let mut body = String::new();
    c_array(&mut body, "int8_t", "x", &x);
    let _ = writeln!(
        body,
        "const eg_nhwc_Window p = {};\neg_nhwc_pool_i8(p, {}, {lo}, {hi}, x, {}, y, {pool_len});",
        window_literal(&pool),
        u8::from(max),
        x.len()
    );
    cases.push(Case {
        name: format!("pool_i8 #{index} max {max} {pool:?}"),
        body,
        y_len: pool_len,
        expected: pooled,
    });
    cases
}

fn dense_cases(rng: &mut Rng, index: usize) -> Vec<Case> {
    let (m, k, n) = (1 + rng.below(3), 1 + rng.below(40), 1 + rng.below(12));
    let p = int8::FullyConnectedI8 {
        m,
        k,
        n,
        input_scale: 0.01 + rng.below(1000) as f32 * 1e-4,
        output_scale: 0.05 + rng.below(1000) as f32 * 1e-3,
        input_zero_point: rng.range(-128, 127) as i32,
        weight_zero_point: if rng.coin() {
            0
        } else {
            rng.range(-5, 5) as i32
        },
        output_zero_point: rng.range(-128, 127) as i32,
        output_min: -128,
        output_max: 127 - rng.below(100) as i32,
    };
    let a = rng.i8s(m * k);
    let b = rng.i8s(n * k);
    let bias: Vec<i32> = (0..n).map(|_| rng.range(-20000, 20000) as i32).collect();
    let scales: Vec<f32> = (0..if rng.coin() { 1 } else { n })
        .map(|_| 0.001 + rng.below(1000) as f32 * 1e-5)
        .collect();
    let mut expected = vec![0i8; m * n];
    int8::fully_connected_i8(p, &a, &b, &bias, &scales, &mut expected);
    let mut body = String::new();
    c_array(&mut body, "int8_t", "a", &a);
    c_array(&mut body, "int8_t", "b", &b);
    c_array(&mut body, "int32_t", "bias", &bias);
    let floats: Vec<String> = scales.iter().map(|s| format!("{s:e}f")).collect();
    c_array(&mut body, "float", "scales", &floats);
    let _ = writeln!(
        body,
        "const eg_int8_FullyConnectedI8 p = {{ .m = {m}, .k = {k}, .n = {n}, .input_scale = {:e}f, \
         .output_scale = {:e}f, .input_zero_point = {}, .weight_zero_point = {}, \
         .output_zero_point = {}, .output_min = {}, .output_max = {} }};\n\
         eg_int8_fully_connected_i8(p, a, {}, b, {}, bias, {n}, scales, {}, y, {});",
        p.input_scale,
        p.output_scale,
        p.input_zero_point,
        p.weight_zero_point,
        p.output_zero_point,
        p.output_min,
        p.output_max,
        a.len(),
        b.len(),
        scales.len(),
        m * n
    );
    let mut cases = vec![Case {
        name: format!("fully_connected_i8 #{index} {p:?}"),
        body,
        y_len: m * n,
        expected,
    }];

    // The folded layer (weights of zero point 0, the input zero point in the bias, integer
    // requantization): up to 70 input values, so that the four-row blocks of the DSP path end
    // with every count of leftover values, and up to 13 outputs, so that they end with every
    // count of leftover rows.
    let (k, n) = (1 + rng.below(70), 1 + rng.below(13));
    let p = int8::FullyConnectedI8 {
        k,
        n,
        weight_zero_point: 0,
        ..p
    };
    let channels = if rng.coin() { 1 } else { n };
    let multipliers: Vec<i32> = (0..channels)
        .map(|_| rng.range(1 << 30, i32::MAX as i64) as i32)
        .collect();
    let highest_shift = if rng.coin() { -2 } else { 1 };
    let shifts: Vec<i32> = (0..channels)
        .map(|_| rng.range(-14, highest_shift) as i32)
        .collect();
    let single_rounding = rng.coin();
    let rounded = if rng.coin() {
        edgegen::quant::requantize_roundings(
            &multipliers,
            &shifts,
            p.output_zero_point,
            single_rounding,
        )
    } else {
        None
    };
    let (rounding_base, negative_rounding) = rounded.unwrap_or_default();
    let q = nhwc::ConvQuant {
        input_zero_point: p.input_zero_point,
        multipliers: &multipliers,
        shifts: &shifts,
        output_zero_point: p.output_zero_point,
        output_min: p.output_min,
        output_max: p.output_max,
        single_rounding,
        one_multiply: rounded.is_some(),
        rounding_base,
        negative_rounding,
    };
    let a = rng.i8s(m * k);
    let b = rng.i8s(n * k);
    let bias: Vec<i32> = (0..n).map(|_| rng.range(-20000, 20000) as i32).collect();
    let mut expected = vec![0i8; m * n];
    int8::fully_connected_folded(p, q, &a, &b, &bias, &mut expected);
    let mut body = String::new();
    c_array(&mut body, "int8_t", "a", &a);
    c_array(&mut body, "int8_t", "b", &b);
    c_array(&mut body, "int32_t", "bias", &bias);
    quant_literal(&mut body, &q);
    let _ = writeln!(
        body,
        "const eg_int8_FullyConnectedI8 p = {{ .m = {m}, .k = {k}, .n = {n} }};\n\
         eg_int8_fully_connected_folded(p, q, a, {}, b, {}, bias, {n}, y, {});",
        a.len(),
        b.len(),
        m * n
    );
    cases.push(Case {
        name: format!("fully_connected_folded #{index} {p:?} {q:?}"),
        body,
        y_len: m * n,
        expected,
    });

    // The input of the larger scale (a multiplier of one half, no shift) half the time, and
    // shifts inside and outside the one-multiply requantization's range.
    let (b_multiplier, b_shift) = if rng.coin() {
        (1 << 30, 0)
    } else {
        (
            rng.range(1 << 30, i32::MAX as i64) as i32,
            rng.range(-24, 0) as i32,
        )
    };
    let add = int8::AddI8 {
        subtract: rng.coin(),
        left_shift: 20,
        a_offset: rng.range(-127, 128) as i32,
        a_multiplier: rng.range(1 << 30, i32::MAX as i64) as i32,
        a_shift: rng.range(-24, 0) as i32,
        b_offset: rng.range(-127, 128) as i32,
        b_multiplier,
        b_shift,
        output_multiplier: rng.range(1 << 30, i32::MAX as i64) as i32,
        output_shift: rng.range(-24, -1) as i32,
        output_zero_point: rng.range(-128, 127) as i32,
        output_min: -128,
        output_max: 127,
    };
    let len = 1 + rng.below(50);
    let (x, z) = (rng.i8s(len), rng.i8s(len));
    let mut expected = vec![0i8; len];
    int8::add_i8(add, &x, &z, &mut expected);
    let mut body = String::new();
    c_array(&mut body, "int8_t", "a", &x);
    c_array(&mut body, "int8_t", "b", &z);
    let _ = writeln!(
        body,
        "const eg_int8_AddI8 p = {{ .subtract = {}, .left_shift = {}, .a_offset = {}, \
         .a_multiplier = {}, .a_shift = {}, .b_offset = {}, .b_multiplier = {}, .b_shift = {}, \
         .output_multiplier = {}, .output_shift = {}, .output_zero_point = {}, \
         .output_min = -128, .output_max = 127 }};\n\
         eg_int8_add_i8(p, a, {len}, b, {len}, y, {len});",
        u8::from(add.subtract),
        add.left_shift,
        add.a_offset,
        add.a_multiplier,
        add.a_shift,
        add.b_offset,
        add.b_multiplier,
        add.b_shift,
        add.output_multiplier,
        add.output_shift,
        add.output_zero_point
    );
    cases.push(Case {
        name: format!("add_i8 #{index} {add:?}"),
        body,
        y_len: len,
        expected,
    });

    let (rows, row_len) = (1 + rng.below(3), 1 + rng.below(20));
    let softmax = int8::SoftmaxI8 {
        rows,
        len: row_len,
        input_multiplier: rng.range(1 << 30, i32::MAX as i64) as i32,
        input_left_shift: rng.range(18, 26) as i32,
        diff_min: -(rng.range(1, 255) as i32),
        rescale: rng.coin(),
        output_multiplier: rng.range(1 << 30, i32::MAX as i64) as i32,
        output_shift: rng.range(-2, 1) as i32,
        output_zero_point: rng.range(-128, 0) as i32,
    };
    let x = rng.i8s(rows * row_len);
    let mut expected = vec![0i8; rows * row_len];
    int8::softmax_i8(softmax, &x, &mut expected);
    let mut body = String::new();
    c_array(&mut body, "int8_t", "x", &x);
    let _ = writeln!(
        body,
        "const eg_int8_SoftmaxI8 p = {{ .rows = {rows}, .len = {row_len}, .input_multiplier = {}, \
         .input_left_shift = {}, .diff_min = {}, .rescale = {}, .output_multiplier = {}, \
         .output_shift = {}, .output_zero_point = {} }};\n\
         eg_int8_softmax_i8(p, x, {n}, y, {n});",
        softmax.input_multiplier,
        softmax.input_left_shift,
        softmax.diff_min,
        u8::from(softmax.rescale),
        softmax.output_multiplier,
        softmax.output_shift,
        softmax.output_zero_point,
        n = rows * row_len
    );
    cases.push(Case {
        name: format!("softmax_i8 #{index} {softmax:?}"),
        body,
        y_len: rows * row_len,
        expected,
    });
    cases
}

#[test]
fn int8_c_kernels_give_the_rust_kernels_bytes() {
    let mut rng = Rng(0x5eed_c0de_1234_5678);
    let mut cases = Vec::new();
    for i in 0..40 {
        cases.extend(conv_cases(&mut rng, i, Geometry::Any));
        cases.extend(dense_cases(&mut rng, i));
    }
    for i in 40..56 {
        cases.extend(conv_cases(&mut rng, i, Geometry::Pointwise));
    }
    for i in 56..88 {
        cases.extend(conv_cases(&mut rng, i, Geometry::Depthwise));
    }
    // One program for both machines: on this one it prints each case's bytes on a line; built
    // with EG_ON_MCU for the emulated Cortex-M4 (where the DSP paths are compiled), bench_run
    // writes all the bytes, case after case, to its output.
    let total: usize = cases.iter().map(|c| c.y_len).sum();
    let mut program = edgegen::backend::c::kernel_library(&["nhwc", "int8", "sparse_conv"]);
    let _ = writeln!(
        program,
        "\n#ifdef EG_ON_MCU\nstatic uint8_t eg_out[{}];\nstatic size_t eg_out_len;\n\
         #define EG_EMIT(v) (eg_out[eg_out_len++] = (uint8_t)(v))\n#define EG_END() ((void)0)\n\
         #else\n#include <stdio.h>\n#define EG_EMIT(v) printf(\"%d \", (v))\n\
         #define EG_END() printf(\"\\n\")\n#endif",
        total.max(1)
    );
    for (i, case) in cases.iter().enumerate() {
        let _ = writeln!(
            program,
            "\nstatic void case_{i}(void) {{\n    static int8_t y[{}];\n    size_t i;",
            case.y_len.max(1)
        );
        for line in case.body.lines() {
            let _ = writeln!(program, "    {line}");
        }
        let _ = writeln!(
            program,
            "    for (i = 0; i < {}; i++) EG_EMIT(y[i]);\n    EG_END();\n}}",
            case.y_len
        );
    }
    program.push_str("\nstatic void run_cases(void) {\n");
    for i in 0..cases.len() {
        let _ = writeln!(program, "    case_{i}();");
    }
    program.push_str(
        "}\n\n#ifdef EG_ON_MCU\nvoid bench_run(const uint8_t *in, uint8_t *out);\n\
         void bench_run(const uint8_t *in, uint8_t *out) {\n    (void)in;\n    eg_out_len = 0;\n    \
         run_cases();\n    memcpy(out, eg_out, eg_out_len);\n}\n#else\nint main(void) {\n    \
         run_cases();\n    return 0;\n}\n#endif\n",
    );

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_kernels");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kernels.c"), &program).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(cc)
        .args([
            "-std=c99",
            "-pedantic",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-O2",
        ])
        .arg(dir.join("kernels.c"))
        .arg("-o")
        .arg(dir.join("kernels"))
        .output()
        .expect("run the C compiler");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let ran = Command::new(dir.join("kernels")).output().unwrap();
    assert!(ran.status.success());
    let stdout = String::from_utf8(ran.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len());
    for (case, line) in cases.iter().zip(lines) {
        let got: Vec<i8> = line
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(got, case.expected, "{}", case.name);
    }

    // The same program on the emulated Cortex-M4, when mcu-count is here (CI has it).
    let Some(mcu_count) = mcu_count() else {
        eprintln!(
            "mcu-count not found (set MCU_COUNT): the Cortex-M4 build was not checked"
        );
        return;
    };
    std::fs::write(dir.join("in.bin"), [0u8; 4]).unwrap();
    let m4 = dir.join("m4.bin");
    let ran = Command::new(&mcu_count)
        .arg("--entry")
        .arg("bench_run")
        .arg("--input-file")
        .arg(dir.join("in.bin"))
        .arg("--output-bytes")
        .arg(total.to_string())
        .arg("--output-file")
        .arg(&m4)
        .arg("--cflags=-DEG_ON_MCU")
        .arg(dir.join("kernels.c"))
        .output()
        .expect("run mcu-count");
    assert!(
        ran.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    let bytes = std::fs::read(&m4).unwrap();
    assert_eq!(bytes.len(), total);
    let mut at = 0;
    for case in &cases {
        let got: Vec<i8> = bytes[at..][..case.y_len].iter().map(|&b| b as i8).collect();
        assert_eq!(got, case.expected, "on the Cortex-M4: {}", case.name);
        at += case.y_len;
    }
}

/// mcu-count (`../shared/tools/mcu-count`, as `scripts/mcu-bench` finds it): `MCU_COUNT`, or
/// beside the repository, or at its usual place on the development machine.
fn mcu_count() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        std::env::var_os("MCU_COUNT").map(Into::into),
        Some(root.join("shared/tools/mcu-count/mcu-count")),
        Some("/work/shared/tools/mcu-count/mcu-count".into()),
    ]
    .into_iter()
    .flatten()
    .find(|path: &std::path::PathBuf| path.is_file())
}
