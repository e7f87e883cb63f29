//! `Einsum` equations: parsing the ONNX string form, and resolving ellipses and the implicit
//! output once the operands' ranks are known.
//!
//! A label is a letter's code point; an ellipsis is [`ELLIPSIS`] until it is resolved, then the
//! labels `ELLIPSIS_BASE + k` for the k-th of the axes it stands for (counted from the first of
//! the broadcast batch axes, so that ellipses of different ranks line up on the right).

/// The label of an unresolved ellipsis.
pub const ELLIPSIS: i64 = -1;
/// The first label given to the axes of an ellipsis.
pub const ELLIPSIS_BASE: i64 = 256;

/// An equation as label lists: one per operand, and the output's unless it is implicit.
pub type Equation = (Vec<Vec<i64>>, Option<Vec<i64>>);

/// Parses `"bij,bjk->bik"`; spaces are ignored.
pub fn parse(equation: &str) -> Result<Equation, String> {
    let text: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match text.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (text.as_str(), None),
    };
    let term = |t: &str| -> Result<Vec<i64>, String> {
        let mut labels = Vec::new();
        let mut rest = t;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("...") {
                if labels.contains(&ELLIPSIS) {
                    return Err(format!("Einsum term '{t}' has two ellipses"));
                }
                labels.push(ELLIPSIS);
                rest = after;
            } else if c.is_ascii_alphabetic() {
                labels.push(c as i64);
                rest = &rest[1..];
            } else {
                return Err(format!(
                    "Einsum equation '{equation}' has the character '{c}', which is not a letter"
                ));
            }
        }
        Ok(labels)
    };
    let terms = lhs.split(',').map(term).collect::<Result<Vec<_>, _>>()?;
    let output = rhs.map(term).transpose()?;
    if let Some(out) = &output {
        for (i, l) in out.iter().enumerate() {
            if out[..i].contains(l) {
                return Err(format!(
                    "Einsum equation '{equation}' repeats a label in its output"
                ));
            }
            if *l != ELLIPSIS && !terms.iter().any(|t| t.contains(l)) {
                return Err(format!(
                    "Einsum equation '{equation}' has an output label that no input has"
                ));
            }
        }
    }
    Ok((terms, output))
}

/// Replaces ellipses by labels of their own and makes the output explicit, given the ranks of
/// the operands. Returns the resolved terms and output.
pub fn resolve(
    terms: &[Vec<i64>],
    output: Option<&[i64]>,
    ranks: &[usize],
) -> Result<(Vec<Vec<i64>>, Vec<i64>), String> {
    if terms.len() != ranks.len() {
        return Err(format!(
            "the equation has {} terms for {} inputs",
            terms.len(),
            ranks.len()
        ));
    }
    // The number of axes each ellipsis stands for, and the most of any (the batch rank).
    let mut batch_rank = 0;
    let mut resolved = Vec::new();
    for (term, &rank) in terms.iter().zip(ranks) {
        let letters = term.iter().filter(|&&l| l != ELLIPSIS).count();
        let has_ellipsis = term.contains(&ELLIPSIS);
        if letters > rank || (!has_ellipsis && letters != rank) {
            return Err(format!(
                "a term has {letters} labels for an input of rank {rank}"
            ));
        }
        let n = rank - letters;
        batch_rank = batch_rank.max(n);
        let mut out = Vec::new();
        for &l in term {
            if l == ELLIPSIS {
                // Right-aligned: the last axis of every ellipsis gets the same label. Until
                // the batch rank is known, axis k is written as -(n - k) - 1.
                out.extend((0..n).map(|k| -((n - k) as i64) - 1));
            } else {
                out.push(l);
            }
        }
        resolved.push(out);
    }
    for term in &mut resolved {
        for l in term.iter_mut() {
            if *l < ELLIPSIS {
                // -(n - k) - 1 encodes position k from the right end of an ellipsis of n axes.
                let from_right = (-*l - 1) as usize;
                *l = ELLIPSIS_BASE + (batch_rank - from_right) as i64;
            }
        }
    }
    let output = match output {
        Some(out) => {
            let mut labels = Vec::new();
            for &l in out {
                if l == ELLIPSIS {
                    labels.extend((0..batch_rank).map(|k| ELLIPSIS_BASE + k as i64));
                } else {
                    labels.push(l);
                }
            }
            labels
        }
        None => {
            // The implicit output: the ellipsis axes, then every letter that appears once, in
            // alphabetical order.
            let mut labels: Vec<i64> =
                (0..batch_rank).map(|k| ELLIPSIS_BASE + k as i64).collect();
            let mut letters: Vec<i64> = resolved
                .iter()
                .flatten()
                .copied()
                .filter(|&l| l < ELLIPSIS_BASE)
                .collect();
            letters.sort_unstable();
            let once: Vec<i64> = letters
                .iter()
                .copied()
                .filter(|l| letters.iter().filter(|m| *m == l).count() == 1)
                .collect();
            labels.extend(once);
            labels
        }
    };
    Ok((resolved, output))
}

/// The size of every label, checked to agree between operands (a size 1 broadcasts, as ONNX
/// allows for ellipsis axes); returns `(label, size)` pairs in first-seen order.
pub fn label_sizes(
    terms: &[Vec<i64>],
    shapes: &[Vec<usize>],
) -> Result<Vec<(i64, usize)>, String> {
    let mut sizes: Vec<(i64, usize)> = Vec::new();
    for (term, shape) in terms.iter().zip(shapes) {
        if term.len() != shape.len() {
            return Err(format!(
                "a term has {} labels for an input of rank {}",
                term.len(),
                shape.len()
            ));
        }
        for (&l, &d) in term.iter().zip(shape) {
            match sizes.iter_mut().find(|(m, _)| *m == l) {
                Some((_, s)) if *s == d || d == 1 => {}
                Some((_, s)) if *s == 1 => *s = d,
                Some((_, s)) => {
                    return Err(format!("label '{}' has sizes {s} and {d}", label_name(l)));
                }
                None => sizes.push((l, d)),
            }
        }
    }
    Ok(sizes)
}

/// The stride of label `l` in a row-major operand with this term and shape: the sum of the
/// strides of the axes it labels (a repeated label walks a diagonal), nothing for axes of size
/// 1 (they broadcast).
pub fn label_stride(term: &[i64], shape: &[usize], l: i64) -> usize {
    let mut stride = 1;
    let mut total = 0;
    for axis in (0..term.len()).rev() {
        if term[axis] == l && shape[axis] != 1 {
            total += stride;
        }
        stride *= shape[axis];
    }
    total
}

/// A label as the equation wrote it, for messages.
pub fn label_name(l: i64) -> String {
    if (0..128).contains(&l) {
        (l as u8 as char).to_string()
    } else {
        format!("...{}", l - ELLIPSIS_BASE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves_the_node_test_equations() {
        let (t, o) = parse("bij, bjk -> bik").unwrap();
        let (t, o) = resolve(&t, o.as_deref(), &[3, 3]).unwrap();
        let l = |s: &str| s.chars().map(|c| c as i64).collect::<Vec<_>>();
        assert_eq!(t, vec![l("bij"), l("bjk")]);
        assert_eq!(o, l("bik"));

        let (t, o) = parse("...ii ->...i").unwrap();
        let (t, o) = resolve(&t, o.as_deref(), &[3]).unwrap();
        assert_eq!(t, vec![vec![ELLIPSIS_BASE, 'i' as i64, 'i' as i64]]);
        assert_eq!(o, vec![ELLIPSIS_BASE, 'i' as i64]);

        let (t, o) = parse("i,i").unwrap();
        let (_, o) = resolve(&t, o.as_deref(), &[1, 1]).unwrap();
        assert!(o.is_empty());
        let (t, o) = parse("ji").unwrap();
        let (_, o) = resolve(&t, o.as_deref(), &[2]).unwrap();
        assert_eq!(o, l("ij"));

        let (t, o) = parse("->").unwrap();
        assert_eq!(
            resolve(&t, o.as_deref(), &[0]).unwrap(),
            (vec![vec![]], vec![])
        );

        // Ellipses of different ranks line up on the right.
        let (t, o) = parse("...i,...i->...").unwrap();
        let (t, o) = resolve(&t, o.as_deref(), &[3, 2]).unwrap();
        assert_eq!(t[0], vec![ELLIPSIS_BASE, ELLIPSIS_BASE + 1, 'i' as i64]);
        assert_eq!(t[1], vec![ELLIPSIS_BASE + 1, 'i' as i64]);
        assert_eq!(o, vec![ELLIPSIS_BASE, ELLIPSIS_BASE + 1]);

        assert!(parse("ij,j->k").is_err());
        assert!(parse("i2").is_err());
        assert!(resolve(&parse("ij").unwrap().0, None, &[3]).is_err());
    }
}
