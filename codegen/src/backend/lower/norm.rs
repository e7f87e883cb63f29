//! Lowering of the normalisation ops (`LayerNormalization` with its optional statistics,
//! `BatchNormalization` with run-time statistics or in training mode, `InstanceNormalization`,
//! `LRN`) and of `Einsum`.

use super::{Lowering, R, array, usize_};
use crate::backend::{Arg, Stmt, Struct, Value};
use crate::ir::einsum;
use crate::ir::op::{BatchNormTrainingAttrs, EinsumAttrs, LayerNormAttrs, LrnAttrs};
use crate::kernels::einsum::MAX_LABELS;

impl Lowering<'_> {
    /// One step per output: `Y`, and the optional `Mean` and `InvStdDev`, each computing the
    /// row statistics again (they are cheap next to the normalisation).
    pub(super) fn layer_norm(&mut self, a: &LayerNormAttrs) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let axis = a.axis as usize;
        let (outer, inner) = (
            x[..axis].iter().product::<usize>(),
            x[axis..].iter().product::<usize>(),
        );
        let p = Struct::new(
            "norm::LayerNorm",
            vec![
                ("outer", usize_(outer)),
                ("inner", usize_(inner)),
                ("epsilon", Value::F32(a.epsilon)),
            ],
        );
        let outputs = self.node.outputs.clone();
        for (k, &out) in outputs.iter().enumerate() {
            let mut inputs = Vec::new();
            let xa = self.operand(0, "X", &mut inputs)?;
            let (call, detail) = match k {
                0 => {
                    let scale = self.operand(1, "SCALE", &mut inputs)?;
                    let bias = if self.node.inputs.len() > 2 {
                        self.operand(2, "BIAS", &mut inputs)?
                    } else {
                        Arg::Empty
                    };
                    (
                        Stmt::Call(
                            "norm::layer_norm".into(),
                            vec![Arg::Local("p".into()), xa, scale, bias, Arg::Output],
                        ),
                        format!("{outer} rows of {inner} values"),
                    )
                }
                _ => {
                    let statistic = if k == 1 { "Mean" } else { "InvStdDev" };
                    (
                        Stmt::Call(
                            "norm::layer_norm_statistic".into(),
                            vec![
                                Arg::Local("p".into()),
                                Arg::Value(Value::Variant(
                                    format!("norm::Statistic::{statistic}"),
                                    vec![],
                                )),
                                xa,
                                Arg::Output,
                            ],
                        ),
                        format!("the {statistic} output of {outer} rows of {inner} values"),
                    )
                }
            };
            let part = (outputs.len() > 1).then_some(k);
            let body = vec![Stmt::Let("p".into(), p.clone()), call];
            self.push(part, detail, inputs, out, false, body);
        }
        Ok(())
    }

    fn batch_norm_struct(&self, epsilon: f32) -> Struct {
        let x = self.input_shape(0);
        Struct::new(
            "norm::BatchNorm",
            vec![
                ("batch", usize_(x[0])),
                ("channels", usize_(x[1])),
                ("inner", usize_(x[2..].iter().product())),
                ("epsilon", Value::F32(epsilon)),
            ],
        )
    }

    /// Inference-mode `BatchNormalization` whose statistics are not all constants (with
    /// constant ones, the back end folds them into a per-channel scale and shift).
    pub(super) fn batch_norm_run_time(&mut self, epsilon: f32) -> R<()> {
        let p = self.batch_norm_struct(epsilon);
        self.kernel_step(
            "norm::batch_norm",
            p,
            &[(0, "X"), (1, "SCALE"), (2, "BIAS"), (3, "MEAN"), (4, "VAR")],
            "statistics given at run time".to_string(),
        )
    }

    /// Training-mode `BatchNormalization`: one step per output (`y`, then the optional
    /// `running_mean` and `running_var`), each computing the batch statistics again.
    pub(super) fn batch_norm_training(&mut self, a: &BatchNormTrainingAttrs) -> R<()> {
        let p = self.batch_norm_struct(a.epsilon);
        let outputs = self.node.outputs.clone();
        for (k, &out) in outputs.iter().enumerate() {
            let mut inputs = Vec::new();
            let xa = self.operand(0, "X", &mut inputs)?;
            let (call, detail) = match k {
                0 => {
                    let scale = self.operand(1, "SCALE", &mut inputs)?;
                    let bias = self.operand(2, "BIAS", &mut inputs)?;
                    (
                        Stmt::Call(
                            "norm::batch_norm_training".into(),
                            vec![Arg::Local("p".into()), xa, scale, bias, Arg::Output],
                        ),
                        "with the batch's statistics".to_string(),
                    )
                }
                _ => {
                    let (statistic, role, what) = if k == 1 {
                        ("Mean", "MEAN", "running_mean")
                    } else {
                        ("Variance", "VAR", "running_var")
                    };
                    let input = self.operand(2 + k, role, &mut inputs)?;
                    (
                        Stmt::Call(
                            "norm::batch_norm_running_statistic".into(),
                            vec![
                                Arg::Local("p".into()),
                                Arg::Value(Value::Variant(
                                    format!("norm::BatchStatistic::{statistic}"),
                                    vec![],
                                )),
                                Arg::Value(Value::F32(a.momentum)),
                                xa,
                                input,
                                Arg::Output,
                            ],
                        ),
                        format!("the {what} output, momentum {}", a.momentum),
                    )
                }
            };
            let part = (outputs.len() > 1).then_some(k);
            let body = vec![Stmt::Let("p".into(), p.clone()), call];
            self.push(part, detail, inputs, out, false, body);
        }
        Ok(())
    }

    pub(super) fn instance_norm(&mut self, epsilon: f32) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let p = Struct::new(
            "norm::InstanceNorm",
            vec![
                ("batch", usize_(x[0])),
                ("channels", usize_(x[1])),
                ("inner", usize_(x[2..].iter().product())),
                ("epsilon", Value::F32(epsilon)),
            ],
        );
        self.kernel_step(
            "norm::instance_norm",
            p,
            &[(0, "X"), (1, "SCALE"), (2, "BIAS")],
            String::new(),
        )
    }

    pub(super) fn lrn(&mut self, a: &LrnAttrs) -> R<()> {
        let x = self.input_shape(0).to_vec();
        let p = Struct::new(
            "norm::Lrn",
            vec![
                ("batch", usize_(x[0])),
                ("channels", usize_(x[1])),
                ("inner", usize_(x[2..].iter().product())),
                ("size", usize_(a.size)),
                ("alpha", Value::F32(a.alpha)),
                ("beta", Value::F32(a.beta)),
                ("bias", Value::F32(a.bias)),
            ],
        );
        let mut inputs = Vec::new();
        let xa = self.operand(0, "X", &mut inputs)?;
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "norm::lrn".into(),
                vec![Arg::Local("p".into()), xa, Arg::Output],
            ),
        ];
        self.push(
            None,
            format!("across {} channels", a.size),
            inputs,
            self.node.outputs[0],
            false,
            body,
        );
        Ok(())
    }

    /// `Einsum` of one or two operands: the label sizes and every operand's stride per label.
    pub(super) fn einsum(&mut self, a: &EinsumAttrs) -> R<()> {
        let output = a.output.as_deref().ok_or("unresolved Einsum output")?;
        let n = self.node.inputs.len();
        if n > 2 {
            return Err(format!(
                "Einsum of {n} operands is not supported yet (at most 2)"
            ));
        }
        let shapes: Vec<Vec<usize>> =
            (0..n).map(|i| self.input_shape(i).to_vec()).collect();
        let sizes = einsum::label_sizes(&a.terms, &shapes)?;
        if sizes.len() > MAX_LABELS {
            return Err(format!(
                "Einsum with {} labels is not supported (at most {MAX_LABELS})",
                sizes.len()
            ));
        }
        let out_shape = self.output_shape().to_vec();
        let mut size = vec![1; MAX_LABELS];
        let mut strides = vec![vec![0; MAX_LABELS]; 3];
        for (k, &(l, s)) in sizes.iter().enumerate() {
            size[k] = s;
            for (i, shape) in shapes.iter().enumerate() {
                strides[i][k] = einsum::label_stride(&a.terms[i], shape, l);
            }
            strides[2][k] = einsum::label_stride(output, &out_shape, l);
        }
        let p = Struct::new(
            "einsum::Einsum",
            vec![
                ("sizes", array(&size)),
                ("a_strides", array(&strides[0])),
                ("b_strides", array(&strides[1])),
                ("y_strides", array(&strides[2])),
                ("operands", usize_(n)),
            ],
        );
        let mut inputs = Vec::new();
        let first = self.operand(0, "A", &mut inputs)?;
        let second = if n > 1 {
            self.operand(1, "B", &mut inputs)?
        } else {
            Arg::Empty
        };
        let body = vec![
            Stmt::Let("p".into(), p),
            Stmt::Call(
                "einsum::einsum".into(),
                vec![Arg::Local("p".into()), first, second, Arg::Output],
            ),
        ];
        let labels: Vec<String> = a
            .terms
            .iter()
            .map(|t| t.iter().map(|&l| einsum::label_name(l)).collect::<String>())
            .collect();
        let detail = format!(
            "{}->{}",
            labels.join(","),
            output
                .iter()
                .map(|&l| einsum::label_name(l))
                .collect::<String>()
        );
        self.push(None, detail, inputs, self.node.outputs[0], false, body);
        Ok(())
    }
}
