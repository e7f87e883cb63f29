//! Safe access to several disjoint parts of one arena at once.
//!
//! The memory planner places a node's inputs and its output at ranges that do not overlap;
//! `split1` to `split8` turn that fact into borrows the compiler accepts, with `split_at_mut` instead of
//! `unsafe` pointer arithmetic. The bounds checks run once per layer, not per element.

use core::ops::Range;

/// Borrows `output` mutably from `arena` and returns the parts before and after it.
#[inline(always)]
fn around<T>(arena: &mut [T], output: Range<usize>) -> (&[T], &mut [T], &[T], usize) {
    let (before, rest) = arena.split_at_mut(output.start);
    let (out, after) = rest.split_at_mut(output.end - output.start);
    (before, out, after, output.end)
}

/// The input range `r` from the parts around an output that ends at `end`.
#[inline(always)]
fn input<'a, T>(before: &'a [T], after: &'a [T], end: usize, r: Range<usize>) -> &'a [T] {
    if r.end <= before.len() {
        &before[r]
    } else {
        assert!(r.start >= end, "an input overlaps the output");
        &after[r.start - end..r.end - end]
    }
}

/// One input and the output, from one arena.
#[inline(always)]
pub fn split1<T>(arena: &mut [T], x: Range<usize>, y: Range<usize>) -> (&[T], &mut [T]) {
    let (before, out, after, end) = around(arena, y);
    (input(before, after, end, x), out)
}

/// Two inputs and the output, from one arena.
#[inline(always)]
pub fn split2<T>(
    arena: &mut [T],
    x0: Range<usize>,
    x1: Range<usize>,
    y: Range<usize>,
) -> (&[T], &[T], &mut [T]) {
    let (before, out, after, end) = around(arena, y);
    (
        input(before, after, end, x0),
        input(before, after, end, x1),
        out,
    )
}

/// Three inputs and the output, from one arena.
#[inline(always)]
pub fn split3<T>(
    arena: &mut [T],
    x0: Range<usize>,
    x1: Range<usize>,
    x2: Range<usize>,
    y: Range<usize>,
) -> (&[T], &[T], &[T], &mut [T]) {
    let (before, out, after, end) = around(arena, y);
    let (a, b, c) = (
        input(before, after, end, x0),
        input(before, after, end, x1),
        input(before, after, end, x2),
    );
    (a, b, c, out)
}

/// Declares `splitN`: `N` inputs and the output, from one arena (the recurrent ops read up to
/// eight run-time tensors).
macro_rules! split_n {
    ($(#[$doc:meta])* $name:ident, $($x:ident: $t:ident),+) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        #[inline(always)]
        pub fn $name<T>(
            arena: &mut [T],
            $($x: Range<usize>,)+
            y: Range<usize>,
        ) -> ($(&[$t],)+ &mut [T]) {
            let (before, out, after, end) = around(arena, y);
            ($(input(before, after, end, $x),)+ out)
        }
    };
}

split_n!(
    /// Four inputs and the output, from one arena.
    split4, x0: T, x1: T, x2: T, x3: T
);
split_n!(
    /// Five inputs and the output, from one arena.
    split5, x0: T, x1: T, x2: T, x3: T, x4: T
);
split_n!(
    /// Six inputs and the output, from one arena.
    split6, x0: T, x1: T, x2: T, x3: T, x4: T, x5: T
);
split_n!(
    /// Seven inputs and the output, from one arena.
    split7, x0: T, x1: T, x2: T, x3: T, x4: T, x5: T, x6: T
);
split_n!(
    /// Eight inputs and the output, from one arena.
    split8, x0: T, x1: T, x2: T, x3: T, x4: T, x5: T, x6: T, x7: T
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_around_the_output() {
        let mut arena: Vec<u32> = (0..10).collect();
        let (a, b, out) = split2(&mut arena, 0..2, 7..10, 3..6);
        assert_eq!((a, b), (&[0, 1][..], &[7, 8, 9][..]));
        out.copy_from_slice(&[30, 40, 50]);
        assert_eq!(arena[3..6], [30, 40, 50]);
    }

    #[test]
    fn splits_eight_inputs_around_the_output() {
        let mut arena: Vec<u32> = (0..20).collect();
        let (a, b, c, d, e, f, g, h, out) = split8(
            &mut arena,
            0..1,
            1..2,
            2..3,
            3..4,
            14..15,
            15..16,
            16..18,
            18..20,
            5..8,
        );
        assert_eq!(
            [a, b, c, d, e, f, g, h],
            [
                &[0][..],
                &[1],
                &[2],
                &[3],
                &[14],
                &[15],
                &[16, 17],
                &[18, 19]
            ]
        );
        out.copy_from_slice(&[50, 60, 70]);
        assert_eq!(arena[5..8], [50, 60, 70]);
        let (a, b, c, d, out) = split4(&mut arena, 0..1, 1..2, 9..10, 10..12, 2..4);
        assert_eq!([a, b, c, d], [&[0][..], &[1], &[9], &[10, 11]]);
        out.fill(0);
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn refuses_overlap() {
        let mut arena = [0u8; 8];
        let _ = split1(&mut arena, 2..5, 4..6);
    }
}
