//! Data-driven pass tests, in the manner of Cranelift's filetests: each file in `tests/passes/`
//! names the passes to run, holds a graph in the text IR, and holds the expected IR after the
//! passes in a trailing comment block. `EDGEGEN_BLESS=1 cargo test --test passes` rewrites the
//! expectations (review the diff before committing).
//!
//! Besides the text, every test checks what a pass must never change: the graph computes the
//! same outputs (reference evaluator, deterministic inputs) before and after. A file may give
//! options on a `# options:` line, as on the command line (`--prune 0.5 --prune-scope global`);
//! pruning changes what the graph computes on purpose, so there the check is instead that the
//! only change to any constant is elements set to zero.

use std::path::Path;

use edgegen::eval::{Value, evaluate};
use edgegen::ir::TensorData;
use edgegen::ir::text::{PrintOptions, parse, print};
use edgegen::ir::{DType, Graph};
use edgegen::passes::{PIPELINE, PassOptions};

const EXPECT: &str = "# expect:\n";

fn run_passes(graph: &mut Graph, names: &[&str], options: &PassOptions) {
    for name in names {
        let pass = PIPELINE
            .iter()
            .find(|p| p.name == *name)
            .unwrap_or_else(|| panic!("no pass {name}"));
        (pass.run)(graph, options).unwrap_or_else(|e| panic!("{name}: {e}"));
        edgegen::ir::validate(graph, edgegen::ir::validate::Stage::Inferred)
            .unwrap_or_else(|e| panic!("invalid IR after {name}:\n{e}"));
    }
}

/// Deterministic inputs in [-2, 2).
fn inputs(graph: &Graph) -> Vec<Value> {
    let mut state = 12345u32;
    graph
        .inputs
        .iter()
        .map(|&t| {
            let tensor = graph.tensor(t);
            assert_eq!(tensor.dtype, DType::F32, "pass tests use float inputs");
            let values = (0..tensor.len())
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 8) as f32 / (1 << 24) as f32 * 4.0 - 2.0
                })
                .collect();
            Value::f32(tensor.shape().to_vec(), values)
        })
        .collect()
}

/// The options of a file's `# options:` line: the pruning flags, with their values.
fn options_of(text: &str, name: &str) -> PassOptions {
    let Some(line) = text.lines().find_map(|l| l.strip_prefix("# options:")) else {
        return PassOptions::default();
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    let (mut prune, mut mode, mut scope) = (None, None, None);
    for pair in words.chunks(2) {
        match pair {
            ["--prune", value] => prune = Some(*value),
            ["--prune-mode", value] => mode = Some(*value),
            ["--prune-scope", value] => scope = Some(*value),
            other => panic!("{name}: the options line cannot give {other:?}"),
        }
    }
    PassOptions {
        prune: edgegen::options::prune_settings(prune, mode, scope)
            .unwrap_or_else(|e| panic!("{name}: {e}")),
        ..PassOptions::default()
    }
}

/// Every constant of `pruned` is the constant of the same name in `original`, with some
/// elements set to zero; returns how many.
fn check_only_zeros_added(name: &str, original: &Graph, pruned: &Graph) -> usize {
    let mut zeroed = 0;
    for tensor in pruned.tensors.iter().filter(|t| t.is_constant()) {
        let before = original
            .tensors
            .iter()
            .find(|t| t.name == tensor.name)
            .unwrap_or_else(|| panic!("{name}: constant {} is new", tensor.name));
        let (Some(TensorData::F32(after)), Some(TensorData::F32(before))) =
            (&tensor.data, &before.data)
        else {
            assert_eq!(tensor.data, before.data, "{name}: {}", tensor.name);
            continue;
        };
        assert_eq!(after.len(), before.len(), "{name}: {}", tensor.name);
        for (a, b) in after.iter().zip(before) {
            assert!(
                a == b || *a == 0.0,
                "{name}: {} had {b} where it now has {a}",
                tensor.name
            );
            zeroed += usize::from(a != b);
        }
    }
    zeroed
}

fn check_file(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    let passes_line = text
        .lines()
        .find_map(|l| l.strip_prefix("# passes:"))
        .unwrap_or_else(|| panic!("{name}: no '# passes:' line"));
    let passes: Vec<&str> = passes_line.split_whitespace().collect();
    let (source, expected) = match text.split_once(EXPECT) {
        Some((source, expected)) => (source, Some(expected)),
        None => (text.as_str(), None),
    };
    let options = options_of(&text, &name);
    let original = parse(source).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut transformed = original.clone();
    run_passes(&mut transformed, &passes, &options);
    let actual: String = print(&transformed, PrintOptions::default())
        .lines()
        .map(|l| format!("# {l}\n"))
        .collect();

    // The passes must not change what the graph computes.
    let mut reference = original;
    run_passes(&mut reference, &["infer_shapes"], &PassOptions::default());
    let x = inputs(&reference);
    let before = evaluate(&reference, &x).unwrap_or_else(|e| panic!("{name}: {e}"));
    let after = evaluate(&transformed, &x).unwrap_or_else(|e| panic!("{name}: {e}"));
    let channels = matches!(
        options.prune,
        Some(edgegen::passes::prune::PruneSettings::Channels { .. })
    );
    if channels {
        // Channel pruning removes elements instead of zeroing them (its unit tests check that
        // the pruned graph computes what ignoring the channels computes).
        let size = |g: &Graph| {
            g.tensors
                .iter()
                .filter_map(|t| t.data.as_ref())
                .map(|d| d.len())
                .sum::<usize>()
        };
        assert!(
            size(&transformed) < size(&reference),
            "{name}: nothing was pruned"
        );
    } else if options.prune.is_some() {
        let zeroed = check_only_zeros_added(&name, &reference, &transformed);
        assert!(zeroed > 0, "{name}: nothing was pruned");
    }
    for (b, a) in before
        .iter()
        .zip(&after)
        .filter(|_| options.prune.is_none())
    {
        assert_eq!(b.shape, a.shape, "{name}: output shapes changed");
        for (u, v) in b
            .data
            .as_f32()
            .unwrap()
            .iter()
            .zip(a.data.as_f32().unwrap())
        {
            assert!(
                (u - v).abs() <= 1e-5 * u.abs().max(1.0),
                "{name}: {u} became {v}"
            );
        }
    }

    if std::env::var_os("EDGEGEN_BLESS").is_some() {
        std::fs::write(
            path,
            format!(
                "{}{EXPECT}{actual}",
                source.trim_end_matches('\n').to_string() + "\n"
            ),
        )
        .unwrap();
        return;
    }
    match expected {
        Some(expected) => assert_eq!(
            actual, expected,
            "{name}: the IR after the passes differs from the expectation (EDGEGEN_BLESS=1 to update)"
        ),
        None => {
            panic!("{name} has no '# expect:' block; run with EDGEGEN_BLESS=1 to write it")
        }
    }
}

#[test]
fn pass_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/passes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "ir"))
    {
        check_file(file);
    }
}
