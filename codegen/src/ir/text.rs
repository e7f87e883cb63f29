//! The textual form of the IR: a printer (for `--dump-after`, `inspect` and test expectations)
//! and a parser (so that a pass can be tested on a few lines of text instead of a binary model).
//!
//! ```text
//! graph "tiny" {
//!   input %x: f32[1, 3, 8, 8]
//!   const %w: f32[4, 3, 1, 1] = [0.5, -1.0, ...]
//!   %y: f32[1, 4, 8, 8] = Conv(%x, %w) {kernel_shape=[1, 1], activation=relu} @conv1
//!   %z: f32[?] = Reshape(%y | %shape) @flatten
//!   %a: f32[1, 2], %b: f32[1, 2] = Split(%z) {axis=1} @split
//!   output %a, %b
//! }
//! ```
//!
//! A stateful graph declares each state variable after the inputs, with its initial value, and
//! says after the outputs which tensor becomes its next value:
//!
//! ```text
//!   state "ema" %ema: f32[1, 4] = [0.0, 0.0, 0.0, 0.0]
//!   ...
//!   update %ema = %ema_next
//! ```
//!
//! Names that are not plain identifiers are quoted (`%"conv/BiasAdd:0"`). Attributes equal to
//! their default are not printed. Parameter inputs follow a `|`, with `_` for an absent one.
//! `f32[?]` is a tensor whose shape is not inferred yet. `#` starts a comment. Constants with more
//! than [`PrintOptions::max_constant_elements`] elements print as `<N values>`, which the parser
//! refuses: text IR for tests holds small constants in full.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::dispatch_data;
use crate::ir::attr::{AttrMap, AttrValue, format_f32};
use crate::ir::{
    DType, Graph, Node, Op, Quantization, StateVariable, Tensor, TensorData, TensorId,
    WeightStorage,
};

/// What the printer shows.
#[derive(Clone, Copy, Debug)]
pub struct PrintOptions {
    /// Constants with more elements than this print as `<N values>`.
    pub max_constant_elements: usize,
    /// Append each node output's memory plan placement as a comment.
    pub show_plan: bool,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            max_constant_elements: 16,
            show_plan: true,
        }
    }
}

/// Prints a graph in the text form.
pub fn print(graph: &Graph, options: PrintOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "graph {} {{", quote(&graph.name));
    for &id in graph.model_inputs() {
        let _ = writeln!(out, "  input {}", typed(graph, id));
    }
    for (k, state) in graph.states.iter().enumerate() {
        let _ = writeln!(
            out,
            "  state {} {} = {}",
            quote(&state.name),
            typed(graph, graph.state_input(k)),
            format_data(&state.initial, options.max_constant_elements)
        );
    }
    // Constants used by nodes or outputs, in first-use order.
    let mut printed = vec![false; graph.tensors.len()];
    let mut constants = Vec::new();
    for node in &graph.nodes {
        for &t in node.inputs.iter().chain(node.params.iter().flatten()) {
            if graph.tensor(t).is_constant() && !printed[t.0] {
                printed[t.0] = true;
                constants.push(t);
            }
        }
    }
    for &t in &graph.outputs {
        if graph.tensor(t).is_constant() && !printed[t.0] {
            printed[t.0] = true;
            constants.push(t);
        }
    }
    for id in constants {
        let data = graph.tensor(id).data.as_ref().expect("constant");
        let _ = writeln!(
            out,
            "  const {} = {}",
            typed(graph, id),
            format_data(data, options.max_constant_elements)
        );
    }
    for node in &graph.nodes {
        let _ = write!(out, "  {}", print_node(graph, node));
        if options.show_plan
            && let Some(plan) = &graph.plan
        {
            let places: Vec<String> =
                node.outputs.iter().map(|&t| plan.describe(t)).collect();
            let _ = write!(out, "  # {}", places.join(", "));
        }
        out.push('\n');
    }
    let outputs: Vec<String> = graph
        .model_outputs()
        .iter()
        .map(|&t| name_ref(&graph.tensor(t).name))
        .collect();
    let _ = writeln!(out, "  output {}", outputs.join(", "));
    for k in 0..graph.states.len() {
        let _ = writeln!(
            out,
            "  update {} = {}",
            name_ref(&graph.tensor(graph.state_input(k)).name),
            name_ref(&graph.tensor(graph.state_output(k)).name)
        );
    }
    out.push_str("}\n");
    out
}

/// One node as a line of text (without indentation or newline).
pub fn print_node(graph: &Graph, node: &Node) -> String {
    let outputs: Vec<String> = node.outputs.iter().map(|&t| typed(graph, t)).collect();
    let mut args: Vec<String> = node
        .inputs
        .iter()
        .map(|&t| name_ref(&graph.tensor(t).name))
        .collect();
    let mut text = format!("{} = {}(", outputs.join(", "), node.op.name());
    text.push_str(&args.join(", "));
    if !node.params.is_empty() {
        args = node
            .params
            .iter()
            .map(|p| match p {
                Some(t) => name_ref(&graph.tensor(*t).name),
                None => "_".to_string(),
            })
            .collect();
        text.push_str(" | ");
        text.push_str(&args.join(", "));
    }
    text.push(')');
    let attrs = non_default_attrs(&node.op);
    if !attrs.is_empty() {
        let parts: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(text, " {{{}}}", parts.join(", "));
    }
    let _ = write!(text, " @{}", quote_if_needed(&node.name));
    text
}

/// The attributes of `op` that differ from the defaults of its attribute struct.
fn non_default_attrs(op: &Op) -> Vec<(&'static str, AttrValue)> {
    let defaults: HashMap<&str, AttrValue> = Op::parse(op.name(), AttrMap::default())
        .map(|d| d.attrs().into_iter().collect())
        .unwrap_or_default();
    op.attrs()
        .into_iter()
        .filter(|(k, v)| defaults.get(k) != Some(v))
        .collect()
}

fn typed(graph: &Graph, id: TensorId) -> String {
    let t = graph.tensor(id);
    format!("{}: {}", name_ref(&t.name), format_type(t))
}

/// `f32[1, 3, 8, 8]`, or `f32[?]` when the shape is unknown; a quantized tensor adds
/// `quant(scale, zero_point)` or, per axis, `quant([scales], [zero_points], axis)`, followed by
/// `int4` for 4-bit integers ([`Quantization::int4`]); a float constant stored in fewer bits
/// adds `stored(int8, [scales], axis)` or `stored(f16)` ([`WeightStorage`]).
pub fn format_type(t: &Tensor) -> String {
    let mut out = match &t.shape {
        Some(shape) => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("{}[{}]", t.dtype, dims.join(", "))
        }
        None => format!("{}[?]", t.dtype),
    };
    if let Some(q) = &t.quant {
        match q.single() {
            Some((scale, zero_point)) => {
                let _ = write!(out, " quant({}, {zero_point})", format_f32(scale));
            }
            None => {
                let scales: Vec<String> = q.scale.iter().map(|&s| format_f32(s)).collect();
                let zeros: Vec<String> =
                    q.zero_point.iter().map(|z| z.to_string()).collect();
                let _ = write!(
                    out,
                    " quant([{}], [{}], {})",
                    scales.join(", "),
                    zeros.join(", "),
                    q.axis
                );
            }
        }
        if q.int4 {
            out.push_str(" int4");
        }
    }
    match &t.storage {
        Some(WeightStorage::Int8 { scale, axis }) => {
            let scales: Vec<String> = scale.iter().map(|&s| format_f32(s)).collect();
            let _ = write!(out, " stored(int8, [{}], {axis})", scales.join(", "));
        }
        Some(WeightStorage::F16) => out.push_str(" stored(f16)"),
        Some(WeightStorage::Codebook {
            values,
            scale,
            axis,
        }) => {
            let list = |v: &[f32]| v.iter().map(|&x| format_f32(x)).collect::<Vec<_>>();
            let _ = write!(
                out,
                " stored(codebook, [{}], [{}], {axis})",
                list(values).join(", "),
                list(scale).join(", ")
            );
        }
        None => {}
    }
    out
}

fn format_data(data: &TensorData, max_elements: usize) -> String {
    if data.len() > max_elements {
        return format!("<{} values>", data.len());
    }
    let items: Vec<String> = match data {
        TensorData::F32(v) => v.iter().map(|&x| format_f32(x)).collect(),
        TensorData::F64(v) => v.iter().map(|&x| format_f32(x as f32)).collect(),
        TensorData::Bool(v) => v.iter().map(|b| b.to_string()).collect(),
        other => other
            .to_i64_vec()
            .expect("integer data")
            .iter()
            .map(|x| x.to_string())
            .collect(),
    };
    format!("[{}]", items.join(", "))
}

fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !name.starts_with(|c: char| c.is_ascii_digit() || c == '.')
}

fn quote(name: &str) -> String {
    let mut s = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn quote_if_needed(name: &str) -> String {
    if is_plain(name) {
        name.to_string()
    } else {
        quote(name)
    }
}

fn name_ref(name: &str) -> String {
    format!("%{}", quote_if_needed(name))
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    /// `%name` or `%"name"`.
    Value(String),
    /// `@name` or `@"name"`.
    At(String),
    Str(String),
    Int(i64),
    Float(f32),
    Punct(char),
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: usize,
}

/// A parse error with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.char_indices().peekable(),
            line: 1,
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            message: message.into(),
        }
    }

    fn tokens(mut self) -> Result<Vec<(Token, usize)>, ParseError> {
        let mut out = Vec::new();
        while let Some(token) = self.next_token()? {
            out.push((token, self.line));
        }
        Ok(out)
    }

    fn next_token(&mut self) -> Result<Option<Token>, ParseError> {
        loop {
            let Some(&(_, c)) = self.chars.peek() else {
                return Ok(None);
            };
            if c == '\n' {
                self.line += 1;
                self.chars.next();
            } else if c.is_whitespace() {
                self.chars.next();
            } else if c == '#' {
                while let Some(&(_, c)) = self.chars.peek() {
                    if c == '\n' {
                        break;
                    }
                    self.chars.next();
                }
            } else {
                break;
            }
        }
        let (_, c) = self.chars.next().expect("peeked");
        Ok(Some(match c {
            '%' => Token::Value(self.name()?),
            '@' => Token::At(self.name()?),
            '"' => Token::Str(self.string()?),
            c if c.is_ascii_digit() || c == '-' || c == '+' => self.number(c)?,
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&(_, c)) = self.chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                        word.push(c);
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                match word.as_str() {
                    "inf" => Token::Float(f32::INFINITY),
                    "nan" => Token::Float(f32::NAN),
                    _ => Token::Word(word),
                }
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ',' | ':' | '=' | '|' | '<' | '>' | '?' => {
                Token::Punct(c)
            }
            other => return Err(self.error(format!("unexpected character `{other}`"))),
        }))
    }

    fn name(&mut self) -> Result<String, ParseError> {
        if let Some(&(_, '"')) = self.chars.peek() {
            self.chars.next();
            return self.string();
        }
        let mut name = String::new();
        while let Some(&(_, c)) = self.chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                name.push(c);
                self.chars.next();
            } else {
                break;
            }
        }
        if name.is_empty() {
            return Err(self.error("expected a name after `%` or `@`"));
        }
        Ok(name)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let mut s = String::new();
        loop {
            match self.chars.next() {
                None => return Err(self.error("unterminated string")),
                Some((_, '"')) => return Ok(s),
                Some((_, '\\')) => match self.chars.next() {
                    Some((_, 'n')) => s.push('\n'),
                    Some((_, c)) => s.push(c),
                    None => return Err(self.error("unterminated string")),
                },
                Some((_, '\n')) => {
                    self.line += 1;
                    s.push('\n');
                }
                Some((_, c)) => s.push(c),
            }
        }
    }

    fn number(&mut self, first: char) -> Result<Token, ParseError> {
        let mut text = String::from(first);
        while let Some(&(_, c)) = self.chars.peek() {
            let exponent_sign = (c == '-' || c == '+') && text.ends_with(['e', 'E']);
            if c.is_ascii_alphanumeric() || c == '.' || exponent_sign {
                text.push(c);
                self.chars.next();
            } else {
                break;
            }
        }
        match text.as_str() {
            "-inf" => return Ok(Token::Float(f32::NEG_INFINITY)),
            "+inf" => return Ok(Token::Float(f32::INFINITY)),
            _ => {}
        }
        if text.contains(['.', 'e', 'E']) {
            text.parse::<f32>()
                .map(Token::Float)
                .map_err(|_| self.error(format!("bad number `{text}`")))
        } else {
            text.parse::<i64>()
                .map(Token::Int)
                .map_err(|_| self.error(format!("bad number `{text}`")))
        }
    }
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    graph: Graph,
    names: HashMap<String, TensorId>,
}

/// Parses the text form into a graph.
pub fn parse(text: &str) -> Result<Graph, ParseError> {
    let tokens = Lexer::new(text).tokens()?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        graph: Graph::default(),
        names: HashMap::new(),
    };
    parser.graph_def()?;
    Ok(parser.graph)
}

impl Parser {
    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(1, |t| t.1)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line(),
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|t| &t.0)
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        match self.tokens.get(self.pos) {
            Some((t, _)) => {
                self.pos += 1;
                Ok(t.clone())
            }
            None => self.error("unexpected end of input"),
        }
    }

    fn expect_punct(&mut self, c: char) -> Result<(), ParseError> {
        match self.next()? {
            Token::Punct(p) if p == c => Ok(()),
            other => self.error(format!("expected `{c}`, found {other:?}")),
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), ParseError> {
        match self.next()? {
            Token::Word(w) if w == word => Ok(()),
            other => self.error(format!("expected `{word}`, found {other:?}")),
        }
    }

    fn graph_def(&mut self) -> Result<(), ParseError> {
        self.expect_word("graph")?;
        self.graph.name = match self.next()? {
            Token::Str(s) | Token::Word(s) => s,
            other => {
                return self.error(format!("expected the graph name, found {other:?}"));
            }
        };
        self.expect_punct('{')?;
        // Each state's input tensor and, once its `update` line is read, its output.
        let mut states: Vec<(TensorId, Option<TensorId>)> = Vec::new();
        loop {
            match self.peek() {
                Some(Token::Punct('}')) => {
                    self.pos += 1;
                    break;
                }
                Some(Token::Word(w)) if w == "input" => {
                    self.pos += 1;
                    let id = self.declare()?;
                    self.graph.inputs.push(id);
                }
                Some(Token::Word(w)) if w == "const" => {
                    self.pos += 1;
                    let id = self.declare()?;
                    self.expect_punct('=')?;
                    let data = self.constant_data(id)?;
                    self.graph.tensor_mut(id).data = Some(data);
                }
                Some(Token::Word(w)) if w == "state" => {
                    self.pos += 1;
                    let name = match self.next()? {
                        Token::Str(s) | Token::Word(s) => s,
                        other => {
                            return self.error(format!(
                                "expected the state's name, found {other:?}"
                            ));
                        }
                    };
                    let id = self.declare()?;
                    self.expect_punct('=')?;
                    let initial = self.constant_data(id)?;
                    states.push((id, None));
                    self.graph.states.push(StateVariable { name, initial });
                }
                Some(Token::Word(w)) if w == "update" => {
                    self.pos += 1;
                    let input = self.value_ref()?;
                    self.expect_punct('=')?;
                    let output = self.value_ref()?;
                    match states.iter_mut().find(|(id, _)| *id == input) {
                        Some((_, next)) if next.is_none() => *next = Some(output),
                        _ => {
                            return self.error(format!(
                                "`update` names {}, which is not a state declared once",
                                self.graph.tensor(input).name
                            ));
                        }
                    }
                }
                Some(Token::Word(w)) if w == "output" => {
                    self.pos += 1;
                    loop {
                        let id = self.value_ref()?;
                        self.graph.outputs.push(id);
                        if !self.eat_punct(',') {
                            break;
                        }
                    }
                }
                Some(Token::Value(_)) => self.node()?,
                None => return self.error("missing `}` at the end of the graph"),
                Some(other) => {
                    let other = other.clone();
                    return self.error(format!(
                        "expected input, state, const, output, update or a node, found {other:?}"
                    ));
                }
            }
        }
        if self.pos != self.tokens.len() {
            return self.error("text after the end of the graph");
        }
        // State values follow the model's own inputs and outputs.
        for (input, output) in states {
            let Some(output) = output else {
                return self.error(format!(
                    "the state %{} has no `update` line",
                    self.graph.tensor(input).name
                ));
            };
            self.graph.inputs.push(input);
            self.graph.outputs.push(output);
        }
        Ok(())
    }

    /// `%name: dtype[dims]`, declaring a new tensor.
    fn declare(&mut self) -> Result<TensorId, ParseError> {
        let name = match self.next()? {
            Token::Value(name) => name,
            other => return self.error(format!("expected a %name, found {other:?}")),
        };
        if self.names.contains_key(&name) {
            return self.error(format!("%{name} is defined twice"));
        }
        self.expect_punct(':')?;
        let dtype = match self.next()? {
            Token::Word(w) => match DType::from_name(&w) {
                Some(d) => d,
                None => return self.error(format!("unknown element type `{w}`")),
            },
            other => {
                return self.error(format!("expected an element type, found {other:?}"));
            }
        };
        self.expect_punct('[')?;
        let shape = if self.eat_punct('?') {
            self.expect_punct(']')?;
            None
        } else {
            let mut dims = Vec::new();
            if !self.eat_punct(']') {
                loop {
                    match self.next()? {
                        Token::Int(d) if d >= 0 => dims.push(d as usize),
                        other => {
                            return self
                                .error(format!("expected a dimension, found {other:?}"));
                        }
                    }
                    if self.eat_punct(']') {
                        break;
                    }
                    self.expect_punct(',')?;
                }
            }
            Some(dims)
        };
        let mut quant = if self.peek() == Some(&Token::Word("quant".into())) {
            Some(self.quantization()?)
        } else {
            None
        };
        if let Some(q) = &mut quant
            && self.peek() == Some(&Token::Word("int4".into()))
        {
            self.next()?;
            q.int4 = true;
        }
        let storage = if self.peek() == Some(&Token::Word("stored".into())) {
            Some(self.storage()?)
        } else {
            None
        };
        let id = self.graph.add_tensor(Tensor {
            name: name.clone(),
            dtype,
            shape,
            data: None,
            quant,
            storage,
        });
        self.names.insert(name, id);
        Ok(id)
    }

    /// `quant(scale, zero_point)` or `quant([scales], [zero_points], axis)`.
    fn quantization(&mut self) -> Result<Quantization, ParseError> {
        let expected = "quant(scale, zero_point) or quant([scales], [zero_points], axis)";
        let AttrValue::Call(_, args) = self.attr_value()? else {
            return self.error(format!("expected {expected}"));
        };
        let float = |v: &AttrValue| match v {
            AttrValue::Float(x) => Some(*x),
            AttrValue::Int(i) => Some(*i as f32),
            _ => None,
        };
        let int = |v: &AttrValue| match v {
            AttrValue::Int(i) => i32::try_from(*i).ok(),
            _ => None,
        };
        let parsed = match args.as_slice() {
            [s, z] => float(s)
                .zip(int(z))
                .map(|(s, z)| Quantization::per_tensor(s, z)),
            [AttrValue::List(s), AttrValue::List(z), AttrValue::Int(axis)] => {
                let scale: Option<Vec<f32>> = s.iter().map(float).collect();
                let zero_point: Option<Vec<i32>> = z.iter().map(int).collect();
                scale
                    .zip(zero_point)
                    .map(|(scale, zero_point)| Quantization {
                        scale,
                        zero_point,
                        axis: (*axis).max(0) as usize,
                        int4: false,
                    })
            }
            _ => None,
        };
        match parsed {
            Some(q) => Ok(q),
            None => self.error(format!("expected {expected}")),
        }
    }

    /// `stored(int8, [scales], axis)`, `stored(f16)` or `stored(codebook, [values], [scales],
    /// axis)`.
    fn storage(&mut self) -> Result<WeightStorage, ParseError> {
        let expected = "stored(int8, [scales], axis), stored(f16) or stored(codebook, [values], [scales], axis)";
        let floats = |list: &[AttrValue]| -> Option<Vec<f32>> {
            list.iter()
                .map(|v| match v {
                    AttrValue::Float(x) => Some(*x),
                    AttrValue::Int(i) => Some(*i as f32),
                    _ => None,
                })
                .collect()
        };
        let AttrValue::Call(_, args) = self.attr_value()? else {
            return self.error(format!("expected {expected}"));
        };
        let parsed = match args.as_slice() {
            [AttrValue::Word(kind)] if kind == "f16" => Some(WeightStorage::F16),
            [
                AttrValue::Word(kind),
                AttrValue::List(s),
                AttrValue::Int(axis),
            ] if kind == "int8" && *axis >= 0 => {
                floats(s).map(|scale| WeightStorage::Int8 {
                    scale,
                    axis: *axis as usize,
                })
            }
            [
                AttrValue::Word(kind),
                AttrValue::List(v),
                AttrValue::List(s),
                AttrValue::Int(axis),
            ] if kind == "codebook" && *axis >= 0 => {
                floats(v)
                    .zip(floats(s))
                    .map(|(values, scale)| WeightStorage::Codebook {
                        values,
                        scale,
                        axis: *axis as usize,
                    })
            }
            _ => None,
        };
        match parsed {
            Some(storage) => Ok(storage),
            None => self.error(format!("expected {expected}")),
        }
    }

    fn value_ref(&mut self) -> Result<TensorId, ParseError> {
        match self.next()? {
            Token::Value(name) => match self.names.get(&name) {
                Some(&id) => Ok(id),
                None => self.error(format!("%{name} is used before it is defined")),
            },
            other => self.error(format!("expected a %name, found {other:?}")),
        }
    }

    fn constant_data(&mut self, id: TensorId) -> Result<TensorData, ParseError> {
        if self.peek() == Some(&Token::Punct('<')) {
            return self.error(
                "elided constant data (`<N values>`) cannot be parsed; write the values",
            );
        }
        let AttrValue::List(items) = self.attr_value()? else {
            return self.error("expected a list of values");
        };
        let tensor = self.graph.tensor(id);
        let (dtype, expected) = (
            tensor.dtype,
            tensor.shape.as_ref().map(|s| s.iter().product::<usize>()),
        );
        if expected.is_some_and(|n| n != items.len()) {
            return self.error(format!(
                "{} values given for a tensor of {} elements",
                items.len(),
                expected.unwrap_or(0)
            ));
        }
        let numbers: Option<Vec<f64>> = items
            .iter()
            .map(|v| match v {
                AttrValue::Int(i) => Some(*i as f64),
                AttrValue::Float(x) => Some(*x as f64),
                AttrValue::Word(w) if w == "true" => Some(1.0),
                AttrValue::Word(w) if w == "false" => Some(0.0),
                _ => None,
            })
            .collect();
        let Some(numbers) = numbers else {
            return self.error("constant values must be numbers");
        };
        if dtype.is_integer() {
            let ints: Option<Vec<i64>> = items
                .iter()
                .map(|v| match v {
                    AttrValue::Int(i) => Some(*i),
                    _ => None,
                })
                .collect();
            let Some(ints) = ints else {
                return self.error(format!("{dtype} constants must be integers"));
            };
            return Ok(TensorData::I64(ints).cast(dtype));
        }
        Ok(TensorData::F64(numbers).cast(dtype))
    }

    fn attr_value(&mut self) -> Result<AttrValue, ParseError> {
        match self.next()? {
            Token::Int(i) => Ok(AttrValue::Int(i)),
            Token::Float(x) => Ok(AttrValue::Float(x)),
            Token::Punct('[') => {
                let mut items = Vec::new();
                if !self.eat_punct(']') {
                    loop {
                        items.push(self.attr_value()?);
                        if self.eat_punct(']') {
                            break;
                        }
                        self.expect_punct(',')?;
                    }
                }
                Ok(AttrValue::List(items))
            }
            Token::Word(w) => {
                if self.eat_punct('(') {
                    let mut args = Vec::new();
                    if !self.eat_punct(')') {
                        loop {
                            args.push(self.attr_value()?);
                            if self.eat_punct(')') {
                                break;
                            }
                            self.expect_punct(',')?;
                        }
                    }
                    Ok(AttrValue::Call(w, args))
                } else {
                    Ok(AttrValue::Word(w))
                }
            }
            other => self.error(format!("expected a value, found {other:?}")),
        }
    }

    fn node(&mut self) -> Result<(), ParseError> {
        let mut outputs = vec![self.declare()?];
        while self.eat_punct(',') {
            outputs.push(self.declare()?);
        }
        self.expect_punct('=')?;
        let op_name = match self.next()? {
            Token::Word(w) => w,
            other => {
                return self.error(format!("expected an operator name, found {other:?}"));
            }
        };
        self.expect_punct('(')?;
        let mut inputs = Vec::new();
        let mut params = Vec::new();
        let mut in_params = false;
        if !self.eat_punct(')') {
            loop {
                if !in_params && self.eat_punct('|') {
                    in_params = true;
                }
                if in_params && matches!(self.peek(), Some(Token::Word(w)) if w == "_") {
                    self.pos += 1;
                    params.push(None);
                } else {
                    let id = self.value_ref()?;
                    if in_params {
                        params.push(Some(id))
                    } else {
                        inputs.push(id)
                    }
                }
                if self.eat_punct(')') {
                    break;
                }
                if self.peek() == Some(&Token::Punct('|')) {
                    continue;
                }
                self.expect_punct(',')?;
            }
        }
        let mut attrs = BTreeMap::new();
        if self.eat_punct('{') && !self.eat_punct('}') {
            loop {
                let key = match self.next()? {
                    Token::Word(w) => w,
                    other => {
                        return self
                            .error(format!("expected an attribute name, found {other:?}"));
                    }
                };
                self.expect_punct('=')?;
                let value = self.attr_value()?;
                attrs.insert(key, value);
                if self.eat_punct('}') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        let name = match self.next()? {
            Token::At(name) => name,
            other => return self.error(format!("expected @node_name, found {other:?}")),
        };
        let op = match Op::parse(&op_name, AttrMap::new(attrs)) {
            Ok(op) => op,
            Err(message) => return self.error(message),
        };
        self.graph.nodes.push(Node {
            name,
            op,
            inputs,
            params,
            outputs,
        });
        Ok(())
    }
}

/// Prints constant data compactly for messages (first few values).
pub fn preview(data: &TensorData) -> String {
    dispatch_data!(data, v => format!("{:?}", &v[..v.len().min(8)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"graph "tiny" {
  input %x: f32[1, 3, 4, 4]
  const %w: f32[2, 3, 1, 1] = [0.5, -1.0, 2.0, 0.25, 1e-7, -inf]
  const %shape: i64[2] = [1, -1]
  %y: f32[1, 2, 4, 4] = Conv(%x, %w) {kernel_shape=[1, 1], activation=clip(0.0, 6.0)} @conv1
  %"z/flat:0": f32[?] = Reshape(%y | %shape) @"flatten node"
  %a: f32[1, 16], %b: f32[1, 16] = Split(%"z/flat:0" | _) {axis=1} @split
  output %a, %b
}
"#;

    #[test]
    fn print_parse_round_trip() {
        let graph = parse(SAMPLE).unwrap();
        assert_eq!(graph.nodes.len(), 3);
        assert_eq!(graph.nodes[1].name, "flatten node");
        assert_eq!(graph.nodes[2].params, vec![None]);
        let printed = print(&graph, PrintOptions::default());
        assert_eq!(printed, SAMPLE);
        assert_eq!(parse(&printed).unwrap(), graph);
    }

    #[test]
    fn quantization_round_trips() {
        let text = r#"graph "q" {
  input %x: i8[1, 4, 4, 2] quant(0.5, -3)
  const %w: i8[2, 1, 1, 2] quant([0.25, 0.125], [0, 0], 0) = [1, -2, 3, -127]
  %y: i8[1, 4, 4, 2] quant(0.75, 7) = Conv(%x, %w) {kernel_shape=[1, 1], channels_last=true} @c
  output %y
}
"#;
        let graph = parse(text).unwrap();
        let w = graph.tensor(graph.nodes[0].inputs[1]);
        assert_eq!(w.quant.as_ref().unwrap().scale, vec![0.25, 0.125]);
        assert_eq!(print(&graph, PrintOptions::default()), text);
        let err = parse("graph g {\n  input %x: i8[1] quant(0.5)\n}").unwrap_err();
        assert!(err.to_string().contains("quant("), "{err}");
    }

    #[test]
    fn int4_weights_round_trip() {
        let text = r#"graph "q4" {
  input %x: i8[1, 3] quant(0.5, -3)
  const %w: i8[2, 3] quant([0.25, 0.125], [0, 0], 0) int4 = [1, -8, 7, 0, -1, 3]
  %y: i8[1, 2] quant(0.75, 7) = Gemm(%x, %w) {trans_b=true} @fc
  output %y
}
"#;
        let graph = parse(text).unwrap();
        let w = graph.tensor(graph.nodes[0].inputs[1]);
        assert!(w.is_int4());
        assert_eq!(w.stored_bytes(), 4);
        assert_eq!(print(&graph, PrintOptions::default()), text);
    }

    #[test]
    fn stored_weights_round_trip() {
        let text = r#"graph "w8" {
  input %x: f32[1, 3]
  const %w: f32[3, 2] stored(int8, [0.5, 0.25], 1) = [1.0, -0.25, 63.5, 31.75, 0.0, 0.25]
  const %v: f32[2, 2] stored(f16) = [1.0, -0.5, 65504.0, 0.099975586]
  %y: f32[1, 2] = Gemm(%x, %w) @fc
  %z: f32[1, 2] = Gemm(%y, %v) @fc2
  output %z
}
"#;
        let graph = parse(text).unwrap();
        assert_eq!(
            crate::ir::validate(&graph, crate::ir::validate::Stage::Inferred),
            Ok(())
        );
        let w = graph.tensor(graph.nodes[0].inputs[1]);
        assert_eq!(w.stored_bytes(), 6 + 2 * 4);
        assert_eq!(graph.tensor(graph.nodes[1].inputs[1]).stored_bytes(), 8);
        assert_eq!(print(&graph, PrintOptions::default()), text);
    }

    #[test]
    fn codebook_weights_round_trip_and_must_hold_their_values() {
        // Column c of `w` is a value of the codebook times scale c (axis 1).
        let text = r#"graph "shared" {
  input %x: f32[1, 3]
  const %w: f32[3, 2] stored(codebook, [-1.0, 0.0, 3.0], [0.5, 2.0], 1) = [1.5, 6.0, -0.5, 0.0, 0.0, -2.0]
  const %v: f32[2, 2] stored(codebook, [0.25, -4.0], [], 0) = [0.25, 0.25, -4.0, 0.25]
  %y: f32[1, 2] = Gemm(%x, %w) @fc
  %z: f32[1, 2] = Gemm(%y, %v) @fc2
  output %z
}
"#;
        let graph = parse(text).unwrap();
        assert_eq!(
            crate::ir::validate(&graph, crate::ir::validate::Stage::Inferred),
            Ok(())
        );
        // Three values and two scales (4 bytes each) and six 4-bit indices.
        let w = graph.tensor(graph.nodes[0].inputs[1]);
        assert_eq!(w.stored_bytes(), 4 * 5 + 3);
        assert_eq!(print(&graph, PrintOptions::default()), text);

        let wrong = text.replace("[1.5, 6.0,", "[1.5, 3.0,");
        let problems = crate::ir::validate(
            &parse(&wrong).unwrap(),
            crate::ir::validate::Stage::Inferred,
        )
        .unwrap_err();
        assert!(
            problems.contains("element 1, 3, is none of the codebook's values"),
            "{problems}"
        );
    }

    #[test]
    fn states_round_trip() {
        let text = r#"graph "stream" {
  input %x: f32[1, 2]
  state "ema" %s: f32[1, 2] = [0.5, -1.0]
  %t: f32[1, 2] = Add(%x, %s) @add
  output %t
  update %s = %t
}
"#;
        let graph = parse(text).unwrap();
        assert_eq!(graph.states.len(), 1);
        assert_eq!(graph.model_inputs().len(), 1);
        assert_eq!(graph.model_outputs().len(), 1);
        assert_eq!(graph.tensor(graph.state_input(0)).name, "s");
        assert_eq!(graph.tensor(graph.state_output(0)).name, "t");
        assert_eq!(graph.states[0].initial, TensorData::F32(vec![0.5, -1.0]));
        assert_eq!(print(&graph, PrintOptions::default()), text);
        crate::ir::validate(&graph, crate::ir::validate::Stage::Imported).unwrap();
        let missing = text.replace("  update %s = %t\n", "");
        let err = parse(&missing).unwrap_err();
        assert!(err.to_string().contains("no `update`"), "{err}");
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("graph g {\n  input %x: f32[1]\n  %y: f32[1] = Relu(%nope) @r\n}")
            .unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("%nope"), "{err}");
        let err = parse("graph g {\n  input %x: f33[1]\n}").unwrap_err();
        assert!(err.message.contains("f33"), "{err}");
        let err = parse("graph g {\n  const %c: f32[2] = [1.0]\n}").unwrap_err();
        assert!(err.message.contains("1 values"), "{err}");
        let err = parse(
            "graph g {\n  input %x: f32[1]\n  %y: f32[1] = Relu(%x) {alpha=1.0} @r\n}",
        )
        .unwrap_err();
        assert!(err.message.contains("alpha"), "{err}");
        assert!(parse("graph g {").is_err());
    }
}
