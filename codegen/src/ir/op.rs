//! The operators of the IR and their typed attributes.
//!
//! Operator names and attribute names follow ONNX (one concept, one name: the IR, the emitter, the
//! report and the tests all say `Conv`, `kernel_shape`, `group`). Format quirks stay in the front
//! ends: an op here has one meaning whatever opset or file format it came from (for example
//! `Softmax` is always over a single axis; the front end rewrites the old "coerce to 2-D" form).
//!
//! Attributes that ONNX may give as run-time inputs (the shape of `Reshape`, the bounds of `Clip`,
//! the starts of `Slice`, ...) arrive as *parameter inputs* of the node (`Node::params`). Shape
//! inference reads their constant values into the typed attributes below and clears `params`;
//! after it, every attribute is explicit (no empty "default" lists, no negative axes, no
//! `auto_pad`), which is what the later passes and back ends rely on.

use crate::ir::DType;
use crate::ir::attr::{AttrMap, AttrType, AttrValue, Attrs, attr_struct, word_enum};

word_enum! {
    /// How convolution and pooling padding is chosen (ONNX `auto_pad`).
    pub enum AutoPad {
        NotSet = "notset",
        SameUpper = "same_upper",
        SameLower = "same_lower",
        Valid = "valid",
    }
}

word_enum! {
    /// How `Pad` fills the border.
    pub enum PadMode {
        Constant = "constant",
        Reflect = "reflect",
        Edge = "edge",
        /// Wrap-around, as if each axis (after cropping by negative pads) were a ring.
        Wrap = "wrap",
    }
}

word_enum! {
    /// Interpolation of `Resize`.
    pub enum ResizeMode {
        Nearest = "nearest",
        Linear = "linear",
        /// Keys' cubic convolution with coefficient `cubic_coeff_a`, four taps per axis.
        Cubic = "cubic",
    }
}

word_enum! {
    /// How `Resize` maps an output coordinate to an input coordinate.
    pub enum CoordinateTransformation {
        HalfPixel = "half_pixel",
        HalfPixelSymmetric = "half_pixel_symmetric",
        PytorchHalfPixel = "pytorch_half_pixel",
        AlignCorners = "align_corners",
        Asymmetric = "asymmetric",
        TfHalfPixelForNn = "tf_half_pixel_for_nn",
        /// Samples the region of interest `roi`; points outside the input take
        /// `extrapolation_value`.
        TfCropAndResize = "tf_crop_and_resize",
        /// TFLite (no `align_corners`, no `half_pixel_centers`): `x · (in / out)`, the ratio
        /// computed in `f32` and multiplied, as TFLite's kernels do (ONNX's `asymmetric`
        /// divides by `out / in`, which rounds differently near whole numbers).
        TfliteAsymmetric = "tflite_asymmetric",
        /// TFLite `half_pixel_centers` for linear resizing: `(x + 0.5) · (in / out) - 0.5`.
        TfliteHalfPixel = "tflite_half_pixel",
        /// TFLite `half_pixel_centers` for nearest resizing: `(x + 0.5) · (in / out)`.
        TfliteHalfPixelForNn = "tflite_half_pixel_for_nn",
        /// TFLite `align_corners`: `x · ((in - 1) / (out - 1))` (`x · (in / out)` for one
        /// output point).
        TfliteAlignCorners = "tflite_align_corners",
    }
}

impl CoordinateTransformation {
    /// TFLite's `(align_corners, half_pixel_centers)` for the TFLite modes, which fix the
    /// integer arithmetic of int8 bilinear resizing; `None` for the ONNX modes.
    pub fn tflite_flags(self) -> Option<(bool, bool)> {
        match self {
            CoordinateTransformation::TfliteAsymmetric => Some((false, false)),
            CoordinateTransformation::TfliteHalfPixel
            | CoordinateTransformation::TfliteHalfPixelForNn => Some((false, true)),
            CoordinateTransformation::TfliteAlignCorners => Some((true, false)),
            _ => None,
        }
    }
}

word_enum! {
    /// How `Resize` with `sizes` keeps the aspect ratio of the resized axes.
    pub enum AspectPolicy {
        /// Each axis gets its size.
        Stretch = "stretch",
        /// One scale, the smallest of the axes' (the output fits inside the sizes).
        NotLarger = "not_larger",
        /// One scale, the largest (the output covers the sizes).
        NotSmaller = "not_smaller",
    }
}

word_enum! {
    /// How `Resize` in nearest mode rounds a fractional input coordinate.
    pub enum NearestMode {
        RoundPreferFloor = "round_prefer_floor",
        RoundPreferCeil = "round_prefer_ceil",
        Floor = "floor",
        Ceil = "ceil",
        /// Resize-10 (Upsample): round down an axis that grows, up an axis that shrinks.
        Legacy = "legacy",
    }
}

/// An activation applied to the result of an op, inside the same kernel (set by activation fusion).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Activation {
    #[default]
    None,
    Relu,
    /// Clamp to `[min, max]`; ReLU6 is `Clip { min: 0, max: 6 }`.
    Clip {
        min: f32,
        max: f32,
    },
    LeakyRelu {
        alpha: f32,
    },
}

impl Activation {
    /// Applies the activation to one value (the reference semantics kernels must match).
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::Clip { min, max } => x.max(min).min(max),
            Activation::LeakyRelu { alpha } => {
                if x < 0.0 {
                    alpha * x
                } else {
                    x
                }
            }
        }
    }
}

impl AttrType for Activation {
    fn to_attr(&self) -> AttrValue {
        match *self {
            Activation::None => AttrValue::Word("none".into()),
            Activation::Relu => AttrValue::Word("relu".into()),
            Activation::Clip { min, max } => AttrValue::Call(
                "clip".into(),
                vec![AttrValue::Float(min), AttrValue::Float(max)],
            ),
            Activation::LeakyRelu { alpha } => {
                AttrValue::Call("leaky_relu".into(), vec![AttrValue::Float(alpha)])
            }
        }
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Word(w) if w == "none" => Some(Activation::None),
            AttrValue::Word(w) if w == "relu" => Some(Activation::Relu),
            AttrValue::Call(name, args) if name == "clip" && args.len() == 2 => {
                Some(Activation::Clip {
                    min: f32::from_attr(&args[0])?,
                    max: f32::from_attr(&args[1])?,
                })
            }
            AttrValue::Call(name, args) if name == "leaky_relu" && args.len() == 1 => {
                Some(Activation::LeakyRelu {
                    alpha: f32::from_attr(&args[0])?,
                })
            }
            _ => None,
        }
    }
    const EXPECTED: &'static str = "none, relu, clip(min, max) or leaky_relu(alpha)";
}

impl AttrType for DType {
    fn to_attr(&self) -> AttrValue {
        AttrValue::Word(self.name().to_string())
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Word(w) => DType::from_name(w),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "an element type such as f32 or i64";
}

attr_struct! {
    /// `Conv`: N-D convolution, NCHW data and `[C_out, C_in / group, k...]` weights; with
    /// `channels_last`, NHWC data and `[C_out, k..., C_in / group]` weights (TFLite's layout,
    /// kept as it is so that a TFLite model runs without transposes).
    pub struct ConvAttrs {
        /// Spatial kernel size; empty until shape inference reads it from the weights.
        pub kernel_shape: Vec<usize> = Vec::new(),
        /// Empty means 1 on every spatial axis.
        pub strides: Vec<usize> = Vec::new(),
        /// Empty means 1 on every spatial axis.
        pub dilations: Vec<usize> = Vec::new(),
        /// `[begin_0, begin_1, ..., end_0, end_1, ...]`; empty means 0.
        pub pads: Vec<usize> = Vec::new(),
        pub group: usize = 1,
        pub auto_pad: AutoPad = AutoPad::NotSet,
        pub activation: Activation = Activation::None,
        pub channels_last: bool = false,
    }
}

attr_struct! {
    /// `ConvTranspose`: weights `[C_in, C_out / group, k...]`.
    pub struct ConvTransposeAttrs {
        pub kernel_shape: Vec<usize> = Vec::new(),
        pub strides: Vec<usize> = Vec::new(),
        pub dilations: Vec<usize> = Vec::new(),
        pub pads: Vec<usize> = Vec::new(),
        pub output_padding: Vec<usize> = Vec::new(),
        /// The requested output spatial shape; shape inference turns it into `pads`.
        pub output_shape: Option<Vec<usize>> = None,
        pub group: usize = 1,
        pub auto_pad: AutoPad = AutoPad::NotSet,
        pub activation: Activation = Activation::None,
    }
}

attr_struct! {
    /// `MaxPool` and `AveragePool`.
    pub struct PoolAttrs {
        pub kernel_shape: Vec<usize> = Vec::new(),
        pub strides: Vec<usize> = Vec::new(),
        pub dilations: Vec<usize> = Vec::new(),
        pub pads: Vec<usize> = Vec::new(),
        pub auto_pad: AutoPad = AutoPad::NotSet,
        pub ceil_mode: bool = false,
        /// `AveragePool` only: whether padded positions count in the divisor.
        pub count_include_pad: bool = false,
        /// `MaxPool` only: whether its `Indices` output numbers a plane's elements in
        /// column-major order (ONNX `storage_order` 1) rather than row-major.
        pub column_major_indices: bool = false,
        /// NHWC data instead of NCHW.
        pub channels_last: bool = false,
    }
}

attr_struct! {
    /// `Gemm`: `Y = alpha * A' * B' + beta * C`.
    pub struct GemmAttrs {
        pub alpha: f32 = 1.0,
        pub beta: f32 = 1.0,
        pub trans_a: bool = false,
        pub trans_b: bool = false,
        pub activation: Activation = Activation::None,
    }
}

attr_struct! {
    /// `Add`, `Sub`, `Mul`, `Div`: element-wise with multidirectional broadcasting.
    pub struct BinaryAttrs {
        pub activation: Activation = Activation::None,
    }
}

attr_struct! {
    pub struct LeakyReluAttrs {
        pub alpha: f32 = 0.01,
    }
}

attr_struct! {
    /// `Clip`; missing bounds are infinite.
    pub struct ClipAttrs {
        pub min: f32 = f32::NEG_INFINITY,
        pub max: f32 = f32::INFINITY,
    }
}

attr_struct! {
    /// `Elu` and `Celu`.
    pub struct EluAttrs {
        pub alpha: f32 = 1.0,
    }
}

attr_struct! {
    /// `Selu`: `gamma * (x > 0 ? x : alpha * (e^x - 1))`.
    pub struct SeluAttrs {
        pub alpha: f32 = 1.673_263_2,
        pub gamma: f32 = 1.050_701,
    }
}

attr_struct! {
    /// `Gelu`; `tanh` selects the tanh approximation.
    pub struct GeluAttrs {
        pub tanh: bool = false,
    }
}

attr_struct! {
    /// `Mod`: the remainder with the sign of the divisor, or with `fmod` that of the dividend
    /// (C's `fmod`, which ONNX requires for floats).
    pub struct ModAttrs {
        pub fmod: bool = false,
    }
}

attr_struct! {
    pub struct HardSigmoidAttrs {
        pub alpha: f32 = 0.2,
        pub beta: f32 = 0.5,
    }
}

attr_struct! {
    /// `Softmax` and `LogSoftmax`: normalised over `axis`, or, with `coerce_2d`, over all axes
    /// from `axis` on taken as one (the meaning these ops had before ONNX opset 13).
    pub struct SoftmaxAttrs {
        pub axis: i64 = -1,
        pub coerce_2d: bool = false,
        /// TFLite's inverse temperature: `softmax(beta * x)`.
        pub beta: f32 = 1.0,
    }
}

attr_struct! {
    /// Inference-mode `BatchNormalization`; inputs `x, scale, bias, mean, var`.
    pub struct BatchNormAttrs {
        pub epsilon: f32 = 1e-5,
    }
}

attr_struct! {
    /// Training-mode `BatchNormalization` (ONNX `training_mode=1`): `x` normalised with the
    /// mean and (biased) variance of its batch over every axis but 1; inputs `x, scale, bias,
    /// input_mean, input_var`; outputs `y` and, optionally, `running_mean` and `running_var`
    /// (`input · momentum + batch statistic · (1 − momentum)`).
    pub struct BatchNormTrainingAttrs {
        pub epsilon: f32 = 1e-5,
        pub momentum: f32 = 0.9,
    }
}

attr_struct! {
    pub struct ReshapeAttrs {
        /// ONNX `allowzero`: a 0 in the shape means a zero-sized axis instead of "copy the input's".
        pub allowzero: bool = false,
    }
}

attr_struct! {
    pub struct FlattenAttrs {
        pub axis: i64 = 1,
    }
}

attr_struct! {
    /// `Squeeze` and `Unsqueeze`; `None` for `Squeeze` means every axis of size 1.
    pub struct AxesAttrs {
        pub axes: Option<Vec<i64>> = None,
    }
}

attr_struct! {
    pub struct TransposeAttrs {
        /// `None` means reverse the axes.
        pub perm: Option<Vec<usize>> = None,
    }
}

attr_struct! {
    pub struct ConcatAttrs {
        pub axis: i64 = 0,
    }
}

attr_struct! {
    pub struct SplitAttrs {
        pub axis: i64 = 0,
        /// Sizes of the parts; `None` means equal parts, one per output.
        pub split: Option<Vec<usize>> = None,
    }
}

attr_struct! {
    /// `Slice`; after shape inference there is one entry per axis of the input, starts are
    /// clamped into range and ends are clamped (an end of -1 with a negative step means "through
    /// index 0").
    pub struct SliceAttrs {
        pub starts: Vec<i64> = Vec::new(),
        pub ends: Vec<i64> = Vec::new(),
        pub axes: Option<Vec<i64>> = None,
        pub steps: Option<Vec<i64>> = None,
    }
}

attr_struct! {
    /// `Pad`; `pads` is `[begin_0, ..., begin_n, end_0, ..., end_n]` over all axes after shape
    /// inference. Negative pads crop.
    pub struct PadAttrs {
        pub mode: PadMode = PadMode::Constant,
        pub pads: Vec<i64> = Vec::new(),
        pub value: f32 = 0.0,
        pub axes: Option<Vec<i64>> = None,
    }
}

attr_struct! {
    /// `Gather`; the indices are the node's second input.
    pub struct GatherAttrs {
        pub axis: i64 = 0,
    }
}

attr_struct! {
    /// The reductions (`ReduceSum`, `ReduceMean`, `ReduceMax`, ... see [`ReduceFn`]); `None`
    /// axes means all axes (unless `noop_with_empty_axes`).
    pub struct ReduceAttrs {
        pub axes: Option<Vec<i64>> = None,
        pub keepdims: bool = true,
        pub noop_with_empty_axes: bool = false,
    }
}

impl ReduceAttrs {
    /// The reduced axes, after shape inference made them explicit and non-negative.
    pub fn resolved_axes(&self) -> Vec<usize> {
        self.axes
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|&v| v as usize)
            .collect()
    }
}

attr_struct! {
    /// `ArgMax` and `ArgMin`: the index (`i64`) of the largest or smallest value along `axis`;
    /// of equal values the first, or the last with `select_last_index`.
    pub struct ArgAttrs {
        pub axis: i64 = 0,
        pub keepdims: bool = true,
        pub select_last_index: bool = false,
    }
}

attr_struct! {
    /// `CumSum` along `axis` (a parameter input in ONNX); `exclusive` leaves out the element
    /// itself, `reverse` sums from the end.
    pub struct CumSumAttrs {
        pub axis: i64 = 0,
        pub exclusive: bool = false,
        pub reverse: bool = false,
    }
}

attr_struct! {
    /// `TopK`: the `k` largest (or smallest) values along `axis` and their indices (`i64`), in
    /// order, equal values by ascending index. `k` is a parameter input since opset 10; shape
    /// inference makes it explicit.
    pub struct TopKAttrs {
        pub k: Option<i64> = None,
        pub axis: i64 = -1,
        pub largest: bool = true,
        pub sorted: bool = true,
    }
}

attr_struct! {
    /// `Resize`; after shape inference `scales` holds one scale per axis (output / input for
    /// axes given by `sizes`), which is what the coordinate transformation uses. Any axes may
    /// change in the IR; the nearest and linear kernels resize two adjacent axes (the last two
    /// of NCHW data, the middle two of NHWC data), the filter kernel of float data any axes. On
    /// int8 data, linear resizing uses TFLite's integer arithmetic and needs a `tflite_*`
    /// coordinate transformation; cubic and antialiased resizing need float data.
    pub struct ResizeAttrs {
        pub mode: ResizeMode = ResizeMode::Nearest,
        pub coordinate_transformation_mode: CoordinateTransformation = CoordinateTransformation::HalfPixel,
        pub nearest_mode: NearestMode = NearestMode::RoundPreferFloor,
        pub scales: Vec<f32> = Vec::new(),
        pub sizes: Option<Vec<usize>> = None,
        /// `tf_crop_and_resize` only: `[starts..., ends...]` in normalised coordinates.
        pub roi: Vec<f32> = Vec::new(),
        pub extrapolation_value: f32 = 0.0,
        /// The axes that `scales`, `sizes` and `roi` of the node's parameter inputs name;
        /// shape inference expands them to every axis and clears this.
        pub axes: Option<Vec<i64>> = None,
        pub keep_aspect_ratio_policy: AspectPolicy = AspectPolicy::Stretch,
        /// The `a` of the cubic kernel (-0.75 as in PyTorch, -0.5 as in TensorFlow).
        pub cubic_coeff_a: f32 = -0.75,
        /// Cubic: input points outside the input get weight 0 and the others are renormalised
        /// (otherwise they repeat the edge).
        pub exclude_outside: bool = false,
        /// Linear and cubic: when an axis shrinks by `scale`, the filter is stretched by
        /// `1 / scale` and its weights renormalised, so that every input point contributes.
        pub antialias: bool = false,
    }
}

attr_struct! {
    pub struct ShapeAttrs {
        pub start: i64 = 0,
        pub end: Option<i64> = None,
    }
}

attr_struct! {
    pub struct CastAttrs {
        pub to: DType = DType::F32,
    }
}

attr_struct! {
    /// `ConstantOfShape`: a tensor of `shape` filled with `value` of type `dtype` (the
    /// shape is the node's parameter input until shape inference reads it).
    pub struct ConstantOfShapeAttrs {
        pub shape: Vec<usize> = Vec::new(),
        pub value: f64 = 0.0,
        pub dtype: DType = DType::F32,
    }
}

attr_struct! {
    /// `Range`: `start, start + delta, ...` below `limit` (above it for a negative delta),
    /// of type `dtype`; `len` is set by shape inference from the parameter inputs.
    pub struct RangeAttrs {
        pub start: f64 = 0.0,
        pub delta: f64 = 1.0,
        pub len: usize = 0,
        pub dtype: DType = DType::F32,
    }
}

attr_struct! {
    /// `Expand` (to the broadcast of the input's shape and `shape`) and `Tile` (`repeats`
    /// copies along each axis); both are parameter inputs until shape inference reads them.
    pub struct ExpandAttrs {
        pub shape: Vec<usize> = Vec::new(),
    }
}

attr_struct! {
    pub struct TileAttrs {
        pub repeats: Vec<usize> = Vec::new(),
    }
}

attr_struct! {
    /// `DepthToSpace` and `SpaceToDepth` on NCHW data; `crd` selects the column-row-depth
    /// order of the channels (the default is depth-column-row).
    pub struct BlockAttrs {
        pub blocksize: usize = 1,
        pub crd: bool = false,
    }
}

impl BlockAttrs {
    /// The op as a transpose of a 6-D view: `(view shape, permutation)` for input `x`.
    pub fn as_transpose(
        &self,
        x: &[usize],
        depth_to_space: bool,
    ) -> (Vec<usize>, Vec<usize>) {
        let (n, c, h, w, b) = (x[0], x[1], x[2], x[3], self.blocksize);
        if !depth_to_space && self.crd {
            (vec![n, c, h / b, b, w / b, b], vec![0, 1, 3, 5, 2, 4])
        } else if !depth_to_space {
            (vec![n, c, h / b, b, w / b, b], vec![0, 3, 5, 1, 2, 4])
        } else if self.crd {
            (vec![n, c / (b * b), b, b, h, w], vec![0, 1, 4, 2, 5, 3])
        } else {
            (vec![n, b, b, c / (b * b), h, w], vec![0, 3, 4, 1, 5, 2])
        }
    }
}

attr_struct! {
    /// `DequantizeLinear`: `(x - zero_point) · scale` in float32, per tensor, along `axis`, or in
    /// blocks of `block_size` along `axis`. The scale and zero point arrive as parameter inputs;
    /// after shape inference they are here, row-major in the shape of the scale input (an
    /// empty `zero_point` means 0). When either is computed at run time, both are data inputs
    /// instead (`x, scale, zero_point?`), `scale_at_run_time` is set and the two lists are empty.
    pub struct DequantizeAttrs {
        pub axis: i64 = 1,
        pub block_size: usize = 0,
        pub scale: Vec<f32> = Vec::new(),
        pub zero_point: Vec<i64> = Vec::new(),
        pub scale_at_run_time: bool = false,
    }
}

attr_struct! {
    /// ONNX `QuantizeLinear`: `saturate(round_half_to_even(x / scale) + zero_point)` into
    /// `output_dtype`, with the scale and zero point laid out (and perhaps given at run time) as
    /// for `DequantizeLinear`.
    pub struct QuantizeLinearAttrs {
        pub axis: i64 = 1,
        pub block_size: usize = 0,
        pub output_dtype: DType = DType::U8,
        pub scale: Vec<f32> = Vec::new(),
        pub zero_point: Vec<i64> = Vec::new(),
        pub scale_at_run_time: bool = false,
    }
}

attr_struct! {
    /// `MatMulInteger` (`a_zero_point` per tensor or per row of `a`, `b_zero_point` per tensor
    /// or per column of `b`; int32 result) and `QLinearMatMul` (the same product, requantized:
    /// `saturate(round_half_to_even(acc · a_scale · b_scale / y_scale) + y_zero_point)`, with
    /// `b_scale` per tensor or per column). Parameter inputs until shape inference.
    pub struct QuantMatMulAttrs {
        pub a_scale: f32 = 1.0,
        pub a_zero_point: Vec<i64> = Vec::new(),
        pub b_scale: Vec<f32> = Vec::new(),
        pub b_zero_point: Vec<i64> = Vec::new(),
        pub y_scale: f32 = 1.0,
        pub y_zero_point: i64 = 0,
    }
}

attr_struct! {
    /// `ConvInteger` (int32 result) and `QLinearConv` (requantized as `QLinearMatMul` is, with
    /// `w_scale` and `w_zero_point` per tensor or per output channel, and an optional int32
    /// bias added to the accumulator). The geometry attributes are those of `Conv`.
    pub struct QuantConvAttrs {
        pub kernel_shape: Vec<usize> = Vec::new(),
        pub strides: Vec<usize> = Vec::new(),
        pub dilations: Vec<usize> = Vec::new(),
        pub pads: Vec<usize> = Vec::new(),
        pub group: usize = 1,
        pub auto_pad: AutoPad = AutoPad::NotSet,
        pub x_scale: f32 = 1.0,
        pub x_zero_point: i64 = 0,
        pub w_scale: Vec<f32> = Vec::new(),
        pub w_zero_point: Vec<i64> = Vec::new(),
        pub y_scale: f32 = 1.0,
        pub y_zero_point: i64 = 0,
    }
}

attr_struct! {
    /// `LayerNormalization`: each slice over the axes from `axis` on is normalised to mean 0 and
    /// variance 1, then scaled and shifted; inputs `X, Scale[, B]`, outputs `Y` and optionally
    /// `Mean` and `InvStdDev` (the statistics, shaped like `X` with the normalised axes of size 1).
    pub struct LayerNormAttrs {
        pub axis: i64 = -1,
        pub epsilon: f32 = 1e-5,
    }
}

attr_struct! {
    /// `LRN`: each value divided by `(bias + alpha / size · Σ x²)^beta`, the sum over `size`
    /// neighbouring channels.
    pub struct LrnAttrs {
        pub size: usize = 1,
        pub alpha: f32 = 1e-4,
        pub beta: f32 = 0.75,
        pub bias: f32 = 1.0,
    }
}

word_enum! {
    /// The direction in which `RNN`, `GRU` and `LSTM` walk the sequence.
    pub enum RecurrentDirection {
        Forward = "forward",
        Reverse = "reverse",
        Bidirectional = "bidirectional",
    }
}

word_enum! {
    /// The inputs of `RNN`, `GRU` and `LSTM` in ONNX order; a node lists the ones it has.
    pub enum RecurrentInput {
        X = "x",
        W = "w",
        R = "r",
        B = "b",
        SequenceLens = "sequence_lens",
        InitialH = "initial_h",
        InitialC = "initial_c",
        P = "p",
    }
}

word_enum! {
    /// The outputs of `RNN`, `GRU` and `LSTM`: the hidden state of every step, the last hidden
    /// state, the last cell state (`LSTM` only).
    pub enum RecurrentOutput {
        Y = "y",
        YH = "y_h",
        YC = "y_c",
    }
}

/// An activation function of a recurrent cell (ONNX's list for `RNN`, `GRU`, `LSTM`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecurrentActivation {
    Relu,
    Tanh,
    Sigmoid,
    /// `alpha · x + beta`.
    Affine(f32, f32),
    LeakyRelu(f32),
    /// `x` above `alpha`, else 0.
    ThresholdedRelu(f32),
    /// `alpha · tanh(beta · x)`.
    ScaledTanh(f32, f32),
    HardSigmoid(f32, f32),
    Elu(f32),
    Softsign,
    Softplus,
}

impl RecurrentActivation {
    /// The name in the text IR and the parameters.
    fn parts(self) -> (&'static str, Vec<f32>) {
        use RecurrentActivation as A;
        match self {
            A::Relu => ("relu", vec![]),
            A::Tanh => ("tanh", vec![]),
            A::Sigmoid => ("sigmoid", vec![]),
            A::Affine(a, b) => ("affine", vec![a, b]),
            A::LeakyRelu(a) => ("leaky_relu", vec![a]),
            A::ThresholdedRelu(a) => ("thresholded_relu", vec![a]),
            A::ScaledTanh(a, b) => ("scaled_tanh", vec![a, b]),
            A::HardSigmoid(a, b) => ("hard_sigmoid", vec![a, b]),
            A::Elu(a) => ("elu", vec![a]),
            A::Softsign => ("softsign", vec![]),
            A::Softplus => ("softplus", vec![]),
        }
    }

    fn from_parts(name: &str, p: &[f32]) -> Option<Self> {
        use RecurrentActivation as A;
        Some(match (name, p) {
            ("relu", []) => A::Relu,
            ("tanh", []) => A::Tanh,
            ("sigmoid", []) => A::Sigmoid,
            ("affine", [a, b]) => A::Affine(*a, *b),
            ("leaky_relu", [a]) => A::LeakyRelu(*a),
            ("thresholded_relu", [a]) => A::ThresholdedRelu(*a),
            ("scaled_tanh", [a, b]) => A::ScaledTanh(*a, *b),
            ("hard_sigmoid", [a, b]) => A::HardSigmoid(*a, *b),
            ("elu", [a]) => A::Elu(*a),
            ("softsign", []) => A::Softsign,
            ("softplus", []) => A::Softplus,
            _ => return None,
        })
    }
}

impl AttrType for RecurrentActivation {
    fn to_attr(&self) -> AttrValue {
        match self.parts() {
            (name, p) if p.is_empty() => AttrValue::Word(name.into()),
            (name, p) => {
                AttrValue::Call(name.into(), p.into_iter().map(AttrValue::Float).collect())
            }
        }
    }
    fn from_attr(value: &AttrValue) -> Option<Self> {
        match value {
            AttrValue::Word(w) => Self::from_parts(w, &[]),
            AttrValue::Call(name, args) => {
                let p: Vec<f32> = args.iter().map(f32::from_attr).collect::<Option<_>>()?;
                Self::from_parts(name, &p)
            }
            _ => None,
        }
    }
    const EXPECTED: &'static str =
        "an activation such as tanh, sigmoid or hard_sigmoid(alpha, beta)";
}

attr_struct! {
    /// `RNN`, `GRU` and `LSTM`. The node's inputs are those of `inputs` (X, W and R first, the
    /// optional ones in ONNX order) and its outputs those of `outputs`, so that an absent
    /// optional input or output needs no placeholder.
    pub struct RecurrentAttrs {
        pub hidden_size: usize = 0,
        pub direction: RecurrentDirection = RecurrentDirection::Forward,
        /// The activations of the first direction, then of the second: `f` (`RNN`), `f, g`
        /// (`GRU`) or `f, g, h` (`LSTM`) per direction.
        pub activations: Vec<RecurrentActivation> = Vec::new(),
        /// Bounds the inputs of the activations to `[-clip, clip]`.
        pub clip: Option<f32> = None,
        /// `GRU`: apply the reset gate after the recurrent linear transformation.
        pub linear_before_reset: bool = false,
        /// `LSTM`: couple the input and forget gates (`f = 1 - i`).
        pub input_forget: bool = false,
        /// ONNX `layout = 1`: `X`, `Y` and the states have the batch axis first.
        pub batch_first: bool = false,
        pub inputs: Vec<RecurrentInput> = vec![RecurrentInput::X, RecurrentInput::W, RecurrentInput::R],
        pub outputs: Vec<RecurrentOutput> = vec![RecurrentOutput::Y],
    }
}

impl RecurrentAttrs {
    /// The position among the node's inputs of an input, if the node has it.
    pub fn input_index(&self, input: RecurrentInput) -> Option<usize> {
        self.inputs.iter().position(|&i| i == input)
    }

    pub fn num_directions(&self) -> usize {
        match self.direction {
            RecurrentDirection::Bidirectional => 2,
            _ => 1,
        }
    }
}

attr_struct! {
    /// `Einsum`: `terms` holds one list of axis labels per input (a letter's code point, `-1`
    /// for an ellipsis) and `output` those of the result (`None`: the implicit form, every label
    /// that appears once, in alphabetical order). Shape inference replaces each ellipsis by
    /// labels of their own (256 and up) and makes `output` explicit.
    pub struct EinsumAttrs {
        pub terms: Vec<Vec<i64>> = Vec::new(),
        pub output: Option<Vec<i64>> = None,
    }
}

/// Declares the `Op` enum with, for each variant, its name in the text IR and its attribute type.
macro_rules! define_ops {
    ($( $(#[$meta:meta])* $variant:ident $( ( $attrs:ty ) )? = $name:literal ),+ $(,)?) => {
        /// An operator with its attributes. Inputs, parameter inputs and outputs live in the node.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Op {
            $( $(#[$meta])* $variant $( ( $attrs ) )? ),+
        }

        impl Op {
            /// The operator's name, as in ONNX.
            pub fn name(&self) -> &'static str {
                match self { $( define_ops!(@pat $variant $( $attrs )?) => $name ),+ }
            }

            /// The attributes as `(name, value)` pairs, for the text IR.
            pub fn attrs(&self) -> Vec<(&'static str, AttrValue)> {
                let mut out = Vec::new();
                match self {
                    $( define_ops!(@bind $variant a $( $attrs )?) => { define_ops!(@write a out $( $attrs )?); } )+
                }
                out
            }

            /// Builds an op from its name and attributes (the text IR parser).
            pub fn parse(name: &str, mut attrs: AttrMap) -> Result<Op, String> {
                let op = match name {
                    $( $name => define_ops!(@read $variant attrs $( $attrs )?), )+
                    _ => return Err(format!("unknown operator `{name}`")),
                };
                attrs.finish(name)?;
                Ok(op)
            }

            /// Every operator name the IR knows.
            pub const NAMES: &'static [&'static str] = &[$( $name ),+];
        }
    };
    (@pat $variant:ident $attrs:ty) => { Op::$variant(_) };
    (@pat $variant:ident) => { Op::$variant };
    (@bind $variant:ident $a:ident $attrs:ty) => { Op::$variant($a) };
    (@bind $variant:ident $a:ident) => { Op::$variant };
    (@write $a:ident $out:ident $attrs:ty) => { Attrs::write_attrs($a, &mut $out) };
    (@write $a:ident $out:ident) => { () };
    (@read $variant:ident $map:ident $attrs:ty) => { Op::$variant(<$attrs as Attrs>::read_attrs(&mut $map)?) };
    (@read $variant:ident $map:ident) => { Op::$variant };
}

define_ops! {
    Conv(ConvAttrs) = "Conv",
    ConvTranspose(ConvTransposeAttrs) = "ConvTranspose",
    Gemm(GemmAttrs) = "Gemm",
    MatMul = "MatMul",
    Add(BinaryAttrs) = "Add",
    Sub(BinaryAttrs) = "Sub",
    Mul(BinaryAttrs) = "Mul",
    Div(BinaryAttrs) = "Div",
    Relu = "Relu",
    LeakyRelu(LeakyReluAttrs) = "LeakyRelu",
    PRelu = "PRelu",
    Clip(ClipAttrs) = "Clip",
    Sigmoid = "Sigmoid",
    HardSigmoid(HardSigmoidAttrs) = "HardSigmoid",
    HardSwish = "HardSwish",
    Tanh = "Tanh",
    Softmax(SoftmaxAttrs) = "Softmax",
    LogSoftmax(SoftmaxAttrs) = "LogSoftmax",
    MaxPool(PoolAttrs) = "MaxPool",
    AveragePool(PoolAttrs) = "AveragePool",
    GlobalAveragePool = "GlobalAveragePool",
    GlobalMaxPool = "GlobalMaxPool",
    BatchNormalization(BatchNormAttrs) = "BatchNormalization",
    BatchNormalizationTraining(BatchNormTrainingAttrs) = "BatchNormalizationTraining",
    Reshape(ReshapeAttrs) = "Reshape",
    Flatten(FlattenAttrs) = "Flatten",
    Squeeze(AxesAttrs) = "Squeeze",
    Unsqueeze(AxesAttrs) = "Unsqueeze",
    Transpose(TransposeAttrs) = "Transpose",
    Concat(ConcatAttrs) = "Concat",
    Split(SplitAttrs) = "Split",
    Slice(SliceAttrs) = "Slice",
    Pad(PadAttrs) = "Pad",
    Gather(GatherAttrs) = "Gather",
    ReduceMean(ReduceAttrs) = "ReduceMean",
    ReduceSum(ReduceAttrs) = "ReduceSum",
    ReduceMax(ReduceAttrs) = "ReduceMax",
    ReduceMin(ReduceAttrs) = "ReduceMin",
    ReduceProd(ReduceAttrs) = "ReduceProd",
    ReduceL1(ReduceAttrs) = "ReduceL1",
    ReduceL2(ReduceAttrs) = "ReduceL2",
    ReduceLogSum(ReduceAttrs) = "ReduceLogSum",
    ReduceLogSumExp(ReduceAttrs) = "ReduceLogSumExp",
    ReduceSumSquare(ReduceAttrs) = "ReduceSumSquare",
    ArgMax(ArgAttrs) = "ArgMax",
    ArgMin(ArgAttrs) = "ArgMin",
    CumSum(CumSumAttrs) = "CumSum",
    /// 1 at the first largest value along `axis` (or over the axes from `axis` on, with
    /// `coerce_2d`), 0 elsewhere; `beta` is unused.
    Hardmax(SoftmaxAttrs) = "Hardmax",
    /// Two outputs: the values and their indices (`i64`).
    TopK(TopKAttrs) = "TopK",
    Resize(ResizeAttrs) = "Resize",
    Identity = "Identity",
    /// Inference-mode dropout: the identity.
    Dropout = "Dropout",
    /// The shape of the input as an `i64` vector; always folded to a constant.
    Shape(ShapeAttrs) = "Shape",
    Cast(CastAttrs) = "Cast",
    DequantizeLinear(DequantizeAttrs) = "DequantizeLinear",
    /// TFLite's `QUANTIZE`: float32 to int8 (`round(x / scale) + zero_point`, ties away from
    /// zero, saturated), or int8 to int8 (requantization), with the per-tensor quantization of
    /// the input and output tensors (`Tensor::quant`).
    Quantize = "Quantize",
    /// TFLite's `DEQUANTIZE` of a run-time tensor: int8 to float32, `scale · (q −
    /// zero_point)` with the input tensor's quantization. (ONNX's `DequantizeLinear` takes
    /// its scale and zero point as inputs instead.)
    Dequantize = "Dequantize",
    QuantizeLinear(QuantizeLinearAttrs) = "QuantizeLinear",
    /// Float32 to uint8 with a scale and zero point computed from the input's range; three
    /// outputs: `y` (uint8), `y_scale` (float32 scalar), `y_zero_point` (uint8 scalar).
    DynamicQuantizeLinear = "DynamicQuantizeLinear",
    MatMulInteger(QuantMatMulAttrs) = "MatMulInteger",
    QLinearMatMul(QuantMatMulAttrs) = "QLinearMatMul",
    ConvInteger(QuantConvAttrs) = "ConvInteger",
    /// Data inputs `x, w, bias`; the scales and zero points are parameter inputs.
    QLinearConv(QuantConvAttrs) = "QLinearConv",
    Abs = "Abs",
    Neg = "Neg",
    Sign = "Sign",
    Sqrt = "Sqrt",
    Exp = "Exp",
    Log = "Log",
    Sin = "Sin",
    Cos = "Cos",
    Tan = "Tan",
    Asin = "Asin",
    Acos = "Acos",
    Atan = "Atan",
    Sinh = "Sinh",
    Cosh = "Cosh",
    Asinh = "Asinh",
    Acosh = "Acosh",
    Atanh = "Atanh",
    Erf = "Erf",
    Floor = "Floor",
    Ceil = "Ceil",
    /// Rounds half to even.
    Round = "Round",
    Reciprocal = "Reciprocal",
    Softplus = "Softplus",
    Softsign = "Softsign",
    Mish = "Mish",
    Elu(EluAttrs) = "Elu",
    Celu(EluAttrs) = "Celu",
    Selu(SeluAttrs) = "Selu",
    Gelu(GeluAttrs) = "Gelu",
    /// Logical negation of a bool tensor.
    Not = "Not",
    Pow = "Pow",
    /// Element-wise maximum of two inputs (the front end chains ONNX's variadic `Max`).
    Max = "Max",
    Min = "Min",
    Mod(ModAttrs) = "Mod",
    And = "And",
    Or = "Or",
    Xor = "Xor",
    Equal = "Equal",
    Less = "Less",
    LessOrEqual = "LessOrEqual",
    Greater = "Greater",
    GreaterOrEqual = "GreaterOrEqual",
    /// `condition ? x : y` with broadcasting; inputs `condition, x, y`.
    Where = "Where",
    /// The number of elements of the input as an `i64` scalar; always folded to a constant.
    Size = "Size",
    ConstantOfShape(ConstantOfShapeAttrs) = "ConstantOfShape",
    Range(RangeAttrs) = "Range",
    Expand(ExpandAttrs) = "Expand",
    Tile(TileAttrs) = "Tile",
    /// `y[i][j][k] = x[index[i][j][k]][j][k]` along `axis` (indices the shape of the output).
    GatherElements(GatherAttrs) = "GatherElements",
    DepthToSpace(BlockAttrs) = "DepthToSpace",
    SpaceToDepth(BlockAttrs) = "SpaceToDepth",
    LayerNormalization(LayerNormAttrs) = "LayerNormalization",
    /// Inputs `x, scale, bias`; each channel of each batch entry is normalised.
    InstanceNormalization(BatchNormAttrs) = "InstanceNormalization",
    Lrn(LrnAttrs) = "LRN",
    Rnn(RecurrentAttrs) = "RNN",
    Gru(RecurrentAttrs) = "GRU",
    Lstm(RecurrentAttrs) = "LSTM",
    Einsum(EinsumAttrs) = "Einsum",
    /// Copies its input; inserted by the memory planner where a value must live in two places
    /// (a graph input that is also an output, a constant that is an output, ...).
    Copy = "Copy",
}

/// The one-input element-wise functions, with their parameters: what the evaluator and the
/// kernels compute for `Op::unary_fn`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryFn {
    Relu,
    LeakyRelu(f32),
    Clip(f32, f32),
    Sigmoid,
    HardSigmoid(f32, f32),
    HardSwish,
    Tanh,
    Abs,
    Neg,
    Sign,
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    Erf,
    Floor,
    Ceil,
    Round,
    Reciprocal,
    Softplus,
    Softsign,
    Mish,
    Elu(f32),
    Celu(f32),
    Selu(f32, f32),
    Gelu,
    GeluTanh,
    Not,
}

impl UnaryFn {
    /// Whether the function is defined on integer tensors (the rest need floats, or bool for
    /// `Not`).
    pub fn takes_integers(self) -> bool {
        matches!(
            self,
            UnaryFn::Relu | UnaryFn::Clip(..) | UnaryFn::Abs | UnaryFn::Neg | UnaryFn::Sign
        )
    }
}

/// The two-input element-wise functions whose result has the type of the inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryFn {
    Add,
    Sub,
    Mul,
    Div,
    PRelu,
    Pow,
    Max,
    Min,
    Mod,
    Fmod,
    And,
    Or,
    Xor,
}

impl BinaryFn {
    pub fn is_logical(self) -> bool {
        matches!(self, BinaryFn::And | BinaryFn::Or | BinaryFn::Xor)
    }
}

/// The comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareFn {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// The reductions, as ONNX defines them over the reduced elements `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceFn {
    /// `sum(x)`.
    Sum,
    /// `sum(x) / n`.
    Mean,
    Max,
    Min,
    /// `prod(x)`.
    Prod,
    /// `sum(|x|)`.
    L1,
    /// `sqrt(sum(x²))`.
    L2,
    /// `ln(sum(x))`.
    LogSum,
    /// `ln(sum(e^x))`.
    LogSumExp,
    /// `sum(x²)`.
    SumSquare,
}

impl ReduceFn {
    /// Whether the reduction is defined on integer tensors here (the rest have fractional
    /// results; ONNX allows them on integers but they are refused rather than truncated).
    pub fn takes_integers(self) -> bool {
        !matches!(self, ReduceFn::L2 | ReduceFn::LogSum | ReduceFn::LogSumExp)
    }

    /// Whether the reduction is defined on bool tensors (ONNX opset 20: `ReduceMax` is "any",
    /// `ReduceMin` is "all").
    pub fn takes_bool(self) -> bool {
        matches!(self, ReduceFn::Max | ReduceFn::Min)
    }
}

/// What a node's inputs may be, for the validator and the text parser.
#[derive(Clone, Copy, Debug)]
pub struct Arity {
    pub min_inputs: usize,
    pub max_inputs: usize,
    /// `None` means any number of outputs of at least one (Split).
    pub outputs: Option<usize>,
    /// Names of the parameter inputs (see the module doc), in ONNX input order.
    pub params: &'static [&'static str],
}

impl Op {
    pub fn arity(&self) -> Arity {
        let a = |min_inputs, max_inputs, params| Arity {
            min_inputs,
            max_inputs,
            outputs: Some(1),
            params,
        };
        match self {
            Op::Conv(_) | Op::ConvTranspose(_) | Op::Gemm(_) => a(2, 3, &[]),
            Op::MatMul | Op::PRelu => a(2, 2, &[]),
            Op::Add(_) | Op::Sub(_) | Op::Mul(_) | Op::Div(_) => a(2, 2, &[]),
            Op::Relu
            | Op::LeakyRelu(_)
            | Op::Sigmoid
            | Op::HardSigmoid(_)
            | Op::HardSwish
            | Op::Tanh
            | Op::Softmax(_)
            | Op::LogSoftmax(_)
            | Op::AveragePool(_)
            | Op::GlobalAveragePool
            | Op::GlobalMaxPool
            | Op::Flatten(_)
            | Op::Transpose(_)
            | Op::Identity
            | Op::Shape(_)
            | Op::Cast(_)
            | Op::Quantize
            | Op::Dequantize
            | Op::Copy => a(1, 1, &[]),
            Op::Clip(_) => a(1, 1, &["min", "max"]),
            Op::BatchNormalization(_) => a(5, 5, &[]),
            // `y`, then the optional running statistics.
            Op::BatchNormalizationTraining(_) => Arity {
                min_inputs: 5,
                max_inputs: 5,
                outputs: None,
                params: &[],
            },
            Op::Reshape(_) => a(1, 1, &["shape"]),
            Op::Squeeze(_) | Op::Unsqueeze(_) => a(1, 1, &["axes"]),
            Op::Concat(_) => a(1, usize::MAX, &[]),
            Op::Split(_) => Arity {
                min_inputs: 1,
                max_inputs: 1,
                outputs: None,
                params: &["split"],
            },
            Op::Slice(_) => a(1, 1, &["starts", "ends", "axes", "steps"]),
            Op::Pad(_) => a(1, 1, &["pads", "constant_value", "axes"]),
            Op::Gather(_) => a(2, 2, &[]),
            op if op.reduce_fn().is_some() => a(1, 1, &["axes"]),
            Op::ArgMax(_) | Op::ArgMin(_) | Op::Hardmax(_) => a(1, 1, &[]),
            Op::CumSum(_) => a(1, 1, &["axis"]),
            // The values and, when the model uses them, the indices.
            Op::MaxPool(_) => Arity {
                outputs: None,
                ..a(1, 1, &[])
            },
            Op::TopK(_) => Arity {
                min_inputs: 1,
                max_inputs: 1,
                outputs: Some(2),
                params: &["k"],
            },
            Op::Resize(_) => a(1, 1, &["roi", "scales", "sizes"]),
            Op::Dropout => a(1, 1, &["ratio", "training_mode"]),
            Op::DequantizeLinear(q) if q.scale_at_run_time => a(2, 3, &[]),
            Op::QuantizeLinear(q) if q.scale_at_run_time => a(2, 3, &[]),
            Op::DequantizeLinear(_) => a(1, 1, &["x_scale", "x_zero_point"]),
            Op::QuantizeLinear(_) => a(1, 1, &["y_scale", "y_zero_point"]),
            Op::DynamicQuantizeLinear => Arity {
                min_inputs: 1,
                max_inputs: 1,
                outputs: Some(3),
                params: &[],
            },
            Op::MatMulInteger(_) => a(2, 2, &["a_zero_point", "b_zero_point"]),
            Op::QLinearMatMul(_) => a(
                2,
                2,
                &[
                    "a_scale",
                    "a_zero_point",
                    "b_scale",
                    "b_zero_point",
                    "y_scale",
                    "y_zero_point",
                ],
            ),
            Op::ConvInteger(_) => a(2, 2, &["x_zero_point", "w_zero_point"]),
            Op::QLinearConv(_) => a(
                2,
                3,
                &[
                    "x_scale",
                    "x_zero_point",
                    "w_scale",
                    "w_zero_point",
                    "y_scale",
                    "y_zero_point",
                ],
            ),
            Op::Where => a(3, 3, &[]),
            Op::Size => a(1, 1, &[]),
            Op::ConstantOfShape(_) => a(0, 0, &["shape"]),
            Op::Range(_) => a(0, 0, &["start", "limit", "delta"]),
            Op::Expand(_) => a(1, 1, &["shape"]),
            Op::Tile(_) => a(1, 1, &["repeats"]),
            Op::GatherElements(_) => a(2, 2, &[]),
            Op::DepthToSpace(_) | Op::SpaceToDepth(_) => a(1, 1, &[]),
            Op::LayerNormalization(_) => Arity {
                outputs: None,
                ..a(2, 3, &[])
            },
            Op::InstanceNormalization(_) => a(3, 3, &[]),
            Op::Lrn(_) => a(1, 1, &[]),
            Op::Rnn(_) | Op::Gru(_) | Op::Lstm(_) => Arity {
                outputs: None,
                ..a(3, 8, &[])
            },
            Op::Einsum(_) => a(1, usize::MAX, &[]),
            // The element-wise ops without parameter inputs.
            op if op.unary_fn().is_some() => a(1, 1, &[]),
            _ => a(2, 2, &[]),
        }
    }

    /// The element types of the outputs, given those of the inputs. Every op in this version
    /// returns the type of its first input except the few that say otherwise.
    pub fn output_dtype(&self, inputs: &[DType]) -> DType {
        match self {
            Op::Shape(_) | Op::Size => DType::I64,
            Op::ConstantOfShape(a) => a.dtype,
            Op::Range(a) => a.dtype,
            Op::Cast(c) => c.to,
            Op::DequantizeLinear(_) | Op::Dequantize => DType::F32,
            Op::Quantize => DType::I8,
            Op::QuantizeLinear(a) => a.output_dtype,
            Op::DynamicQuantizeLinear => DType::U8,
            Op::MatMulInteger(_) | Op::ConvInteger(_) => DType::I32,
            Op::ArgMax(_) | Op::ArgMin(_) => DType::I64,
            op if op.compare_fn().is_some() => DType::Bool,
            Op::Where => inputs.get(1).copied().unwrap_or(DType::F32),
            _ => inputs.first().copied().unwrap_or(DType::F32),
        }
    }

    /// The element type of output `k`: that of [`Op::output_dtype`], except for the second
    /// output of `TopK` (its indices).
    pub fn output_dtype_at(&self, k: usize, inputs: &[DType]) -> DType {
        match self {
            Op::TopK(_) if k == 1 => DType::I64,
            Op::MaxPool(_) if k == 1 => DType::I64,
            _ => self.output_dtype(inputs),
        }
    }

    /// The reduction of a `Reduce*` op.
    pub fn reduce_fn(&self) -> Option<ReduceFn> {
        Some(match self {
            Op::ReduceSum(_) => ReduceFn::Sum,
            Op::ReduceMean(_) => ReduceFn::Mean,
            Op::ReduceMax(_) => ReduceFn::Max,
            Op::ReduceMin(_) => ReduceFn::Min,
            Op::ReduceProd(_) => ReduceFn::Prod,
            Op::ReduceL1(_) => ReduceFn::L1,
            Op::ReduceL2(_) => ReduceFn::L2,
            Op::ReduceLogSum(_) => ReduceFn::LogSum,
            Op::ReduceLogSumExp(_) => ReduceFn::LogSumExp,
            Op::ReduceSumSquare(_) => ReduceFn::SumSquare,
            _ => return None,
        })
    }

    /// The attributes of a `Reduce*` op.
    pub fn reduce_attrs(&self) -> Option<&ReduceAttrs> {
        match self {
            Op::ReduceSum(a)
            | Op::ReduceMean(a)
            | Op::ReduceMax(a)
            | Op::ReduceMin(a)
            | Op::ReduceProd(a)
            | Op::ReduceL1(a)
            | Op::ReduceL2(a)
            | Op::ReduceLogSum(a)
            | Op::ReduceLogSumExp(a)
            | Op::ReduceSumSquare(a) => Some(a),
            _ => None,
        }
    }

    /// The attributes of a `Reduce*` op, to change.
    pub fn reduce_attrs_mut(&mut self) -> Option<&mut ReduceAttrs> {
        match self {
            Op::ReduceSum(a)
            | Op::ReduceMean(a)
            | Op::ReduceMax(a)
            | Op::ReduceMin(a)
            | Op::ReduceProd(a)
            | Op::ReduceL1(a)
            | Op::ReduceL2(a)
            | Op::ReduceLogSum(a)
            | Op::ReduceLogSumExp(a)
            | Op::ReduceSumSquare(a) => Some(a),
            _ => None,
        }
    }

    /// The element type of output `k` when the outputs of an op differ in type
    /// (`DynamicQuantizeLinear`); `None` when every output has [`Op::output_dtype`].
    pub fn output_dtype_of(&self, k: usize) -> Option<DType> {
        match (self, k) {
            (Op::DynamicQuantizeLinear, 1) => Some(DType::F32),
            _ => None,
        }
    }

    /// The function of a one-input element-wise op (activations included).
    pub fn unary_fn(&self) -> Option<UnaryFn> {
        Some(match self {
            Op::Relu => UnaryFn::Relu,
            Op::LeakyRelu(a) => UnaryFn::LeakyRelu(a.alpha),
            Op::Clip(a) => UnaryFn::Clip(a.min, a.max),
            Op::Sigmoid => UnaryFn::Sigmoid,
            Op::HardSigmoid(a) => UnaryFn::HardSigmoid(a.alpha, a.beta),
            Op::HardSwish => UnaryFn::HardSwish,
            Op::Tanh => UnaryFn::Tanh,
            Op::Abs => UnaryFn::Abs,
            Op::Neg => UnaryFn::Neg,
            Op::Sign => UnaryFn::Sign,
            Op::Sqrt => UnaryFn::Sqrt,
            Op::Exp => UnaryFn::Exp,
            Op::Log => UnaryFn::Log,
            Op::Sin => UnaryFn::Sin,
            Op::Cos => UnaryFn::Cos,
            Op::Tan => UnaryFn::Tan,
            Op::Asin => UnaryFn::Asin,
            Op::Acos => UnaryFn::Acos,
            Op::Atan => UnaryFn::Atan,
            Op::Sinh => UnaryFn::Sinh,
            Op::Cosh => UnaryFn::Cosh,
            Op::Asinh => UnaryFn::Asinh,
            Op::Acosh => UnaryFn::Acosh,
            Op::Atanh => UnaryFn::Atanh,
            Op::Erf => UnaryFn::Erf,
            Op::Floor => UnaryFn::Floor,
            Op::Ceil => UnaryFn::Ceil,
            Op::Round => UnaryFn::Round,
            Op::Reciprocal => UnaryFn::Reciprocal,
            Op::Softplus => UnaryFn::Softplus,
            Op::Softsign => UnaryFn::Softsign,
            Op::Mish => UnaryFn::Mish,
            Op::Elu(a) => UnaryFn::Elu(a.alpha),
            Op::Celu(a) => UnaryFn::Celu(a.alpha),
            Op::Selu(a) => UnaryFn::Selu(a.alpha, a.gamma),
            Op::Gelu(a) if a.tanh => UnaryFn::GeluTanh,
            Op::Gelu(_) => UnaryFn::Gelu,
            Op::Not => UnaryFn::Not,
            _ => return None,
        })
    }

    /// The function of a two-input element-wise op whose result has the inputs' type.
    pub fn binary_fn(&self) -> Option<BinaryFn> {
        Some(match self {
            Op::Add(_) => BinaryFn::Add,
            Op::Sub(_) => BinaryFn::Sub,
            Op::Mul(_) => BinaryFn::Mul,
            Op::Div(_) => BinaryFn::Div,
            Op::PRelu => BinaryFn::PRelu,
            Op::Pow => BinaryFn::Pow,
            Op::Max => BinaryFn::Max,
            Op::Min => BinaryFn::Min,
            Op::Mod(a) if a.fmod => BinaryFn::Fmod,
            Op::Mod(_) => BinaryFn::Mod,
            Op::And => BinaryFn::And,
            Op::Or => BinaryFn::Or,
            Op::Xor => BinaryFn::Xor,
            _ => return None,
        })
    }

    /// The comparison of a comparison op (its result is bool).
    pub fn compare_fn(&self) -> Option<CompareFn> {
        Some(match self {
            Op::Equal => CompareFn::Equal,
            Op::Less => CompareFn::Less,
            Op::LessOrEqual => CompareFn::LessOrEqual,
            Op::Greater => CompareFn::Greater,
            Op::GreaterOrEqual => CompareFn::GreaterOrEqual,
            _ => return None,
        })
    }

    /// The fused activation of ops that have one.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            Op::Conv(a) => Some(a.activation),
            Op::ConvTranspose(a) => Some(a.activation),
            Op::Gemm(a) => Some(a.activation),
            Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => Some(a.activation),
            _ => None,
        }
    }

    /// Mutable access to the fused activation of ops that have one.
    pub fn activation_mut(&mut self) -> Option<&mut Activation> {
        match self {
            Op::Conv(a) => Some(&mut a.activation),
            Op::ConvTranspose(a) => Some(&mut a.activation),
            Op::Gemm(a) => Some(&mut a.activation),
            Op::Add(a) | Op::Sub(a) | Op::Mul(a) | Op::Div(a) => Some(&mut a.activation),
            _ => None,
        }
    }

    /// Ops whose output is their input with another shape: no code, the output shares the
    /// input's storage.
    pub fn is_view(&self) -> bool {
        matches!(
            self,
            Op::Reshape(_)
                | Op::Flatten(_)
                | Op::Squeeze(_)
                | Op::Unsqueeze(_)
                | Op::Identity
                | Op::Dropout
        )
    }

    /// Element-wise ops that may write their output over their (first) input.
    pub fn can_run_in_place(&self) -> bool {
        self.unary_fn().is_some()
            || self.binary_fn().is_some()
            || matches!(
                self,
                Op::Relu
                    | Op::LeakyRelu(_)
                    | Op::Clip(_)
                    | Op::Sigmoid
                    | Op::HardSigmoid(_)
                    | Op::HardSwish
                    | Op::Tanh
                    | Op::Add(_)
                    | Op::Sub(_)
                    | Op::Mul(_)
                    | Op::Div(_)
                    | Op::PRelu
                    | Op::BatchNormalization(_)
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_op_round_trips_through_its_attributes() {
        let ops = [
            Op::Conv(ConvAttrs {
                kernel_shape: vec![3, 3],
                pads: vec![1, 0, 1, 0],
                activation: Activation::Clip { min: 0.0, max: 6.0 },
                ..Default::default()
            }),
            Op::Gemm(GemmAttrs {
                alpha: 0.5,
                trans_b: true,
                ..Default::default()
            }),
            Op::Add(BinaryAttrs {
                activation: Activation::LeakyRelu { alpha: 0.1 },
            }),
            Op::Resize(ResizeAttrs {
                mode: ResizeMode::Linear,
                scales: vec![1.0, 1.0, 1.6, 1.5],
                sizes: Some(vec![1, 2, 8, 9]),
                ..Default::default()
            }),
            Op::Squeeze(AxesAttrs { axes: None }),
            Op::Cast(CastAttrs { to: DType::I64 }),
            Op::ReduceLogSumExp(ReduceAttrs {
                axes: Some(vec![0, 2]),
                keepdims: false,
                noop_with_empty_axes: false,
            }),
            Op::TopK(TopKAttrs {
                k: Some(3),
                axis: 1,
                largest: false,
                sorted: true,
            }),
            Op::ArgMin(ArgAttrs {
                axis: 2,
                keepdims: false,
                select_last_index: true,
            }),
            Op::MatMul,
            Op::Quantize,
            Op::Dequantize,
            Op::Lstm(RecurrentAttrs {
                hidden_size: 3,
                direction: RecurrentDirection::Bidirectional,
                activations: vec![
                    RecurrentActivation::HardSigmoid(0.2, 0.5),
                    RecurrentActivation::Tanh,
                    RecurrentActivation::Elu(1.5),
                ],
                clip: Some(2.0),
                inputs: vec![
                    RecurrentInput::X,
                    RecurrentInput::W,
                    RecurrentInput::R,
                    RecurrentInput::P,
                ],
                outputs: vec![RecurrentOutput::YH, RecurrentOutput::YC],
                ..Default::default()
            }),
            Op::Einsum(EinsumAttrs {
                terms: vec![vec![-1, 105, 105], vec![]],
                output: Some(vec![256, 105]),
            }),
            Op::LayerNormalization(LayerNormAttrs {
                axis: 1,
                epsilon: 0.1,
            }),
            Op::BatchNormalizationTraining(BatchNormTrainingAttrs {
                epsilon: 0.01,
                momentum: 0.5,
            }),
        ];
        for op in ops {
            let map: BTreeMap<String, AttrValue> = op
                .attrs()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            assert_eq!(Op::parse(op.name(), AttrMap::new(map)).unwrap(), op);
        }
    }

    #[test]
    fn parse_rejects_unknown_names_and_attributes() {
        assert!(Op::parse("Frobnicate", AttrMap::default()).is_err());
        let map = BTreeMap::from([("colour".to_string(), AttrValue::Int(1))]);
        let err = Op::parse("Relu", AttrMap::new(map)).unwrap_err();
        assert!(err.contains("colour"), "{err}");
        let map = BTreeMap::from([("group".to_string(), AttrValue::Word("two".into()))]);
        let err = Op::parse("Conv", AttrMap::new(map)).unwrap_err();
        assert!(err.contains("group"), "{err}");
    }
}
