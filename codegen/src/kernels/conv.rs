//! Direct convolution and transposed convolution, NCHW (1-D as height 1; transposed
//! convolution also 3-D, the 1-D and 2-D ones being 3-D with leading axes of size 1).
//!
//! The loop order is weight-stationary: for each output channel, each input channel and each
//! kernel tap, one weight multiplies a whole run of input row into a run of output row. The
//! innermost loop is then a multiply-add over contiguous output elements (when the stride is 1),
//! which the compiler vectorises, and padding is handled by computing, once per tap, the range
//! of output columns whose input column is inside the image instead of testing every element.
//!
//! [`conv2d`] reads its weights through [`Weights`], so the same loops run on weights stored as
//! int8 or float16 (`--quantize int8-weights`, `fp16`), decoding each one where it is read.

use super::activation::Activation;
use super::weights::Weights;

/// The shape of one convolution. Weights are `[c_out, c_in / groups, k_h, k_w]` for
/// [`conv2d`] and `[c_in, c_out / groups, k_h, k_w]` for [`conv_transpose2d`]; `h_in`/`w_in` are
/// the input's size and `h_out`/`w_out` the output's for both.
#[derive(Clone, Copy, Debug)]
pub struct Conv2d {
    /// Images in the batch; each is convolved independently.
    pub batch: usize,
    pub c_in: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c_out: usize,
    pub h_out: usize,
    pub w_out: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dilation_h: usize,
    pub dilation_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub groups: usize,
    pub activation: Activation,
}

impl Conv2d {
    /// The same convolution as a 3-D one of depth 1.
    #[inline(always)]
    pub fn to_3d(self) -> Conv3d {
        Conv3d {
            batch: self.batch,
            c_in: self.c_in,
            c_out: self.c_out,
            shape_in: [1, self.h_in, self.w_in],
            shape_out: [1, self.h_out, self.w_out],
            kernel: [1, self.k_h, self.k_w],
            strides: [1, self.stride_h, self.stride_w],
            dilations: [1, self.dilation_h, self.dilation_w],
            pads_begin: [0, self.pad_top, self.pad_left],
            groups: self.groups,
            activation: self.activation,
        }
    }
}

/// A convolution over the spatial axes `[depth, height, width]` (one with fewer axes has the
/// last ones, the others having size 1, kernel 1, stride 1 and no padding). Weights are as for
/// [`Conv2d`] with the kernel's three axes.
#[derive(Clone, Copy, Debug)]
pub struct Conv3d {
    pub batch: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub shape_in: [usize; 3],
    pub shape_out: [usize; 3],
    pub kernel: [usize; 3],
    pub strides: [usize; 3],
    pub dilations: [usize; 3],
    pub pads_begin: [usize; 3],
    pub groups: usize,
    pub activation: Activation,
}

/// The range of outputs `o` along one axis for which `o * stride + tap - pad` is a valid input
/// index in `0..len_in` (`tap` is the kernel offset times the dilation).
#[inline(always)]
fn valid_range(
    len_out: usize,
    len_in: usize,
    stride: usize,
    tap: usize,
    pad: usize,
) -> (usize, usize) {
    // First o with o * stride + tap >= pad.
    let lo = if pad > tap {
        (pad - tap).div_ceil(stride)
    } else {
        0
    };
    // First o with o * stride + tap >= pad + len_in.
    let hi = if pad + len_in > tap {
        (pad + len_in - tap).div_ceil(stride)
    } else {
        0
    };
    (lo.min(len_out), hi.min(len_out))
}

/// `y = activation(conv(x, w) + bias)`; `bias` is empty or has `c_out` values.
#[inline(always)]
pub fn conv2d(p: Conv2d, x: &[f32], w: impl Weights, bias: &[f32], y: &mut [f32]) {
    let (image_in, image_out) = (p.c_in * p.h_in * p.w_in, p.c_out * p.h_out * p.w_out);
    for n in 0..p.batch {
        let x = &x[n * image_in..(n + 1) * image_in];
        conv2d_image(p, x, w, bias, &mut y[n * image_out..(n + 1) * image_out]);
    }
}

/// A 1×1 convolution with stride 1 and no padding is a matrix product: each output plane is a
/// weighted sum of whole input planes. Summing four input planes per pass over the output
/// quarters the loads and stores of the output and keeps the inner loop vectorisable.
#[inline(always)]
fn pointwise_image(p: Conv2d, x: &[f32], w: impl Weights, bias: &[f32], y: &mut [f32]) {
    let plane = p.h_in * p.w_in;
    let (cin_g, cout_g) = (p.c_in / p.groups, p.c_out / p.groups);
    for oc in 0..p.c_out {
        let group = oc / cout_g;
        let out = &mut y[oc * plane..(oc + 1) * plane];
        out.fill(if bias.is_empty() { 0.0 } else { bias[oc] });
        let weight = |icg: usize| w.at(oc * cin_g + icg, oc);
        let first = group * cin_g;
        let mut icg = 0;
        while icg + 4 <= cin_g {
            let ic = first + icg;
            let (w0, w1, w2, w3) = (
                weight(icg),
                weight(icg + 1),
                weight(icg + 2),
                weight(icg + 3),
            );
            let x0 = &x[ic * plane..(ic + 1) * plane];
            let x1 = &x[(ic + 1) * plane..(ic + 2) * plane];
            let x2 = &x[(ic + 2) * plane..(ic + 3) * plane];
            let x3 = &x[(ic + 3) * plane..(ic + 4) * plane];
            for i in 0..plane {
                out[i] += w0 * x0[i] + w1 * x1[i] + w2 * x2[i] + w3 * x3[i];
            }
            icg += 4;
        }
        while icg < cin_g {
            let ic = first + icg;
            let wv = weight(icg);
            for (o, &v) in out.iter_mut().zip(&x[ic * plane..(ic + 1) * plane]) {
                *o += wv * v;
            }
            icg += 1;
        }
        p.activation.apply_all(out);
    }
}

#[inline(always)]
fn conv2d_image(p: Conv2d, x: &[f32], w: impl Weights, bias: &[f32], y: &mut [f32]) {
    let pointwise = p.k_h == 1
        && p.k_w == 1
        && p.stride_h == 1
        && p.stride_w == 1
        && p.pad_top == 0
        && p.pad_left == 0
        && p.h_in == p.h_out
        && p.w_in == p.w_out;
    if pointwise {
        pointwise_image(p, x, w, bias, y);
        return;
    }
    let (plane_in, plane_out) = (p.h_in * p.w_in, p.h_out * p.w_out);
    let (cin_g, cout_g) = (p.c_in / p.groups, p.c_out / p.groups);
    for oc in 0..p.c_out {
        let group = oc / cout_g;
        let out = &mut y[oc * plane_out..(oc + 1) * plane_out];
        out.fill(if bias.is_empty() { 0.0 } else { bias[oc] });
        for icg in 0..cin_g {
            let ic = group * cin_g + icg;
            let input = &x[ic * plane_in..(ic + 1) * plane_in];
            let first_tap = (oc * cin_g + icg) * p.k_h * p.k_w;
            for ky in 0..p.k_h {
                let (oy_lo, oy_hi) =
                    valid_range(p.h_out, p.h_in, p.stride_h, ky * p.dilation_h, p.pad_top);
                for kx in 0..p.k_w {
                    let weight = w.at(first_tap + ky * p.k_w + kx, oc);
                    let tap_x = kx * p.dilation_w;
                    let (ox_lo, ox_hi) =
                        valid_range(p.w_out, p.w_in, p.stride_w, tap_x, p.pad_left);
                    if ox_lo >= ox_hi {
                        continue;
                    }
                    for oy in oy_lo..oy_hi {
                        let iy = oy * p.stride_h + ky * p.dilation_h - p.pad_top;
                        let row_in = &input[iy * p.w_in..(iy + 1) * p.w_in];
                        let row_out = &mut out[oy * p.w_out..(oy + 1) * p.w_out];
                        let first_ix = ox_lo * p.stride_w + tap_x - p.pad_left;
                        if p.stride_w == 1 {
                            let n = ox_hi - ox_lo;
                            for (o, &i) in row_out[ox_lo..ox_hi]
                                .iter_mut()
                                .zip(&row_in[first_ix..first_ix + n])
                            {
                                *o += weight * i;
                            }
                        } else {
                            for (k, o) in row_out[ox_lo..ox_hi].iter_mut().enumerate() {
                                *o += weight * row_in[first_ix + k * p.stride_w];
                            }
                        }
                    }
                }
            }
        }
        p.activation.apply_all(out);
    }
}

/// `y = activation(conv_transpose(x, w) + bias)`: every input element scatters `x * w` into
/// the output at `input * stride + tap - pad`.
#[inline(always)]
pub fn conv_transpose2d(p: Conv2d, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    conv_transpose3d(p.to_3d(), x, w, bias, y);
}

/// [`conv_transpose2d`] with a depth axis.
#[inline(always)]
pub fn conv_transpose3d(p: Conv3d, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let volume = |shape: [usize; 3]| shape[0] * shape[1] * shape[2];
    let (image_in, image_out) =
        (p.c_in * volume(p.shape_in), p.c_out * volume(p.shape_out));
    for n in 0..p.batch {
        let x = &x[n * image_in..(n + 1) * image_in];
        conv_transpose3d_image(p, x, w, bias, &mut y[n * image_out..(n + 1) * image_out]);
    }
}

#[inline(always)]
fn conv_transpose3d_image(p: Conv3d, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let [d_in, h_in, w_in] = p.shape_in;
    let [d_out, h_out, w_out] = p.shape_out;
    let [k_d, k_h, k_w] = p.kernel;
    let [stride_d, stride_h, stride_w] = p.strides;
    let [dilation_d, dilation_h, dilation_w] = p.dilations;
    let [pad_front, pad_top, pad_left] = p.pads_begin;
    let (plane_in, plane_out) = (d_in * h_in * w_in, d_out * h_out * w_out);
    let (cin_g, cout_g) = (p.c_in / p.groups, p.c_out / p.groups);
    for oc in 0..p.c_out {
        y[oc * plane_out..(oc + 1) * plane_out].fill(if bias.is_empty() {
            0.0
        } else {
            bias[oc]
        });
    }
    for ic in 0..p.c_in {
        let group = ic / cin_g;
        let input = &x[ic * plane_in..(ic + 1) * plane_in];
        for ocg in 0..cout_g {
            let oc = group * cout_g + ocg;
            let out = &mut y[oc * plane_out..(oc + 1) * plane_out];
            let taps = &w[(ic * cout_g + ocg) * k_d * k_h * k_w..][..k_d * k_h * k_w];
            for kz in 0..k_d {
                // Input planes whose output plane iz * stride + kz * dilation - pad is inside.
                let (iz_lo, iz_hi) =
                    valid_range(d_in, d_out, stride_d, kz * dilation_d, pad_front);
                for ky in 0..k_h {
                    // Input rows whose output row iy * stride + ky * dilation - pad is inside
                    // the output.
                    let (iy_lo, iy_hi) =
                        valid_range(h_in, h_out, stride_h, ky * dilation_h, pad_top);
                    for kx in 0..k_w {
                        let weight = taps[(kz * k_h + ky) * k_w + kx];
                        let tap_x = kx * dilation_w;
                        let (ix_lo, ix_hi) =
                            valid_range(w_in, w_out, stride_w, tap_x, pad_left);
                        for iz in iz_lo..iz_hi {
                            let oz = iz * stride_d + kz * dilation_d - pad_front;
                            for iy in iy_lo..iy_hi {
                                let oy = iy * stride_h + ky * dilation_h - pad_top;
                                let row = iz * h_in + iy;
                                let row_in = &input[row * w_in..(row + 1) * w_in];
                                let row = oz * h_out + oy;
                                let row_out = &mut out[row * w_out..(row + 1) * w_out];
                                for ix in ix_lo..ix_hi {
                                    row_out[ix * stride_w + tap_x - pad_left] +=
                                        weight * row_in[ix];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    for oc in 0..p.c_out {
        p.activation
            .apply_all(&mut y[oc * plane_out..(oc + 1) * plane_out]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::{ConvAttrs, ConvTransposeAttrs};
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    fn activation_strategy() -> impl Strategy<Value = (Activation, crate::ir::Activation)> {
        prop_oneof![
            Just((Activation::None, crate::ir::Activation::None)),
            Just((Activation::Relu, crate::ir::Activation::Relu)),
            Just((
                Activation::Clip(-0.5, 0.75),
                crate::ir::Activation::Clip {
                    min: -0.5,
                    max: 0.75
                }
            )),
            Just((
                Activation::LeakyRelu(0.1),
                crate::ir::Activation::LeakyRelu { alpha: 0.1 }
            )),
        ]
    }

    /// Random convolution geometries, including padding larger than the kernel reach, strides
    /// larger than the kernel, dilations and groups.
    #[derive(Debug, Clone)]
    struct Case {
        groups: usize,
        cin_g: usize,
        cout_g: usize,
        h: usize,
        w: usize,
        k: (usize, usize),
        s: (usize, usize),
        d: (usize, usize),
        pads: [usize; 4],
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            1..4usize,
            1..4usize,
            1..4usize,
            1..9usize,
            1..9usize,
            (1..4usize, 1..4usize),
            (1..4usize, 1..4usize),
            (1..3usize, 1..3usize),
            [0..3usize, 0..3usize, 0..3usize, 0..3usize],
        )
            .prop_map(|(groups, cin_g, cout_g, h, w, k, s, d, pads)| Case {
                groups,
                cin_g,
                cout_g,
                h,
                w,
                k,
                s,
                d,
                pads,
            })
            .prop_filter("the window fits the padded input", |c| {
                c.h + c.pads[0] + c.pads[2] > (c.k.0 - 1) * c.d.0
                    && c.w + c.pads[1] + c.pads[3] > (c.k.1 - 1) * c.d.1
            })
    }

    proptest! {
        #[test]
        fn conv2d_matches_the_reference(c in case(), act in activation_strategy(), seed in any::<u64>(), with_bias in any::<bool>()) {
            let (c_in, c_out) = (c.groups * c.cin_g, c.groups * c.cout_g);
            let h_out = (c.h + c.pads[0] + c.pads[2] - (c.k.0 - 1) * c.d.0 - 1) / c.s.0 + 1;
            let w_out = (c.w + c.pads[1] + c.pads[3] - (c.k.1 - 1) * c.d.1 - 1) / c.s.1 + 1;
            let x = floats(seed, c_in * c.h * c.w);
            let w = floats(seed ^ 1, c_out * c.cin_g * c.k.0 * c.k.1);
            let b = if with_bias { floats(seed ^ 2, c_out) } else { vec![] };
            let attrs = ConvAttrs {
                kernel_shape: vec![c.k.0, c.k.1], strides: vec![c.s.0, c.s.1], dilations: vec![c.d.0, c.d.1],
                pads: c.pads.to_vec(), group: c.groups, activation: act.1, ..Default::default()
            };
            let out_shape = [1, c_out, h_out, w_out];
            let bias_value = with_bias.then(|| Value::f32(vec![c_out], b.clone()));
            let expected = crate::eval::nn::conv(
                &attrs, &Value::f32(vec![1, c_in, c.h, c.w], x.clone()), &Value::f32(vec![c_out, c.cin_g, c.k.0, c.k.1], w.clone()),
                bias_value.as_ref(), &out_shape).unwrap();
            let mut y = vec![f32::NAN; expected.len()];
            let p = Conv2d { batch: 1, c_in, h_in: c.h, w_in: c.w, c_out, h_out, w_out, k_h: c.k.0, k_w: c.k.1, stride_h: c.s.0, stride_w: c.s.1,
                dilation_h: c.d.0, dilation_w: c.d.1, pad_top: c.pads[0], pad_left: c.pads[1], groups: c.groups, activation: act.0 };
            conv2d(p, &x, w.as_slice(), &b, &mut y);
            assert_close(&y, &expected, 1e-5);
        }

        #[test]
        fn pointwise_conv2d_matches_the_reference(
            groups in 1..3usize, cin_g in 1..10usize, cout_g in 1..4usize, h in 1..5usize, w in 1..7usize,
            seed in any::<u64>(), act in activation_strategy(),
        ) {
            let (c_in, c_out) = (groups * cin_g, groups * cout_g);
            let x = floats(seed, c_in * h * w);
            let wt = floats(seed ^ 1, c_out * cin_g);
            let b = floats(seed ^ 2, c_out);
            let attrs = ConvAttrs { kernel_shape: vec![1, 1], group: groups, activation: act.1, ..Default::default() };
            let expected = crate::eval::nn::conv(
                &attrs, &Value::f32(vec![1, c_in, h, w], x.clone()), &Value::f32(vec![c_out, cin_g, 1, 1], wt.clone()),
                Some(&Value::f32(vec![c_out], b.clone())), &[1, c_out, h, w]).unwrap();
            let mut y = vec![f32::NAN; expected.len()];
            let p = Conv2d { batch: 1, c_in, h_in: h, w_in: w, c_out, h_out: h, w_out: w, k_h: 1, k_w: 1, stride_h: 1, stride_w: 1,
                dilation_h: 1, dilation_w: 1, pad_top: 0, pad_left: 0, groups, activation: act.0 };
            conv2d(p, &x, wt.as_slice(), &b, &mut y);
            assert_close(&y, &expected, 1e-5);
        }

        #[test]
        fn conv_transpose2d_matches_the_reference(c in case(), act in activation_strategy(), seed in any::<u64>(), with_bias in any::<bool>()) {
            let (c_in, c_out) = (c.groups * c.cin_g, c.groups * c.cout_g);
            let full_h = c.s.0 * (c.h - 1) + (c.k.0 - 1) * c.d.0 + 1;
            let full_w = c.s.1 * (c.w - 1) + (c.k.1 - 1) * c.d.1 + 1;
            prop_assume!(full_h > c.pads[0] + c.pads[2] && full_w > c.pads[1] + c.pads[3]);
            let (h_out, w_out) = (full_h - c.pads[0] - c.pads[2], full_w - c.pads[1] - c.pads[3]);
            let x = floats(seed, c_in * c.h * c.w);
            let w = floats(seed ^ 1, c_in * c.cout_g * c.k.0 * c.k.1);
            let b = if with_bias { floats(seed ^ 2, c_out) } else { vec![] };
            let attrs = ConvTransposeAttrs {
                kernel_shape: vec![c.k.0, c.k.1], strides: vec![c.s.0, c.s.1], dilations: vec![c.d.0, c.d.1],
                pads: c.pads.to_vec(), group: c.groups, activation: act.1, ..Default::default()
            };
            let out_shape = [1, c_out, h_out, w_out];
            let bias_value = with_bias.then(|| Value::f32(vec![c_out], b.clone()));
            let expected = crate::eval::nn::conv_transpose(
                &attrs, &Value::f32(vec![1, c_in, c.h, c.w], x.clone()), &Value::f32(vec![c_in, c.cout_g, c.k.0, c.k.1], w.clone()),
                bias_value.as_ref(), &out_shape).unwrap();
            let mut y = vec![f32::NAN; expected.len()];
            let p = Conv2d { batch: 1, c_in, h_in: c.h, w_in: c.w, c_out, h_out, w_out, k_h: c.k.0, k_w: c.k.1, stride_h: c.s.0, stride_w: c.s.1,
                dilation_h: c.d.0, dilation_w: c.d.1, pad_top: c.pads[0], pad_left: c.pads[1], groups: c.groups, activation: act.0 };
            conv_transpose2d(p, &x, &w, &b, &mut y);
            assert_close(&y, &expected, 1e-5);
        }

        #[test]
        fn conv_transpose3d_matches_the_reference(
            groups in 1..3usize, cin_g in 1..3usize, cout_g in 1..3usize, shape in [1..4usize, 1..4usize, 1..5usize],
            k in [1..3usize, 1..4usize, 1..4usize], s in [1..3usize, 1..3usize, 1..4usize], d in [1..3usize, 1..3usize, 1..3usize],
            pads in [0..2usize, 0..2usize, 0..2usize, 0..2usize, 0..2usize, 0..2usize],
            act in activation_strategy(), seed in any::<u64>(), with_bias in any::<bool>(),
        ) {
            let (c_in, c_out) = (groups * cin_g, groups * cout_g);
            let full: Vec<usize> = (0..3).map(|a| s[a] * (shape[a] - 1) + (k[a] - 1) * d[a] + 1).collect();
            prop_assume!((0..3).all(|a| full[a] > pads[a] + pads[3 + a]));
            let out: [usize; 3] = core::array::from_fn(|a| full[a] - pads[a] - pads[3 + a]);
            let x = floats(seed, c_in * shape.iter().product::<usize>());
            let w = floats(seed ^ 1, c_in * cout_g * k.iter().product::<usize>());
            let b = if with_bias { floats(seed ^ 2, c_out) } else { vec![] };
            let attrs = ConvTransposeAttrs {
                kernel_shape: k.to_vec(), strides: s.to_vec(), dilations: d.to_vec(), pads: pads.to_vec(),
                group: groups, activation: act.1, ..Default::default()
            };
            let bias_value = with_bias.then(|| Value::f32(vec![c_out], b.clone()));
            let expected = crate::eval::nn::conv_transpose(
                &attrs, &Value::f32(vec![1, c_in, shape[0], shape[1], shape[2]], x.clone()),
                &Value::f32(vec![c_in, cout_g, k[0], k[1], k[2]], w.clone()),
                bias_value.as_ref(), &[1, c_out, out[0], out[1], out[2]]).unwrap();
            let mut y = vec![f32::NAN; expected.len()];
            let p = Conv3d { batch: 1, c_in, c_out, shape_in: shape, shape_out: out, kernel: k, strides: s, dilations: d,
                pads_begin: [pads[0], pads[1], pads[2]], groups, activation: act.0 };
            conv_transpose3d(p, &x, &w, &b, &mut y);
            assert_close(&y, &expected, 1e-5);
        }
    }
}
