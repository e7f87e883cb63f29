//! Lowering of the reductions (`ReduceSum`, `ReduceMean`, `ReduceMax`, ...), `ArgMax`/`ArgMin`,
//! `Hardmax`, `CumSum` and `TopK`, on every element type shape inference lets through (the
//! kernels are generic; the call's slices fix the type).
//!
//! A reduction's iteration space is the input's shape with the output's strides (0 on reduced
//! axes), merged where adjacent axes are all reduced or all kept, so any set of axes reduces in
//! one pass. `TopK` has two outputs and therefore two steps, each scanning the input: the
//! first writes the values, the second the indices.

use super::{Lowering, MAX_RANK, R, array, coalesce, pad_front, usize_};
use crate::backend::{Arg, Stmt, Struct, Value};
use crate::eval::reduce::lanes;
use crate::ir::op::{ArgAttrs, CumSumAttrs, ReduceFn, SoftmaxAttrs, TopKAttrs};
use crate::ir::{TensorId, strides_of};

/// A kernel struct `path` with the fields `outer`, `len`, `inner` of the lanes along `axis`
/// (or over the axes from `axis` on, with `to_end`), then `more`.
fn lanes_struct(
    path: &str,
    shape: &[usize],
    axis: usize,
    to_end: bool,
    more: Vec<(&'static str, Value)>,
) -> Struct {
    let (outer, len, inner) = lanes(shape, axis, to_end);
    let mut fields = vec![
        ("outer", usize_(outer)),
        ("len", usize_(len)),
        ("inner", usize_(inner)),
    ];
    fields.extend(more);
    Struct::new(path, fields)
}

impl Lowering<'_> {
    /// A step `kernel(p, x, y)` on input 0, writing `output`.
    fn select_step(
        &mut self,
        part: Option<usize>,
        p: Struct,
        kernel: &str,
        detail: String,
        output: TensorId,
    ) -> R<()> {
        let mut inputs = Vec::new();
        let x = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(kernel.into(), vec![Arg::Local("p".into()), x, Arg::Output]),
        ];
        self.push(part, detail, inputs, output, false, body);
        Ok(())
    }

    pub(super) fn reduce(&mut self, f: ReduceFn) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let axes = self
            .node
            .op
            .reduce_attrs()
            .ok_or("not a reduction")?
            .resolved_axes();
        let kept: Vec<usize> = x
            .iter()
            .enumerate()
            .map(|(d, &n)| if axes.contains(&d) { 1 } else { n })
            .collect();
        let x_strides: Vec<isize> = strides_of(&x).iter().map(|&s| s as isize).collect();
        let y_strides: Vec<isize> = strides_of(&kept)
            .iter()
            .enumerate()
            .map(|(d, &s)| if axes.contains(&d) { 0 } else { s as isize })
            .collect();
        let (shape, st) = coalesce(&x, &[x_strides, y_strides]);
        if shape.len() > MAX_RANK {
            return Err(format!(
                "a reduction over {} alternating axes is not supported (at most {MAX_RANK})",
                shape.len()
            ));
        }
        let y_st: Vec<usize> = st[1].iter().map(|&s| s as usize).collect();
        let count: usize = axes.iter().map(|&d| x[d]).product();
        let p = Struct::new(
            "reduce::Reduce",
            vec![
                (
                    "op",
                    Value::Variant(format!("reduce::ReduceOp::{f:?}"), vec![]),
                ),
                ("shape", array(&pad_front(&shape, MAX_RANK, 1))),
                ("y_strides", array(&pad_front(&y_st, MAX_RANK, 0))),
                ("count", usize_(count)),
            ],
        );
        let detail = if axes.is_empty() {
            "no axes: each element on its own".to_string()
        } else {
            format!("over axes {axes:?}, {count} values each")
        };
        self.select_step(None, p, "reduce::reduce", detail, self.node.outputs[0])
    }

    pub(super) fn arg_extreme(&mut self, a: &ArgAttrs, max: bool) -> R<()> {
        let axis = a.axis as usize;
        let p = lanes_struct(
            "select::ArgExtreme",
            self.input_shape(0),
            axis,
            false,
            vec![
                ("max", Value::Bool(max)),
                ("select_last", Value::Bool(a.select_last_index)),
            ],
        );
        let detail = format!(
            "along axis {axis}{}",
            if a.select_last_index {
                ", the last of equal values"
            } else {
                ""
            }
        );
        self.select_step(None, p, "select::arg_extreme", detail, self.node.outputs[0])
    }

    pub(super) fn hardmax(&mut self, a: &SoftmaxAttrs) -> R<()> {
        let axis = a.axis as usize;
        let p = lanes_struct(
            "select::Lanes",
            self.input_shape(0),
            axis,
            a.coerce_2d,
            vec![],
        );
        let detail = if a.coerce_2d {
            format!("over the axes from {axis} on")
        } else {
            format!("along axis {axis}")
        };
        self.select_step(None, p, "select::hardmax", detail, self.node.outputs[0])
    }

    pub(super) fn cumsum(&mut self, a: &CumSumAttrs) -> R<()> {
        let axis = a.axis as usize;
        let p = lanes_struct(
            "reduce::CumSum",
            self.input_shape(0),
            axis,
            false,
            vec![
                ("exclusive", Value::Bool(a.exclusive)),
                ("reverse", Value::Bool(a.reverse)),
            ],
        );
        let detail = format!(
            "along axis {axis}{}{}",
            if a.exclusive { ", exclusive" } else { "" },
            if a.reverse { ", reversed" } else { "" }
        );
        self.select_step(None, p, "reduce::cumsum", detail, self.node.outputs[0])
    }

    /// Two steps: the values, then the indices (each finds the picks again).
    pub(super) fn top_k(&mut self, a: &TopKAttrs) -> R<()> {
        let axis = a.axis as usize;
        let k = a.k.ok_or("TopK without a resolved k")? as usize;
        let params = || {
            lanes_struct(
                "select::TopK",
                self.input_shape(0),
                axis,
                false,
                vec![("k", usize_(k)), ("largest", Value::Bool(a.largest))],
            )
        };
        let which = if a.largest { "largest" } else { "smallest" };
        let (p, q) = (params(), params());
        let outputs = self.node.outputs.clone();
        self.select_step(
            Some(0),
            p,
            "select::top_k_values",
            format!("the {k} {which} values along axis {axis}"),
            outputs[0],
        )?;
        self.select_step(
            Some(1),
            q,
            "select::top_k_indices",
            format!("the indices of the {k} {which} values along axis {axis}"),
            outputs[1],
        )
    }
}
