//! The C back end: a lowered program as a C99 source file and its header.
//!
//! ```text
//! model.h   include guard, extern "C"; I/O shapes, lengths, element types and quantization as
//!           macros; PREFIX_ARENA_BYTES; void prefix_run(const in_t *input, out_t *output)
//! model.c   the kernels this model uses (edgegen's C kernel library, `kernels/c/`)
//!           static const weights as string literals; a static arena laid out by the memory
//!           plan; one function per layer; prefix_run calling them in order
//! ```
//!
//! The steps are the same as the Rust back end's ([`super::lower`]): the same kernels with the
//! same constant parameters, spelled in C. Each C kernel is the twin of a Rust kernel of the same
//! name (`nhwc::conv_i8` is `eg_nhwc_conv_i8`) with the same arithmetic, written once in
//! `codegen/src/kernels/c/` and checked against the Rust kernels and the reference outputs by
//! the tests that compile and run the generated C. The calling convention is the Rust kernel's
//! with each slice passed as a pointer and a length (in elements); parameter structs are
//! `typedef`ed structs of the same fields, passed by value, a slice field `f` being a pointer
//! `f` and a length `f_len`; enum variants are constructor functions
//! (`eg_activation_Activation_Relu()`). A Rust kernel generic over its element type or its
//! weight format is one C function per instance, named after it (`eg_layout_strided_copy_f32`,
//! `eg_gemm_gemm_Int8`: see [`c_function`]).
//!
//! Kernels are `static inline` and always inlined (on GCC and Clang) into `noinline` layer
//! functions, as the Rust kernels are `#[inline(always)]` in `#[inline(never)]` layer
//! functions: every layer is specialised to its constant shapes, and a profile shows one
//! function per layer. Weights are string literals in a union with the typed array, which gcc
//! compiles at megabytes per second (an initializer list of numbers is ten times slower) and
//! which puts them in `.rodata`, in flash on a microcontroller. The file needs `<stdint.h>` and
//! `<string.h>` (for `memcpy` and `size_t`), nothing else: no heap, no `<math.h>`.
//!
//! The C kernel library covers the int8 kernels of TFLite models and models quantized by
//! edgegen, and the float kernels of common CNNs and MLPs; a model with a layer the library
//! lacks is refused with every such layer listed.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::backend::lower::{lower, storage};
use crate::backend::rust::io_names;
use crate::backend::{Arg, Program, StaticData, Step, Stmt, Value, comment, one_line};
use crate::error::{Error, Result};
use crate::ir::attr::format_f32;
use crate::ir::{DType, Graph, TensorData, TensorId};
use crate::passes::memory_plan::Storage;
use crate::report;

/// One file of the C kernel library: the module name of its Rust twin, its text, and the
/// modules it uses (emitted before it).
struct Module {
    name: &'static str,
    source: &'static str,
    needs: &'static [&'static str],
}

/// The C kernel library, in the order modules are emitted (each after what it needs).
const MODULES: &[Module] = &[
    Module {
        name: "math",
        source: include_str!("../kernels/c/math.c"),
        needs: &[],
    },
    Module {
        name: "quant",
        source: include_str!("../kernels/c/quant.c"),
        needs: &[],
    },
    Module {
        name: "weights",
        source: include_str!("../kernels/c/weights.c"),
        needs: &[],
    },
    Module {
        name: "activation",
        source: include_str!("../kernels/c/activation.c"),
        needs: &["math"],
    },
    Module {
        name: "nhwc",
        source: include_str!("../kernels/c/nhwc.c"),
        needs: &["quant", "weights", "activation", "math"],
    },
    Module {
        name: "int8",
        source: include_str!("../kernels/c/int8.c"),
        needs: &["quant", "nhwc"],
    },
    Module {
        name: "sparse_conv",
        source: include_str!("../kernels/c/sparse_conv.c"),
        needs: &["nhwc"],
    },
    Module {
        name: "gemm",
        source: include_str!("../kernels/c/gemm.c"),
        needs: &["weights", "activation"],
    },
    Module {
        name: "sparse",
        source: include_str!("../kernels/c/sparse.c"),
        needs: &["int8", "gemm", "weights"],
    },
    Module {
        name: "softmax",
        source: include_str!("../kernels/c/softmax.c"),
        needs: &["math"],
    },
    Module {
        name: "conv",
        source: include_str!("../kernels/c/conv.c"),
        needs: &["weights", "activation"],
    },
    Module {
        name: "pool",
        source: include_str!("../kernels/c/pool.c"),
        needs: &["math"],
    },
    Module {
        name: "elementwise",
        source: include_str!("../kernels/c/elementwise.c"),
        needs: &["math", "activation"],
    },
    Module {
        name: "reduce",
        source: include_str!("../kernels/c/reduce.c"),
        needs: &["elementwise"],
    },
    Module {
        name: "resize",
        source: include_str!("../kernels/c/resize.c"),
        needs: &["quant"],
    },
    Module {
        name: "select",
        source: include_str!("../kernels/c/select.c"),
        needs: &[],
    },
    Module {
        name: "norm",
        source: include_str!("../kernels/c/norm.c"),
        needs: &["math"],
    },
    Module {
        name: "qlinear",
        source: include_str!("../kernels/c/qlinear.c"),
        needs: &["math", "gemm"],
    },
    Module {
        name: "recurrent",
        source: include_str!("../kernels/c/recurrent.c"),
        needs: &["math"],
    },
    Module {
        name: "layout",
        source: include_str!("../kernels/c/layout.c"),
        needs: &[],
    },
];

/// The names a module's source defines: its kernels and helpers (`EG_KERNEL type eg_name(`),
/// its types (`} eg_name;`), and the instances of its kernels generic over the element type,
/// each a line `EG_MACRO(eg_name, ...)` calling the macro that defines one.
fn defined_names(source: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for line in source.lines() {
        let name = if let Some(rest) = line.strip_prefix("EG_KERNEL ") {
            rest.split('(')
                .next()
                .and_then(|head| head.split_whitespace().last())
        } else if line.starts_with("EG_")
            && let Some((_, rest)) = line.split_once('(')
        {
            rest.split([',', ')']).next().map(str::trim)
        } else if let Some(rest) = line.strip_prefix("} ") {
            rest.strip_suffix(';')
        } else {
            None
        };
        if let Some(name) = name.map(|n| n.trim_start_matches('*'))
            && name.starts_with("eg_")
        {
            names.push(name);
        }
    }
    names
}

/// The C name of a kernel, type or enum variant of the kernel library, by its Rust path:
/// `nhwc::conv_i8` is `eg_nhwc_conv_i8`.
fn c_name(path: &str) -> String {
    format!("eg_{}", path.replace("::", "_"))
}

/// Whether the C kernel library defines `path`.
fn provides(path: &str) -> bool {
    defines(path, &c_name(path))
}

/// Whether the module of the Rust kernel `path` defines the C name `name`.
fn defines(path: &str, name: &str) -> bool {
    let module = path.split("::").next().unwrap_or(path);
    MODULES
        .iter()
        .any(|m| m.name == module && defined_names(m.source).contains(&name))
}

/// The C function of a call of the Rust kernel `path` with `args` in `step`, or, when the
/// library has none, what is missing (the kernel and the types it was asked for).
///
/// C has no generics, so a Rust kernel generic over how or what it reads is one C function per
/// instance, named after the instance:
/// - a weight format (`impl Weights`): a local bound to a `weights::Int8` view (or `F16`,
///   `Codebook`) calls the kernel's name with the view's type appended
///   (`eg_gemm_gemm_Int8`); plain float weights call the name itself;
/// - an element type (`strided_copy<T>`): if the library has no function of the plain name,
///   the element types of the slice arguments (not those of empty ones) are appended, each
///   once, in the order of the arguments (`eg_layout_strided_copy_f32`,
///   `eg_elementwise_compare_f32_bool`);
/// - a const generic argument (`recurrent::recurrent::<15>`) is dropped.
fn c_function(
    program: &Program,
    graph: &Graph,
    step: &Step,
    path: &str,
    args: &[Arg],
) -> std::result::Result<String, String> {
    let missing_path = path;
    // A const generic argument (`recurrent::recurrent::<15>`, the size of a stack array) is
    // not part of the C name: the C kernel sizes the array from its parameters.
    let path = path.split("::<").next().unwrap_or(path);
    let mut name = c_name(path);
    let mut missing = missing_path.to_string();
    for a in args {
        if let Arg::Local(local) = a {
            let view = step.body.iter().find_map(|s| match s {
                Stmt::Let(n, st) if n == local && st.path.starts_with("weights::") => {
                    st.path.rsplit("::").next()
                }
                _ => None,
            });
            if let Some(view) = view {
                name = format!("{name}_{view}");
                missing = format!("{missing} with weights::{view} weights");
            }
        }
    }
    if defines(path, &name) {
        return Ok(name);
    }
    let mut types: Vec<&str> = Vec::new();
    for a in args {
        let dtype = match a {
            Arg::Input(k) => Some(graph.tensor(step.inputs[*k]).dtype),
            Arg::Output => Some(graph.tensor(step.output).dtype),
            Arg::Static(s) => program
                .statics
                .iter()
                .find(|d| &d.name == s)
                .map(|d| d.data.dtype()),
            _ => None,
        };
        if let Some(dtype) = dtype
            && !types.contains(&dtype.name())
        {
            types.push(dtype.name());
        }
    }
    if !types.is_empty() {
        let typed = format!("{name}_{}", types.join("_"));
        if defines(path, &typed) {
            return Ok(typed);
        }
        missing = format!("{missing} on {}", types.join(", "));
    }
    Err(missing)
}

/// The C element type of a tensor element type.
fn c_type(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F64 => "double",
        DType::F16 | DType::U16 => "uint16_t",
        DType::I8 => "int8_t",
        DType::U8 | DType::Bool => "uint8_t",
        DType::I16 => "int16_t",
        DType::I32 => "int32_t",
        DType::U32 => "uint32_t",
        DType::I64 => "int64_t",
        DType::U64 => "uint64_t",
    }
}

/// The generated pair of files.
#[derive(Clone, Debug, PartialEq)]
pub struct CCode {
    pub source: String,
    pub header: String,
}

/// Fails, listing every layer, if the graph cannot be emitted in C.
pub fn check_supported(graph: &Graph) -> Result<()> {
    let program = lower(graph)?;
    check_program(graph, &program)
}

/// Emits `prefix`'s source and header; `header_file` is the name the source includes.
pub fn emit(graph: &Graph, prefix: &str, header_file: &str) -> Result<CCode> {
    check_prefix(prefix)?;
    let program = lower(graph)?;
    check_program(graph, &program)?;
    let emitter = Emitter {
        graph,
        program: &program,
        prefix,
        upper: prefix.to_uppercase(),
    };
    Ok(CCode {
        source: emitter.source(header_file),
        header: emitter.header(),
    })
}

/// The name prefix of a C API (`--name`) must be an identifier of its own: letters, digits and
/// underscores, not starting with a digit.
pub fn check_prefix(prefix: &str) -> Result<()> {
    let ok = !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !prefix.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "--name {prefix:?} is not a C identifier: use letters, digits and underscores, \
             starting with a letter (it prefixes the API's names, as kws does in kws_run and \
             KWS_ARENA_BYTES)"
        )))
    }
}

/// The default name prefix for an output file: its stem as a C identifier (`kws-int8.c` gives
/// `kws_int8`).
pub fn default_prefix(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "model_");
    }
    name
}

/// The layers whose steps use a kernel, parameter type or variant the C library lacks, or a
/// construct the C emitter does not write, one line each.
fn check_program(graph: &Graph, program: &Program) -> Result<()> {
    let mut problems: Vec<(usize, String)> = Vec::new();
    for step in &program.steps {
        let mut missing = BTreeSet::new();
        for stmt in &step.body {
            match stmt {
                Stmt::Let(_, s) => {
                    missing
                        .extend(std::iter::once(s.path.clone()).filter(|p| !provides(p)));
                    for (_, v) in &s.fields {
                        missing_in_value(v, &mut missing);
                    }
                }
                Stmt::Call(f, args) => {
                    if let Err(what) = c_function(program, graph, step, f, args) {
                        missing.insert(what);
                    }
                    // The emitter declares one work space per call.
                    if args.iter().filter(|a| matches!(a, Arg::Scratch(_))).count() > 1 {
                        missing.insert("a call with two work spaces".into());
                    }
                    for a in args {
                        if let Arg::Value(v) = a {
                            missing_in_value(v, &mut missing);
                            if let Value::Array(items) = v
                                && c_array_type(items).is_none()
                            {
                                missing.insert("an array argument of this type".into());
                            }
                        }
                    }
                }
                Stmt::Copy(_) => {}
                Stmt::Unrolled(..) => {
                    missing.insert("unrolled layers (--unroll)".into());
                }
            }
        }
        // The kernels (lower case after the module) say what is missing; the types and
        // variants that come with them only when no kernel is missing.
        let kernels: BTreeSet<String> = missing
            .iter()
            .filter(|m| {
                m.rsplit("::")
                    .next()
                    .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_lowercase()))
            })
            .cloned()
            .collect();
        if !kernels.is_empty() {
            missing = kernels;
        }
        if !missing.is_empty() && !problems.iter().any(|(n, _)| *n == step.node) {
            let node = &graph.nodes[step.node];
            problems.push((
                step.node,
                format!(
                    "{}: no C kernel for {}",
                    graph.describe_node(node),
                    missing.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::unsupported(format!(
        "the C back end cannot generate code for:\n  {}\n(the Rust back end can: leave out --emit c)",
        problems
            .into_iter()
            .map(|(_, p)| p)
            .collect::<Vec<_>>()
            .join("\n  ")
    )))
}

fn missing_in_value(v: &Value, missing: &mut BTreeSet<String>) {
    match v {
        Value::Variant(path, args) => {
            if !provides(path) {
                missing.insert(path.clone());
            }
            args.iter().for_each(|a| missing_in_value(a, missing));
        }
        Value::Array(items) => items.iter().for_each(|a| missing_in_value(a, missing)),
        _ => {}
    }
}

/// The C kernel library's modules named (with what they need, in emission order) after the
/// prelude every generated source has: what a test needs to call C kernels directly.
pub fn kernel_library(modules: &[&str]) -> String {
    let mut used: BTreeSet<&'static str> = MODULES
        .iter()
        .map(|m| m.name)
        .filter(|n| modules.contains(n))
        .collect();
    close_over_needs(&mut used);
    let mut out = String::from(PRELUDE);
    for m in MODULES.iter().filter(|m| used.contains(m.name)) {
        out.push('\n');
        out.push_str(m.source);
    }
    out
}

/// Adds the modules that the modules in `used` need, recursively.
fn close_over_needs(used: &mut BTreeSet<&'static str>) {
    loop {
        let more: Vec<&str> = MODULES
            .iter()
            .filter(|m| used.contains(m.name))
            .flat_map(|m| m.needs.iter().copied())
            .filter(|n| !used.contains(n))
            .collect();
        if more.is_empty() {
            break;
        }
        used.extend(more);
    }
}

/// The C element type of an array argument: that of its (non-empty, uniform) elements.
fn c_array_type(items: &[Value]) -> Option<&'static str> {
    let ty = |v: &Value| match v {
        Value::Usize(_) => Some("size_t"),
        Value::Isize(_) => Some("intptr_t"),
        Value::F32(_) => Some("float"),
        _ => None,
    };
    let first = ty(items.first()?)?;
    items.iter().all(|v| ty(v) == Some(first)).then_some(first)
}

/// A float literal: the shortest text that reads back as `x`, with C's `f` suffix.
fn c_f32(x: f32) -> String {
    if x.is_nan() {
        return "EG_NAN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "EG_INFINITY"
        } else {
            "-EG_INFINITY"
        }
        .into();
    }
    let mut text = format_f32(x);
    if !text.contains(['.', 'e', 'E']) {
        text.push_str(".0");
    }
    text + "f"
}

fn c_value(v: &Value) -> String {
    match v {
        Value::Usize(n) => n.to_string(),
        Value::Isize(n) => n.to_string(),
        Value::F32(x) => c_f32(*x),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Variant(path, args) => format!(
            "{}({})",
            c_name(path),
            args.iter().map(c_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(c_value).collect::<Vec<_>>().join(", ")
        ),
        Value::StaticRef(name) => format!("{name}.v"),
        Value::EmptySlice => "NULL".into(),
    }
}

/// A string literal of `bytes`, in lines of at most about 100 columns at `indent`: printable
/// ASCII as is, everything else as a three-digit octal escape (a hex escape would swallow a
/// following hex digit), `"`, `\` and `?` (trigraphs) escaped too.
fn string_literal(bytes: &[u8], indent: usize) -> String {
    const LINE: usize = 96;
    let mut out = String::with_capacity(bytes.len() * 3 + 16);
    let mut line = String::new();
    let flush = |out: &mut String, line: &mut String| {
        if !out.is_empty() {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push('"');
        out.push_str(line);
        out.push('"');
        line.clear();
    };
    for &b in bytes {
        if b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'?' || b == b' ' {
            line.push(b as char);
        } else {
            let _ = write!(line, "\\{b:03o}");
        }
        if line.len() >= LINE {
            flush(&mut out, &mut line);
        }
    }
    if !line.is_empty() || out.is_empty() {
        flush(&mut out, &mut line);
    }
    out
}

struct Emitter<'a> {
    graph: &'a Graph,
    program: &'a Program,
    prefix: &'a str,
    upper: String,
}

impl Emitter<'_> {
    fn io(&self) -> [(&'static str, Vec<TensorId>); 2] {
        let g = self.graph;
        [
            ("input", g.model_inputs().to_vec()),
            ("output", g.model_outputs().to_vec()),
        ]
    }

    /// `kws_input_t` or `kws_input_0_t`.
    fn elem_type(&self, kind: &str, i: usize, n: usize) -> String {
        format!("{}_{}_t", self.prefix, io_names(kind, i, n).param)
    }

    fn run_params(&self) -> Vec<String> {
        let mut params = Vec::new();
        for (kind, ids) in self.io() {
            for i in 0..ids.len() {
                let names = io_names(kind, i, ids.len());
                let constness = if kind == "input" { "const " } else { "" };
                params.push(format!(
                    "{constness}{} *{}",
                    self.elem_type(kind, i, ids.len()),
                    names.param
                ));
            }
        }
        if params.is_empty() {
            params.push("void".into());
        }
        params
    }

    fn header(&self) -> String {
        let g = self.graph;
        let (p, u) = (self.prefix, &self.upper);
        let totals = report::totals(g, self.program);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "/* Generated by edgegen {} from `{}` (sha256 {}). Do not edit.\n *",
            env!("CARGO_PKG_VERSION"),
            comment(&g.source.file_name).replace("*/", "* /"),
            g.source.sha256
        );
        let _ = writeln!(
            out,
            " * The API of the model: {p}_run reads the inputs and writes the outputs. The model's \
             memory\n * is static ({u}_ARENA_BYTES bytes of activations); it is not reentrant: \
             one run at a time.\n */"
        );
        let _ = writeln!(out, "#ifndef {u}_H\n#define {u}_H\n");
        out.push_str("#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n");
        for (kind, ids) in self.io() {
            for (i, &t) in ids.iter().enumerate() {
                let tensor = g.tensor(t);
                let names = io_names(kind, i, ids.len());
                let c = format!("{u}_{}", names.constant);
                let which = if ids.len() == 1 {
                    format!("the {kind}")
                } else {
                    format!("{kind} {i}")
                };
                let shape = tensor.shape();
                let _ = writeln!(
                    out,
                    "\n/* {}: `{}` in the source model, {} {:?}. */",
                    capitalized(&which),
                    comment(&tensor.name).replace("*/", "* /"),
                    tensor.dtype,
                    shape
                );
                let _ = writeln!(out, "#define {c}_NAME {}", c_string(&tensor.name));
                let _ = writeln!(out, "#define {c}_RANK {}", shape.len());
                let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                let _ = writeln!(out, "#define {c}_SHAPE {{{}}}", dims.join(", "));
                let _ = writeln!(out, "#define {c}_LEN {}", tensor.len());
                let _ = writeln!(
                    out,
                    "typedef {} {};",
                    c_type(tensor.dtype),
                    self.elem_type(kind, i, ids.len())
                );
                if let Some((scale, zero_point)) =
                    tensor.quant.as_ref().and_then(|q| q.single())
                {
                    let _ = writeln!(
                        out,
                        "/* Real value = {c}_SCALE * (q - {c}_ZERO_POINT). */"
                    );
                    let _ = writeln!(out, "#define {c}_SCALE {}", c_f32(scale));
                    let _ = writeln!(out, "#define {c}_ZERO_POINT {zero_point}");
                }
            }
        }
        let _ = writeln!(
            out,
            "\n/* Bytes of activation memory (a static arena in the model's source file). */"
        );
        let _ = writeln!(out, "#define {u}_ARENA_BYTES {}", totals.arena_bytes);
        let _ = writeln!(out, "/* Bytes of weights and other constant data. */");
        let _ = writeln!(out, "#define {u}_WEIGHT_BYTES {}", totals.weight_bytes);
        if !g.states.is_empty() {
            let _ = writeln!(out, "/* Bytes of state kept between runs. */");
            let _ = writeln!(
                out,
                "#define {u}_STATE_BYTES {}",
                super::state_bytes(self.graph, self.program)
            );
        }
        if g.states.is_empty() {
            out.push_str(
                "\n/* Runs the model once: reads the inputs, writes the outputs. */\n",
            );
        } else {
            out.push_str(
                "\n/* Runs the model once: reads the inputs and the state, writes the outputs and\n * updates the state (consecutive runs see a stream). */\n",
            );
        }
        let _ = writeln!(out, "void {p}_run({});", self.run_params().join(", "));
        if !g.states.is_empty() {
            out.push_str("/* Sets the state back to its initial value. */\n");
            let _ = writeln!(out, "void {p}_reset(void);");
        }
        let _ = writeln!(
            out,
            "\n#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {u}_H */"
        );
        out
    }

    fn source(&self, header_file: &str) -> String {
        let g = self.graph;
        let totals = report::totals(g, self.program);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "/* Generated by edgegen {} from `{}` (sha256 {}). Do not edit.",
            env!("CARGO_PKG_VERSION"),
            comment(&g.source.file_name).replace("*/", "* /"),
            g.source.sha256
        );
        if !g.source.description.is_empty() {
            let _ = writeln!(
                out,
                " *\n * Source: {}.",
                comment(&g.source.description).replace("*/", "* /")
            );
        }
        let _ = writeln!(
            out,
            " *\n * {} layers, {} multiply-accumulates per run, {} bytes of weights, {} bytes of arena.\n * C99 with <stdint.h> and <string.h> only; no heap. The API is in {}.\n */",
            totals.layers,
            report::group_digits(totals.macs),
            report::group_digits(totals.weight_bytes as u64),
            report::group_digits(totals.arena_bytes as u64),
            comment(header_file).replace("*/", "* /")
        );
        let _ = writeln!(out, "#include {}\n", c_string(header_file));
        out.push_str(PRELUDE);
        self.kernels(&mut out);
        out.push_str("\n/* ---- Weights and other constant data ---- */\n");
        for data in &self.program.statics {
            out.push('\n');
            out.push_str(&static_data(data, "static const"));
        }
        self.memory(&mut out);
        for step in &self.program.steps {
            self.layer_function(&mut out, step);
        }
        self.run(&mut out);
        out
    }

    fn kernels(&self, out: &mut String) {
        let mut used: BTreeSet<&str> = BTreeSet::new();
        let mut note = |path: &str| {
            if let Some(m) = MODULES
                .iter()
                .find(|m| m.name == path.split("::").next().unwrap_or(path))
            {
                used.insert(m.name);
            }
        };
        for step in &self.program.steps {
            for stmt in &step.body {
                match stmt {
                    Stmt::Let(_, s) => {
                        note(&s.path);
                        s.fields.iter().for_each(|(_, v)| variants(v, &mut note));
                    }
                    Stmt::Call(f, args) => {
                        note(f);
                        for a in args {
                            if let Arg::Value(v) = a {
                                variants(v, &mut note);
                            }
                        }
                    }
                    Stmt::Copy(_) | Stmt::Unrolled(..) => {}
                }
            }
        }
        close_over_needs(&mut used);
        out.push_str("\n/* ---- The kernels this model uses, from edgegen's C kernel library ---- */\n");
        for m in MODULES.iter().filter(|m| used.contains(m.name)) {
            out.push('\n');
            out.push_str(m.source);
        }
    }

    fn arenas(&self) -> Vec<(DType, usize)> {
        self.graph
            .plan
            .as_ref()
            .map(|p| p.arenas.clone())
            .unwrap_or_default()
    }

    fn memory(&self, out: &mut String) {
        let g = self.graph;
        out.push_str("\n/* ---- Memory ---- */\n\n");
        out.push_str(
            "/* Activations, at offsets planned from the tensors' lifetimes. */\n",
        );
        for (dtype, n) in self.arenas() {
            let _ = writeln!(out, "static {} arena_{dtype}[{}];", c_type(dtype), n.max(1));
        }
        for k in 0..g.states.len() {
            let initial = super::initial_state(
                self.graph,
                k,
                "set by the first run and by the reset function",
            );
            out.push('\n');
            out.push_str(&static_data(&initial, "static const"));
            let t = g.tensor(g.state_input(k));
            let _ = writeln!(
                out,
                "/* The value of state `{}`. */",
                comment(&g.states[k].name).replace("*/", "* /")
            );
            let _ = writeln!(
                out,
                "static {} state_{k}[{}];",
                c_type(t.dtype),
                t.len().max(1)
            );
            if super::needs_next_buffer(self.graph, self.program, k) {
                out.push_str("/* Its next value, copied in at the end of a run. */\n");
                let _ = writeln!(
                    out,
                    "static {} next_state_{k}[{}];",
                    c_type(t.dtype),
                    t.len().max(1)
                );
            }
        }
        if !g.states.is_empty() {
            out.push_str(
                "/* Whether the state holds its initial value (set by the first run). */\n",
            );
            out.push_str("static int state_ready;\n");
        }
    }

    /// The pointer expression of tensor `t` in the run function.
    fn pointer(&self, t: TensorId) -> String {
        let g = self.graph;
        let (n_in, n_out) = (g.model_inputs().len(), g.model_outputs().len());
        match storage(g, t) {
            Storage::Input(i) if i >= n_in => format!("state_{}", i - n_in),
            Storage::Input(i) => io_names("input", i, n_in).param,
            Storage::Output(j) if j >= n_out => {
                let k = j - n_out;
                if super::needs_next_buffer(self.graph, self.program, k) {
                    format!("next_state_{k}")
                } else {
                    format!("state_{k}")
                }
            }
            Storage::Output(j) => io_names("output", j, n_out).param,
            Storage::Arena { dtype, offset } => {
                if offset == 0 {
                    format!("arena_{dtype}")
                } else {
                    format!("arena_{dtype} + {offset}")
                }
            }
            Storage::Constant => unreachable!("constants are static data, not step inputs"),
        }
    }

    fn layer_function(&self, out: &mut String, step: &Step) {
        let g = self.graph;
        out.push_str("\n/*");
        for (i, line) in step.doc.iter().enumerate() {
            if i == 1 {
                out.push_str("\n *");
            }
            let _ = write!(out, "\n * {}", one_line(line).replace("*/", "* /"));
        }
        out.push_str("\n */\n");
        let params: Vec<String> = step
            .params()
            .into_iter()
            .map(|(name, t, output)| {
                let constness = if output { "" } else { "const " };
                format!("{constness}{} *{name}", c_type(g.tensor(t).dtype))
            })
            .collect();
        let _ = writeln!(out, "EG_LAYER void {}({}) {{", step.name, params.join(", "));
        let len = |t: TensorId| g.tensor(t).len();
        let static_len = |name: &str| {
            self.program
                .statics
                .iter()
                .find(|s| s.name == name)
                .map_or(0, |s| s.data.len())
        };
        let arg = |a: &Arg| -> String {
            match a {
                Arg::Input(k) => {
                    format!("{}, {}", step.input_name(*k), len(step.inputs[*k]))
                }
                Arg::Output => format!("y, {}", len(step.output)),
                Arg::Static(name) => format!("{name}.v, {}", static_len(name)),
                Arg::Local(name) => name.clone(),
                // An array argument (a Rust array passed by value) is a C99 compound literal,
                // which the kernel receives as a pointer to its first element.
                Arg::Value(Value::Array(items)) => format!(
                    "(const {}[]){}",
                    c_array_type(items).expect("checked by check_program"),
                    c_value(&Value::Array(items.clone()))
                ),
                Arg::Value(v) => c_value(v),
                Arg::Empty | Arg::Scratch(0) => "NULL, 0".into(),
                Arg::Scratch(len) => format!("(int8_t *)scratch, {len}"),
            }
        };
        for stmt in &step.body {
            match stmt {
                Stmt::Let(name, s) => {
                    let _ = writeln!(out, "    const {} {name} = {{", c_name(&s.path));
                    for (field, v) in &s.fields {
                        let _ = writeln!(out, "        .{field} = {},", c_value(v));
                        // A slice field is a pointer and a length, as a slice argument is.
                        match v {
                            Value::StaticRef(data) => {
                                let _ = writeln!(
                                    out,
                                    "        .{field}_len = {},",
                                    static_len(data)
                                );
                            }
                            Value::EmptySlice => {
                                let _ = writeln!(out, "        .{field}_len = 0,");
                            }
                            _ => {}
                        }
                    }
                    out.push_str("    };\n");
                }
                Stmt::Call(f, args) => {
                    let function = c_function(self.program, g, step, f, args)
                        .expect("checked by check_program");
                    // The kernel's work space, on the layer's stack (one per call at most).
                    if let Some(len) = args.iter().find_map(|a| match a {
                        Arg::Scratch(len) if *len > 0 => Some(*len),
                        _ => None,
                    }) {
                        // Words, so that a kernel may read it a word at a time.
                        let _ = writeln!(out, "    uint32_t scratch[{}];", len.div_ceil(4));
                    }
                    let args: Vec<String> = args.iter().map(arg).collect();
                    out.push_str(&c_call(&function, &args));
                }
                Stmt::Copy(source) => {
                    let (pointer, _) = arg(source)
                        .split_once(", ")
                        .map(|(p, l)| (p.to_string(), l.to_string()))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "    memcpy(y, {pointer}, {} * sizeof(*y));",
                        len(step.output)
                    );
                }
                Stmt::Unrolled(..) => unreachable!("refused by check_program"),
            }
        }
        out.push_str("}\n");
    }

    fn run(&self, out: &mut String) {
        let g = self.graph;
        let p = self.prefix;
        if !g.states.is_empty() {
            let _ = writeln!(out, "\nvoid {p}_reset(void) {{");
            for k in 0..g.states.len() {
                let _ = writeln!(
                    out,
                    "    memcpy(state_{k}, STATE_{k}_INITIAL.v, sizeof(state_{k}));"
                );
            }
            out.push_str("    state_ready = 1;\n}\n");
        }
        let _ = writeln!(out, "\nvoid {p}_run({}) {{", self.run_params().join(", "));
        if !g.states.is_empty() {
            let _ = writeln!(
                out,
                "    if (!state_ready) {{\n        {p}_reset();\n    }}"
            );
        }
        let mut steps = self.program.steps.iter().peekable();
        // Parameters nobody reads (an input no layer uses, an output without elements).
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for (index, node) in g.nodes.iter().enumerate() {
            let name = comment(&node.name).replace("*/", "* /");
            if node.op.is_view() {
                let _ = writeln!(
                    out,
                    "    /* {name} ({}): a view of its input, no code. */",
                    node.op.name()
                );
                continue;
            }
            let _ = writeln!(out, "    /* {name} ({}) */", node.op.name());
            while let Some(step) = steps.next_if(|s| s.node == index) {
                let inputs: Vec<TensorId> = if step.in_place {
                    step.inputs[1..].to_vec()
                } else {
                    step.inputs.clone()
                };
                let mut args: Vec<String> =
                    inputs.iter().map(|&t| self.pointer(t)).collect();
                let output = self.pointer(step.output);
                if step.in_place {
                    args.insert(0, output);
                } else {
                    args.push(output);
                }
                touched.extend(args.iter().cloned());
                out.push_str(&c_call(&step.name, &args));
            }
        }
        for k in 0..g.states.len() {
            if super::needs_next_buffer(self.graph, self.program, k) {
                let _ = writeln!(
                    out,
                    "    memcpy(state_{k}, next_state_{k}, sizeof(state_{k}));"
                );
            }
        }
        for (kind, ids) in self.io() {
            for i in 0..ids.len() {
                let param = io_names(kind, i, ids.len()).param;
                if !touched.contains(&param) {
                    let _ = writeln!(out, "    (void){param};");
                }
            }
        }
        out.push_str("}\n");
    }
}

fn variants(v: &Value, note: &mut impl FnMut(&str)) {
    match v {
        Value::Variant(path, args) => {
            note(path);
            args.iter().for_each(|a| variants(a, note));
        }
        Value::Array(items) => items.iter().for_each(|i| variants(i, note)),
        _ => {}
    }
}

/// `callee(args);` at an indentation of 4, wrapped with one argument per line when long.
fn c_call(callee: &str, args: &[String]) -> String {
    let one_line = format!("    {callee}({});\n", args.join(", "));
    if one_line.len() <= 101 {
        return one_line;
    }
    let mut text = format!("    {callee}(\n");
    for (i, a) in args.iter().enumerate() {
        let sep = if i + 1 == args.len() { "" } else { "," };
        let _ = writeln!(text, "        {a}{sep}");
    }
    text.push_str("    );\n");
    text
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A C string literal of any text (names from the model may hold anything), on one line (it
/// may be the body of a macro).
fn c_string(text: &str) -> String {
    string_literal(text.as_bytes(), 0).replace("\n", "")
}

/// The longest string literal ISO C99 compilers must accept (`-pedantic` warns above it).
const MAX_STRING: usize = 4095;

/// Named constant data: a union of the bytes (initialized from string literals, one per
/// 4,095-byte chunk, each chunk a char array of a struct) and the typed array, read as `NAME.v`.
fn static_data(data: &StaticData, keyword: &str) -> String {
    let dtype = data.data.dtype();
    let n = data.data.len();
    let mut out = format!(
        "/* {dtype} {:?}: {} */\n",
        data.shape,
        one_line(&data.doc).replace("*/", "* /")
    );
    let bytes: Vec<u8> = match &data.data {
        TensorData::Bool(values) => values.iter().map(|&b| u8::from(b)).collect(),
        other => other.to_le_bytes(),
    };
    let ty = c_type(dtype);
    let name = &data.name;
    if n == 0 {
        let _ = writeln!(
            out,
            "{keyword} union {{\n    unsigned char bytes[1];\n    {ty} v[1];\n}} {name} = {{{{0}}}};"
        );
        return out;
    }
    let chunks: Vec<&[u8]> = bytes.chunks(MAX_STRING).collect();
    if chunks.len() == 1 {
        let _ = writeln!(
            out,
            "{keyword} union {{\n    unsigned char bytes[{}];\n    {ty} v[{n}];\n}} {name} = {{\n    {}\n}};",
            bytes.len(),
            string_literal(&bytes, 4)
        );
        return out;
    }
    let _ = writeln!(out, "{keyword} union {{\n    struct {{");
    for (i, chunk) in chunks.iter().enumerate() {
        let _ = writeln!(out, "        unsigned char b{i}[{}];", chunk.len());
    }
    let _ = writeln!(out, "    }} bytes;\n    {ty} v[{n}];\n}} {name} = {{{{");
    for (i, chunk) in chunks.iter().enumerate() {
        let sep = if i + 1 == chunks.len() { "" } else { "," };
        let _ = writeln!(out, "    {}{sep}", string_literal(chunk, 4));
    }
    out.push_str("}};\n");
    out
}

/// What every generated source defines before the kernels.
const PRELUDE: &str = r#"#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "edgegen stores weights as little-endian bytes"
#endif

/* Kernels are inlined into the layer functions, which specialises them to each layer's
 * constant shapes; layer functions stay functions of their own (one per layer in a profile). */
#if defined(__GNUC__) || defined(__clang__)
#define EG_KERNEL static inline __attribute__((always_inline))
#define EG_LAYER static __attribute__((noinline))
#else
#define EG_KERNEL static inline
#define EG_LAYER static
#endif

/* Constant data longer than a C99 string literal is a struct of char arrays, which no
 * compiler pads; this fails to compile if one did. */
typedef char eg_char_arrays_are_not_padded[sizeof(struct { unsigned char a[3]; unsigned char b[5]; }) == 8 ? 1 : -1];

/* The float kernels do the Rust kernels' operations in the same order, each rounded: a
 * multiply-add must not be contracted into a fused one (GCC does not in its ISO modes; Clang
 * does unless told). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define EG_INFINITY (1.0f / 0.0f)
#define EG_NAN (0.0f / 0.0f)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_what_c_would_misread() {
        // An octal escape followed by a digit, a quote, a backslash and a trigraph.
        assert_eq!(
            string_literal(b"\x001\"\\??=a b", 4),
            r#""\0001\042\134\077\077=a b""#
        );
        let long = string_literal(&[0u8; 100], 4);
        assert_eq!(long.lines().count(), 5);
        assert!(long.lines().skip(1).all(|l| l.starts_with("    \"")));
        assert_eq!(string_literal(b"", 4), "\"\"");
        // In a macro, a long name stays on one line.
        assert!(!c_string(&"n".repeat(300)).contains('\n'));
    }

    #[test]
    fn every_module_defines_names_the_emitter_can_find() {
        for m in MODULES {
            let names = defined_names(m.source);
            assert!(!names.is_empty(), "{}", m.name);
            for name in names {
                assert!(
                    name.starts_with(&format!("eg_{}_", m.name)),
                    "{} defines {name} outside its namespace",
                    m.name
                );
            }
            for need in m.needs {
                let at = |n: &str| MODULES.iter().position(|x| x.name == n);
                assert!(
                    at(need) < at(m.name),
                    "{} needs {need}, emitted after it",
                    m.name
                );
            }
        }
        assert!(provides("nhwc::conv_i8"));
        assert!(provides("nhwc::Window"));
        assert!(provides("activation::Activation::Clip"));
        assert!(provides("nhwc::conv_hybrid"));
        assert!(provides("recurrent::recurrent"));
        assert!(!provides("einsum::einsum"));
    }

    /// Every kernel of the library, used or not by the models the tests run, compiles under
    /// the flags the run harness uses (the instances for every element type included).
    #[test]
    fn the_whole_library_compiles_as_strict_c99() {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        // Kernels as external functions, so that the compiler compiles (and warns about)
        // every one, not only those a model calls.
        let kernel = "#define EG_KERNEL static inline __attribute__((always_inline))";
        assert!(PRELUDE.contains(kernel));
        let mut source = PRELUDE.replace(kernel, "#define EG_KERNEL");
        for m in MODULES {
            source.push_str(m.source);
        }
        let dir =
            std::env::temp_dir().join(format!("edgegen-c-library-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("library.c");
        std::fs::write(&file, source).unwrap();
        let Ok(out) = std::process::Command::new(&cc)
            .args([
                "-std=c99",
                "-pedantic",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-O1",
                "-c",
            ])
            .arg(&file)
            .arg("-o")
            .arg(dir.join("library.o"))
            .output()
        else {
            panic!("no C compiler ({cc}): the tests need one (install gcc, or set CC)");
        };
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn prefixes_are_c_identifiers() {
        assert_eq!(default_prefix("kws-int8"), "kws_int8");
        assert_eq!(default_prefix("3d"), "model_3d");
        assert!(check_prefix("kws").is_ok());
        assert!(check_prefix("9kws").is_err());
        assert!(check_prefix("k w").is_err());
    }
}
