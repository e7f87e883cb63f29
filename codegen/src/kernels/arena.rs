//! Safe access to several disjoint parts of one arena at once.
//!
//! The memory planner places a node's inputs and its output at ranges that do not overlap;
//! `split1`, `split2` and `split3` turn that fact into borrows the compiler accepts, with `split_at_mut` instead of
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
    #[should_panic(expected = "overlaps")]
    fn refuses_overlap() {
        let mut arena = [0u8; 8];
        let _ = split1(&mut arena, 2..5, 4..6);
    }
}
