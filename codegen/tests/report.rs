//! Reports and their pictures: the memory data of every fixture model describes a plan in which
//! no two live buffers share a byte, the SVG timeline draws exactly that (its rectangles are read
//! back and checked), names from hostile models come out escaped, and a snapshot pins the picture
//! of a small model.

use std::path::{Path, PathBuf};

use edgegen::ir::SourceInfo;
use edgegen::report::{self, Report};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn report_of_file(path: &Path) -> edgegen::Result<Report> {
    let compiled = edgegen::compile(path, &Default::default(), &mut |_, _| {})?;
    let program = edgegen::backend::lower::lower(&compiled.graph)?;
    Ok(report::build(&compiled.graph, &program))
}

fn report_of_graph(graph: edgegen::ir::Graph) -> Report {
    let compiled = edgegen::compile_graph(graph, &Default::default(), &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let program = edgegen::backend::lower::lower(&compiled.graph).unwrap();
    report::build(&compiled.graph, &program)
}

fn parse(text: &str) -> edgegen::ir::Graph {
    let mut graph = edgegen::ir::text::parse(text).unwrap_or_else(|e| panic!("{e}"));
    graph.source = SourceInfo {
        file_name: format!("{}.ir", graph.name),
        sha256: "0".repeat(64),
        description: "edgegen text IR".into(),
    };
    graph
}

/// Every model under `fixtures/models`, `fixtures/mlperf-tiny` and `fixtures/tflite_ops` that
/// compiles with default options, with its report.
fn fixture_reports() -> Vec<(String, Report)> {
    let mut paths = Vec::new();
    for dir in [
        "fixtures/models",
        "fixtures/mlperf-tiny",
        "fixtures/tflite_ops",
    ] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let extension = path.extension().and_then(|e| e.to_str());
            if matches!(extension, Some("onnx" | "tflite")) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let reports: Vec<(String, Report)> = paths
        .iter()
        .filter_map(|p| {
            let name = p.strip_prefix(root()).unwrap().display().to_string();
            report_of_file(p).ok().map(|r| (name, r))
        })
        .collect();
    assert!(
        reports.len() >= 100,
        "only {} fixture models compiled",
        reports.len()
    );
    reports
}

/// A float model with an integer tensor in the middle, so that it has two arenas.
const TWO_ARENAS: &str = r#"graph "two_arenas" {
  input %x: f32[1, 8]
  const %w: f32[8, 8] = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
  %h: f32[?] = MatMul(%x, %w) @dense
  %a: f32[?] = Relu(%h) @relu
  %i: i64[?] = ArgMax(%a) {axis=1} @argmax
  %c: f32[?] = Cast(%i) {to=f32} @cast
  %y: f32[?] = Add(%c, %a) @add
  output %y
}
"#;

/// The structured memory data describes a valid plan: every tensor within its arena, tensors of
/// one buffer at one offset, and no two buffers of an arena live at the same step in the same
/// bytes.
fn check_memory(name: &str, report: &Report) {
    let memory = &report.memory;
    assert_eq!(
        memory.arenas.iter().map(|a| a.bytes).sum::<usize>(),
        report.totals.arena_bytes,
        "{name}: the arenas add up to ARENA_BYTES"
    );
    assert!(report.totals.arena_lower_bound_bytes <= report.totals.arena_bytes);
    for t in &memory.tensors {
        let arena = memory
            .arenas
            .iter()
            .find(|a| a.dtype == t.dtype)
            .unwrap_or_else(|| panic!("{name}: no arena for {}", t.name));
        assert!(
            t.offset + t.bytes <= arena.bytes,
            "{name}: {} ends at {} in an arena of {}",
            t.name,
            t.offset + t.bytes,
            arena.bytes
        );
        assert!(t.first_step <= t.last_step && t.last_step < report.layers.len());
    }
    for (k, a) in memory.tensors.iter().enumerate() {
        for b in &memory.tensors[k + 1..] {
            if a.buffer == b.buffer {
                assert_eq!(
                    (a.offset, &a.dtype),
                    (b.offset, &b.dtype),
                    "{name}: {} and {} share a buffer",
                    a.name,
                    b.name
                );
                continue;
            }
            let same_time = a.first_step <= b.last_step && b.first_step <= a.last_step;
            let same_bytes = a.dtype == b.dtype
                && a.offset < b.offset + b.bytes
                && b.offset < a.offset + a.bytes;
            assert!(
                !(same_time && same_bytes),
                "{name}: {} ({}..{}, steps {}–{}) and {} ({}..{}, steps {}–{}) overlap",
                a.name,
                a.offset,
                a.offset + a.bytes,
                a.first_step,
                a.last_step,
                b.name,
                b.offset,
                b.offset + b.bytes,
                b.first_step,
                b.last_step
            );
        }
    }
    // The layer rows say the same as the tensor list: an output in the arena is the tensor
    // this layer writes first, at the same bytes.
    for l in &report.layers {
        for (output, range) in l.outputs.iter().zip(&l.arena_bytes) {
            let listed = memory.tensors.iter().find(|t| {
                t.first_step == l.index
                    && output.starts_with(&format!("{} {} [", t.name, t.dtype))
            });
            assert_eq!(
                range.is_some(),
                listed.is_some(),
                "{name}: {output} in the arena?"
            );
            if let (Some((start, end)), Some(t)) = (range, listed) {
                assert_eq!((*start, *end), (t.offset, t.offset + t.bytes));
            }
        }
    }
}

/// The value of attribute `name` in one element's text.
fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let at = element.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = element[at..].find('"')?;
    Some(&element[at..at + len])
}

/// A coordinate of the picture in whole tenths of a pixel (the picture never uses finer ones).
fn tenths(value: &str) -> i64 {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, "0"));
    assert_eq!(fraction.len(), 1, "{value} has one decimal");
    whole.parse::<i64>().unwrap() * 10 + fraction.parse::<i64>().unwrap()
}

/// A rectangle read back from the SVG: left, top, right, bottom, in tenths of a pixel.
type Rect = (i64, i64, i64, i64);

fn rects(svg: &str, class: &str) -> Vec<Rect> {
    svg.lines()
        .filter(|l| l.starts_with(&format!("<rect class=\"{class}\"")))
        .map(|l| {
            let get = |n: &str| tenths(attribute(l, n).unwrap());
            let (x, y) = (get("x"), get("y"));
            (x, y, x + get("width"), y + get("height"))
        })
        .collect()
}

/// The SVG draws a valid plan: one rectangle per buffer with bytes, each inside the plot below
/// the ARENA_BYTES line, and no two that share a step overlap.
fn check_picture(name: &str, report: &Report) {
    let svg = report::format_svg(report);
    let steps = rects(&svg, "step");
    assert_eq!(
        steps.len(),
        report.layers.len(),
        "{name}: a column per step"
    );
    let (plot_left, plot_top, _, plot_bottom) = steps[0];
    let plot_right = steps.last().unwrap().2;
    let arena_line = svg
        .lines()
        .find(|l| l.starts_with("<line class=\"arena-bytes\""))
        .unwrap();
    let arena_top = tenths(attribute(arena_line, "y1").unwrap());
    if report.totals.arena_bytes > 0 {
        assert_eq!(
            arena_top, plot_top,
            "{name}: ARENA_BYTES is the top of the plot"
        );
    } else {
        assert_eq!(
            arena_top, plot_bottom,
            "{name}: an empty arena is drawn at 0"
        );
    }

    let buffers = rects(&svg, "buffer");
    let mut drawn: Vec<usize> = report
        .memory
        .tensors
        .iter()
        .filter(|t| t.bytes > 0)
        .map(|t| t.buffer)
        .collect();
    drawn.sort_unstable();
    drawn.dedup();
    assert_eq!(buffers.len(), drawn.len(), "{name}: a rectangle per buffer");
    for (k, a) in buffers.iter().enumerate() {
        assert!(
            a.0 >= plot_left && a.2 <= plot_right && a.1 >= arena_top && a.3 <= plot_bottom,
            "{name}: {a:?} outside the plot"
        );
        assert!(a.2 > a.0 && a.3 >= a.1, "{name}: {a:?} is a rectangle");
        for b in &buffers[k + 1..] {
            let same_steps = a.0 < b.2 && b.0 < a.2;
            let same_bytes = a.1 < b.3 && b.1 < a.3;
            assert!(
                !(same_steps && same_bytes),
                "{name}: rectangles {a:?} and {b:?} overlap"
            );
        }
    }
}

#[test]
fn every_fixture_model_has_a_valid_memory_picture() {
    for (name, report) in fixture_reports() {
        check_memory(&name, &report);
        check_picture(&name, &report);
    }
}

/// The checks above catch a plan that puts two live buffers in the same bytes: here cnn_bn's
/// pool1_out is moved onto relu1_out, which is still being read when pool1_out is written.
#[test]
fn an_overlapping_plan_fails_the_checks() {
    let mut report = report_of_file(&root().join("fixtures/models/cnn_bn.onnx")).unwrap();
    let moved = report
        .memory
        .tensors
        .iter_mut()
        .find(|t| t.name == "pool1_out")
        .unwrap();
    moved.offset = 0;
    let memory = std::panic::catch_unwind(|| check_memory("moved", &report));
    let picture = std::panic::catch_unwind(|| check_picture("moved", &report));
    assert!(memory.is_err() && picture.is_err());
}

#[test]
fn arenas_of_several_element_types_are_stacked() {
    let report = report_of_graph(parse(TWO_ARENAS));
    let dtypes: Vec<&str> = report
        .memory
        .arenas
        .iter()
        .map(|a| a.dtype.as_str())
        .collect();
    assert_eq!(dtypes, ["f32", "i64"]);
    check_memory("two_arenas", &report);
    check_picture("two_arenas", &report);
    let svg = report::format_svg(&report);
    assert_eq!(svg.matches("<line class=\"arena-end\"").count(), 1);
    assert!(
        svg.contains("arena_f32 from 0, arena_i64 from 36 bytes"),
        "{svg}"
    );
}

#[test]
fn the_memory_picture_of_a_small_cnn() {
    let report = report_of_file(&root().join("fixtures/models/cnn_bn.onnx")).unwrap();
    insta::assert_snapshot!(report::format_svg(&report));
}

/// Checks that `text` is well-formed markup as far as escaping goes: every `<` opens a tag, tags
/// nest, attribute values are quoted, every `&` starts a reference, and no control character
/// is left. `void` lists the HTML elements without an end tag.
fn check_well_formed(text: &str, void: &[&str]) {
    let valid_reference = |rest: &str| {
        let Some(end) = rest.find(';') else {
            return false;
        };
        let entity = &rest[1..end];
        matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity
                .strip_prefix('#')
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    let check_text = |t: &str| {
        for (at, _) in t.match_indices('&') {
            assert!(
                valid_reference(&t[at..]),
                "a bare & in {:?}",
                &t[at..(at + 20).min(t.len())]
            );
        }
        assert!(
            !t.chars().any(|c| c.is_control() && c != '\n'),
            "a control character in {t:?}"
        );
    };
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let tag_end = rest[start..].find('>').expect("every tag ends") + start;
        let tag = &rest[start + 1..tag_end];
        rest = &rest[tag_end + 1..];
        if tag.starts_with("!DOCTYPE") {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "end tag </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let (name, mut attributes) = body.split_once(' ').unwrap_or((body, ""));
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "tag name {name:?}"
        );
        // Attributes: name="value", with no quote, < or bare & inside the value.
        loop {
            attributes = attributes.trim_start();
            if attributes.is_empty() {
                break;
            }
            let (key, after) = attributes
                .split_once("=\"")
                .unwrap_or_else(|| panic!("unquoted attribute in <{tag}>"));
            assert!(
                key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "attribute name {key:?}"
            );
            let (value, after) = after.split_once('"').unwrap();
            assert!(!value.contains('<'), "< in an attribute value");
            check_text(value);
            attributes = after;
        }
        if !self_closing && !void.contains(&name) {
            open.push(name.to_string());
        }
    }
    check_text(rest);
    assert!(open.is_empty(), "unclosed elements {open:?}");
}

#[test]
fn hostile_names_are_escaped_in_the_picture_and_the_page() {
    let hostile = "x<script>&amp;\"q\"]]>'\u{1}\n\u{1b}[2J";
    let mut graph = parse(
        r#"graph "hostile" {
  input %x: f32[1, 64]
  %a: f32[?] = Tanh(%x) @first
  %b: f32[?] = Sigmoid(%a) @second
  %c: f32[?] = Add(%a, %b) @third
  output %c
}
"#,
    );
    for tensor in &mut graph.tensors {
        tensor.name = format!("{}{hostile}", tensor.name);
    }
    for node in &mut graph.nodes {
        node.name = format!("{}{hostile}", node.name);
    }
    graph.source.file_name = format!("model{hostile}.onnx");
    graph.source.description = hostile.to_string();
    let report = report_of_graph(graph);
    assert!(
        !report.memory.tensors.is_empty(),
        "the hostile names reach the arena"
    );

    let svg = report::format_svg(&report);
    check_well_formed(&svg, &[]);
    let html = report::format_html(&report);
    check_well_formed(&html, &["meta"]);
    for page in [&svg, &html] {
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("x&lt;script&gt;&amp;amp;&quot;q&quot;]]&gt;&#39;"));
        assert!(!page.contains('\u{1b}'));
    }
    let table = report::format_table(&report);
    assert!(!table.contains('\u{1b}'), "{table}");
    assert!(
        table
            .lines()
            .all(|l| !l.contains("[2J") || l.contains("script")),
        "a name's line break stays in its row:\n{table}"
    );
}

#[test]
fn the_page_holds_the_summary_the_picture_and_the_layers() {
    let report = report_of_file(&root().join("fixtures/models/cnn_bn.onnx")).unwrap();
    let html = report::format_html(&report);
    check_well_formed(&html, &["meta"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for needle in [
        "<h1>cnn_bn.onnx</h1>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"",
        "<td>pwconv</td>",
        "<td>relu1_out</td>",
        "10,240 bytes (10 KiB)",
    ] {
        assert!(html.contains(needle), "{needle} not in the page");
    }
    // Self-contained: nothing is loaded from elsewhere and nothing runs.
    for absent in ["<script", "<link", "src=", "href=", "@import"] {
        assert!(!html.contains(absent), "{absent} in the page");
    }
    let svg = report::format_svg(&report);
    check_well_formed(&svg, &[]);
    for absent in ["<script", "href", "<image", "<foreignObject"] {
        assert!(!svg.contains(absent), "{absent} in the picture");
    }
}

/// Runs `edgegen` with `args` and returns its standard output; it must succeed.
fn edgegen(args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_edgegen"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "edgegen {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `edgegen inspect MODEL --format FORMAT` with the build options `options`.
fn inspect(model: &Path, format: &str, options: &[&str]) -> String {
    let model = model.to_str().unwrap();
    let mut args = vec!["inspect", model, "--format", format, "--quiet"];
    args.extend_from_slice(options);
    edgegen(&args)
}

/// The figures a `before` object holds.
const BEFORE_FIGURES: [&str; 5] = [
    "parameters",
    "nonzeros",
    "weight_bytes",
    "macs",
    "macs_executed",
];

/// Checks the `before` figures of the report `compressed` against `plain`, the report of the
/// same build without compression, compiled on its own: each layer's are those of the layer of
/// the same name, and the totals' are its totals. Returns the names of the layers compared.
fn check_before(compressed: &serde_json::Value, plain: &serde_json::Value) -> Vec<String> {
    let plain_layers = plain["layers"].as_array().unwrap();
    let mut compared = Vec::new();
    for layer in compressed["layers"].as_array().unwrap() {
        let name = layer["name"].as_str().unwrap();
        let plain_layer = plain_layers
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("no layer {name} in the plain build"));
        for key in BEFORE_FIGURES {
            assert_eq!(
                layer["before"][key], plain_layer[key],
                "{name}: {key} before compression"
            );
        }
        compared.push(name.to_string());
    }
    assert_eq!(compared.len(), plain_layers.len(), "every layer is matched");
    for key in BEFORE_FIGURES {
        assert_eq!(
            compressed["totals"]["before"][key], plain["totals"][key],
            "total {key} before compression"
        );
    }
    assert!(compressed.get("before_only_layers").is_none());
    compared
}

/// `--prune 0.8` of the int8 digits MLP: the report puts each layer's figures of the same int8
/// build without pruning, compiled on its own here, next to its own, and the table and the page
/// show both with what is left.
#[test]
fn a_pruned_build_is_reported_before_and_after_pruning() {
    let model = root().join("fixtures/models/digits_mlp.onnx");
    let calibration = root().join("fixtures/ptq/data/calibration_flat.npy");
    let int8 = [
        "--quantize",
        "int8",
        "--calibration",
        calibration.to_str().unwrap(),
    ];
    let pruned_options = [&int8[..], &["--prune", "0.8"]].concat();
    let json = inspect(&model, "json", &pruned_options);
    let pruned: serde_json::Value = serde_json::from_str(&json).unwrap();
    let plain: serde_json::Value =
        serde_json::from_str(&inspect(&model, "json", &int8)).unwrap();
    check_before(&pruned, &plain);
    // Pruning left a fifth of the weights: fewer non-zeros, bytes and MACs than before.
    for layer in pruned["layers"].as_array().unwrap() {
        if layer["op"] == "Gemm" {
            let before = &layer["before"];
            for key in ["nonzeros", "weight_bytes", "macs_executed"] {
                assert!(
                    layer[key].as_u64() < before[key].as_u64(),
                    "{}: {key} {} not below {}",
                    layer["name"],
                    layer[key],
                    before[key]
                );
            }
            assert_eq!(layer["parameters"], before["parameters"]);
        }
    }
    insta::assert_snapshot!("pruned_int8_mlp_json", json);
    let table = inspect(&model, "table", &pruned_options);
    insta::assert_snapshot!("pruned_int8_mlp_table", table);
    // The README shows this part of the table.
    let compression = &table[table.find("Before → after").unwrap()..];
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```text\n{compression}```")),
        "the README's table is not\n{compression}"
    );
    let html = inspect(&model, "html", &pruned_options);
    check_well_formed(&html, &["meta"]);
    for needle in [
        "<h2>Compression</h2>",
        "<td class=\"number\">2,432 → 894</td><td class=\"number\">36.8 %</td>",
        "weights 2,872 → 1,072 bytes (37.3 %)",
    ] {
        assert!(html.contains(needle), "{needle} not in the page");
    }

    // `build --report` writes the same report.
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_pruned");
    std::fs::create_dir_all(&out).unwrap();
    let report = out.join("report.json");
    let mut args = vec![
        "build",
        model.to_str().unwrap(),
        "-o",
        "-",
        "--quiet",
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(&pruned_options);
    edgegen(&args);
    assert_eq!(std::fs::read_to_string(&report).unwrap(), json.trim_end());
}

/// Channel pruning shrinks the layers: the report matches them by name and gives the figures
/// of the full ones before. The build without pruning is only measured, so the RAM budget the
/// pruned build meets (192 bytes of arena) does not apply to it (384).
#[test]
fn a_channel_pruned_build_is_compared_by_layer_name() {
    let model = root().join("fixtures/ptq/digits_mlp.onnx");
    let options = [
        "--prune-mode",
        "channels",
        "--prune",
        "0.5",
        "--max-ram",
        "200",
    ];
    let pruned: serde_json::Value =
        serde_json::from_str(&inspect(&model, "json", &options)).unwrap();
    let plain: serde_json::Value =
        serde_json::from_str(&inspect(&model, "json", &[])).unwrap();
    assert!(plain["totals"]["arena_bytes"].as_u64() > Some(200));
    let compared = check_before(&pruned, &plain);
    assert_eq!(compared.len(), 4);
    let totals = &pruned["totals"];
    for key in ["parameters", "macs", "weight_bytes"] {
        assert!(
            totals[key].as_u64() < totals["before"][key].as_u64(),
            "{key}"
        );
    }
    assert_eq!(totals["before"]["macs"], 6464);
    assert_eq!(totals["macs"], 2720);
}

/// A build without compression has no `before` anywhere, no compression table and no
/// compression section.
#[test]
fn an_uncompressed_build_has_no_before_figures() {
    let model = root().join("fixtures/models/digits_mlp.onnx");
    let json = inspect(&model, "json", &[]);
    assert!(!json.contains("before"), "{json}");
    let table = inspect(&model, "table", &[]);
    assert!(!table.contains("compression"), "{table}");
    let html = inspect(&model, "html", &[]);
    assert!(!html.contains("ompression"), "{html}");
    // And in the library: the report of a build is without them until compared.
    let report = report_of_file(&model).unwrap();
    assert!(report.totals.before.is_none());
    assert!(report.layers.iter().all(|l| l.before.is_none()));
    let value = serde_json::to_value(&report).unwrap();
    assert!(value.get("before_only_layers").is_none());
    assert!(value["totals"].get("before").is_none());
    assert!(
        value["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l.get("before").is_none())
    );
}

/// The layers of two builds are matched by name, the k-th of a name with the k-th: a layer only
/// the compressed build has gets no `before`, and one only the other has is named apart and
/// counts in the totals before.
#[test]
fn layers_are_matched_by_name_in_order() {
    let weights = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("{}.0", i + 1)).collect();
        format!("[{}]", values.join(", "))
    };
    let graph = |last: &str| {
        parse(&format!(
            r#"graph "matched" {{
  input %x: f32[1, 4]
  const %w1: f32[4, 8] = {}
  const %w2: f32[8, 2] = {}
  const %w3: f32[2, 2] = {}
  %h: f32[?] = MatMul(%x, %w1) @twice
  %y: f32[?] = MatMul(%h, %w2) @twice
  %z: f32[?] = MatMul(%y, %w3) @{last}
  output %z
}}
"#,
            weights(32),
            weights(16),
            weights(4)
        ))
    };
    let before = report_of_graph(graph("gone"));
    let mut after = report_of_graph(graph("new"));
    after.compare_with(&before);
    let macs_before: Vec<Option<u64>> = after
        .layers
        .iter()
        .map(|l| l.before.map(|b| b.macs))
        .collect();
    assert_eq!(macs_before, [Some(32), Some(16), None]);
    assert_eq!(after.before_only_layers, ["gone"]);
    let totals_before = after.totals.before.unwrap();
    assert_eq!(
        (totals_before.macs, totals_before.parameters),
        (before.totals.macs, before.totals.parameters)
    );
    let table = report::format_table(&after);
    let new_row = table.lines().find(|l| l.starts_with("2  new")).unwrap();
    assert_eq!(new_row.matches("- →").count(), 4, "{new_row}");
    assert!(
        table
            .contains("Only in the build without compression (counted in its total): gone"),
        "{table}"
    );
    let html = report::format_html(&after);
    check_well_formed(&html, &["meta"]);
    assert!(html.contains("<td>new</td><td class=\"number\">- → 4</td>"));
}
