//! The intermediate representation: the contract between front ends, passes and back ends.
//!
//! ```text
//! Graph
//!  ├─ tensors: Vec<Tensor>   name, dtype, shape (static after shape inference), data (constants)
//!  ├─ nodes:   Vec<Node>     op + typed attributes, input/param/output tensor ids, in schedule order
//!  ├─ inputs / outputs       graph inputs and outputs, in the order of the generated API
//!  └─ plan                   the memory plan, once the planner has run
//! ```
//!
//! A tensor is a value: either a constant (`data` is `Some`), a graph input, or the output of
//! exactly one node. Nodes are kept in a valid execution order (every input is produced before it
//! is used); passes that add nodes keep it so, and [`Graph::sort_topologically`] restores it for
//! front ends that read files whose nodes are out of order.
//!
//! **Invariants after shape inference** (checked by [`validate`] after every pass): every live
//! tensor has a static shape; no node has parameter inputs left; attributes are explicit.

pub mod attr;
mod data;
pub mod einsum;
pub mod op;
pub mod shape;
pub mod text;
pub mod validate;

pub use data::{DType, TensorData};
pub use op::{Activation, Op};
pub use validate::validate;

use std::collections::HashMap;
use std::fmt;

use crate::passes::memory_plan::MemoryPlan;

/// Index of a tensor in [`Graph::tensors`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub usize);

impl fmt::Display for TensorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

/// A value in the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// The name from the source model (unique within the graph).
    pub name: String,
    pub dtype: DType,
    /// `None` until shape inference has run.
    pub shape: Option<Vec<usize>>,
    /// The elements of a constant, row-major.
    pub data: Option<TensorData>,
    /// For a quantized integer tensor, how its integers map to real numbers.
    pub quant: Option<Quantization>,
    /// For a float constant that generated code stores in fewer bits than `f32`
    /// (`--quantize int8-weights` or `fp16`), how it is stored; `None` stores it as it is.
    pub storage: Option<WeightStorage>,
}

/// How generated code stores a float constant in fewer bits: the weights of float layers under
/// `--quantize int8-weights` and `--quantize fp16`, which still compute in float.
///
/// The IR holds the values the stored form decodes to, as `f32`, so the reference evaluator and
/// every pass see ordinary float weights; the decoding is exact (an `f32` product of an integer
/// and a scale, or a widening from half precision), so generated code that decodes each weight as
/// it reads it multiplies by the very values the evaluator uses. The validator checks that every
/// value is representable.
#[derive(Clone, Debug, PartialEq)]
pub enum WeightStorage {
    /// Integers in `[-127, 127]` with one scale, or one per index of `axis` (per output
    /// channel): each value is `q as f32 * scale`.
    Int8 { scale: Vec<f32>, axis: usize },
    /// IEEE 754 half precision: each value is a float16 widened to `f32`.
    F16,
    /// Weight sharing (`--cluster K`): each value is one of `values` (at most 256) times its
    /// channel's scale, `values[j] * scale[c]` in `f32`, with one scale per index of `axis`,
    /// one for the tensor, or none (the value itself). Generated code stores the values and
    /// scales and one index per weight, 4 bits when there are 16 values or fewer, else 8.
    Codebook {
        values: Vec<f32>,
        scale: Vec<f32>,
        axis: usize,
    },
}

impl WeightStorage {
    /// The bits of one codebook index: 4 for up to 16 values, else 8.
    pub fn index_bits(values: usize) -> usize {
        if values <= 16 { 4 } else { 8 }
    }

    /// For a tensor of shape `shape` stored as [`WeightStorage::Codebook`], the position in
    /// `values` of each element of `data` (the first, if two products are equal), or the
    /// position of the first element that is none of its channel's products.
    pub fn codebook_indices(
        values: &[f32],
        scale: &[f32],
        axis: usize,
        shape: &[usize],
        data: &[f32],
    ) -> Result<Vec<u8>, usize> {
        let channels = scale.len().max(1);
        let inner: usize = if channels > 1 {
            shape
                .get(axis + 1..)
                .map_or(1, |s| s.iter().product::<usize>().max(1))
        } else {
            1
        };
        // For each channel, the index of each product's bit pattern.
        let lookup: Vec<std::collections::HashMap<u32, u8>> = (0..channels)
            .map(|c| {
                let mut map = std::collections::HashMap::new();
                for (j, &v) in values.iter().enumerate() {
                    let product = match scale.get(c) {
                        Some(&s) => v * s,
                        None => v,
                    };
                    map.entry(product.to_bits()).or_insert(j as u8);
                }
                map
            })
            .collect();
        data.iter()
            .enumerate()
            .map(|(i, v)| {
                let c = if channels > 1 {
                    (i / inner) % channels
                } else {
                    0
                };
                lookup[c].get(&v.to_bits()).copied().ok_or(i)
            })
            .collect()
    }

    /// The scale of element `index` of a tensor of shape `shape` stored as int8.
    pub fn int8_scale(scale: &[f32], axis: usize, shape: &[usize], index: usize) -> f32 {
        if scale.len() == 1 {
            return scale[0];
        }
        let inner: usize = shape[axis + 1..].iter().product();
        scale[(index / inner.max(1)) % shape[axis]]
    }
}

/// Affine quantization: `real = scale × (q − zero_point)`, one `(scale, zero_point)` pair for
/// the whole tensor or one per index of `axis` (per-channel weights).
///
/// An op whose data tensors carry quantization computes on the integers with the integer-only
/// arithmetic of the TFLite int8 specification (see `crate::quant`), not in floating point:
/// the result depends on the scales and zero points of its inputs *and* of its output.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantization {
    /// One scale, or one per index of `axis`; every scale is finite and positive.
    pub scale: Vec<f32>,
    /// As many zero points as scales.
    pub zero_point: Vec<i32>,
    /// The axis of per-axis quantization (0 when there is a single scale).
    pub axis: usize,
    /// The integers are 4-bit, in `[-8, 7]` (`--quantize int4-weights`). In the IR they are
    /// held one per `i8` element, so the evaluator and the passes treat them as any int8
    /// values; only their storage differs: back ends pack them two per byte
    /// ([`crate::quant::pack_int4_rows`]). Only constant `i8` weights of int8 convolutions
    /// and fully connected layers carry it.
    pub int4: bool,
}

impl Quantization {
    /// Per-tensor quantization.
    pub fn per_tensor(scale: f32, zero_point: i32) -> Quantization {
        Quantization {
            scale: vec![scale],
            zero_point: vec![zero_point],
            axis: 0,
            int4: false,
        }
    }

    pub fn is_per_axis(&self) -> bool {
        self.scale.len() > 1
    }

    /// The scale and zero point of the whole tensor, for ops that need per-tensor parameters.
    pub fn single(&self) -> Option<(f32, i32)> {
        match (self.scale.as_slice(), self.zero_point.as_slice()) {
            ([s], [z]) => Some((*s, *z)),
            _ => None,
        }
    }
}

impl Tensor {
    pub fn is_constant(&self) -> bool {
        self.data.is_some()
    }

    /// The static shape. Only for code that runs after shape inference, where the validator has
    /// checked that every live tensor has one.
    pub fn shape(&self) -> &[usize] {
        self.shape.as_deref().unwrap_or_else(|| {
            panic!(
                "tensor '{}' has no shape: shape inference has not run",
                self.name
            )
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the elements in memory (one per value for 4-bit integers, which the IR holds
    /// unpacked).
    pub fn size_bytes(&self) -> usize {
        self.len() * self.dtype.size_bytes()
    }

    /// Whether the elements are 4-bit integers ([`Quantization::int4`]).
    pub fn is_int4(&self) -> bool {
        self.quant.as_ref().is_some_and(|q| q.int4)
    }

    /// Bytes of the elements as generated code stores them: 4-bit integers packed two per
    /// byte, the values of each index of the first axis (each output channel) padded to a
    /// whole byte ([`crate::quant::pack_int4_rows`]); float constants with a [`WeightStorage`]
    /// as one byte (with a 4-byte scale per channel) or two per value.
    pub fn stored_bytes(&self) -> usize {
        match &self.storage {
            Some(WeightStorage::Int8 { scale, .. }) => return self.len() + 4 * scale.len(),
            Some(WeightStorage::F16) => return 2 * self.len(),
            Some(WeightStorage::Codebook { values, scale, .. }) => {
                let bits = WeightStorage::index_bits(values.len());
                return 4 * (values.len() + scale.len()) + (self.len() * bits).div_ceil(8);
            }
            None => {}
        }
        if !self.is_int4() {
            return self.size_bytes();
        }
        let rows = self.shape().first().copied().unwrap_or(1).max(1);
        crate::quant::packed_int4_len(self.len(), self.len() / rows)
    }
}

/// One operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The name from the source model (may be empty in ONNX; the front end fills in one).
    pub name: String,
    pub op: Op,
    /// Data inputs.
    pub inputs: Vec<TensorId>,
    /// Parameter inputs, resolved into attributes by shape inference (see [`op`]); `None` for an
    /// optional parameter that was not given.
    pub params: Vec<Option<TensorId>>,
    pub outputs: Vec<TensorId>,
}

/// Where a model came from, for the header of generated files and for messages.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceInfo {
    /// File name of the model (without directories).
    pub file_name: String,
    /// Hex SHA-256 of the model file.
    pub sha256: String,
    /// Format and producer, e.g. "ONNX opset 17, tf2onnx 1.16.1".
    pub description: String,
}

/// A variable that a stateful model keeps from one run to the next (TFLite's resource
/// variables).
///
/// A state is seen by the graph as one more input and one more output: its value at the start
/// of a run is the graph input `inputs[inputs.len() - states.len() + k]` and its value at the
/// end the graph output `outputs[outputs.len() - states.len() + k]`, so every pass treats it
/// like any other input and output. Those come after the model's own inputs and outputs
/// ([`Graph::model_inputs`], [`Graph::model_outputs`]); the two tensors have the same element
/// type and number of elements, and the output's bytes become the next run's input.
#[derive(Clone, Debug, PartialEq)]
pub struct StateVariable {
    /// The variable's name in the model (for messages and generated field names).
    pub name: String,
    /// The value before the first run and after a reset.
    pub initial: TensorData,
}

/// A model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub name: String,
    pub tensors: Vec<Tensor>,
    pub nodes: Vec<Node>,
    /// The model's inputs, then the state variables' values at the start of a run.
    pub inputs: Vec<TensorId>,
    /// The model's outputs, then the state variables' values at the end of a run.
    pub outputs: Vec<TensorId>,
    pub states: Vec<StateVariable>,
    pub source: SourceInfo,
    pub plan: Option<MemoryPlan>,
    /// The quantization float tensors had in the source model: that of weights dequantized
    /// from integer constants (per axis), and of activations a `QuantizeLinear` and
    /// `DequantizeLinear` pair rounded to integers (see `passes::fold_qdq`). The quantize pass
    /// uses it instead of calibrating, so that a QDQ model becomes integer code with the
    /// model's own scales.
    pub source_quant: std::collections::BTreeMap<TensorId, Quantization>,
    /// How the int8 convolution and mean kernels round a rescaled accumulator.
    pub rounding: Rounding,
    /// Which fully connected layers the back end unrolls (`--unroll`). A back-end choice that
    /// no pass reads; it travels with the graph so that every lowering of it (the emitted
    /// file, the report, the RAM check) makes the same one.
    pub unroll: Unroll,
}

/// Which fully connected layers (the int8 one and the float `Gemm` with constant weights) the
/// back end unrolls into straight-line code with their weights as literals
/// (`backend::lower::unroll` says how and when).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unroll {
    /// None: every layer calls a kernel that reads its weights from static data.
    #[default]
    None,
    /// The layers whose non-zero weights are few enough that their code stays small.
    Auto,
    /// Every such layer, whatever its size.
    Full,
}

/// How int8 kernels round `accumulator · multiplier`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rounding {
    /// TFLite's reference arithmetic: a rounding doubling high multiply, then a rounding shift
    /// (bit-exact with the TFLite interpreter, and the default).
    #[default]
    Double,
    /// One rounding of the exact 64-bit product (TFLite's single-rounding build): what
    /// onnxruntime computes for QDQ and QOperator models, whose rounding it follows.
    Single,
}

impl Graph {
    /// The inputs a caller provides (the graph inputs without the state variables).
    pub fn model_inputs(&self) -> &[TensorId] {
        &self.inputs[..self.inputs.len().saturating_sub(self.states.len())]
    }

    /// The outputs a caller receives (the graph outputs without the state variables).
    pub fn model_outputs(&self) -> &[TensorId] {
        &self.outputs[..self.outputs.len().saturating_sub(self.states.len())]
    }

    /// The tensor holding state `k` at the start of a run.
    pub fn state_input(&self, k: usize) -> TensorId {
        self.inputs[self.inputs.len() - self.states.len() + k]
    }

    /// The tensor holding state `k` at the end of a run.
    pub fn state_output(&self, k: usize) -> TensorId {
        self.outputs[self.outputs.len() - self.states.len() + k]
    }

    pub fn tensor(&self, id: TensorId) -> &Tensor {
        &self.tensors[id.0]
    }

    pub fn tensor_mut(&mut self, id: TensorId) -> &mut Tensor {
        &mut self.tensors[id.0]
    }

    /// Adds a tensor and returns its id. The caller keeps names unique (see [`Graph::unique_name`]).
    pub fn add_tensor(&mut self, tensor: Tensor) -> TensorId {
        self.tensors.push(tensor);
        TensorId(self.tensors.len() - 1)
    }

    /// Adds a constant tensor.
    pub fn add_constant(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        data: TensorData,
    ) -> TensorId {
        let name = self.unique_name(name);
        self.add_tensor(Tensor {
            name,
            dtype: data.dtype(),
            shape: Some(shape),
            data: Some(data),
            quant: None,
            storage: None,
        })
    }

    /// `base` if no tensor has that name yet, else `base_1`, `base_2`, ...
    pub fn unique_name(&self, base: &str) -> String {
        let taken = |name: &str| self.tensors.iter().any(|t| t.name == name);
        if !taken(base) {
            return base.to_string();
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !taken(n))
            .expect("some suffix is free")
    }

    /// The node producing each tensor (by index into `nodes`).
    pub fn producers(&self) -> HashMap<TensorId, usize> {
        let mut map = HashMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            for &out in &node.outputs {
                map.insert(out, i);
            }
        }
        map
    }

    /// The nodes reading each tensor as a data or parameter input, in schedule order.
    pub fn consumers(&self) -> HashMap<TensorId, Vec<usize>> {
        let mut map: HashMap<TensorId, Vec<usize>> = HashMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            for t in node.inputs.iter().chain(node.params.iter().flatten()) {
                let users = map.entry(*t).or_default();
                if users.last() != Some(&i) {
                    users.push(i);
                }
            }
        }
        map
    }

    /// Replaces every use of `old` (node inputs, parameters and graph outputs) by `new`, which
    /// holds the same values: `new` takes `old`'s [`Graph::source_quant`] if it has none.
    pub fn replace_uses(&mut self, old: TensorId, new: TensorId) {
        if let Some(q) = self.source_quant.get(&old).cloned() {
            self.source_quant.entry(new).or_insert(q);
        }
        for node in &mut self.nodes {
            for t in node
                .inputs
                .iter_mut()
                .chain(node.params.iter_mut().flatten())
            {
                if *t == old {
                    *t = new;
                }
            }
        }
        for t in &mut self.outputs {
            if *t == old {
                *t = new;
            }
        }
    }

    /// Orders the nodes so that every tensor is produced before it is used, keeping the original
    /// order where the dependencies allow. Fails with the names of the nodes on a cycle, or of a
    /// node reading a value that nothing produces.
    pub fn sort_topologically(&mut self) -> Result<(), String> {
        let producers = self.producers();
        let deps: Vec<Vec<usize>> = self
            .nodes
            .iter()
            .map(|node| {
                node.inputs
                    .iter()
                    .chain(node.params.iter().flatten())
                    .filter_map(|t| producers.get(t).copied())
                    .collect()
            })
            .collect();
        let order = topological_order(&deps).map_err(|stuck| {
            let names: Vec<String> = stuck
                .iter()
                .map(|&i| format!("'{}'", self.nodes[i].name))
                .collect();
            format!("the graph has a cycle through nodes {}", names.join(", "))
        })?;
        let mut nodes: Vec<Option<Node>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.nodes = order
            .into_iter()
            .map(|i| nodes[i].take().expect("each node is placed once"))
            .collect();
        Ok(())
    }

    /// Drops tensors that no node, graph input or graph output refers to, renumbering the rest.
    /// The memory plan, which indexes tensors, is dropped too; the planner runs last.
    pub fn compact(&mut self) {
        let mut used = vec![false; self.tensors.len()];
        for node in &self.nodes {
            for t in node
                .inputs
                .iter()
                .chain(node.params.iter().flatten())
                .chain(&node.outputs)
            {
                used[t.0] = true;
            }
        }
        for t in self.inputs.iter().chain(&self.outputs) {
            used[t.0] = true;
        }
        let mut remap = vec![usize::MAX; self.tensors.len()];
        let mut kept = Vec::new();
        for (i, tensor) in std::mem::take(&mut self.tensors).into_iter().enumerate() {
            if used[i] {
                remap[i] = kept.len();
                kept.push(tensor);
            }
        }
        self.tensors = kept;
        let map = |t: &mut TensorId| t.0 = remap[t.0];
        for node in &mut self.nodes {
            node.inputs.iter_mut().for_each(map);
            node.params.iter_mut().flatten().for_each(map);
            node.outputs.iter_mut().for_each(map);
        }
        self.inputs.iter_mut().for_each(map);
        self.outputs.iter_mut().for_each(map);
        self.source_quant = std::mem::take(&mut self.source_quant)
            .into_iter()
            .filter(|(t, _)| used[t.0])
            .map(|(t, q)| (TensorId(remap[t.0]), q))
            .collect();
        self.plan = None;
    }

    /// A short description of a node for messages: `Conv 'conv1'`.
    pub fn describe_node(&self, node: &Node) -> String {
        format!("{} '{}'", node.op.name(), node.name)
    }

    /// The constant data of `id`, if it is a constant.
    pub fn constant(&self, id: TensorId) -> Option<&TensorData> {
        self.tensor(id).data.as_ref()
    }
}

/// An order of items `0..deps.len()` in which every item comes after the items it depends on
/// (`deps[i]`), keeping the original order wherever the dependencies allow (Kahn's algorithm with
/// the smallest ready index first). Fails with the items on or behind a cycle.
pub fn topological_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    use std::cmp::Reverse;
    let n = deps.len();
    let mut indegree = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        let mut d = d.clone();
        d.sort_unstable();
        d.dedup();
        for j in d {
            indegree[i] += 1;
            dependents[j].push(i);
        }
    }
    let mut ready: std::collections::BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &d in &dependents[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    if order.len() < n {
        return Err((0..n).filter(|&i| indegree[i] > 0).collect());
    }
    Ok(order)
}

/// Number of elements of a shape.
pub fn num_elements(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The most elements a tensor may have: 2^28, a gibibyte of `f32`. Generated code is for devices,
/// and the bound keeps every size computation of the compiler far from overflow, whatever a
/// (possibly hostile) model file claims.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The number of elements of `shape`, if it is at most [`MAX_ELEMENTS`].
pub fn checked_len(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
}

/// Row-major strides (in elements) of a shape.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// Turns a possibly negative ONNX axis into an index below `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(format!(
            "axis {axis} is out of range for a tensor of rank {rank}"
        ));
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// Formats a shape as `[1, 3, 16, 16]`.
pub fn format_shape(shape: &[usize]) -> String {
    format!("{shape:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topological_order_is_stable_and_reports_cycles() {
        // 0 depends on 2, the rest are free: 1 and 2 keep their order, 0 moves after 2.
        assert_eq!(
            topological_order(&[vec![2], vec![], vec![]]),
            Ok(vec![1, 2, 0])
        );
        assert_eq!(
            topological_order(&[vec![1], vec![0], vec![]]),
            Err(vec![0, 1])
        );
        assert_eq!(
            topological_order(&[vec![0]]),
            Err(vec![0]),
            "a self-loop is a cycle"
        );
    }
}
