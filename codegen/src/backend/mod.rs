//! Back ends: IR (after the pass pipeline) to source code.
//!
//! ```text
//! Graph + MemoryPlan ──lower──▶ Program (steps: kernel calls with constant parameters,
//!                                        static data)  ──rust::emit──▶ model.rs
//! ```
//!
//! Lowering decides *what* runs (which kernel, which parameters, which data layout); an emitter
//! only decides how it is spelled. Back ends never see a model file format.

pub mod c;
pub mod format;
pub mod lower;
pub mod rust;

use crate::ir::{Graph, TensorData, TensorId};
use crate::passes::memory_plan::Storage;

/// Text from the model (a node or tensor name, a producer string) made safe to put in a comment
/// or a Markdown code span: a line break would end the comment and let the rest of the text be
/// compiled as code, and a backtick would end the code span. Control characters and Unicode line
/// separators become spaces, backticks become quotes.
pub fn comment(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '`' => '\'',
            c if breaks_line(c) => ' ',
            c => c,
        })
        .collect()
}

/// A comment line with anything that could end it replaced by spaces (a second line of defence
/// behind [`comment`], for lines built from several parts).
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if breaks_line(c) { ' ' } else { c })
        .collect()
}

fn breaks_line(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// A model as a sequence of kernel calls.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub steps: Vec<Step>,
    pub statics: Vec<StaticData>,
    /// The layers whose weight matrix could be stored sparse or as a codebook, with the format
    /// the back end chose (`lower::sparse`), in node order.
    pub layer_weights: Vec<LayerWeights>,
}

/// How one layer's weight matrix is stored, and the multiply-accumulates its kernel executes
/// (for a sparse format, one per stored entry and row of the input).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerWeights {
    pub node: usize,
    pub format: lower::sparse::WeightFormat,
    /// The number of shared values when the weights are stored as a codebook and indices
    /// (`--cluster K`), in whichever format.
    pub codebook: Option<usize>,
    /// The layer is unrolled (`--unroll`): its weights are constants in its code, and `format`
    /// and `codebook` say nothing.
    pub unrolled: bool,
    pub macs_executed: u64,
}

impl LayerWeights {
    /// The format as the report and the layer comments name it: `dense`, `runs`, `bitmask`,
    /// `codebook(K)` or `runs+codebook(K)` for shared weights, and `unrolled` for weights that
    /// are constants in the code.
    pub fn describe(&self) -> String {
        if self.unrolled {
            return "unrolled".to_string();
        }
        match (self.format, self.codebook) {
            (lower::sparse::WeightFormat::Dense, Some(k)) => format!("codebook({k})"),
            (format, Some(k)) => format!("{}+codebook({k})", format.name()),
            (format, None) => format.name().to_string(),
        }
    }
}

/// Constant data the generated code holds (weights, tables).
#[derive(Clone, Debug)]
pub struct StaticData {
    pub name: String,
    /// The node of the layer that made it (the first to use it, for a shared constant); `None`
    /// for data that belongs to no layer (a state's initial value).
    pub node: Option<usize>,
    /// One sentence: where the data comes from.
    pub doc: String,
    pub shape: Vec<usize>,
    pub data: TensorData,
}

/// One layer function: reads `inputs` (run-time tensors), writes `output`.
#[derive(Clone, Debug)]
pub struct Step {
    /// Index of the IR node it comes from.
    pub node: usize,
    /// Function name, such as `layer_003_conv`.
    pub name: String,
    /// Documentation lines.
    pub doc: Vec<String>,
    pub inputs: Vec<TensorId>,
    pub output: TensorId,
    /// The output overwrites `inputs[0]`, which is then passed only as the output.
    pub in_place: bool,
    pub body: Vec<Stmt>,
}

impl Step {
    /// The parameters of the layer function, in order, as (name, tensor, whether it is the
    /// output): the inputs `x` (or `x0`, `x1`, ...) then the output `y`; in place, `y` (which is
    /// input 0) then the other inputs.
    pub fn params(&self) -> Vec<(String, TensorId, bool)> {
        let n = self.inputs.len();
        let mut params = Vec::new();
        if self.in_place {
            params.push(("y".to_string(), self.output, true));
        }
        let first = usize::from(self.in_place);
        for k in first..n {
            params.push((self.input_name(k), self.inputs[k], false));
        }
        if !self.in_place {
            params.push(("y".to_string(), self.output, true));
        }
        params
    }

    /// The name of input `k` in the layer function: `x`, or `x0`, `x1`, ... when there are
    /// several or the step is in place.
    pub fn input_name(&self, k: usize) -> String {
        if self.in_place || self.inputs.len() > 1 {
            format!("x{k}")
        } else {
            "x".to_string()
        }
    }
}

/// A statement of a layer function.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `let name = <struct>;`
    Let(String, Struct),
    /// `kernel(args);` with the kernel's path inside the kernel library (`conv::conv2d`).
    Call(String, Vec<Arg>),
    /// Copy the argument into the output.
    Copy(Arg),
    /// `let name = <closure>;`: the dot products of an unrolled layer, as the closure its
    /// kernel's `*_by` loop calls for each output.
    Unrolled(String, UnrolledDot),
}

/// The dot products of an unrolled fully connected layer (`lower::unroll`): for each output
/// `j`, the sum of its terms, each the input at a column times a weight that is a literal
/// constant. A weight that is zero has no term. An emitter prints it as a closure `(j, row)`
/// (int8: returns the row's `i32` sum) or `(j, row, acc)` (float: adds the row's products to
/// `acc`, in the order of the terms, and returns it).
#[derive(Clone, Debug, PartialEq)]
pub struct UnrolledDot {
    pub element: UnrolledElement,
    /// The rows that have terms, by increasing output; the others sum to nothing (int8: 0;
    /// float: `acc` unchanged).
    pub rows: Vec<UnrolledRow>,
}

/// What an unrolled dot product computes on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnrolledElement {
    /// int8 inputs widened to `i32`, `i32` weights (the int8 weight minus its zero point).
    Int8,
    /// float inputs, each multiplied by `alpha` (unless it is 1) before its weight, as the
    /// dense `Gemm` kernel does.
    Float { alpha: f32 },
}

/// The terms of one output.
#[derive(Clone, Debug, PartialEq)]
pub struct UnrolledRow {
    pub output: usize,
    /// A constant added to the row's sum (int8: the input zero point's share, folded at
    /// compile time; 0 for float).
    pub constant: i64,
    /// In the order they are added (increasing column).
    pub terms: Vec<UnrolledTerm>,
}

/// `row[input] * weight`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UnrolledTerm {
    pub input: usize,
    pub weight: UnrolledWeight,
}

/// A weight literal of an unrolled layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnrolledWeight {
    I32(i32),
    F32(f32),
}

/// A kernel parameter struct literal.
#[derive(Clone, Debug)]
pub struct Struct {
    /// Path inside the kernel library (`conv::Conv2d`).
    pub path: String,
    pub fields: Vec<(&'static str, Value)>,
}

impl Struct {
    pub fn new(path: &str, fields: Vec<(&'static str, Value)>) -> Struct {
        Struct {
            path: path.to_string(),
            fields,
        }
    }
}

/// An argument of a kernel call.
#[derive(Clone, Debug)]
pub enum Arg {
    /// Run-time input `k` of the step.
    Input(usize),
    /// The step's output (or, in place, its first input).
    Output,
    /// Static data by name.
    Static(String),
    /// A `let` binding of the layer function.
    Local(String),
    /// A constant value.
    Value(Value),
    /// An empty slice (an absent bias).
    Empty,
    /// Work space of this many int8 bytes on the layer function's stack, for the kernel to
    /// write and read during the call (`&mut [i8]`; none when 0). The C back end declares it
    /// as `uint32_t` words, so that it is word-aligned: the widened patches of
    /// `conv_i8_folded` are read a double word at a time (LDRD).
    Scratch(usize),
}

/// A constant value in a parameter struct.
#[derive(Clone, Debug)]
pub enum Value {
    Usize(usize),
    Isize(isize),
    F32(f32),
    Bool(bool),
    /// An enum variant by path inside the kernel library, with arguments.
    Variant(String, Vec<Value>),
    Array(Vec<Value>),
    /// A reference to static data.
    StaticRef(String),
    /// An empty slice.
    EmptySlice,
}

// ---- The state of a stateful model, as both emitters keep it ----

/// State `k`'s initial value as named constant data; `when` says what sets it (for the doc).
pub fn initial_state(graph: &Graph, k: usize, when: &str) -> StaticData {
    StaticData {
        name: format!("STATE_{k}_INITIAL"),
        node: None,
        doc: format!(
            "The initial value of state `{}` ({when}).",
            comment(&graph.states[k].name)
        ),
        shape: graph.tensor(graph.state_input(k)).shape().to_vec(),
        data: graph.states[k].initial.clone(),
    }
}

/// Whether state `k` needs a second buffer for its next value: when a step reads its current
/// value at or after the first step that writes the next one (otherwise the next value is
/// written over the current one in place).
pub fn needs_next_buffer(graph: &Graph, program: &Program, k: usize) -> bool {
    let (input, output) = (
        Storage::Input(graph.model_inputs().len() + k),
        Storage::Output(graph.model_outputs().len() + k),
    );
    let steps = &program.steps;
    let first_write = steps
        .iter()
        .position(|s| lower::storage(graph, s.output) == output);
    let last_read = steps
        .iter()
        .rposition(|s| s.inputs.iter().any(|&t| lower::storage(graph, t) == input));
    matches!((first_write, last_read), (Some(w), Some(r)) if r >= w)
}

/// Bytes of the state (with the buffers for next values).
pub fn state_bytes(graph: &Graph, program: &Program) -> usize {
    (0..graph.states.len())
        .map(|k| {
            let t = graph.tensor(graph.state_input(k));
            let copies = if needs_next_buffer(graph, program, k) {
                2
            } else {
                1
            };
            copies * t.len() * t.dtype.size_bytes()
        })
        .sum()
}
