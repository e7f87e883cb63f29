//! The report as a text table for a terminal: `edgegen inspect`.

use super::{Report, format_nonzeros, group_digits, nonzero_percent, truncate};

/// The width the table tries to keep within: the attributes, the last column, are cut to fit.
const LINE_WIDTH: usize = 120;

/// The attributes keep at least this many characters, even when the line grows past
/// [`LINE_WIDTH`].
const MIN_PARAMS_WIDTH: usize = 24;

/// Names are cut to this many characters; the JSON and HTML reports carry them whole.
const NAME_WIDTH: usize = 24;

/// Columns from this one on are numbers, aligned to the right.
const FIRST_NUMBER_COLUMN: usize = 4;
const LAST_NUMBER_COLUMN: usize = 6;

/// The report as a text table for a terminal. Each layer's outputs are listed with their
/// bytes in the arena of their element type (`0..8,192`), or where they live otherwise
/// (`output 0`), and the steps they are live (`0–1`); `non-zero` counts the elements of its
/// constants that are not zero, of all of them (`1,638/8,192`), and `format` says how its
/// weights are stored (`dense`, or the sparse `runs` or `bitmask`; `-` without weights).
pub fn format_table(report: &Report) -> String {
    let header = [
        "#", "op", "name", "output", "MACs", "weights", "non-zero", "format", "arena",
        "steps", "params",
    ];
    let mut rows: Vec<[String; 11]> = vec![header.map(String::from)];
    for l in &report.layers {
        let output = l
            .outputs
            .iter()
            .map(|o| o.split_once(' ').map_or(o.as_str(), |(_, t)| t))
            .collect::<Vec<_>>()
            .join(", ");
        let arena = l.output_places().join(", ");
        let steps = l.output_steps().join(", ");
        rows.push([
            l.index.to_string(),
            l.op.clone(),
            truncate(&printable(&l.name), NAME_WIDTH),
            printable(&output),
            group_digits(l.macs),
            group_digits(l.weight_bytes as u64),
            format_nonzeros(l.nonzeros, l.parameters),
            l.weight_format.clone(),
            arena,
            steps,
            printable(&l.params),
        ]);
    }
    let last = header.len() - 1;
    let mut widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let before_params: usize = widths[..last].iter().map(|w| w + 2).sum();
    let params_width = LINE_WIDTH
        .saturating_sub(before_params)
        .max(MIN_PARAMS_WIDTH)
        .min(widths[last]);
    widths[last] = params_width;
    for row in &mut rows[1..] {
        row[last] = truncate(&row[last], params_width);
    }

    let mut out = format!(
        "{} ({})\n",
        printable(&report.model),
        printable(&report.source)
    );
    for i in &report.inputs {
        out.push_str(&format!("  input  {}\n", printable(i)));
    }
    for o in &report.outputs {
        out.push_str(&format!("  output {}\n", printable(o)));
    }
    for s in &report.states {
        out.push_str(&format!("  state  {}\n", printable(s)));
    }
    out.push('\n');
    for (r, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let fill = " ".repeat(widths[c].saturating_sub(cell.chars().count()));
                if (FIRST_NUMBER_COLUMN..=LAST_NUMBER_COLUMN).contains(&c) {
                    format!("{fill}{cell}")
                } else {
                    format!("{cell}{fill}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if r == 0 {
            out.push_str(
                &widths
                    .iter()
                    .map(|&w| "-".repeat(w))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
            out.push('\n');
        }
    }
    let t = &report.totals;
    let executed = if t.macs_executed == t.macs {
        String::new()
    } else {
        format!(" ({} executed)", group_digits(t.macs_executed))
    };
    out.push_str(&format!(
        "\n{} layers, {} MACs{executed}, {} bytes of weights, {} bytes of arena (lower bound \
         {})\n",
        t.layers,
        group_digits(t.macs),
        group_digits(t.weight_bytes as u64),
        group_digits(t.arena_bytes as u64),
        group_digits(t.arena_lower_bound_bytes as u64)
    ));
    out.push_str(&format!(
        "{} parameters, {} of them non-zero ({})\n",
        group_digits(t.parameters as u64),
        group_digits(t.nonzeros as u64),
        nonzero_percent(t.nonzeros, t.parameters)
    ));
    out
}

/// Text from the model, safe for a terminal: control characters (line breaks that would
/// break the table, escape sequences that would drive the terminal) become U+FFFD, one
/// character for one, so column widths hold.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_do_not_reach_the_terminal() {
        assert_eq!(
            printable("a\nb\u{1b}[2Jc\tok"),
            "a\u{fffd}b\u{fffd}[2Jc\u{fffd}ok"
        );
    }
}
