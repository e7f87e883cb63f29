//! Hand-vectorised int8 dot products for x86-64 with AVX2, where the portable loops of the
//! other kernels do not vectorise well: the compiler widens int8 to 32-bit lanes and multiplies
//! eight at a time (`VPMULLD`), where AVX2 multiplies sixteen 16-bit pairs and adds neighbours
//! in one instruction (`VPMADDWD`), exactly (`|x · w| ≤ 2^14`, a pair's sum fits in 32 bits).
//!
//! Each function returns `false` when there is no fast path for the target, so that the caller
//! runs its portable loop; the check is at compile time (`cfg(target_feature = "avx2")`, as
//! `-C target-cpu=native` or `-C target-feature=+avx2` on an AVX2 machine sets it), so on other
//! targets the call folds away. The only `unsafe` is the intrinsics' own: they may only run on
//! a CPU with AVX2, which the `cfg` guarantees, and every load reads a chunk of a slice whose
//! length was checked.

/// Adds to `acc` the four dot products of two input vectors `a`, `b` with two weight vectors
/// `u`, `v` (all of one length): `[a·u, a·v, b·u, b·v]`. `false` without a fast path.
#[inline(always)]
pub fn dot_2x2(acc: &mut [i32; 4], a: &[i8], b: &[i8], u: &[i8], v: &[i8]) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        // SAFETY: compiled only when AVX2 is enabled for the target (the `cfg` above).
        unsafe { avx2::dot_2x2(acc, a, b, u, v) };
        true
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let _ = (acc, a, b, u, v);
        false
    }
}

/// Adds to `acc` the two dot products of an input vector `a` with two weight vectors `u`, `v`
/// (all of one length): `[a·u, a·v]`. `false` without a fast path.
#[inline(always)]
pub fn dot_1x2(acc: &mut [i32; 2], a: &[i8], u: &[i8], v: &[i8]) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        // SAFETY: compiled only when AVX2 is enabled for the target (the `cfg` above).
        unsafe { avx2::dot_1x2(acc, a, u, v) };
        true
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let _ = (acc, a, u, v);
        false
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod avx2 {
    use core::arch::x86_64::*;

    /// The first 16 values of `s` (at least 16 long) sign-extended to 16-bit lanes.
    #[inline(always)]
    unsafe fn widen_16(s: &[i8]) -> __m256i {
        let s = &s[..16];
        unsafe { _mm256_cvtepi8_epi16(_mm_loadu_si128(s.as_ptr().cast())) }
    }

    /// The first 8 values of `s` (at least 8 long) sign-extended to 16-bit lanes.
    #[inline(always)]
    unsafe fn widen_8(s: &[i8]) -> __m128i {
        let s = &s[..8];
        unsafe { _mm_cvtepi8_epi16(_mm_loadl_epi64(s.as_ptr().cast())) }
    }

    /// The four 32-bit lanes of the sum of the two halves of `s`.
    #[inline(always)]
    unsafe fn halves(s: __m256i) -> __m128i {
        unsafe {
            _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s))
        }
    }

    /// The horizontal sums of `t[0..4]`, added to `acc`.
    #[inline(always)]
    unsafe fn add_sums(acc: &mut [i32; 4], t: [__m128i; 4]) {
        let mut sums = [0i32; 4];
        unsafe {
            let s = _mm_hadd_epi32(_mm_hadd_epi32(t[0], t[1]), _mm_hadd_epi32(t[2], t[3]));
            _mm_storeu_si128(sums.as_mut_ptr().cast(), s);
        }
        for (a, s) in acc.iter_mut().zip(sums) {
            *a += s;
        }
    }

    /// [`super::dot_2x2`]: sixteen values a step in 256-bit registers, then eight in 128-bit
    /// ones, then the last few one by one.
    #[inline(always)]
    pub unsafe fn dot_2x2(acc: &mut [i32; 4], a: &[i8], b: &[i8], u: &[i8], v: &[i8]) {
        let n = a.len().min(b.len()).min(u.len()).min(v.len());
        let (a, b, u, v) = (&a[..n], &b[..n], &u[..n], &v[..n]);
        let mut done = n - n % 16;
        let mut t = unsafe {
            let mut s = [_mm256_setzero_si256(); 4];
            let mut i = 0;
            while i < done {
                let (xa, xb) = (widen_16(&a[i..]), widen_16(&b[i..]));
                let (wu, wv) = (widen_16(&u[i..]), widen_16(&v[i..]));
                s[0] = _mm256_add_epi32(s[0], _mm256_madd_epi16(xa, wu));
                s[1] = _mm256_add_epi32(s[1], _mm256_madd_epi16(xa, wv));
                s[2] = _mm256_add_epi32(s[2], _mm256_madd_epi16(xb, wu));
                s[3] = _mm256_add_epi32(s[3], _mm256_madd_epi16(xb, wv));
                i += 16;
            }
            [halves(s[0]), halves(s[1]), halves(s[2]), halves(s[3])]
        };
        if n - done >= 8 {
            unsafe {
                let (xa, xb) = (widen_8(&a[done..]), widen_8(&b[done..]));
                let (wu, wv) = (widen_8(&u[done..]), widen_8(&v[done..]));
                t[0] = _mm_add_epi32(t[0], _mm_madd_epi16(xa, wu));
                t[1] = _mm_add_epi32(t[1], _mm_madd_epi16(xa, wv));
                t[2] = _mm_add_epi32(t[2], _mm_madd_epi16(xb, wu));
                t[3] = _mm_add_epi32(t[3], _mm_madd_epi16(xb, wv));
            }
            done += 8;
        }
        unsafe { add_sums(acc, t) };
        for i in done..n {
            let (a, b, u, v) = (a[i] as i32, b[i] as i32, u[i] as i32, v[i] as i32);
            acc[0] += a * u;
            acc[1] += a * v;
            acc[2] += b * u;
            acc[3] += b * v;
        }
    }

    /// [`super::dot_1x2`], as [`dot_2x2`].
    #[inline(always)]
    pub unsafe fn dot_1x2(acc: &mut [i32; 2], a: &[i8], u: &[i8], v: &[i8]) {
        let n = a.len().min(u.len()).min(v.len());
        let (a, u, v) = (&a[..n], &u[..n], &v[..n]);
        let mut done = n - n % 16;
        let mut t = unsafe {
            let mut s = [_mm256_setzero_si256(); 2];
            let mut i = 0;
            while i < done {
                let (xa, wu, wv) =
                    (widen_16(&a[i..]), widen_16(&u[i..]), widen_16(&v[i..]));
                s[0] = _mm256_add_epi32(s[0], _mm256_madd_epi16(xa, wu));
                s[1] = _mm256_add_epi32(s[1], _mm256_madd_epi16(xa, wv));
                i += 16;
            }
            [
                halves(s[0]),
                halves(s[1]),
                _mm_setzero_si128(),
                _mm_setzero_si128(),
            ]
        };
        if n - done >= 8 {
            unsafe {
                let (xa, wu, wv) = (
                    widen_8(&a[done..]),
                    widen_8(&u[done..]),
                    widen_8(&v[done..]),
                );
                t[0] = _mm_add_epi32(t[0], _mm_madd_epi16(xa, wu));
                t[1] = _mm_add_epi32(t[1], _mm_madd_epi16(xa, wv));
            }
            done += 8;
        }
        let mut sums = [acc[0], acc[1], 0, 0];
        unsafe { add_sums(&mut sums, t) };
        acc[0] = sums[0];
        acc[1] = sums[1];
        for i in done..n {
            let a = a[i] as i32;
            acc[0] += a * u[i] as i32;
            acc[1] += a * v[i] as i32;
        }
    }
}

#[cfg(test)]
// Built only where the fast paths exist (`RUSTFLAGS="-C target-feature=+avx2"` on an AVX2
// machine, as CI does for this module); `tests/tests/tflite_models.rs` also runs the MLPerf
// Tiny int8 models' generated code built for AVX2.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod tests {
    use proptest::prelude::*;

    fn dot(a: &[i8], w: &[i8]) -> i32 {
        a.iter().zip(w).map(|(&a, &w)| a as i32 * w as i32).sum()
    }

    proptest! {
        /// The fast paths give the plain sums, for lengths that leave every count of values
        /// after the 16- and 8-value steps.
        #[test]
        fn fast_dot_products_are_the_plain_ones(
            values in proptest::collection::vec(any::<i8>(), 4 * 70),
            n in 0usize..70,
            start in proptest::collection::vec(-1000i32..1000, 4),
        ) {
            let part = |k: usize| &values[k * 70..][..n];
            let (a, b, u, v) = (part(0), part(1), part(2), part(3));
            let mut acc = [start[0], start[1], start[2], start[3]];
            prop_assert!(super::dot_2x2(&mut acc, a, b, u, v));
            prop_assert_eq!(
                acc,
                [
                    start[0] + dot(a, u),
                    start[1] + dot(a, v),
                    start[2] + dot(b, u),
                    start[3] + dot(b, v),
                ]
            );
            let mut acc = [start[0], start[1]];
            prop_assert!(super::dot_1x2(&mut acc, a, u, v));
            prop_assert_eq!(acc, [start[0] + dot(a, u), start[1] + dot(a, v)]);
        }
    }
}
