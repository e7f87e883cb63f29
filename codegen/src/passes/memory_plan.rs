//! The static memory plan: where every tensor lives while the model runs.
//!
//! ```text
//! graph inputs ──▶ Storage::Input(i)    the caller's slice, read-only
//! graph outputs ─▶ Storage::Output(j)   the caller's slice, written by the producing node
//! constants ─────▶ Storage::Constant    weights in flash
//! everything else ▶ Storage::Arena      an offset in the arena of its element type
//! ```
//!
//! Steps:
//! 1. **Views share storage.** `Reshape`, `Flatten`, `Squeeze`, `Unsqueeze` (and any `Identity`
//!    left) produce no code; their output is an alias of their input. Aliases form groups.
//! 2. **Copies where one value must be in two places**: a graph output that is a graph input, a
//!    constant, or shares a group with another output gets a `Copy` node.
//! 3. **In place**: an element-wise op whose first input dies at that op (and is not a caller's
//!    buffer) writes over it; the two groups merge.
//! 4. **Offsets**: each arena group lives from the node that first writes it to the last node
//!    that reads it. Groups are placed greedily, each at the lowest offset that does not
//!    overlap, in address and in time, any group placed before it, in two orders: by
//!    decreasing size (the greedy-by-size strategy of TFLite Micro's planner) and by lifetime
//!    (by first write, the longest-lived first); the smaller arena wins. One arena per element
//!    type, so the generated code can keep a typed array per arena with no unsafe
//!    reinterpretation; offsets are aligned to 16 bytes. A tensor without elements (a 0 in its
//!    shape) takes no space: it sits at offset 0.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ir::{DType, Graph, Node, Op, Tensor, TensorId};
use crate::passes::{PassOptions, PassReport};

/// Where a tensor lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Graph input `i`: the caller's slice.
    Input(usize),
    /// Graph output `j`: the caller's slice.
    Output(usize),
    /// A constant: static data.
    Constant,
    /// `offset` elements into the arena of `dtype`.
    Arena { dtype: DType, offset: usize },
}

/// The result of planning.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPlan {
    /// Indexed by tensor id; `None` for tensors no node touches.
    pub storage: Vec<Option<Storage>>,
    /// Elements in each arena, by element type (only types that need an arena).
    pub arenas: Vec<(DType, usize)>,
    /// Indexed by node: whether the node writes its output over its first input.
    pub in_place: Vec<bool>,
    /// Indexed by tensor id: the node indices that first write and last read the tensor's
    /// storage (inputs start at 0, outputs end at the node count).
    pub lifetimes: Vec<Option<(usize, usize)>>,
    /// The most arena bytes live at any one node: no plan of this schedule can use less.
    pub lower_bound_bytes: usize,
    /// Indexed by tensor id: the arena buffer a tensor lives in, numbered in tensor order.
    /// Tensors share a buffer when they share storage (views of one another, or the input and
    /// output of a node that runs in place); `None` outside the arenas. Reports draw one
    /// rectangle per buffer, since only distinct buffers must not overlap.
    pub buffers: Vec<Option<usize>>,
}

impl MemoryPlan {
    /// The schedule step (node index) at which the most arena bytes are live, and the tensors
    /// live there with their bytes, largest first. Aliases (views sharing storage) count once.
    pub fn peak(&self, graph: &Graph) -> (usize, Vec<(TensorId, usize)>) {
        let mut best: (usize, Vec<(TensorId, usize)>, usize) = (0, Vec::new(), 0);
        for step in 0..=graph.nodes.len() {
            let mut live: HashMap<(DType, usize), (TensorId, usize)> = HashMap::new();
            for (t, tensor) in graph.tensors.iter().enumerate() {
                let (
                    Some(Some(Storage::Arena { dtype, offset })),
                    Some(Some((first, last))),
                ) = (self.storage.get(t), self.lifetimes.get(t))
                else {
                    continue;
                };
                if *first <= step && step <= *last {
                    let bytes = tensor.len() * dtype.size_bytes();
                    let entry = live
                        .entry((*dtype, *offset))
                        .or_insert((TensorId(t), bytes));
                    if bytes > entry.1 {
                        *entry = (TensorId(t), bytes);
                    }
                }
            }
            let total: usize = live.values().map(|v| v.1).sum();
            if total > best.2 {
                let mut tensors: Vec<(TensorId, usize)> = live.into_values().collect();
                tensors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.0.cmp(&b.0.0)));
                best = (step, tensors, total);
            }
        }
        (best.0, best.1)
    }

    /// Total arena bytes.
    pub fn arena_bytes(&self) -> usize {
        self.arenas.iter().map(|(d, n)| d.size_bytes() * n).sum()
    }

    /// The storage of a tensor; planned tensors always have one.
    pub fn storage_of(&self, t: TensorId) -> Storage {
        self.storage[t.0].unwrap_or_else(|| panic!("tensor {t} was not planned"))
    }

    /// A short description for the text IR and reports: `arena f32[0..1024]`.
    pub fn describe(&self, t: TensorId) -> String {
        match self.storage.get(t.0).copied().flatten() {
            Some(Storage::Input(i)) => format!("input {i}"),
            Some(Storage::Output(j)) => format!("output {j}"),
            Some(Storage::Constant) => "constant".to_string(),
            Some(Storage::Arena { dtype, offset }) => format!("arena {dtype}@{offset}"),
            None => "unplanned".to_string(),
        }
    }
}

/// Elements of alignment for an arena of `dtype`: 16 bytes.
fn alignment(dtype: DType) -> usize {
    (16 / dtype.size_bytes()).max(1)
}

/// Union-find over tensors, for alias groups.
struct Groups {
    parent: Vec<usize>,
}

impl Groups {
    fn new(n: usize) -> Self {
        Groups {
            parent: (0..n).collect(),
        }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[rb] = ra;
        }
    }
}

fn view_groups(graph: &Graph) -> Groups {
    let mut groups = Groups::new(graph.tensors.len());
    for node in &graph.nodes {
        if node.op.is_view() {
            groups.union(node.inputs[0].0, node.outputs[0].0);
        }
    }
    groups
}

/// Step 2: makes every graph output the only caller-visible value of its group.
fn insert_copies(graph: &mut Graph) -> usize {
    let mut inserted = 0;
    for j in 0..graph.outputs.len() {
        let mut groups = view_groups(graph);
        let t = graph.outputs[j];
        let root = groups.find(t.0);
        let shares_with_input = graph.inputs.iter().any(|i| groups.find(i.0) == root);
        let shares_with_output =
            graph.outputs[..j].iter().any(|o| groups.find(o.0) == root);
        let is_constant = graph.tensor(t).is_constant();
        if !(shares_with_input || shares_with_output || is_constant) {
            continue;
        }
        let source = graph.tensor(t).clone();
        let name = graph.unique_name(&format!("{}.copy", source.name));
        let copy = graph.add_tensor(Tensor {
            name: name.clone(),
            dtype: source.dtype,
            shape: source.shape,
            data: None,
            quant: source.quant,
            storage: None,
        });
        graph.nodes.push(Node {
            name,
            op: Op::Copy,
            inputs: vec![t],
            params: vec![],
            outputs: vec![copy],
        });
        graph.outputs[j] = copy;
        inserted += 1;
    }
    inserted
}

/// The pass: inserts copies where needed and computes the plan.
pub fn plan_memory(graph: &mut Graph, _options: &PassOptions) -> Result<PassReport> {
    let mut report = PassReport::new("plan_memory");
    report.changes = insert_copies(graph);
    let plan = compute_plan(graph)?;
    report.details.push(format!(
        "arena {} bytes (lower bound {} bytes) in {} arena{}; {} nodes in place",
        plan.arena_bytes(),
        plan.lower_bound_bytes,
        plan.arenas.len(),
        if plan.arenas.len() == 1 { "" } else { "s" },
        plan.in_place.iter().filter(|&&b| b).count()
    ));
    graph.plan = Some(plan);
    Ok(report)
}

fn compute_plan(graph: &Graph) -> Result<MemoryPlan> {
    let n_nodes = graph.nodes.len();
    let mut groups = view_groups(graph);

    // Who uses each tensor, and when.
    let mut first_def: HashMap<usize, usize> = HashMap::new();
    let mut last_use: HashMap<usize, usize> = HashMap::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        for &t in &node.outputs {
            first_def.entry(t.0).or_insert(i);
        }
        for &t in &node.inputs {
            last_use.insert(t.0, i);
        }
    }
    let group_last_use = |groups: &mut Groups, root: usize| -> usize {
        (0..graph.tensors.len())
            .filter(|&t| groups.find(t) == root)
            .filter_map(|t| last_use.get(&t).copied())
            .max()
            .unwrap_or(0)
    };
    let caller_visible = |groups: &mut Groups, root: usize| {
        graph
            .inputs
            .iter()
            .chain(&graph.outputs)
            .any(|t| groups.find(t.0) == root)
            || (0..graph.tensors.len())
                .any(|t| groups.find(t) == root && graph.tensors[t].is_constant())
    };

    // Step 3: in-place ops.
    let mut in_place = vec![false; n_nodes];
    for (i, node) in graph.nodes.iter().enumerate() {
        if !node.op.can_run_in_place() {
            continue;
        }
        let (input, output) = (node.inputs[0], node.outputs[0]);
        let (ti, to) = (graph.tensor(input), graph.tensor(output));
        if ti.is_constant() || ti.dtype != to.dtype || ti.shape() != to.shape() {
            continue;
        }
        let in_root = groups.find(input.0);
        let other_inputs_alias =
            node.inputs[1..].iter().any(|t| groups.find(t.0) == in_root);
        if other_inputs_alias
            || caller_visible(&mut groups, in_root)
            || group_last_use(&mut groups, in_root) != i
        {
            continue;
        }
        groups.union(input.0, output.0);
        in_place[i] = true;
    }

    // Storage classes per group.
    let mut storage: Vec<Option<Storage>> = vec![None; graph.tensors.len()];
    let mut group_storage: HashMap<usize, Storage> = HashMap::new();
    for (i, &t) in graph.inputs.iter().enumerate() {
        group_storage.insert(groups.find(t.0), Storage::Input(i));
    }
    for (j, &t) in graph.outputs.iter().enumerate() {
        let root = groups.find(t.0);
        if let Some(existing) = group_storage.insert(root, Storage::Output(j)) {
            return Err(Error::internal(format!(
                "output {j} ('{}') shares storage with {existing:?} after copies were inserted",
                graph.tensor(t).name
            )));
        }
    }

    // Lifetimes of arena groups: (first write, last read), by root.
    let mut touched = vec![false; graph.tensors.len()];
    for node in &graph.nodes {
        for &t in node.inputs.iter().chain(&node.outputs) {
            touched[t.0] = true;
        }
    }
    for &t in graph.inputs.iter().chain(&graph.outputs) {
        touched[t.0] = true;
    }
    let mut spans: HashMap<usize, (usize, usize, usize, DType)> = HashMap::new(); // root -> (start, end, len, dtype)
    let mut lifetimes = vec![None; graph.tensors.len()];
    for t in 0..graph.tensors.len() {
        if !touched[t] {
            continue;
        }
        let tensor = &graph.tensors[t];
        if tensor.is_constant() {
            storage[t] = Some(Storage::Constant);
            continue;
        }
        let root = groups.find(t);
        let start = first_def.get(&t).copied().unwrap_or(0);
        let end = if graph.outputs.iter().any(|o| o.0 == t) {
            n_nodes
        } else {
            last_use.get(&t).copied().unwrap_or(start)
        };
        lifetimes[t] = Some((start, end));
        if group_storage.contains_key(&root) {
            continue;
        }
        let entry = spans
            .entry(root)
            .or_insert((start, end, tensor.len(), tensor.dtype));
        entry.0 = entry.0.min(start);
        entry.1 = entry.1.max(end);
        entry.2 = entry.2.max(tensor.len());
    }

    // Step 4: greedy placement in two orders, per element type; the smaller arena wins.
    let mut arenas: Vec<(DType, usize)> = Vec::new();
    let mut offsets: HashMap<usize, usize> = HashMap::new();
    let mut lower_bound_bytes = 0;
    for dtype in DType::ALL {
        let buffers: Vec<Buffer> = spans
            .iter()
            .filter(|(_, s)| s.3 == dtype)
            .map(|(&root, &(start, end, len, _))| Buffer {
                root,
                start,
                end,
                len,
            })
            .collect();
        if buffers.is_empty() {
            continue;
        }
        let (placed, size) = place_best(buffers, alignment(dtype));
        for (b, offset) in &placed {
            offsets.insert(b.root, *offset);
        }
        let peak = (0..=n_nodes)
            .map(|i| {
                placed
                    .iter()
                    .filter(|(b, _)| b.start <= i && i <= b.end)
                    .map(|(b, _)| b.len)
                    .sum::<usize>()
            })
            .max()
            .unwrap_or(0);
        lower_bound_bytes += peak * dtype.size_bytes();
        arenas.push((dtype, size));
    }

    let mut buffers = vec![None; graph.tensors.len()];
    let mut buffer_of_root: HashMap<usize, usize> = HashMap::new();
    for t in 0..graph.tensors.len() {
        if !touched[t] || storage[t].is_some() {
            continue;
        }
        let root = groups.find(t);
        storage[t] = Some(match group_storage.get(&root) {
            Some(&s) => s,
            None => {
                let next = buffer_of_root.len();
                buffers[t] = Some(*buffer_of_root.entry(root).or_insert(next));
                Storage::Arena {
                    dtype: graph.tensors[t].dtype,
                    offset: offsets[&root],
                }
            }
        });
    }
    Ok(MemoryPlan {
        storage,
        arenas,
        in_place,
        lifetimes,
        lower_bound_bytes,
        buffers,
    })
}

/// An arena group to place: live from node `start` to node `end` (inclusive), `len` elements.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Buffer {
    root: usize,
    start: usize,
    end: usize,
    len: usize,
}

/// The buffers placed in `order`, each at the lowest offset (a multiple of `align`) where it
/// overlaps, in address and in time, no buffer placed before it; and the arena's size. A buffer
/// without elements sits at 0 and overlaps nothing.
fn place(order: &[Buffer], align: usize) -> (Vec<(Buffer, usize)>, usize) {
    let mut placed: Vec<(Buffer, usize)> = Vec::new();
    let mut size = 0;
    for &b in order {
        if b.len == 0 {
            placed.push((b, 0));
            continue;
        }
        let mut conflicts: Vec<(usize, usize)> = placed
            .iter()
            .filter(|(p, _)| p.len > 0 && p.start <= b.end && b.start <= p.end)
            .map(|(p, offset)| (*offset, offset + p.len))
            .collect();
        conflicts.sort_unstable();
        let mut offset = 0;
        for (lo, hi) in conflicts {
            if offset + b.len <= lo {
                break;
            }
            offset = offset.max(hi.next_multiple_of(align));
        }
        placed.push((b, offset));
        size = size.max(offset + b.len);
    }
    (placed, size)
}

/// [`place`] in two orders, and the smaller arena (by size on a tie):
/// - by size, largest first (TFLite Micro's greedy planner), ties by earlier start;
/// - by lifetime: by start, the longest-lived first, which packs a chain of layers whose
///   buffers overlap their neighbours' where sizes alone would leave gaps.
fn place_best(mut buffers: Vec<Buffer>, align: usize) -> (Vec<(Buffer, usize)>, usize) {
    // Ties last by root, for a deterministic plan.
    buffers.sort_by(|a, b| {
        b.len
            .cmp(&a.len)
            .then(a.start.cmp(&b.start))
            .then(a.root.cmp(&b.root))
    });
    let by_size = place(&buffers, align);
    buffers.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(b.len.cmp(&a.len))
            .then(a.root.cmp(&b.root))
    });
    let by_lifetime = place(&buffers, align);
    if by_lifetime.1 < by_size.1 {
        by_lifetime
    } else {
        by_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse;

    fn plan(text: &str) -> (Graph, MemoryPlan) {
        let mut g = parse(text).unwrap();
        plan_memory(&mut g, &PassOptions::default()).unwrap();
        let plan = g.plan.clone().unwrap();
        (g, plan)
    }

    #[test]
    fn a_chain_ping_pongs_and_runs_activations_in_place() {
        let (g, plan) = plan(
            "graph g {\n input %x: f32[1, 64]\n const %w: f32[64, 64] = <4096 values>\n}"
                .replace("<4096 values>", &format!("[{}]", vec!["0.0"; 4096].join(", ")))
                .replace(
                    "\n}",
                    "\n %a: f32[1, 64] = Gemm(%x, %w) @g1\n %b: f32[1, 64] = Relu(%a) @r1\n \
                     %c: f32[1, 64] = Gemm(%b, %w) @g2\n %d: f32[1, 64] = Relu(%c) @r2\n \
                     %y: f32[1, 64] = Gemm(%d, %w) @g3\n output %y\n}",
                )
                .as_str(),
        );
        assert_eq!(plan.in_place, vec![false, true, false, true, false]);
        // a/b share storage, c/d share storage, and the two do not overlap in time... except
        // that g2 reads b while writing c, so they need two buffers of 64 floats.
        assert_eq!(plan.arenas, vec![(DType::F32, 128)]);
        let buffer = |name: &str| {
            let t = g.tensors.iter().position(|t| t.name == name).unwrap();
            plan.buffers[t]
        };
        assert_eq!(buffer("a"), Some(0));
        assert_eq!(buffer("b"), Some(0));
        assert_eq!(buffer("c"), Some(1));
        assert_eq!(buffer("d"), Some(1));
        assert_eq!(buffer("x"), None);
        assert_eq!(plan.lower_bound_bytes, 128 * 4);
        assert_eq!(plan.storage_of(g.outputs[0]), Storage::Output(0));
        assert_eq!(plan.storage_of(g.inputs[0]), Storage::Input(0));
    }

    #[test]
    fn an_input_that_is_also_an_output_is_copied() {
        let (g, plan) = plan(
            "graph g {\n input %x: f32[4]\n %v: f32[2, 2] = Reshape(%x) @r\n output %v, %x\n}",
        );
        assert_eq!(
            g.nodes.len(),
            3,
            "two copies: the view of the input, and the input itself"
        );
        assert_eq!(plan.storage_of(g.outputs[0]), Storage::Output(0));
        assert_eq!(plan.storage_of(g.outputs[1]), Storage::Output(1));
        assert!(plan.arenas.is_empty());
    }

    #[test]
    fn does_not_overwrite_a_value_read_later() {
        let (g, plan) = plan(
            "graph g {\n input %x: f32[4]\n %a: f32[4] = Tanh(%x) @t\n %b: f32[4] = Relu(%a) @r\n \
             %y: f32[4] = Add(%a, %b) @add\n output %y\n}",
        );
        // Relu cannot overwrite a (Add reads it later); Add can, and a then lives in the output.
        assert_eq!(plan.in_place, vec![false, false, true]);
        assert_eq!(plan.storage_of(g.nodes[0].outputs[0]), Storage::Output(0));
        assert_eq!(plan.arenas, vec![(DType::F32, 4)]);
    }

    /// Where greedy-by-size leaves a gap that placing by lifetime fills: a buffer (1) live
    /// throughout, a large one (0) early, two (2, 3) late.
    #[test]
    fn the_better_of_the_two_orders_wins() {
        let buffer = |root: usize, start: usize, end: usize, len: usize| Buffer {
            root,
            start,
            end,
            len: 16 * len,
        };
        let buffers = vec![
            buffer(0, 1, 1, 5),
            buffer(1, 0, 4, 2),
            buffer(2, 4, 5, 2),
            buffer(3, 4, 4, 4),
        ];
        let mut by_size = buffers.clone();
        by_size.sort_by_key(|b| std::cmp::Reverse(b.len));
        assert_eq!(place(&by_size, 16).1, 16 * 9);
        let (placed, size) = place_best(buffers, 16);
        // The peak (at node 4: buffers 1, 2 and 3) is 8, which lifetime order reaches.
        assert_eq!(size, 16 * 8);
        let offset = |root| placed.iter().find(|(b, _)| b.root == root).unwrap().1;
        assert_eq!(
            [offset(0), offset(1), offset(2), offset(3)],
            [32, 0, 32, 64]
        );
        // No two buffers live at once overlap.
        for (a, oa) in &placed {
            for (b, ob) in &placed {
                let together = a.root != b.root && a.start <= b.end && b.start <= a.end;
                assert!(!together || oa + a.len <= *ob || ob + b.len <= *oa);
            }
        }
    }

    #[test]
    fn a_tensor_without_elements_takes_no_space() {
        let chain = " %a: f32[4] = Tanh(%x) @t\n %b: f32[4] = Sigmoid(%a) @s\n \
                     %c: f32[4] = Tanh(%b) @t2\n %y: f32[4] = Add(%b, %c) @add\n";
        let (_, without) = plan(&format!(
            "graph g {{\n input %x: f32[4]\n{chain} output %y\n}}"
        ));
        // e lives through the whole chain and must not push its buffers to higher offsets.
        let (g, with) = plan(&format!(
            "graph g {{\n input %x: f32[4]\n input %z: f32[0, 4]\n \
             %e: f32[0, 4] = Relu(%z) @r\n{chain} %f: f32[0, 8] = Concat(%e, %e) {{axis=1}} @cat\n \
             output %y, %f\n}}"
        ));
        assert!(!without.arenas.is_empty());
        assert_eq!(with.arenas, without.arenas);
        assert_eq!(
            with.storage_of(g.nodes[0].outputs[0]),
            Storage::Arena {
                dtype: DType::F32,
                offset: 0
            }
        );
    }
}
