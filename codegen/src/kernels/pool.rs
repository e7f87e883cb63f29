//! Pooling: max and average over sliding windows, and over whole planes (global pooling).
//! NCHW, any number of planes per call (batch × channels); 1-D as height 1.

/// The geometry of a pooling window, in the same terms as a convolution's.
#[derive(Clone, Copy, Debug)]
pub struct Pool2d {
    /// Batch × channels: the number of independent planes.
    pub planes: usize,
    pub h_in: usize,
    pub w_in: usize,
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
    pub pad_bottom: usize,
    pub pad_right: usize,
    /// Average pooling: divide by the window size including padding (not only the taps inside
    /// the input). Taps beyond the end padding, which `ceil_mode` creates, never count.
    pub count_include_pad: bool,
}

/// Visits each output position with the sum, maximum and count of the input taps under its
/// window, and the number of taps inside the padded input.
#[inline(always)]
fn pool(
    p: Pool2d,
    x: &[f32],
    y: &mut [f32],
    finish: impl Fn(f32, f32, usize, usize) -> f32,
) {
    let (plane_in, plane_out) = (p.h_in * p.w_in, p.h_out * p.w_out);
    for c in 0..p.planes {
        let input = &x[c * plane_in..(c + 1) * plane_in];
        let out = &mut y[c * plane_out..(c + 1) * plane_out];
        for oy in 0..p.h_out {
            for ox in 0..p.w_out {
                let (mut sum, mut max, mut count, mut padded) =
                    (0.0f32, f32::NEG_INFINITY, 0usize, 0usize);
                for ky in 0..p.k_h {
                    let py = oy * p.stride_h + ky * p.dilation_h;
                    if py >= p.h_in + p.pad_top + p.pad_bottom {
                        continue;
                    }
                    for kx in 0..p.k_w {
                        let px = ox * p.stride_w + kx * p.dilation_w;
                        if px >= p.w_in + p.pad_left + p.pad_right {
                            continue;
                        }
                        padded += 1;
                        if py < p.pad_top || px < p.pad_left {
                            continue;
                        }
                        let (iy, ix) = (py - p.pad_top, px - p.pad_left);
                        if iy < p.h_in && ix < p.w_in {
                            let v = input[iy * p.w_in + ix];
                            sum += v;
                            max = max.max(v);
                            count += 1;
                        }
                    }
                }
                out[oy * p.w_out + ox] = finish(sum, max, count, padded);
            }
        }
    }
}

#[inline(always)]
pub fn max_pool2d(p: Pool2d, x: &[f32], y: &mut [f32]) {
    pool(p, x, y, |_, max, _, _| max);
}

#[inline(always)]
pub fn average_pool2d(p: Pool2d, x: &[f32], y: &mut [f32]) {
    pool(p, x, y, |sum, _, count, padded| {
        let divisor = if p.count_include_pad { padded } else { count };
        sum / divisor.max(1) as f32
    });
}

/// `planes` planes of `size` elements each, reduced to one value per plane.
#[derive(Clone, Copy, Debug)]
pub struct GlobalPool {
    pub planes: usize,
    pub size: usize,
}

#[inline(always)]
pub fn global_average_pool(p: GlobalPool, x: &[f32], y: &mut [f32]) {
    for (c, out) in y[..p.planes].iter_mut().enumerate() {
        let sum: f32 = x[c * p.size..(c + 1) * p.size].iter().sum();
        *out = sum / p.size as f32;
    }
}

#[inline(always)]
pub fn global_max_pool(p: GlobalPool, x: &[f32], y: &mut [f32]) {
    for (c, out) in y[..p.planes].iter_mut().enumerate() {
        *out = x[c * p.size..(c + 1) * p.size]
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Value;
    use crate::ir::op::PoolAttrs;
    use crate::kernels::test_support::{assert_close, floats};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pooling_matches_the_reference(
            planes in 1..4usize, h in 1..9usize, w in 1..9usize, k in (1..4usize, 1..4usize), s in (1..4usize, 1..4usize),
            d in (1..3usize, 1..3usize), pads in [0..2usize, 0..2usize, 0..2usize, 0..2usize], ceil in any::<bool>(),
            include_pad in any::<bool>(), max in any::<bool>(), seed in any::<u64>(),
        ) {
            let extent = ((k.0 - 1) * d.0 + 1, (k.1 - 1) * d.1 + 1);
            prop_assume!(h + pads[0] + pads[2] >= extent.0 && w + pads[1] + pads[3] >= extent.1);
            let out_len = |len: usize, total: usize, e: usize, s: usize, begin: usize| {
                let span = len + total - e;
                let mut o = if ceil { span.div_ceil(s) + 1 } else { span / s + 1 };
                if ceil && (o - 1) * s >= len + begin { o -= 1; }
                o
            };
            let h_out = out_len(h, pads[0] + pads[2], extent.0, s.0, pads[0]);
            let w_out = out_len(w, pads[1] + pads[3], extent.1, s.1, pads[1]);
            let x = floats(seed, planes * h * w);
            let attrs = PoolAttrs {
                kernel_shape: vec![k.0, k.1], strides: vec![s.0, s.1], dilations: vec![d.0, d.1], pads: pads.to_vec(),
                ceil_mode: ceil, count_include_pad: include_pad, ..Default::default()
            };
            let expected = crate::eval::nn::pool(&attrs, &Value::f32(vec![1, planes, h, w], x.clone()), &[1, planes, h_out, w_out], max).unwrap();
            let p = Pool2d { planes, h_in: h, w_in: w, h_out, w_out, k_h: k.0, k_w: k.1, stride_h: s.0, stride_w: s.1,
                dilation_h: d.0, dilation_w: d.1, pad_top: pads[0], pad_left: pads[1], pad_bottom: pads[2], pad_right: pads[3],
                count_include_pad: include_pad };
            let mut y = vec![f32::NAN; expected.len()];
            if max { max_pool2d(p, &x, &mut y) } else { average_pool2d(p, &x, &mut y) }
            assert_close(&y, &expected, 1e-5);
        }
    }

    #[test]
    fn global_pools() {
        let x = [1.0, 2.0, 3.0, 4.0, -1.0, -5.0];
        let mut y = [0.0; 2];
        global_average_pool(GlobalPool { planes: 2, size: 3 }, &x, &mut y);
        assert_eq!(y, [2.0, -2.0 / 3.0]);
        global_max_pool(GlobalPool { planes: 2, size: 3 }, &x, &mut y);
        assert_eq!(y, [3.0, 4.0]);
    }
}
