//! The kernels of generated code, written once as ordinary `#![no_std]` Rust.
//!
//! Each file here is both a module of the compiler (so that it is type-checked, linted and
//! tested against the reference evaluator with proptest) and source text that the Rust back end
//! copies into generated files, inside `mod kernels { ... }`. The rules that make that work:
//! - only `core`, no allocation, nothing outside this directory, and no `unsafe` but the x86
//!   intrinsics of [`simd`], behind a compile-time check of the target's features;
//! - a kernel file refers to another one as `super::name` and lists it in [`SOURCES`];
//! - a file's tests live after its single `#[cfg(test)]` line, which embedding cuts off;
//! - parameters are plain `Copy` structs with public fields, passed by value to
//!   `#[inline(always)]` functions: generated code builds them from literals, so once inlined into
//!   a layer's function every loop bound and stride is a constant the compiler specialises on.

pub mod activation;
pub mod arena;
pub mod conv;
pub mod einsum;
pub mod elementwise;
pub mod gemm;
pub mod int8;
pub mod layout;
pub mod math;
pub mod math64;
pub mod nhwc;
pub mod norm;
pub mod pool;
pub mod qlinear;
pub mod quant;
pub mod recurrent;
pub mod reduce;
pub mod resize;
pub mod select;
pub mod simd;
pub mod softmax;
pub mod sparse;
pub mod sparse_conv;
pub mod weights;

/// A kernel module as source text, with the kernel modules it uses.
pub struct KernelSource {
    pub name: &'static str,
    pub source: &'static str,
    pub depends_on: &'static [&'static str],
}

/// Every kernel module, in the order they are emitted.
pub const SOURCES: &[KernelSource] = &[
    KernelSource {
        name: "math",
        source: include_str!("math.rs"),
        depends_on: &[],
    },
    KernelSource {
        name: "math64",
        source: include_str!("math64.rs"),
        depends_on: &[],
    },
    KernelSource {
        name: "activation",
        source: include_str!("activation.rs"),
        depends_on: &[],
    },
    KernelSource {
        name: "arena",
        source: include_str!("arena.rs"),
        depends_on: &[],
    },
    KernelSource {
        name: "conv",
        source: include_str!("conv.rs"),
        depends_on: &["activation", "weights"],
    },
    KernelSource {
        name: "einsum",
        source: include_str!("einsum.rs"),
        depends_on: &["elementwise"],
    },
    KernelSource {
        name: "elementwise",
        source: include_str!("elementwise.rs"),
        depends_on: &["activation", "math", "math64"],
    },
    KernelSource {
        name: "gemm",
        source: include_str!("gemm.rs"),
        depends_on: &["activation", "weights"],
    },
    KernelSource {
        name: "int8",
        source: include_str!("int8.rs"),
        depends_on: &["quant", "nhwc", "simd"],
    },
    KernelSource {
        name: "layout",
        source: include_str!("layout.rs"),
        depends_on: &["elementwise"],
    },
    KernelSource {
        name: "nhwc",
        source: include_str!("nhwc.rs"),
        depends_on: &["activation", "math", "quant", "simd", "weights"],
    },
    KernelSource {
        name: "norm",
        source: include_str!("norm.rs"),
        depends_on: &["math"],
    },
    KernelSource {
        name: "pool",
        source: include_str!("pool.rs"),
        depends_on: &[],
    },
    KernelSource {
        name: "qlinear",
        source: include_str!("qlinear.rs"),
        depends_on: &["elementwise", "gemm", "math"],
    },
    KernelSource {
        name: "quant",
        source: include_str!("quant.rs"),
        depends_on: &[],
    },
    KernelSource {
        name: "recurrent",
        source: include_str!("recurrent.rs"),
        depends_on: &["math"],
    },
    KernelSource {
        name: "reduce",
        source: include_str!("reduce.rs"),
        depends_on: &["elementwise"],
    },
    KernelSource {
        name: "resize",
        source: include_str!("resize.rs"),
        depends_on: &[],
    },
    KernelSource {
        name: "select",
        source: include_str!("select.rs"),
        depends_on: &["elementwise"],
    },
    KernelSource {
        name: "simd",
        source: include_str!("simd.rs"),
        depends_on: &[],
    },
    KernelSource {
        name: "softmax",
        source: include_str!("softmax.rs"),
        depends_on: &["math", "math64"],
    },
    KernelSource {
        name: "sparse",
        source: include_str!("sparse.rs"),
        depends_on: &["gemm", "int8", "weights"],
    },
    KernelSource {
        name: "sparse_conv",
        source: include_str!("sparse_conv.rs"),
        depends_on: &["nhwc", "sparse"],
    },
    KernelSource {
        name: "weights",
        source: include_str!("weights.rs"),
        depends_on: &[],
    },
];

/// The source of a kernel module as embedded in generated code: without its tests.
pub fn embedded_source(source: &str) -> &str {
    match source.find("\n#[cfg(test)]") {
        Some(end) => source[..end].trim_end(),
        None => source.trim_end(),
    }
}

/// The kernel modules `used` need, with their dependencies, in [`SOURCES`] order.
pub fn closure(used: &[&str]) -> Vec<&'static KernelSource> {
    let mut needed: Vec<&str> = used.to_vec();
    let mut i = 0;
    while i < needed.len() {
        if let Some(k) = SOURCES.iter().find(|k| k.name == needed[i]) {
            for dep in k.depends_on {
                if !needed.contains(dep) {
                    needed.push(dep);
                }
            }
        }
        i += 1;
    }
    SOURCES
        .iter()
        .filter(|k| needed.contains(&k.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sources_have_docs_and_no_tests_or_std() {
        for k in SOURCES {
            let text = embedded_source(k.source);
            assert!(
                text.starts_with("//!"),
                "{} must start with a //! doc",
                k.name
            );
            assert!(
                !text.contains("#[cfg(test)]"),
                "{} has more than one #[cfg(test)]",
                k.name
            );
            let code: String = text
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            for forbidden in ["std::", "unsafe", "alloc::", "crate::"] {
                // The x86 intrinsics are `unsafe` to call; `simd` is where they are.
                if forbidden == "unsafe" && k.name == "simd" {
                    continue;
                }
                assert!(
                    !code.contains(forbidden),
                    "kernel {} uses `{forbidden}`",
                    k.name
                );
            }
            for dep in k.depends_on {
                assert!(
                    SOURCES.iter().any(|s| s.name == *dep),
                    "{} depends on unknown {dep}",
                    k.name
                );
            }
        }
    }

    #[test]
    fn closure_adds_dependencies() {
        let names: Vec<&str> = closure(&["softmax", "conv"])
            .iter()
            .map(|k| k.name)
            .collect();
        assert_eq!(
            names,
            vec!["math", "math64", "activation", "conv", "softmax", "weights"]
        );
    }
}

/// Helpers for the kernels' tests.
#[cfg(test)]
pub(crate) mod test_support {
    /// `n` deterministic pseudo-random values in `[-1, 1)` (SplitMix64), so that a failing case
    /// is reproduced by its seed alone.
    pub fn floats(seed: u64, n: usize) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Asserts `|actual - expected| <= tolerance * max(1, |expected|)` element by element.
    #[track_caller]
    pub fn assert_close(actual: &[f32], expected: &[f32], tolerance: f32) {
        assert_eq!(actual.len(), expected.len(), "lengths differ");
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            let ok = (a - e).abs() <= tolerance * e.abs().max(1.0)
                || (a.is_nan() && e.is_nan())
                || a == e;
            assert!(
                ok,
                "element {i}: {a} vs expected {e}\nactual:   {actual:?}\nexpected: {expected:?}"
            );
        }
    }
}
