//! The Rust back end: a lowered program as one self-contained, `#![no_std]`-compatible Rust file.
//!
//! ```text
//! //! header: source model, I/O, totals
//! pub const INPUT_SHAPE ... / OUTPUT_SHAPE ... / ARENA_BYTES      the API of DESIGN.md
//! pub struct Model { arena_f32: [f32; N] }                        the planned arena
//! impl Model { new(), run(input, output) }                        one call per step
//! fn layer_003_conv(x, y) { kernels::conv::conv2d(P, x, &W, &B, y) }  constant parameters
//! static LAYER_003_WEIGHT: [f32; N] = transmute(*b"...")          weights as byte strings
//! mod kernels { pub mod conv { ... } }                            the library kernels used
//! ```
//!
//! Weights are byte-string literals reinterpreted as arrays with `core::mem::transmute`: a
//! `const fn` decoding loop is the safe alternative, but rustc evaluates it ten times slower
//! than it compiles the literal, and refuses loops over a few million elements. The transmute is
//! sound: every bit pattern is a valid `f32`/`u32`, the sizes are checked by the compiler, and a
//! compile-time assertion rejects big-endian targets. The only other `unsafe` in generated code
//! is the kernels' x86 intrinsics (`kernels::simd`), compiled only where the target has AVX2.
//!
//! The text is laid out as rustfmt would lay it out (see [`super::format`]).

use std::fmt::Write as _;

use crate::backend::format::{self, call, pad, signature, struct_literal};
use crate::backend::lower::{lower, storage};
use crate::backend::{
    Arg, Program, StaticData, Step, Stmt, UnrolledDot, UnrolledElement, UnrolledWeight,
    Value, comment, one_line,
};
use crate::error::Result;
use crate::ir::attr::format_f32;
use crate::ir::{DType, Graph, TensorData, TensorId};
use crate::kernels;
use crate::passes::memory_plan::Storage;
use crate::report;

/// Fails, listing every node, if the graph cannot be emitted.
pub fn check_supported(graph: &Graph) -> Result<()> {
    lower(graph).map(|_| ())
}

/// Emits the generated file for a graph that went through the pass pipeline.
pub fn emit(graph: &Graph) -> Result<String> {
    let program = lower(graph)?;
    Ok(Emitter {
        graph,
        program: &program,
    }
    .file())
}

/// The RAM a `Model` of the generated code holds: the arena (`ARENA_BYTES`) and the state of a
/// stateful model (`STATE_BYTES`, 0 for the others).
pub fn ram_bytes(graph: &Graph) -> Result<(usize, usize)> {
    let program = lower(graph)?;
    let arena = graph.plan.as_ref().map_or(0, |plan| plan.arena_bytes());
    Ok((arena, super::state_bytes(graph, &program)))
}

struct Emitter<'a> {
    graph: &'a Graph,
    program: &'a Program,
}

/// How the generated API names graph input or output `i` of `n`.
pub(crate) struct IoNames {
    /// `input` or `input_0`.
    pub(crate) param: String,
    /// `INPUT` or `INPUT_0` (prefix of the constants).
    pub(crate) constant: String,
    /// `InputElem` or `Input0Elem`.
    pub(crate) elem_type: String,
}

pub(crate) fn io_names(kind: &str, i: usize, n: usize) -> IoNames {
    let upper = kind.to_uppercase();
    let title = format!("{}{}", kind[..1].to_uppercase(), &kind[1..]);
    if n == 1 {
        IoNames {
            param: kind.to_string(),
            constant: upper,
            elem_type: format!("{title}Elem"),
        }
    } else {
        IoNames {
            param: format!("{kind}_{i}"),
            constant: format!("{upper}_{i}"),
            elem_type: format!("{title}{i}Elem"),
        }
    }
}

fn rust_f32(x: f32) -> String {
    if x.is_nan() {
        "f32::NAN".into()
    } else if x == f32::INFINITY {
        "f32::INFINITY".into()
    } else if x == f32::NEG_INFINITY {
        "f32::NEG_INFINITY".into()
    } else {
        format_f32(x)
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Usize(n) => n.to_string(),
        Value::Isize(n) => n.to_string(),
        Value::F32(x) => rust_f32(*x),
        Value::Bool(b) => b.to_string(),
        Value::Variant(path, args) if args.is_empty() => format!("kernels::{path}"),
        Value::Variant(path, args) => {
            format!(
                "kernels::{path}({})",
                args.iter().map(value).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Array(items) => format::array(&items.iter().map(value).collect::<Vec<_>>()),
        Value::StaticRef(name) => format!("&{name}"),
        Value::EmptySlice => "&[]".to_string(),
    }
}

/// A byte-string literal of `bytes`: printable ASCII as is, everything else (including spaces,
/// which a line continuation would swallow) escaped. Long data is split over lines with `\`
/// continuations, each starting at column 8. Weights can be megabytes, so this builds the text
/// from a table of escapes rather than formatting byte by byte.
fn byte_string(bytes: &[u8]) -> String {
    const LINE: usize = 88;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut body = Vec::with_capacity(bytes.len() * 4 + bytes.len() / 20 + 16);
    let mut line_len = 0;
    let mut lines = 1;
    for &b in bytes {
        if line_len >= LINE {
            body.extend_from_slice(b"\\\n        ");
            line_len = 0;
            lines += 1;
        }
        if b.is_ascii_graphic() && b != b'"' && b != b'\\' {
            body.push(b);
            line_len += 1;
        } else {
            body.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]);
            line_len += 4;
        }
    }
    let body = String::from_utf8(body).expect("ASCII");
    if lines == 1 {
        format!("*b\"{body}\"")
    } else {
        format!("*b\"\\\n        {body}\"")
    }
}

impl Emitter<'_> {
    fn file(&self) -> String {
        let mut out = String::new();
        self.header(&mut out);
        self.api(&mut out);
        self.model(&mut out);
        for step in &self.program.steps {
            self.layer_function(&mut out, step);
        }
        for data in &self.program.statics {
            out.push('\n');
            out.push_str(&static_data(data));
        }
        self.kernels(&mut out);
        out
    }

    fn header(&self, out: &mut String) {
        let g = self.graph;
        let totals = report::totals(g, self.program);
        let _ = writeln!(
            out,
            "//! Generated by edgegen {} from `{}` (sha256 {}). Do not edit.",
            env!("CARGO_PKG_VERSION"),
            comment(&g.source.file_name),
            g.source.sha256
        );
        if !g.source.description.is_empty() {
            let _ = writeln!(out, "//!\n//! Source: {}.", comment(&g.source.description));
        }
        out.push_str("//!\n");
        for (kind, ids) in [("input", g.model_inputs()), ("output", g.model_outputs())] {
            for (i, &t) in ids.iter().enumerate() {
                let tensor = g.tensor(t);
                let names = io_names(kind, i, ids.len());
                let _ = writeln!(
                    out,
                    "//! - {kind} `{}`: {} {:?} (`{}_SHAPE`)",
                    comment(&tensor.name),
                    tensor.dtype,
                    tensor.shape(),
                    names.constant
                );
            }
        }
        for (k, state) in g.states.iter().enumerate() {
            let tensor = g.tensor(g.state_input(k));
            let _ = writeln!(
                out,
                "//! - state `{}`: {} {:?}, kept by the `Model` from one run to the next",
                comment(&state.name),
                tensor.dtype,
                tensor.shape()
            );
        }
        let _ = writeln!(
            out,
            "//! - {} layers, {} multiply-accumulates per run, {} bytes of weights, {} bytes of arena",
            totals.layers,
            report::group_digits(totals.macs),
            report::group_digits(totals.weight_bytes as u64),
            report::group_digits(totals.arena_bytes as u64)
        );
        out.push_str("//!\n//! ```text\n//! let mut model = Model::new();\n");
        let ins = io_param_list(g.model_inputs().len(), "input", "&");
        let outs = io_param_list(g.model_outputs().len(), "output", "&mut ");
        let _ = writeln!(out, "//! model.run({ins}, {outs});\n//! ```");
        out.push('\n');
        // The constants of the API are for the caller, who may not use them all.
        out.push_str("#![allow(dead_code, clippy::all, clippy::pedantic)]\n\n");
        out.push_str("// The static data below is stored as little-endian bytes.\n");
        out.push_str("const _: () = assert!(\n");
        out.push_str("    cfg!(target_endian = \"little\"),\n");
        out.push_str("    \"edgegen stores weights as little-endian bytes\"\n");
        out.push_str(");\n");
    }

    fn api(&self, out: &mut String) {
        let g = self.graph;
        for (kind, ids) in [("input", g.model_inputs()), ("output", g.model_outputs())] {
            for (i, &t) in ids.iter().enumerate() {
                let tensor = g.tensor(t);
                let names = io_names(kind, i, ids.len());
                let shape = tensor.shape();
                let c = &names.constant;
                let which = if ids.len() == 1 {
                    format!("the {kind}")
                } else {
                    format!("{kind} {i}")
                };
                let _ = writeln!(out, "\n/// Name of {which} in the source model.");
                let _ = writeln!(out, "pub const {c}_NAME: &str = {:?};", tensor.name);
                let _ = writeln!(out, "/// Shape of {which}.");
                let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                let _ = writeln!(
                    out,
                    "pub const {c}_SHAPE: [usize; {}] = {};",
                    shape.len(),
                    format::array(&dims)
                );
                let _ = writeln!(out, "/// Number of elements of {which}.");
                let _ = writeln!(out, "pub const {c}_LEN: usize = {};", tensor.len());
                let _ = writeln!(out, "/// Element type of {which}.");
                let _ = writeln!(
                    out,
                    "pub type {} = {};",
                    names.elem_type,
                    tensor.dtype.rust_type()
                );
                if let Some((scale, zero_point)) =
                    tensor.quant.as_ref().and_then(|q| q.single())
                {
                    let _ = writeln!(
                        out,
                        "/// Quantization of {which}: real value = {c}_SCALE · (q − {c}_ZERO_POINT)."
                    );
                    let _ =
                        writeln!(out, "pub const {c}_SCALE: f32 = {};", rust_f32(scale));
                    let _ = writeln!(out, "pub const {c}_ZERO_POINT: i32 = {zero_point};");
                }
            }
        }
        let totals = report::totals(g, self.program);
        let _ = writeln!(
            out,
            "\n/// Bytes of activation memory a [`Model`] holds (its arena)."
        );
        let _ = writeln!(
            out,
            "pub const ARENA_BYTES: usize = {};",
            totals.arena_bytes
        );
        let _ = writeln!(out, "/// Bytes of weights and other constant data.");
        let _ = writeln!(
            out,
            "pub const WEIGHT_BYTES: usize = {};",
            totals.weight_bytes
        );
        if !g.states.is_empty() {
            let _ = writeln!(
                out,
                "/// Bytes of state a [`Model`] keeps between runs (besides its arena)."
            );
            let _ = writeln!(
                out,
                "pub const STATE_BYTES: usize = {};",
                super::state_bytes(self.graph, self.program)
            );
        }
        for k in 0..g.states.len() {
            out.push('\n');
            out.push_str(&constant_data(
                &super::initial_state(self.graph, k, "set by `new` and `reset`"),
                "const",
            ));
        }
    }

    fn arenas(&self) -> Vec<(DType, usize)> {
        self.graph
            .plan
            .as_ref()
            .map(|p| p.arenas.clone())
            .unwrap_or_default()
    }

    /// The fields of state `k`: its value, and its next value if it needs its own buffer.
    fn state_fields(&self, k: usize) -> Vec<String> {
        let mut fields = vec![format!("state_{k}")];
        if super::needs_next_buffer(self.graph, self.program, k) {
            fields.push(format!("next_state_{k}"));
        }
        fields
    }

    fn model(&self, out: &mut String) {
        let g = self.graph;
        let arenas = self.arenas();
        if g.states.is_empty() {
            out.push_str("\n/// The model. It owns its activation arena ([`ARENA_BYTES`] bytes) and nothing else:\n");
        } else {
            out.push_str("\n/// The model. It owns its activation arena ([`ARENA_BYTES`] bytes) and its state\n");
            out.push_str("/// ([`STATE_BYTES`] bytes), which each run reads and updates, so that consecutive runs\n");
            out.push_str("/// see a stream; [`Model::reset`] starts the stream again.\n");
        }
        out.push_str("/// [`Model::new`] is `const`, so a model can live in a `static`.\n");
        let mut fields: Vec<(String, String, String)> = arenas
            .iter()
            .map(|(d, n)| {
                let zero = match d {
                    DType::Bool => "false",
                    DType::F32 | DType::F64 => "0.0",
                    _ => "0",
                };
                (
                    format!("arena_{d}"),
                    format!("[{}; {n}]", d.rust_type()),
                    format!("[{zero}; {n}]"),
                )
            })
            .collect();
        for k in 0..g.states.len() {
            let t = g.tensor(g.state_input(k));
            for field in self.state_fields(k) {
                fields.push((
                    field,
                    format!("[{}; {}]", t.dtype.rust_type(), t.len()),
                    format!("STATE_{k}_INITIAL"),
                ));
            }
        }
        if fields.is_empty() {
            out.push_str("pub struct Model {}\n");
        } else {
            out.push_str("pub struct Model {\n");
            for (name, ty, _) in &fields {
                if let Some(state) = name.strip_prefix("state_") {
                    let index: usize = state.parse().unwrap_or(0);
                    let _ = writeln!(
                        out,
                        "    /// The value of state `{}`.",
                        comment(&g.states[index].name)
                    );
                } else if name.starts_with("next_state_") {
                    out.push_str(
                        "    /// Its next value, copied in at the end of a run.\n",
                    );
                } else if !g.states.is_empty() {
                    out.push_str("    /// Activations.\n");
                }
                let _ = writeln!(out, "    {name}: {ty},");
            }
            out.push_str("}\n");
        }
        out.push_str("\nimpl Model {\n");
        if g.states.is_empty() {
            out.push_str("    /// A model with a zeroed arena.\n");
        } else {
            out.push_str(
                "    /// A model with a zeroed arena and its state at the initial value.\n",
            );
        }
        out.push_str("    pub const fn new() -> Self {\n");
        let literal: Vec<(String, String)> = fields
            .iter()
            .map(|(name, _, value)| (name.clone(), value.clone()))
            .collect();
        out.push_str(&struct_literal(8, "", "Model", &literal, ""));
        out.push_str("    }\n\n");
        if !g.states.is_empty() {
            out.push_str("    /// Sets the state back to its initial value, as [`Model::new`] made it.\n");
            out.push_str("    pub fn reset(&mut self) {\n");
            for k in 0..g.states.len() {
                let _ = writeln!(out, "        self.state_{k} = STATE_{k}_INITIAL;");
            }
            out.push_str("    }\n\n");
        }
        self.run(out);
        out.push_str("}\n\n");
        out.push_str("impl Default for Model {\n    fn default() -> Self {\n        Self::new()\n    }\n}\n");
    }

    fn run(&self, out: &mut String) {
        let g = self.graph;
        // Inputs are read through their storage: a view of an input reads the input.
        let read: Vec<Storage> = self
            .program
            .steps
            .iter()
            .flat_map(|s| s.inputs.iter().map(|&t| storage(g, t)))
            .collect();
        let mut params = vec!["&mut self".to_string()];
        let (n_inputs, n_outputs) = (g.model_inputs().len(), g.model_outputs().len());
        for i in 0..n_inputs {
            let names = io_names("input", i, n_inputs);
            let used = read.contains(&Storage::Input(i));
            params.push(format!(
                "{}{}: &[{}; {}_LEN]",
                if used { "" } else { "_" },
                names.param,
                names.elem_type,
                names.constant
            ));
        }
        // An output without elements has no step writing it (see `lower`).
        let written: Vec<Storage> = self
            .program
            .steps
            .iter()
            .map(|s| storage(g, s.output))
            .collect();
        for j in 0..n_outputs {
            let names = io_names("output", j, n_outputs);
            let used = written.contains(&Storage::Output(j));
            params.push(format!(
                "{}{}: &mut [{}; {}_LEN]",
                if used { "" } else { "_" },
                names.param,
                names.elem_type,
                names.constant
            ));
        }
        if g.states.is_empty() {
            out.push_str(
                "    /// Runs the model once: reads the inputs, writes the outputs.\n",
            );
        } else {
            out.push_str(
                "    /// Runs the model once: reads the inputs and the state, writes the outputs and\n    /// updates the state.\n",
            );
        }
        out.push_str(&signature(4, "pub fn run", &params, " {"));
        let used_arenas: Vec<DType> = self
            .arenas()
            .iter()
            .map(|(d, _)| *d)
            .filter(|d| self.program.steps.iter().any(|s| self.touches_arena(s, *d)))
            .collect();
        for d in &used_arenas {
            let _ = writeln!(out, "        let arena_{d} = &mut self.arena_{d};");
        }
        let mut steps = self.program.steps.iter().peekable();
        for (index, node) in g.nodes.iter().enumerate() {
            let name = short_name(&node.name);
            if node.op.is_view() {
                let _ = writeln!(
                    out,
                    "        // {name} ({}): a view of its input, no code.",
                    node.op.name()
                );
                continue;
            }
            let _ = writeln!(out, "        // {name} ({})", node.op.name());
            while let Some(step) = steps.next_if(|s| s.node == index) {
                out.push_str(&self.step_call(step));
            }
        }
        for k in 0..g.states.len() {
            if super::needs_next_buffer(self.graph, self.program, k) {
                let _ = writeln!(
                    out,
                    "        // The next value of state `{}` becomes its value.",
                    comment(&g.states[k].name)
                );
                let _ = writeln!(out, "        self.state_{k} = self.next_state_{k};");
            }
        }
        out.push_str("    }\n");
    }

    /// The field holding the value of graph input `i` or output `j` if it is a state.
    fn state_input_field(&self, i: usize) -> Option<String> {
        let k = i.checked_sub(self.graph.model_inputs().len())?;
        Some(format!("self.state_{k}"))
    }

    fn state_output_field(&self, j: usize) -> Option<String> {
        let k = j.checked_sub(self.graph.model_outputs().len())?;
        Some(if super::needs_next_buffer(self.graph, self.program, k) {
            format!("self.next_state_{k}")
        } else {
            format!("self.state_{k}")
        })
    }

    fn touches_arena(&self, step: &Step, dtype: DType) -> bool {
        step.inputs
            .iter()
            .chain([&step.output])
            .any(|&t| matches!(storage(self.graph, t), Storage::Arena { dtype: d, .. } if d == dtype))
    }

    /// The expression for reading tensor `t` in `run`.
    fn read_expr(&self, t: TensorId) -> String {
        let g = self.graph;
        match storage(g, t) {
            Storage::Input(i) => match self.state_input_field(i) {
                Some(field) => format!("&{field}"),
                None => io_names("input", i, g.model_inputs().len()).param,
            },
            Storage::Output(j) => match self.state_output_field(j) {
                Some(field) => format!("&{field}[..]"),
                None => format!(
                    "&{}[..]",
                    io_names("output", j, g.model_outputs().len()).param
                ),
            },
            Storage::Arena { dtype, offset } => {
                format!("&arena_{dtype}[{offset}..{}]", offset + g.tensor(t).len())
            }
            Storage::Constant => unreachable!("constants are static data, not step inputs"),
        }
    }

    /// The statements in `run` that call one step.
    fn step_call(&self, step: &Step) -> String {
        let g = self.graph;
        let out_len = g.tensor(step.output).len();
        let out_storage = storage(g, step.output);
        let inputs: Vec<TensorId> = if step.in_place {
            step.inputs[1..].to_vec()
        } else {
            step.inputs.clone()
        };
        let mut text = String::new();
        let mut input_args: Vec<String> =
            inputs.iter().map(|&t| self.read_expr(t)).collect();
        let output_arg = match out_storage {
            Storage::Output(j) => match self.state_output_field(j) {
                Some(field) => format!("&mut {field}"),
                None => io_names("output", j, g.model_outputs().len()).param,
            },
            Storage::Arena { dtype, offset } => {
                let shared: Vec<usize> = (0..inputs.len())
                    .filter(|&k| matches!(storage(g, inputs[k]), Storage::Arena { dtype: d, .. } if d == dtype))
                    .collect();
                let out_range = format!("{offset}..{}", offset + out_len);
                if shared.is_empty() {
                    format!("&mut arena_{dtype}[{out_range}]")
                } else {
                    let locals: Vec<String> = if shared.len() == 1 {
                        vec!["x".into()]
                    } else {
                        (0..shared.len()).map(|k| format!("x{k}")).collect()
                    };
                    let mut args = vec![format!("arena_{dtype}")];
                    for (&k, local) in shared.iter().zip(&locals) {
                        let Storage::Arena { offset: o, .. } = storage(g, inputs[k]) else {
                            unreachable!("filtered")
                        };
                        args.push(format!("{o}..{}", o + g.tensor(inputs[k]).len()));
                        input_args[k] = local.clone();
                    }
                    args.push(out_range);
                    let head = format!("let ({}, y) = ", locals.join(", "));
                    text.push_str(&call(
                        8,
                        &head,
                        &format!("kernels::arena::split{}", shared.len()),
                        &args,
                        ";",
                    ));
                    "y".into()
                }
            }
            other => unreachable!("a step writes {other:?}"),
        };
        let args: Vec<String> = if step.in_place {
            std::iter::once(output_arg).chain(input_args).collect()
        } else {
            input_args
                .into_iter()
                .chain(std::iter::once(output_arg))
                .collect()
        };
        text.push_str(&call(8, "", &step.name, &args, ";"));
        text
    }

    fn layer_function(&self, out: &mut String, step: &Step) {
        out.push('\n');
        for (i, line) in step.doc.iter().enumerate() {
            if i == 1 {
                out.push_str("///\n");
            }
            let _ = writeln!(out, "/// {}", one_line(line));
        }
        out.push_str("#[inline(never)]\n");
        let elem = |t: TensorId| self.graph.tensor(t).dtype.rust_type();
        let params: Vec<String> = step
            .params()
            .into_iter()
            .map(|(name, t, output)| {
                let mutability = if output { "mut " } else { "" };
                format!("{name}: &{mutability}[{}]", elem(t))
            })
            .collect();
        out.push_str(&signature(0, &format!("fn {}", step.name), &params, " {"));
        let arg = |a: &Arg| match a {
            Arg::Input(k) => step.input_name(*k),
            Arg::Output => "y".to_string(),
            Arg::Static(name) => format!("&{name}"),
            Arg::Local(name) => name.clone(),
            Arg::Value(v) => value(v),
            Arg::Empty => "&[]".to_string(),
            Arg::Scratch(0) => "&mut []".to_string(),
            Arg::Scratch(len) => format!("&mut [0i8; {len}]"),
        };
        for stmt in &step.body {
            match stmt {
                Stmt::Let(name, s) => {
                    let fields: Vec<(String, String)> = s
                        .fields
                        .iter()
                        .map(|(k, v)| (k.to_string(), value(v)))
                        .collect();
                    out.push_str(&struct_literal(
                        4,
                        &format!("let {name} = "),
                        &format!("kernels::{}", s.path),
                        &fields,
                        ";",
                    ));
                }
                Stmt::Call(f, args) => {
                    let args: Vec<String> = args.iter().map(arg).collect();
                    out.push_str(&call(4, "", &format!("kernels::{f}"), &args, ";"));
                }
                Stmt::Copy(source) => {
                    let _ = writeln!(out, "    y.copy_from_slice({});", arg(source));
                }
                Stmt::Unrolled(name, dot) => out.push_str(&unrolled_closure(name, dot)),
            }
        }
        out.push_str("}\n");
    }

    fn kernels(&self, out: &mut String) {
        let mut used: Vec<&str> = Vec::new();
        let mut note = |path: &str| {
            let module = path.split("::").next().unwrap_or(path);
            let module: &'static str = kernels::SOURCES
                .iter()
                .map(|k| k.name)
                .find(|n| *n == module)
                .unwrap_or("math");
            if !used.contains(&module) {
                used.push(module);
            }
        };
        for step in &self.program.steps {
            for stmt in &step.body {
                match stmt {
                    Stmt::Let(_, s) => {
                        note(&s.path);
                        for (_, v) in &s.fields {
                            visit_variants(v, &mut note);
                        }
                    }
                    Stmt::Call(f, args) => {
                        note(f);
                        for a in args {
                            if let Arg::Value(v) = a {
                                visit_variants(v, &mut note);
                            }
                        }
                    }
                    Stmt::Copy(_) | Stmt::Unrolled(..) => {}
                }
            }
        }
        if self
            .program
            .steps
            .iter()
            .any(|s| !s.inputs.is_empty() && self.touches_arena_split(s))
        {
            note("arena");
        }
        out.push_str("\n/// The kernels this model uses, from edgegen's kernel library.\n");
        out.push_str("mod kernels {\n");
        for (i, k) in kernels::closure(&used).iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "    pub mod {} {{", k.name);
            for line in kernels::embedded_source(k.source).lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&pad(8));
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out.push_str("    }\n");
        }
        out.push_str("}\n");
    }

    /// Whether `run` borrows the step's operands with an arena split helper.
    fn touches_arena_split(&self, step: &Step) -> bool {
        let g = self.graph;
        let Storage::Arena { dtype, .. } = storage(g, step.output) else {
            return false;
        };
        let inputs = if step.in_place {
            &step.inputs[1..]
        } else {
            &step.inputs[..]
        };
        inputs.iter().any(
            |&t| matches!(storage(g, t), Storage::Arena { dtype: d, .. } if d == dtype),
        )
    }
}

/// `let name = <closure>;` for an unrolled layer's dot products, at the indentation of a layer
/// function's body: a `match` on the output with one arm per row that has terms, each term one
/// statement (`acc += row[q] as i32 * 37;`, `acc -= row[q] * 0.25;`), so that rustfmt has no
/// line to break whatever the row's length.
fn unrolled_closure(name: &str, dot: &UnrolledDot) -> String {
    let (params, unused, start, returned) = match dot.element {
        UnrolledElement::Int8 => (
            "j: usize, row: &[i8]",
            "_: usize, _: &[i8]",
            Some("let mut acc = 0i32;"),
            "0",
        ),
        UnrolledElement::Float { .. } => (
            "j: usize, row: &[f32], mut acc: f32",
            "_: usize, _: &[f32], acc: f32",
            None,
            "acc",
        ),
    };
    if dot.rows.is_empty() {
        // Every weight is zero: the bias alone.
        return format!("    let {name} = |{unused}| {returned};\n");
    }
    let mut out = format!("    let {name} = |{params}| {{\n");
    if let Some(start) = start {
        let _ = writeln!(out, "        {start}");
    }
    out.push_str("        match j {\n");
    for row in &dot.rows {
        let _ = writeln!(out, "            {} => {{", row.output);
        if row.constant != 0 {
            let op = if row.constant < 0 { '-' } else { '+' };
            let _ = writeln!(out, "                acc {op}= {};", row.constant.abs());
        }
        for term in &row.terms {
            let op = if term.weight.is_negative() { '-' } else { '+' };
            let input = match dot.element {
                UnrolledElement::Int8 => format!("row[{}] as i32", term.input),
                UnrolledElement::Float { alpha: 1.0 } => {
                    format!("row[{}]", term.input)
                }
                UnrolledElement::Float { alpha } => {
                    format!("{} * row[{}]", rust_f32(alpha), term.input)
                }
            };
            // A weight of magnitude 1 multiplies by nothing (the same number or float).
            let product = match term.weight.magnitude() {
                UnrolledWeight::I32(1) => input,
                UnrolledWeight::F32(1.0) => input,
                UnrolledWeight::I32(w) => format!("{input} * {w}"),
                UnrolledWeight::F32(w) => format!("{input} * {}", rust_f32(w)),
            };
            let _ = writeln!(out, "                acc {op}= {product};");
        }
        out.push_str("            }\n");
    }
    out.push_str("            _ => {}\n        }\n        acc\n    };\n");
    out
}

fn visit_variants(v: &Value, note: &mut impl FnMut(&str)) {
    match v {
        Value::Variant(path, args) => {
            note(path);
            for a in args {
                visit_variants(a, note);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| visit_variants(i, note)),
        _ => {}
    }
}

fn io_param_list(n: usize, kind: &str, prefix: &str) -> String {
    (0..n)
        .map(|i| format!("{prefix}{}", io_names(kind, i, n).param))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A node name shortened for a one-line comment.
fn short_name(name: &str) -> String {
    const MAX: usize = 60;
    let clean = comment(name);
    if clean.chars().count() <= MAX {
        clean
    } else {
        let tail: String = clean
            .chars()
            .rev()
            .take(MAX - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

/// One static array from little-endian bytes.
fn static_data(data: &StaticData) -> String {
    constant_data(data, "static")
}

/// Named data as a `static` (weights, which stay in flash) or a `const` (values that are
/// copied, such as a state's initial value).
fn constant_data(data: &StaticData, keyword: &str) -> String {
    let dtype = data.data.dtype();
    let n = data.data.len();
    let ty = dtype.rust_type();
    let mut out = format!("/// {dtype} {:?}: {}\n", data.shape, one_line(&data.doc));
    if n == 0 {
        let _ = writeln!(out, "{keyword} {}: [{ty}; 0] = [];", data.name);
        return out;
    }
    // Numeric data is stored as its own little-endian bytes; bool (for which only the bytes 0
    // and 1 are valid) as a list of literals.
    if let TensorData::Bool(values) = &data.data {
        let items: Vec<String> = values.iter().map(|b| b.to_string()).collect();
        let _ = writeln!(
            out,
            "{keyword} {}: [bool; {n}] = [{}];",
            data.name,
            items.join(", ")
        );
        return out;
    }
    let bytes = data.data.to_le_bytes();
    let size = bytes.len() / n;
    let _ = writeln!(out, "{keyword} {}: [{ty}; {n}] = unsafe {{", data.name);
    let _ = writeln!(
        out,
        "    // SAFETY: any {size} byte{} a valid {ty}, and transmute checks that the sizes match.",
        if size == 1 { " is" } else { "s are" }
    );
    let callee = format!("core::mem::transmute::<[u8; {}], [{ty}; {n}]>", bytes.len());
    out.push_str(&call(4, "", &callee, &[byte_string(&bytes)], ""));
    out.push_str("};\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_strings_escape_what_a_continuation_would_eat() {
        assert_eq!(
            byte_string(b"ab \"\\\n\x00"),
            "*b\"ab\\x20\\x22\\x5c\\x0a\\x00\""
        );
        let long = byte_string(&[b'a'; 200]);
        assert!(long.starts_with("*b\"\\\n        aaaa"));
        assert!(long.ends_with("aaa\""));
        assert_eq!(long.matches("\\\n").count(), 3);
    }
}
