//! Lowering of the ops TFLite models bring: channels-last convolution and pooling (float and
//! int8), and the int8 fully connected layer, `Add`/`Sub` and `Softmax`. The int8 convolution
//! and fully connected layer also take 4-bit weights (`--quantize int4-weights`), which are
//! stored packed two per byte.
//!
//! Every integer parameter of the int8 kernels (per-channel multipliers and shifts, offsets,
//! clamp bounds, double-precision output scales) is computed here, at compile time, by
//! [`crate::quant`] — the same functions the reference evaluator uses — and stored as constants
//! in flash; nothing is derived at start-up.

use super::sparse::{self, WeightFormat};
use super::unroll;
use super::{Lowering, R, activation, fused, sparse_detail, sparse_docs, usize_};
use crate::backend::{Arg, LayerWeights, Stmt, Struct, Value};
use crate::ir::op::{BinaryAttrs, ConvAttrs, GemmAttrs, PoolAttrs, SoftmaxAttrs};
use crate::ir::shape::Spatial2d;
use crate::ir::{Activation, DType, Quantization, Rounding, TensorData, TensorId};
use crate::passes::shape_inference::{channels_first, is_hybrid_conv};
use crate::quant;

/// The most kernel taps of a depthwise convolution run by
/// [`nhwc::depthwise_i8`](crate::kernels::nhwc::depthwise_i8) (the C kernel finds the input
/// pixel of each tap once per output pixel, in an array of this size).
const DEPTHWISE_MAX_TAPS: usize = 64;

/// The most work space a one-group int8 convolution gets on its layer's stack for the input
/// patches of two output pixels ([`nhwc::conv_i8_folded`](crate::kernels::nhwc::conv_i8_folded));
/// see [`patch_bytes`]. 2,304 bytes widen a 3 × 3 × 64 patch (IC's largest).
const PATCH_MAX_BYTES: usize = 2304;

/// The work space [`nhwc::conv_i8_folded`](crate::kernels::nhwc::conv_i8_folded) gets for a
/// kernel of `taps` taps over `c_in` channels (a patch of `n = taps · c_in` values), if at most
/// [`PATCH_MAX_BYTES`]:
/// - `4 · n` bytes when `c_in` is a multiple of 4: on a core with the DSP extension the C kernel
///   widens the two patches to 16 bits as it gathers them;
/// - with more than one tap, other widths: the two patches as they are (`2 · n`, rounded up to a
///   word), then 4 bytes for each of their values but the last `n % 4`, which the C kernel
///   widens there;
/// - with more than one tap, if that is too much: `2 · n`, the patches as they are;
/// - otherwise none, and the per-tap loop.
///
/// The Rust kernel copies the patches as they are into the first `2 · n` bytes.
fn patch_bytes(c_in: usize, taps: usize) -> usize {
    let n = taps * c_in;
    let copied_widened = (2 * n).next_multiple_of(4) + 4 * (n - n % 4);
    if c_in.is_multiple_of(4) && 4 * n <= PATCH_MAX_BYTES {
        4 * n
    } else if taps > 1 && n >= 4 && copied_widened <= PATCH_MAX_BYTES {
        copied_widened
    } else if taps > 1 && 2 * n <= PATCH_MAX_BYTES {
        2 * n
    } else {
        0
    }
}

fn isize_(n: i32) -> Value {
    Value::Isize(n as isize)
}

/// How an int8 layer's weights reach its kernel.
pub(super) enum Int8Weights {
    /// As they are: a static array, or a run-time input.
    Plain(Arg),
    /// 4-bit integers packed two per byte.
    Int4(Arg),
    /// The `values` int8 values the weights share, and each weight's 4-bit index.
    Codebook {
        codebook: Arg,
        indices: Arg,
        values: usize,
    },
    /// The weights that are not zero and their runs or mask ([`sparse::Encoded`]), of
    /// `weights` in all.
    Sparse {
        values: Arg,
        index: Arg,
        encoded: sparse::Encoded,
        weights: usize,
    },
}

impl Int8Weights {
    /// The kernel that reads them, from the name of the one that reads plain weights
    /// (`nhwc::conv_i8`, `int8::fully_connected_i8`).
    fn kernel(&self, plain: &str) -> String {
        let name = plain.rsplit("::").next().unwrap_or(plain);
        let conv = name.starts_with("conv");
        match self {
            Int8Weights::Plain(_) => plain.to_string(),
            Int8Weights::Int4(_) => format!("{plain}_int4_weights"),
            Int8Weights::Codebook { .. } => {
                let module = if conv { "nhwc" } else { "sparse" };
                format!("{module}::{name}_codebook")
            }
            Int8Weights::Sparse { encoded, .. } => {
                let module = if conv { "sparse_conv" } else { "sparse" };
                format!("{module}::{name}_{}", encoded.format.name())
            }
        }
    }

    /// The weights as the one argument of a kernel that reads plain weights.
    fn plain(self) -> R<Arg> {
        match self {
            Int8Weights::Plain(w) => Ok(w),
            _ => Err("only int8 layers read 4-bit, shared or sparse int8 weights".into()),
        }
    }

    /// The kernel's weight arguments.
    fn args(self) -> Vec<Arg> {
        match self {
            Int8Weights::Plain(w) | Int8Weights::Int4(w) => vec![w],
            Int8Weights::Codebook {
                codebook, indices, ..
            } => vec![codebook, indices],
            Int8Weights::Sparse { values, index, .. } => vec![values, index],
        }
    }

    /// What the layer's comment says of them.
    fn detail(&self) -> String {
        match self {
            Int8Weights::Plain(_) => String::new(),
            Int8Weights::Int4(_) => ", 4-bit weights".to_string(),
            Int8Weights::Codebook { values, .. } => {
                format!(", weights sharing {values} values")
            }
            Int8Weights::Sparse {
                encoded, weights, ..
            } => sparse_detail(Some(encoded), *weights),
        }
    }
}

impl Lowering<'_> {
    fn quantization(&self, t: TensorId) -> R<&Quantization> {
        let tensor = self.graph.tensor(t);
        tensor
            .quant
            .as_ref()
            .ok_or_else(|| format!("'{}' has no quantization parameters", tensor.name))
    }

    /// The int8 weights (input 1, `[n, k]`) in a sparse format when one is smaller than dense
    /// ([`sparse::choose`]) and than `codebook_bytes`, the bytes of a codebook of them: the
    /// values and the runs or mask as new static data, and the encoding. `None` keeps them dense
    /// (and 4-bit weights, which stay packed, always).
    #[allow(clippy::type_complexity)]
    fn sparse_int8_weights(
        &mut self,
        n: usize,
        k: usize,
        zero_point: i32,
        codebook_bytes: Option<usize>,
    ) -> R<Option<(Arg, Arg, sparse::Encoded)>> {
        let tensor = self.graph.tensor(self.node.inputs[1]);
        let Some(TensorData::I8(weights)) = &tensor.data else {
            return Ok(None);
        };
        if tensor.is_int4() || weights.len() != n * k {
            return Ok(None);
        }
        let encoded = sparse::choose(n, k, 8, |i| weights[i] as i32 == zero_point);
        if encoded.format == WeightFormat::Dense
            || codebook_bytes.is_some_and(|bytes| bytes <= encoded.bytes(8))
        {
            return Ok(None);
        }
        let name = crate::backend::comment(&tensor.name);
        let values = encoded.positions.iter().map(|&i| weights[i]).collect();
        let (what, index_what) = sparse_docs(&encoded, &name, n, k);
        let count = encoded.positions.len();
        let values = self.derived("WEIGHT", &what, vec![count], TensorData::I8(values));
        let index_shape = vec![encoded.index.len()];
        let index = self.derived(
            if encoded.format == WeightFormat::Runs {
                "WEIGHT_RUNS"
            } else {
                "WEIGHT_MASK"
            },
            &index_what,
            index_shape,
            TensorData::U8(encoded.index.clone()),
        );
        Ok(Some((Arg::Static(values), Arg::Static(index), encoded)))
    }

    /// The weights of a channels-last convolution as its kernel takes them: for an int8 one,
    /// sparse ([`sparse::choose`], one row per output channel) when that is smaller than dense
    /// and than a codebook; otherwise as [`Self::weight_operand`] gives them.
    fn conv_int8_weights(&mut self, inputs: &mut Vec<TensorId>) -> R<Int8Weights> {
        let shape = self.input_shape(1).to_vec();
        if !self.is_quantized() || shape.is_empty() {
            return self.weight_operand(inputs);
        }
        let (rows, per_channel) = (shape[0], shape[1..].iter().product::<usize>());
        let codebook_bytes = self
            .int8_codebook()
            .map(|(values, indices)| values.len() + indices.len());
        let Some((values, index, encoded)) =
            self.sparse_int8_weights(rows, per_channel, 0, codebook_bytes)?
        else {
            return self.weight_operand(inputs);
        };
        // The dense count, scaled by the share of the weights the kernel multiplies.
        let macs = crate::report::node_macs(self.graph, self.node);
        let weights = rows * per_channel;
        self.layer_weights = Some(LayerWeights {
            node: self.index,
            format: encoded.format,
            codebook: None,
            unrolled: false,
            macs_executed: macs * encoded.positions.len() as u64 / weights.max(1) as u64,
        });
        Ok(Int8Weights::Sparse {
            values,
            index,
            encoded,
            weights,
        })
    }

    /// The dot products of the constant int8 weights (input 1, `[n, k]`, 4-bit ones too) as
    /// straight-line code, when `--unroll` asks for this layer's (`lower::unroll`).
    fn unrolled_int8_weights(
        &self,
        n: usize,
        k: usize,
        weight_zero_point: i32,
        input_zero_point: i32,
    ) -> Option<crate::backend::UnrolledDot> {
        let tensor = self.graph.tensor(self.node.inputs[1]);
        let Some(TensorData::I8(weights)) = &tensor.data else {
            return None;
        };
        let nonzero = weights
            .iter()
            .filter(|&&w| w as i32 != weight_zero_point)
            .count();
        if weights.len() != n * k || !unroll::chosen(self.graph.unroll, nonzero) {
            return None;
        }
        unroll::int8_dot(
            n,
            k,
            |i| weights[i] as i32,
            weight_zero_point,
            input_zero_point,
        )
    }

    /// A codebook for the constant int8 weights (input 1) of an int8 layer, when they share at
    /// most 16 values and that saves a quarter of their bytes ([`sparse::int8_codebook`]).
    fn int8_codebook(&self) -> Option<(Vec<i8>, Vec<u8>)> {
        let tensor = self.graph.tensor(self.node.inputs[1]);
        match &tensor.data {
            Some(TensorData::I8(values)) if !tensor.is_int4() && self.is_quantized() => {
                sparse::int8_codebook(values)
            }
            _ => None,
        }
    }

    /// The weights (input 1) as the kernel takes them ([`Int8Weights`]). 4-bit weights
    /// ([`Quantization::int4`]) become new static bytes, packed two per byte with one row per
    /// output channel (index of the first axis), each row padded to a whole byte
    /// ([`quant::pack_int4_rows`]); the `*_int4_weights` kernels read that layout. The weights
    /// of an int8 layer that share a few values become a codebook and indices.
    fn weight_operand(&mut self, inputs: &mut Vec<TensorId>) -> R<Int8Weights> {
        let tensor = self.graph.tensor(self.node.inputs[1]);
        let name = crate::backend::comment(&tensor.name);
        if let Some((codebook, indices)) = self.int8_codebook() {
            let count = codebook.len();
            let values = self.derived(
                "WEIGHT_VALUES",
                &format!("The {count} int8 values the weights of `{name}` share."),
                vec![count],
                TensorData::I8(codebook),
            );
            let what = format!(
                "`{name}` as the 4-bit index of each weight's value in `{values}` (two per \
                 byte, the first in the low nibble)."
            );
            let indices = self.derived(
                "WEIGHT_INDICES",
                &what,
                vec![indices.len()],
                TensorData::U8(indices),
            );
            self.codebook = Some(count);
            return Ok(Int8Weights::Codebook {
                codebook: Arg::Static(values),
                indices: Arg::Static(indices),
                values: count,
            });
        }
        if !tensor.is_int4() {
            return Ok(Int8Weights::Plain(self.operand(1, "WEIGHT", inputs)?));
        }
        let Some(TensorData::I8(values)) = &tensor.data else {
            return Err(format!(
                "4-bit weights '{}' are not constant i8",
                tensor.name
            ));
        };
        let rows = tensor.shape().first().copied().unwrap_or(1).max(1);
        let row_len = values.len() / rows;
        let packed = quant::pack_int4_rows(values, row_len);
        let doc = format!(
            "Constant `{name}`: 4-bit weights in [-8, 7], {row_len} per output channel, packed two \
             per byte (value 2j in the low nibble of byte j, 2j + 1 in the high nibble), each \
             channel starting on a whole byte."
        );
        let shape = vec![rows, row_len.div_ceil(2)];
        let name = self.derived("WEIGHT", &doc, shape, TensorData::U8(packed));
        Ok(Int8Weights::Int4(Arg::Static(name)))
    }

    /// Whether the op computes on quantized int8 data.
    pub(super) fn is_quantized(&self) -> bool {
        self.graph.tensor(self.node.inputs[0]).dtype == DType::I8
    }

    /// The output's zero point and clamp range after a fused activation.
    fn output_range(&self, act: Activation) -> R<(f32, i32, i32, i32)> {
        let (scale, zero_point) =
            quant::single(Some(self.quantization(self.node.outputs[0])?), "the output")?;
        let (min, max) = quant::activation_range(act, scale, zero_point, DType::I8)?;
        Ok((scale, zero_point, min, max))
    }

    /// The `nhwc::Window` of a channels-last convolution or pooling node.
    fn window(
        &self,
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
        pads: &[usize],
        groups: usize,
    ) -> R<Struct> {
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        if x.len() != 4 {
            return Err(
                "only 2-D channels-last convolution and pooling are supported".into(),
            );
        }
        let g = Spatial2d::new(
            &channels_first(&x),
            &channels_first(&y),
            kernel,
            strides,
            dilations,
            pads,
        );
        Ok(Struct::new(
            "nhwc::Window",
            vec![
                ("batch", usize_(x[0])),
                ("h_in", usize_(g.h_in)),
                ("w_in", usize_(g.w_in)),
                ("c_in", usize_(x[3])),
                ("h_out", usize_(g.h_out)),
                ("w_out", usize_(g.w_out)),
                ("c_out", usize_(y[3])),
                ("k_h", usize_(g.k_h)),
                ("k_w", usize_(g.k_w)),
                ("stride_h", usize_(g.stride_h)),
                ("stride_w", usize_(g.stride_w)),
                ("dilation_h", usize_(g.dilation_h)),
                ("dilation_w", usize_(g.dilation_w)),
                ("pad_top", usize_(g.pad_top)),
                ("pad_left", usize_(g.pad_left)),
                ("groups", usize_(groups)),
            ],
        ))
    }

    /// The plain int8 weights `name` of a depthwise convolution (`[c, k_h, k_w, 1]`) transposed
    /// to `[k_h, k_w, c]` for the kernel that runs over contiguous channels
    /// ([`nhwc::depthwise_i8`](crate::kernels::nhwc::depthwise_i8)): the static this layer made is rewritten in place (and no longer shared by tensor, so that
    /// another layer reading the same weights gets its own copy); one another layer made is
    /// copied. `None` when they are not int8 values of that shape.
    fn transposed_weights(&mut self, name: &str, c_out: usize) -> Option<String> {
        let t = self.node.inputs[1];
        let index = self.index;
        let relaid =
            |data: &TensorData, shape: &[usize]| -> Option<(TensorData, Vec<usize>)> {
                let TensorData::I8(values) = data else {
                    return None;
                };
                let [n, k_h, k_w, cin_g] = *shape else {
                    return None;
                };
                let per = k_h * k_w * cin_g;
                if n != c_out || values.len() != c_out * per {
                    return None;
                }
                let out = (0..values.len())
                    .map(|i| values[(i % c_out) * per + i / c_out])
                    .collect();
                Some((TensorData::I8(out), vec![k_h, k_w, cin_g, c_out]))
            };
        let own = self
            .statics
            .data
            .iter()
            .position(|s| s.name == name && s.node == Some(index));
        if let Some(i) = own
            && let Some((data, shape)) =
                relaid(&self.statics.data[i].data, &self.statics.data[i].shape)
        {
            let s = &mut self.statics.data[i];
            s.data = data;
            s.shape = shape;
            s.doc = format!("{} Transposed to [k_h, k_w, c] for the kernel.", s.doc);
            self.statics.by_tensor.retain(|(id, _)| *id != t);
            return Some(name.to_string());
        }
        let source = self
            .statics
            .data
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| relaid(&s.data, &s.shape));
        let (data, shape) = source?;
        Some(self.derived(
            "WEIGHT_HWC",
            "The weights transposed to [k_h, k_w, c] for the kernel.",
            shape,
            data,
        ))
    }

    /// The bias of the kernels with the input zero point folded in
    /// ([`nhwc::conv_i8_folded`](crate::kernels::nhwc::conv_i8_folded) and its kin): `bias[oc]
    /// − z_x · Σ w[oc]`, from the int8 weights `w` (`[c_out, …]`, zero point 0) and the
    /// constant `bias` (a static, or absent). `None` when the weights or the bias are not of
    /// that shape, or a sum does not fit in `i32`.
    fn folded_bias_values(
        &self,
        w: &[i8],
        bias: &Arg,
        zx: i32,
        c_out: usize,
    ) -> Option<Vec<i32>> {
        let find = |name: &str| self.statics.data.iter().find(|s| s.name == name);
        if c_out == 0 || !w.len().is_multiple_of(c_out) {
            return None;
        }
        let old: Vec<i32> = match bias {
            Arg::Empty => vec![0; c_out],
            Arg::Static(name) => match &find(name)?.data {
                TensorData::I32(b) if b.len() == c_out => b.clone(),
                _ => return None,
            },
            _ => return None,
        };
        // A layer without input channels has rows of no weights.
        let row = (w.len() / c_out).max(1);
        old.iter()
            .zip(w.chunks(row).chain(std::iter::repeat(&[][..])))
            .map(|(&b, row)| {
                let sum: i64 = row.iter().map(|&v| v as i64).sum();
                i32::try_from(b as i64 - zx as i64 * sum).ok()
            })
            .collect()
    }

    /// The values of the int8 static `name`.
    fn static_i8(&self, name: &str) -> Option<&[i8]> {
        match &self.statics.data.iter().find(|s| s.name == name)?.data {
            TensorData::I8(values) => Some(values),
            _ => None,
        }
    }

    /// The constant int8 weights (input 1) as the model holds them, before any sparse
    /// encoding.
    fn constant_i8_weights(&self) -> Option<&[i8]> {
        match &self.graph.tensor(self.node.inputs[1]).data {
            Some(TensorData::I8(values)) => Some(values),
            _ => None,
        }
    }

    /// Stores [`Self::folded_bias_values`]: the bias static this layer made is rewritten in
    /// place (and no longer shared by tensor); otherwise a new one is made.
    fn store_folded_bias(&mut self, bias: &Arg, folded: Vec<i32>) -> String {
        let doc =
            "The bias with the input zero point's share folded in (bias − z_x · Σ w).";
        let own = match bias {
            Arg::Static(name) => self
                .statics
                .data
                .iter()
                .position(|s| s.name == *name && s.node == Some(self.index)),
            _ => None,
        };
        match own {
            Some(i) => {
                let s = &mut self.statics.data[i];
                s.data = TensorData::I32(folded);
                s.doc = format!("{} {doc}", s.doc);
                let t = self.node.inputs[2];
                self.statics.by_tensor.retain(|(id, _)| *id != t);
                s.name.clone()
            }
            None => {
                let n = folded.len();
                self.derived("BIAS_FOLDED", doc, vec![n], TensorData::I32(folded))
            }
        }
    }

    /// The integer requantization of an int8 fully connected layer with plain weights `weights`
    /// (`[n, k]`, zero point 0) and the folded bias `folded` ([`Self::folded_bias_values`]),
    /// as an `nhwc::ConvQuant` for
    /// [`int8::fully_connected_folded`](crate::kernels::int8::fully_connected_folded): the
    /// multipliers and shifts that give TFLite's double-precision `round(acc · scale)` on every
    /// accumulator the layer can reach ([`quant::fully_connected_multipliers`]). `None` when
    /// there are none such.
    fn fully_connected_quant(
        &mut self,
        weights: &str,
        folded: &[i32],
        (sx, zx): (f32, i32),
        wq: &Quantization,
        (sy, zy, min, max): (f32, i32, i32, i32),
        n: usize,
    ) -> Option<Struct> {
        let find = |name: &str| self.statics.data.iter().find(|s| s.name == name);
        let TensorData::I8(w) = &find(weights)?.data else {
            return None;
        };
        if n == 0 || w.len() % n != 0 || folded.len() != n {
            return None;
        }
        let ranges = accumulator_ranges(w, folded);
        let scales = quant::fully_connected_scales(sx, wq, sy, n);
        let (mut multipliers, mut shifts) =
            quant::fully_connected_multipliers(&scales, zy, min, max, &ranges)?;
        // One scale for all the channels (per-tensor weights): one multiplier and shift.
        if scales.windows(2).all(|pair| pair[0] == pair[1]) {
            multipliers.truncate(1);
            shifts.truncate(1);
        }
        // No rounding base, and ties away from zero.
        Some(self.conv_quant(
            (multipliers, shifts),
            "Requantization multipliers (Q31), one per output channel or one for all, checked \
             to give the double-precision rescaling's bytes.",
            zx,
            (zy, min, max),
            true,
            Some((0, -1)),
        ))
    }

    /// An `nhwc::ConvQuant` literal, its multipliers (described by `what`) and shifts stored as
    /// static data, with [`quant::requantize_roundings`]'s terms when `one_multiply` has them.
    fn conv_quant(
        &mut self,
        (multipliers, shifts): (Vec<i32>, Vec<i32>),
        what: &str,
        zx: i32,
        (zy, min, max): (i32, i32, i32),
        single_rounding: bool,
        one_multiply: Option<(i64, i64)>,
    ) -> Struct {
        let count = multipliers.len();
        let m = self.derived(
            "MULTIPLIERS",
            what,
            vec![count],
            TensorData::I32(multipliers),
        );
        let s = self.derived(
            "SHIFTS",
            "Requantization shifts.",
            vec![count],
            TensorData::I32(shifts),
        );
        let (rounding_base, negative_rounding) = one_multiply.unwrap_or_default();
        Struct::new(
            "nhwc::ConvQuant",
            vec![
                ("input_zero_point", isize_(zx)),
                ("multipliers", Value::StaticRef(m)),
                ("shifts", Value::StaticRef(s)),
                ("output_zero_point", isize_(zy)),
                ("output_min", isize_(min)),
                ("output_max", isize_(max)),
                ("single_rounding", Value::Bool(single_rounding)),
                ("one_multiply", Value::Bool(one_multiply.is_some())),
                ("rounding_base", Value::Isize(rounding_base as isize)),
                (
                    "negative_rounding",
                    Value::Isize(negative_rounding as isize),
                ),
            ],
        )
    }

    /// Whether a channels-last convolution is pointwise with output pixel `i` reading input
    /// pixel `i`: a 1 × 1 kernel, stride 1, no padding, one group.
    fn is_identity_pointwise(&self, a: &ConvAttrs) -> bool {
        let ones = |v: &[usize]| v.iter().all(|&d| d == 1);
        let (x, y) = (self.input_shape(0), self.output_shape());
        ones(&a.kernel_shape)
            && ones(&a.strides)
            && a.pads.iter().all(|&p| p == 0)
            && a.group == 1
            && x.len() == 4
            && y.len() == 4
            && x[..3] == y[..3]
    }

    pub(super) fn conv_channels_last(&mut self, a: &ConvAttrs) -> R<()> {
        let p = self.window(&a.kernel_shape, &a.strides, &a.dilations, &a.pads, a.group)?;
        let mut inputs = Vec::new();
        let mut body = vec![Stmt::Let("p".into(), p)];
        let x = self.operand(0, "X", &mut inputs)?;
        let weights = self.graph.tensor(self.node.inputs[1]);
        // Constant float weights go through `weights::Weights`, which also reads them stored
        // as int8 or float16.
        let (w, stored) =
            if weights.is_constant() && weights.dtype == DType::F32 && !self.is_quantized()
            {
                let (w, stored) = self.float_weights(None, &mut body)?;
                (Int8Weights::Plain(w), stored)
            } else {
                (self.conv_int8_weights(&mut inputs)?, "")
            };
        let bias = if self.node.inputs.len() > 2 {
            self.operand(2, "BIAS", &mut inputs)?
        } else {
            Arg::Empty
        };
        let c_out = *self.output_shape().last().unwrap_or(&0);
        let kind = if a.group > 1 && a.group == self.input_shape(0)[3] {
            "depthwise, "
        } else {
            ""
        };
        let mut detail = format!(
            "{kind}{} kernel, stride {}, dilation {}, pads {:?}, channels last{}{stored}",
            super::dims(&a.kernel_shape),
            super::dims(&a.strides),
            super::dims(&a.dilations),
            a.pads,
            fused(a.activation)
        );
        if self.is_quantized() {
            let (sx, zx) =
                quant::single(Some(self.quantization(self.node.inputs[0])?), "the input")?;
            let wq = self.quantization(self.node.inputs[1])?.clone();
            if wq.zero_point.iter().any(|&z| z != 0) {
                return Err(
                    "int8 convolution weights must be symmetric (zero point 0)".into()
                );
            }
            let (sy, zy, min, max) = self.output_range(a.activation)?;
            let (mut multipliers, mut shifts) =
                quant::channel_multipliers(sx, &wq, sy, c_out);
            let single_rounding = self.graph.rounding == Rounding::Single;
            let c_in = self.input_shape(0)[3];
            let taps = a.kernel_shape.iter().product::<usize>();
            let depthwise =
                a.group == c_in && c_out == c_in && c_in > 1 && taps <= DEPTHWISE_MAX_TAPS;
            // Whether the layer takes one of the kernels below that have the input zero point
            // folded into the bias (the whole accumulator of a channel of zero weights).
            let folds = match &w {
                Int8Weights::Plain(Arg::Static(name)) if depthwise || a.group == 1 => self
                    .static_i8(name)
                    .and_then(|w| self.folded_bias_values(w, &bias, zx, c_out))
                    .is_some(),
                Int8Weights::Sparse { .. } if self.is_identity_pointwise(a) => self
                    .constant_i8_weights()
                    .and_then(|w| self.folded_bias_values(w, &bias, zx, c_out))
                    .is_some(),
                _ => false,
            };
            // Channels of a tiny scale (zero weights) that output one value whatever the input
            // need not keep the whole layer on the two-step requantization
            // (`quant::settle_constant_channels`); where the bias is folded, a channel of zero
            // weights may be given another accumulator to make that value.
            let ranges = self.constant_i8_weights().and_then(|w| {
                let folded = self.folded_bias_values(w, &bias, zx, c_out)?;
                Some(accumulator_ranges(w, &folded))
            });
            let accumulators = match ranges {
                Some(ranges) => quant::settle_constant_channels(
                    &mut multipliers,
                    &mut shifts,
                    &ranges,
                    zy,
                    (min, max),
                    single_rounding,
                    folds,
                ),
                None => Vec::new(),
            };
            // The folded bias with those accumulators set.
            let settle = |mut values: Vec<i32>| {
                for &(channel, acc) in &accumulators {
                    values[channel] = acc;
                }
                values
            };
            let one_multiply =
                quant::requantize_roundings(&multipliers, &shifts, zy, single_rounding);
            let q = self.conv_quant(
                (multipliers, shifts),
                "Per-channel requantization multipliers (Q31).",
                zx,
                (zy, min, max),
                single_rounding,
                one_multiply,
            );
            body.push(Stmt::Let("q".into(), q));
            detail.push_str(&format!(", int8{}", w.detail()));
            // Plain weights: the input zero point folded into the bias, so that the kernels'
            // inner loops are plain int8 dot products. A depthwise convolution with one output
            // per channel runs over contiguous channels, its weights transposed (after the
            // bias is folded from them); one of one group, over pairs of output pixels and
            // channels.
            let folded = match &w {
                Int8Weights::Plain(Arg::Static(name)) if folds => {
                    let values = self
                        .static_i8(name)
                        .and_then(|w| self.folded_bias_values(w, &bias, zx, c_out));
                    values.map(|values| {
                        (name.clone(), self.store_folded_bias(&bias, settle(values)))
                    })
                }
                _ => None,
            };
            // Sparse weights of a pointwise convolution whose output pixel i reads input pixel
            // i: the product of the input's rows with the sparse matrix, the zero point folded
            // into the bias, decoding each weight once for several pixels.
            let sparse_pointwise = match &w {
                Int8Weights::Sparse { encoded, .. } if self.is_identity_pointwise(a) => {
                    self.constant_i8_weights()
                        .and_then(|w| self.folded_bias_values(w, &bias, zx, c_out))
                        .map(|values| {
                            let kernel = format!(
                                "sparse_conv::pointwise_i8_{}",
                                encoded.format.name()
                            );
                            (kernel, self.store_folded_bias(&bias, settle(values)))
                        })
                }
                _ => None,
            };
            let (kernel, weight_args, bias) = match (w, folded) {
                (w, None) if let Some((kernel, bias)) = sparse_pointwise => {
                    (kernel, w.args(), vec![Arg::Static(bias)])
                }
                (_, Some((weights, bias))) => {
                    let (kernel, weights, scratch) = if depthwise {
                        let relaid = self
                            .transposed_weights(&weights, c_out)
                            .ok_or("the depthwise weights could not be transposed")?;
                        ("nhwc::depthwise_i8", relaid, None)
                    } else {
                        let bytes = patch_bytes(c_in, taps);
                        ("nhwc::conv_i8_folded", weights, Some(Arg::Scratch(bytes)))
                    };
                    let zero_pixel = self.derived(
                        "ZERO_PIXEL",
                        "The input zero point for each input channel: what a tap outside the \
                         image reads.",
                        vec![c_in],
                        TensorData::I8(vec![zx as i8; c_in]),
                    );
                    let mut after = vec![Arg::Static(bias), Arg::Static(zero_pixel)];
                    after.extend(scratch);
                    (kernel.to_string(), vec![Arg::Static(weights)], after)
                }
                (w, None) => (w.kernel("nhwc::conv_i8"), w.args(), vec![bias]),
            };
            let mut args = vec![Arg::Local("p".into()), Arg::Local("q".into()), x];
            args.extend(weight_args);
            args.extend(bias);
            args.push(Arg::Output);
            body.push(Stmt::Call(kernel, args));
        } else if is_hybrid_conv(self.graph, self.node)? {
            let w = w.plain()?;
            let (weight_scale, _) = quant::single(
                Some(self.quantization(self.node.inputs[1])?),
                "the weights",
            )?;
            body.push(Stmt::Call(
                "nhwc::conv_hybrid".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Value(activation(a.activation)),
                    Arg::Value(Value::F32(weight_scale)),
                    x,
                    w,
                    bias,
                    Arg::Output,
                ],
            ));
            detail.push_str(
                ", int8 weights (hybrid: the input is quantized to int8 per image as it is read)",
            );
        } else {
            let w = w.plain()?;
            body.push(Stmt::Call(
                "nhwc::conv_f32".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Value(activation(a.activation)),
                    x,
                    w,
                    bias,
                    Arg::Output,
                ],
            ));
        }
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    pub(super) fn pool_channels_last(&mut self, a: &PoolAttrs, max: bool) -> R<()> {
        if a.count_include_pad && !max {
            return Err(
                "channels-last average pooling counts only positions inside the input"
                    .into(),
            );
        }
        let p = self.window(&a.kernel_shape, &a.strides, &a.dilations, &a.pads, 1)?;
        let mut inputs = Vec::new();
        let x = self.operand(0, "X", &mut inputs)?;
        let detail = format!(
            "{} window, stride {}, pads {:?}, channels last",
            super::dims(&a.kernel_shape),
            super::dims(&a.strides),
            a.pads
        );
        let call = if self.is_quantized() {
            let (_, _, min, max_out) = self.output_range(Activation::None)?;
            Stmt::Call(
                "nhwc::pool_i8".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Value(Value::Bool(max)),
                    Arg::Value(isize_(min)),
                    Arg::Value(isize_(max_out)),
                    x,
                    Arg::Output,
                ],
            )
        } else {
            Stmt::Call(
                "nhwc::pool_f32".into(),
                vec![
                    Arg::Local("p".into()),
                    Arg::Value(Value::Bool(max)),
                    Arg::Value(activation(Activation::None)),
                    x,
                    Arg::Output,
                ],
            )
        };
        let body = vec![Stmt::Let("p".into(), p), call];
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    pub(super) fn fully_connected_i8(&mut self, a: &GemmAttrs) -> R<()> {
        if !a.trans_b || a.trans_a || a.alpha != 1.0 || a.beta != 1.0 {
            return Err(
                "an int8 Gemm must be a fully connected layer (B transposed, \
                        alpha = beta = 1)"
                    .into(),
            );
        }
        let (x, y) = (self.input_shape(0).to_vec(), self.output_shape().to_vec());
        let (m, k, n) = (x[0], x[1], y[1]);
        let (sx, zx) =
            quant::single(Some(self.quantization(self.node.inputs[0])?), "the input")?;
        let wq = self.quantization(self.node.inputs[1])?.clone();
        let (sy, zy, min, max) = self.output_range(a.activation)?;
        let weight_zero_point = if wq.is_per_axis() {
            0
        } else {
            wq.zero_point[0]
        };
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let unrolled = self.unrolled_int8_weights(n, k, weight_zero_point, zx);
        let (sparse, w) = if unrolled.is_some() {
            // The weights are literals in the code: no static data.
            (None, None)
        } else {
            let codebook_bytes = self
                .int8_codebook()
                .map(|(values, indices)| values.len() + indices.len());
            let sparse =
                self.sparse_int8_weights(n, k, weight_zero_point, codebook_bytes)?;
            let w = match &sparse {
                Some((values, _, _)) => Int8Weights::Plain(values.clone()),
                None => self.weight_operand(&mut inputs)?,
            };
            (sparse, Some(w))
        };
        let int4_weights = matches!(w, Some(Int8Weights::Int4(_)));
        let weights_detail = w.as_ref().map_or(String::new(), Int8Weights::detail);
        let bias = if self.node.inputs.len() > 2 {
            self.operand(2, "BIAS", &mut inputs)?
        } else {
            Arg::Empty
        };
        let p = Struct::new(
            "int8::FullyConnectedI8",
            vec![
                ("m", usize_(m)),
                ("k", usize_(k)),
                ("n", usize_(n)),
                ("input_scale", Value::F32(sx)),
                ("output_scale", Value::F32(sy)),
                ("input_zero_point", isize_(zx)),
                ("weight_zero_point", isize_(weight_zero_point)),
                ("output_zero_point", isize_(zy)),
                ("output_min", isize_(min)),
                ("output_max", isize_(max)),
            ],
        );
        // Plain weights of zero point 0: the input zero point folded into the bias, and the
        // requantization in integers where it gives the double-precision bytes.
        if weight_zero_point == 0
            && sparse.is_none()
            && let Some(Int8Weights::Plain(Arg::Static(name))) = &w
            && let Some(values) = self
                .static_i8(name)
                .and_then(|w| self.folded_bias_values(w, &bias, zx, n))
            && let Some(q) = self.fully_connected_quant(
                name,
                &values,
                (sx, zx),
                &wq,
                (sy, zy, min, max),
                n,
            )
        {
            let folded = self.store_folded_bias(&bias, values);
            self.layer_weights = Some(LayerWeights {
                node: self.index,
                format: WeightFormat::Dense,
                codebook: None,
                unrolled: false,
                macs_executed: (m * n * k) as u64,
            });
            let body = vec![
                Stmt::Let("p".into(), p.clone()),
                Stmt::Let("q".into(), q),
                Stmt::Call(
                    "int8::fully_connected_folded".into(),
                    vec![
                        Arg::Local("p".into()),
                        Arg::Local("q".into()),
                        xa,
                        Arg::Static(name.clone()),
                        Arg::Static(folded),
                        Arg::Output,
                    ],
                ),
            ];
            let detail = format!(
                "[{m}, {k}] × [{k}, {n}], int8, requantized in integers{}",
                fused(a.activation)
            );
            self.push(None, detail, inputs, self.node.outputs[0], false, body);
            return Ok(());
        }
        // Scales that are all equal (`--per-tensor`, shared weights) are stored once.
        let one_scale = wq.scale.windows(2).all(|pair| pair[0] == pair[1]);
        let weight_scales = if one_scale {
            wq.scale[..1].to_vec()
        } else {
            wq.scale.clone()
        };
        let scales = self.derived(
            "WEIGHT_SCALES",
            if !one_scale {
                "The weights' scales, one per output channel (the kernel rescales each \
                 channel by s_in · s_w / s_out in double precision, as TFLite does)."
            } else {
                "The weights' scale (the kernel rescales by s_in · s_w / s_out in double \
                 precision, as TFLite does)."
            },
            vec![weight_scales.len()],
            TensorData::F32(weight_scales),
        );
        if let Some(dot) = unrolled {
            let detail = format!(
                "[{m}, {k}] × [{k}, {n}], int8{}, unrolled, {} of {} weights non-zero{}",
                if self.graph.tensor(self.node.inputs[1]).is_int4() {
                    ", 4-bit weights"
                } else {
                    ""
                },
                crate::report::group_digits(dot.terms() as u64),
                crate::report::group_digits((n * k) as u64),
                fused(a.activation)
            );
            self.layer_weights = Some(LayerWeights {
                node: self.index,
                format: WeightFormat::Dense,
                codebook: None,
                unrolled: true,
                macs_executed: (m * dot.terms()) as u64,
            });
            let body = vec![
                Stmt::Let("p".into(), p),
                Stmt::Unrolled("dot".into(), dot),
                Stmt::Call(
                    "int8::fully_connected_by".into(),
                    vec![
                        Arg::Local("p".into()),
                        xa,
                        bias,
                        Arg::Static(scales),
                        Arg::Output,
                        Arg::Local("dot".into()),
                    ],
                ),
            ];
            self.push(None, detail, inputs, self.node.outputs[0], false, body);
            return Ok(());
        }
        let w = w.expect("weights unless unrolled");
        let body = vec![
            Stmt::Let("p".into(), p),
            match &sparse {
                Some((values, index, encoded)) => Stmt::Call(
                    format!("sparse::fully_connected_i8_{}", encoded.format.name()),
                    vec![
                        Arg::Local("p".into()),
                        xa,
                        values.clone(),
                        index.clone(),
                        bias,
                        Arg::Static(scales),
                        Arg::Output,
                    ],
                ),
                None => {
                    let kernel = w.kernel("int8::fully_connected_i8");
                    let mut args = vec![Arg::Local("p".into()), xa];
                    args.extend(w.args());
                    args.extend([bias, Arg::Static(scales), Arg::Output]);
                    Stmt::Call(kernel, args)
                }
            },
        ];
        let format = sparse
            .as_ref()
            .map_or(WeightFormat::Dense, |(_, _, e)| e.format);
        let entries = sparse.as_ref().map_or(n * k, |(_, _, e)| e.positions.len());
        if !int4_weights {
            self.layer_weights = Some(LayerWeights {
                node: self.index,
                format,
                codebook: None,
                unrolled: false,
                macs_executed: (m * entries) as u64,
            });
        }
        let detail = format!(
            "[{m}, {k}] × [{k}, {n}], int8{}{}{}",
            weights_detail,
            sparse_detail(sparse.as_ref().map(|(_, _, e)| e), n * k),
            fused(a.activation)
        );
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }

    pub(super) fn add_i8(&mut self, a: &BinaryAttrs, subtract: bool) -> R<()> {
        let qa = quant::single(Some(self.quantization(self.node.inputs[0])?), "input A")?;
        let qb = quant::single(Some(self.quantization(self.node.inputs[1])?), "input B")?;
        let (sy, zy, min, max) = self.output_range(a.activation)?;
        let q = quant::add_params(qa, qb, (sy, zy), subtract, (min, max));
        let p = Struct::new(
            "int8::AddI8",
            vec![
                ("subtract", Value::Bool(q.subtract)),
                ("left_shift", isize_(q.left_shift)),
                ("a_offset", isize_(q.a_offset)),
                ("a_multiplier", isize_(q.a_multiplier)),
                ("a_shift", isize_(q.a_shift)),
                ("b_offset", isize_(q.b_offset)),
                ("b_multiplier", isize_(q.b_multiplier)),
                ("b_shift", isize_(q.b_shift)),
                ("output_multiplier", isize_(q.output_multiplier)),
                ("output_shift", isize_(q.output_shift)),
                ("output_zero_point", isize_(q.output_zero_point)),
                ("output_min", isize_(q.output_min)),
                ("output_max", isize_(q.output_max)),
            ],
        );
        if self.input_shape(0) != self.input_shape(1) {
            return self.add_i8_broadcast(p, a);
        }
        self.two_operand_step(p, "int8::add_i8", format!("int8{}", fused(a.activation)))
    }

    pub(super) fn softmax_i8(&mut self, a: &SoftmaxAttrs) -> R<()> {
        let x = self.input_shape(0).to_vec();
        if a.coerce_2d || a.axis as usize + 1 != x.len() {
            return Err("an int8 Softmax must be over the last axis".into());
        }
        let y = self.quantization(self.node.outputs[0])?;
        let (rescale, output_multiplier, output_shift, output_zero_point) =
            quant::softmax_output(quant::single(Some(y), "the output")?);
        let (sx, _) =
            quant::single(Some(self.quantization(self.node.inputs[0])?), "the input")?;
        let (multiplier, shift, diff_min) = quant::softmax_params(a.beta, sx);
        let len = x[x.len() - 1];
        let rows = x.iter().product::<usize>() / len.max(1);
        let p = Struct::new(
            "int8::SoftmaxI8",
            vec![
                ("rows", usize_(rows)),
                ("len", usize_(len)),
                ("input_multiplier", isize_(multiplier)),
                ("input_left_shift", isize_(shift)),
                ("diff_min", isize_(diff_min)),
                ("rescale", Value::Bool(rescale)),
                ("output_multiplier", isize_(output_multiplier)),
                ("output_shift", isize_(output_shift)),
                ("output_zero_point", isize_(output_zero_point)),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "int8::softmax_i8".into(),
                vec![Arg::Local("p".into()), xa, Arg::Output],
            ),
        ];
        self.push(
            None,
            format!("over {len} values, {rows} times, int8"),
            inputs,
            self.node.outputs[0],
            false,
            body,
        );
        Ok(())
    }
}

/// The accumulators each output channel can reach: its folded bias (`folded`, the input zero
/// point's share in it) plus `Σ x · w` over int8 inputs `x`, its weights a row of `w` (`[n, …]`).
fn accumulator_ranges(w: &[i8], folded: &[i32]) -> Vec<(i64, i64)> {
    let row = w.len() / folded.len().max(1);
    if row == 0 {
        return folded.iter().map(|&b| (b as i64, b as i64)).collect();
    }
    w.chunks(row)
        .zip(folded)
        .map(|(row, &folded)| {
            let folded = folded as i64;
            let low: i64 = row
                .iter()
                .map(|&v| (v as i64 * -128).min(v as i64 * 127))
                .sum();
            let high: i64 = row
                .iter()
                .map(|&v| (v as i64 * -128).max(v as i64 * 127))
                .sum();
            (folded + low, folded + high)
        })
        .collect()
}
