//! The report as one self-contained HTML page: the model's summary, the memory timeline and the
//! tables of layers and arena tensors, for `edgegen inspect --format html`. Inline CSS, no
//! scripts, no links: the file can be mailed or attached to a CI run and opened anywhere.

use std::fmt::Write;

use super::{
    BEFORE_BUILD, Before, Report, escape_markup, format_bytes, format_nonzeros, format_svg,
    group_digits, nonzero_percent, share_percent,
};

const STYLE: &str = "\
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { margin-bottom: 0.2em; }
.source { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #888; }
tr:nth-child(even) td { background: #f4f4f4; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.tensors { font-family: monospace; white-space: pre-line; }
.summary th { border-bottom: none; text-align: right; color: #555; }
figure { margin: 1em 0; overflow-x: auto; }
";

/// Element text, with the report's names escaped.
fn cell(class: &str, text: &str) -> String {
    if class.is_empty() {
        format!("<td>{}</td>", escape_markup(text))
    } else {
        format!("<td class=\"{class}\">{}</td>", escape_markup(text))
    }
}

/// The report as a standalone HTML document.
pub fn format_html(report: &Report) -> String {
    let mut html = String::new();
    let model = escape_markup(&report.model);
    let _ = writeln!(html, "<!DOCTYPE html>");
    let _ = writeln!(html, "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">");
    let _ = writeln!(html, "<title>{model}: edgegen report</title>");
    let _ = writeln!(html, "<style>\n{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(html, "<h1>{model}</h1>");
    let _ = writeln!(
        html,
        "<p class=\"source\">{}, sha256 {}</p>",
        escape_markup(&report.source),
        escape_markup(&report.sha256)
    );

    let t = &report.totals;
    let mut summary: Vec<(&str, String)> = Vec::new();
    for i in &report.inputs {
        summary.push(("input", i.clone()));
    }
    for o in &report.outputs {
        summary.push(("output", o.clone()));
    }
    for s in &report.states {
        summary.push(("state", s.clone()));
    }
    summary.push(("layers", t.layers.to_string()));
    summary.push(("MACs", group_digits(t.macs)));
    summary.push((
        "weights",
        format!("{} bytes", group_digits(t.weight_bytes as u64)),
    ));
    summary.push((
        "parameters",
        format!(
            "{}, {} of them non-zero ({})",
            group_digits(t.parameters as u64),
            group_digits(t.nonzeros as u64),
            nonzero_percent(t.nonzeros, t.parameters)
        ),
    ));
    summary.push((
        "arena",
        format!(
            "{} bytes ({}), lower bound {} bytes",
            group_digits(t.arena_bytes as u64),
            format_bytes(t.arena_bytes),
            group_digits(t.arena_lower_bound_bytes as u64)
        ),
    ));
    if let Some(before) = &t.before {
        summary.push((
            "compression",
            format!(
                "weights {} → {} bytes ({}), MACs executed {} → {} ({}); before: {BEFORE_BUILD}",
                group_digits(before.weight_bytes as u64),
                group_digits(t.weight_bytes as u64),
                share_percent(t.weight_bytes as u64, before.weight_bytes as u64),
                group_digits(before.macs_executed),
                group_digits(t.macs_executed),
                share_percent(t.macs_executed, before.macs_executed)
            ),
        ));
    }
    let _ = writeln!(html, "<table class=\"summary\">");
    for (key, value) in &summary {
        let _ = writeln!(html, "<tr><th>{key}</th>{}</tr>", cell("", value));
    }
    let _ = writeln!(html, "</table>");

    let _ = writeln!(html, "<h2>Memory timeline</h2>\n<figure>");
    html.push_str(&format_svg(report));
    let _ = writeln!(html, "</figure>");

    let _ = writeln!(html, "<h2>Layers</h2>\n<table class=\"layers\">");
    let _ = writeln!(
        html,
        "<tr><th>#</th><th>op</th><th>name</th><th>inputs</th><th>outputs</th><th>params</th>\
         <th>MACs</th><th>weight bytes</th><th>non-zero</th><th>arena bytes</th><th>steps</th></tr>"
    );
    for l in &report.layers {
        let _ = writeln!(
            html,
            "<tr>{}{}{}{}{}{}{}{}{}{}{}</tr>",
            cell("number", &l.index.to_string()),
            cell("", &l.op),
            cell("", &l.name),
            cell("tensors", &l.inputs.join("\n")),
            cell("tensors", &l.outputs.join("\n")),
            cell("", &l.params),
            cell("number", &group_digits(l.macs)),
            cell("number", &group_digits(l.weight_bytes as u64)),
            cell("number", &format_nonzeros(l.nonzeros, l.parameters)),
            cell("tensors", &l.output_places().join("\n")),
            cell("tensors", &l.output_steps().join("\n")),
        );
    }
    let _ = writeln!(html, "</table>");

    if t.before.is_some() {
        compression(&mut html, report);
    }

    let _ = writeln!(html, "<h2>Arena tensors</h2>");
    if report.memory.tensors.is_empty() {
        let _ = writeln!(html, "<p>This model needs no arena.</p>");
    } else {
        let _ = writeln!(
            html,
            "<p>Offsets are bytes in the arena of the tensor's element type. Tensors with the same \
             buffer share storage: views of one another, or a layer's input and output when it \
             runs in place.</p>"
        );
        let _ = writeln!(html, "<table class=\"arena\">");
        let _ = writeln!(
            html,
            "<tr><th>name</th><th>type</th><th>offset</th><th>bytes</th><th>steps</th><th>buffer</th></tr>"
        );
        for a in &report.memory.tensors {
            let shape: Vec<String> = a.shape.iter().map(|d| d.to_string()).collect();
            let _ = writeln!(
                html,
                "<tr>{}{}{}{}{}{}</tr>",
                cell("", &a.name),
                cell("", &format!("{} [{}]", a.dtype, shape.join(", "))),
                cell("number", &group_digits(a.offset as u64)),
                cell("number", &group_digits(a.bytes as u64)),
                cell("", &format!("{}–{}", a.first_step, a.last_step)),
                cell("number", &a.buffer.to_string()),
            );
        }
        let _ = writeln!(html, "</table>");
    }
    let _ = writeln!(html, "</body>\n</html>");
    html
}

/// The section of before and after compression: for each layer with weights or MACs in either
/// build, and in total, its parameters, non-zeros, weight bytes and MACs executed in the build
/// without compression and in this one, and the share of the bytes and MACs left.
fn compression(html: &mut String, report: &Report) {
    let _ = writeln!(html, "<h2>Compression</h2>");
    let _ = writeln!(
        html,
        "<p>Each figure is before → after: before is {BEFORE_BUILD}, matched layer by layer by \
         name; the share is what is left of it.</p>"
    );
    let _ = writeln!(html, "<table class=\"compression\">");
    let _ = writeln!(
        html,
        "<tr><th>#</th><th>op</th><th>name</th><th>parameters</th><th>non-zero</th>\
         <th>weight bytes</th><th>share</th><th>MACs executed</th><th>share</th></tr>"
    );
    let row = |html: &mut String,
               index: &str,
               op: &str,
               name: &str,
               before: Option<Before>,
               after: Before| {
        let pair = |f: fn(&Before) -> u64| {
            let before = before
                .as_ref()
                .map_or("-".to_string(), |b| group_digits(f(b)));
            format!("{before} → {}", group_digits(f(&after)))
        };
        let share = |f: fn(&Before) -> u64| {
            before
                .as_ref()
                .map_or("-".to_string(), |b| share_percent(f(&after), f(b)))
        };
        let weight_bytes = |f: &Before| f.weight_bytes as u64;
        let macs_executed = |f: &Before| f.macs_executed;
        let _ = writeln!(
            html,
            "<tr>{}{}{}{}{}{}{}{}{}</tr>",
            cell("number", index),
            cell("", op),
            cell("", name),
            cell("number", &pair(|f| f.parameters as u64)),
            cell("number", &pair(|f| f.nonzeros as u64)),
            cell("number", &pair(weight_bytes)),
            cell("number", &share(weight_bytes)),
            cell("number", &pair(macs_executed)),
            cell("number", &share(macs_executed)),
        );
    };
    for l in report.layers.iter().filter(|l| l.has_weights_or_macs()) {
        row(
            html,
            &l.index.to_string(),
            &l.op,
            &l.name,
            l.before,
            Before::of_layer(l),
        );
    }
    let t = &report.totals;
    row(html, "", "", "total", t.before, Before::of_totals(t));
    let _ = writeln!(html, "</table>");
    if !report.before_only_layers.is_empty() {
        let _ = writeln!(
            html,
            "<p>Only in the build without compression (counted in its total): {}</p>",
            escape_markup(&report.before_only_layers.join(", "))
        );
    }
}
