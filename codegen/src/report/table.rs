//! The report as a text table for a terminal: `edgegen inspect`.

use super::{
    BEFORE_BUILD, Before, Report, format_nonzeros, group_digits, nonzero_percent,
    share_percent, truncate,
};

/// The width the table tries to keep within: the attributes, the last column, are cut to fit.
const LINE_WIDTH: usize = 120;

/// The attributes keep at least this many characters, even when the line grows past
/// [`LINE_WIDTH`].
const MIN_PARAMS_WIDTH: usize = 24;

/// Names are cut to this many characters; the JSON and HTML reports carry them whole.
const NAME_WIDTH: usize = 24;

/// The compression table cuts names to fit [`LINE_WIDTH`], but not below this.
const MIN_COMPRESSION_NAME_WIDTH: usize = 12;

/// Columns from this one on are numbers, aligned to the right.
const FIRST_NUMBER_COLUMN: usize = 4;
const LAST_NUMBER_COLUMN: usize = 6;

/// The report as a text table for a terminal. Each layer's outputs are listed with their
/// bytes in the arena of their element type (`0..8,192`), or where they live otherwise
/// (`output 0`), and the steps they are live (`0–1`); `non-zero` counts the elements of its
/// constants that are not zero, of all of them (`1,638/8,192`), and `format` says how its
/// weights are stored (`dense`, or the sparse `runs` or `bitmask`; `-` without weights). The
/// report of a compressed build ([`Report::compare_with`]) ends with a second table, of each
/// layer's figures before and after compression.
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
    if t.before.is_some() {
        out.push('\n');
        out.push_str(&format_compression(report));
    }
    out
}

/// A figure of the build without compression and the same figure of this one, for a column of
/// the compression table; the first is `None` for a layer the other build lacks.
type Pair = (Option<u64>, u64);

/// The compression table: for each layer with weights or MACs in either build, and in total,
/// its parameters, non-zeros, weight bytes and MACs executed before and after compression, and
/// the share of the bytes and MACs that are left. The arrows of a column line up.
fn format_compression(report: &Report) -> String {
    let figures = |before: Option<Before>, after: Before| -> [Pair; 4] {
        let b = |f: fn(&Before) -> u64| (before.as_ref().map(f), f(&after));
        [
            b(|f| f.parameters as u64),
            b(|f| f.nonzeros as u64),
            b(|f| f.weight_bytes as u64),
            b(|f| f.macs_executed),
        ]
    };
    // (#, name, figures) per row; the totals come last.
    let mut rows: Vec<(String, String, [Pair; 4])> = report
        .layers
        .iter()
        .filter(|l| l.has_weights_or_macs())
        .map(|l| {
            (
                l.index.to_string(),
                printable(&l.name),
                figures(l.before, Before::of_layer(l)),
            )
        })
        .collect();
    let t = &report.totals;
    rows.push((
        String::new(),
        "total".to_string(),
        figures(t.before, Before::of_totals(t)),
    ));

    let number = |n: Option<u64>| n.map_or("-".to_string(), group_digits);
    let share =
        |(before, after): Pair| before.map_or("-".to_string(), |b| share_percent(after, b));
    // Each pair is `before → after`, both right-aligned in their own width.
    let mut pair_widths = [(0, 0); 4];
    for (_, _, pairs) in &rows {
        for (width, &(before, after)) in pair_widths.iter_mut().zip(pairs) {
            width.0 = width.0.max(number(before).chars().count());
            width.1 = width.1.max(number(Some(after)).chars().count());
        }
    }
    let pair = |c: usize, (before, after): Pair| {
        format!(
            "{:>wb$} → {:>wa$}",
            number(before),
            number(Some(after)),
            wb = pair_widths[c].0,
            wa = pair_widths[c].1
        )
    };
    let header = [
        "#",
        "name",
        "parameters",
        "non-zero",
        "weight bytes",
        "share",
        "MACs executed",
        "share",
    ];
    let mut cells: Vec<[String; 8]> = vec![header.map(String::from)];
    for (index, name, p) in &rows {
        cells.push([
            index.clone(),
            name.clone(),
            pair(0, p[0]),
            pair(1, p[1]),
            pair(2, p[2]),
            share(p[2]),
            pair(3, p[3]),
            share(p[3]),
        ]);
    }
    let mut widths: Vec<usize> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    // The names take what the other columns and the two spaces after each leave of the line,
    // within the main table's limit.
    let others: usize = widths.iter().map(|w| w + 2).sum::<usize>() - (widths[1] + 2);
    widths[1] = LINE_WIDTH
        .saturating_sub(others)
        .clamp(MIN_COMPRESSION_NAME_WIDTH, NAME_WIDTH)
        .min(widths[1]);
    for row in &mut cells[1..] {
        row[1] = truncate(&row[1], widths[1]);
    }

    let rule = widths
        .iter()
        .map(|&w| "-".repeat(w))
        .collect::<Vec<_>>()
        .join("  ");
    let mut out = format!(
        "Before → after compression (before: {BEFORE_BUILD}; share: what is left)\n"
    );
    let last = cells.len() - 1;
    for (r, row) in cells.iter().enumerate() {
        if r == last {
            out.push_str(&rule);
            out.push('\n');
        }
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let fill = " ".repeat(widths[c].saturating_sub(cell.chars().count()));
                if c < 2 {
                    format!("{cell}{fill}")
                } else {
                    format!("{fill}{cell}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if r == 0 {
            out.push_str(&rule);
            out.push('\n');
        }
    }
    if !report.before_only_layers.is_empty() {
        let names: Vec<String> = report
            .before_only_layers
            .iter()
            .map(|n| printable(n))
            .collect();
        out.push_str(&format!(
            "Only in the build without compression (counted in its total): {}\n",
            names.join(", ")
        ));
    }
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
