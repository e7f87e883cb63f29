//! Hand-vectorised int8 dot products for x86-64 with AVX2, where the portable loops of the
//! other kernels do not vectorise well: the compiler widens int8 to 32-bit lanes and multiplies
//! eight at a time (`VPMULLD`), where AVX2 multiplies sixteen 16-bit pairs and adds neighbours
//! in one instruction (`VPMADDWD`), exactly (`|x · w| ≤ 2^14`, a pair's sum fits in 32 bits);
//! and the one-multiply requantization of four accumulators at once, in 64-bit lanes.
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

/// Adds to `acc` the eight dot products of two input vectors `a`, `b` with four weight vectors
/// `w` (all of one length): `[a·w0, a·w1, a·w2, a·w3, b·w0, b·w1, b·w2, b·w3]`. `false`
/// without a fast path.
#[inline(always)]
pub fn dot_2x4(acc: &mut [i32; 8], a: &[i8], b: &[i8], w: [&[i8]; 4]) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        // SAFETY: compiled only when AVX2 is enabled for the target (the `cfg` above).
        unsafe { avx2::dot_2x4(acc, a, b, w) };
        true
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let _ = (acc, a, b, w);
        false
    }
}

/// [`super::quant::requantize_rounded`] of four accumulators, each with its own multiplier
/// and shift (the other parameters shared), in one register; `None` without a fast path.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn requantize_rounded_4(
    acc: [i32; 4],
    multipliers: [i32; 4],
    shifts: [i32; 4],
    zero_point: i32,
    rounding_base: i64,
    negative_rounding: i64,
    min: i32,
    max: i32,
) -> Option<[i32; 4]> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        // SAFETY: compiled only when AVX2 is enabled for the target (the `cfg` above).
        Some(unsafe {
            avx2::requantize_rounded_4(
                acc,
                multipliers,
                shifts,
                zero_point,
                rounding_base,
                negative_rounding,
                min,
                max,
            )
        })
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let _ = (acc, multipliers, shifts, zero_point);
        let _ = (rounding_base, negative_rounding, min, max);
        None
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod avx2 {
    use core::arch::x86_64::*;

    /// [`super::requantize_rounded_4`]: the four products and rounding terms in the 64-bit
    /// lanes of one register, their high words gathered, each shifted right by its own count,
    /// and clamped.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn requantize_rounded_4(
        acc: [i32; 4],
        multipliers: [i32; 4],
        shifts: [i32; 4],
        zero_point: i32,
        rounding_base: i64,
        negative_rounding: i64,
        min: i32,
        max: i32,
    ) -> [i32; 4] {
        let mut out = [0i32; 4];
        unsafe {
            // Built from the values rather than loaded: four narrow stores read back as one
            // wide load would stall the store forwarding.
            let set = |v: [i32; 4]| _mm_setr_epi32(v[0], v[1], v[2], v[3]);
            let (a, m, s) = (set(acc), set(multipliers), set(shifts));
            let a64 = _mm256_cvtepi32_epi64(a);
            let product = _mm256_mul_epi32(a64, _mm256_cvtepi32_epi64(m));
            // rounding_base + (2 · zero_point + 1) << (30 − shift) in each lane, plus
            // negative_rounding where the accumulator is negative.
            let left = _mm256_cvtepi32_epi64(_mm_sub_epi32(_mm_set1_epi32(30), s));
            let rounding = _mm256_add_epi64(
                _mm256_set1_epi64x(rounding_base),
                _mm256_sllv_epi64(_mm256_set1_epi64x(2 * zero_point as i64 + 1), left),
            );
            let negative = _mm256_and_si256(
                _mm256_cmpgt_epi64(_mm256_setzero_si256(), a64),
                _mm256_set1_epi64x(negative_rounding),
            );
            let v = _mm256_add_epi64(_mm256_add_epi64(product, rounding), negative);
            // The high word of each 64-bit lane (32-bit elements 1, 3, 5 and 7), shifted right
            // by !shift = −shift − 1.
            let high = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(
                v,
                _mm256_setr_epi32(1, 3, 5, 7, 1, 3, 5, 7),
            ));
            let r = _mm_srav_epi32(high, _mm_sub_epi32(_mm_set1_epi32(-1), s));
            let r =
                _mm_max_epi32(_mm_min_epi32(r, _mm_set1_epi32(max)), _mm_set1_epi32(min));
            _mm_storeu_si128(out.as_mut_ptr().cast(), r);
        }
        out
    }

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

    /// [`super::dot_2x4`]: sixteen values a step in 256-bit registers, each input widened once
    /// for four weight vectors, then eight in the low halves, then the last few one by one.
    /// The eight sums are gathered without a horizontal sum each: two rounds of `VPHADDD` give
    /// one register per input whose two halves add to its four sums.
    #[inline(always)]
    pub unsafe fn dot_2x4(acc: &mut [i32; 8], a: &[i8], b: &[i8], w: [&[i8]; 4]) {
        let n = w.iter().fold(a.len().min(b.len()), |n, w| n.min(w.len()));
        let (a, b, w) = (&a[..n], &b[..n], w.map(|w| &w[..n]));
        let mut done = n - n % 16;
        let mut s = [unsafe { _mm256_setzero_si256() }; 8];
        unsafe {
            let mut i = 0;
            while i < done {
                let (xa, xb) = (widen_16(&a[i..]), widen_16(&b[i..]));
                for j in 0..4 {
                    let wj = widen_16(&w[j][i..]);
                    s[j] = _mm256_add_epi32(s[j], _mm256_madd_epi16(xa, wj));
                    s[4 + j] = _mm256_add_epi32(s[4 + j], _mm256_madd_epi16(xb, wj));
                }
                i += 16;
            }
            if n - done >= 8 {
                let (xa, xb) = (widen_8(&a[done..]), widen_8(&b[done..]));
                for j in 0..4 {
                    let wj = widen_8(&w[j][done..]);
                    let (pa, pb) = (_mm_madd_epi16(xa, wj), _mm_madd_epi16(xb, wj));
                    s[j] = _mm256_add_epi32(s[j], _mm256_zextsi128_si256(pa));
                    s[4 + j] = _mm256_add_epi32(s[4 + j], _mm256_zextsi128_si256(pb));
                }
                done += 8;
            }
            // [x0, x1, y0, y1 | x2, x3, y2, y3] pairs, then [s0, s1, s2, s3 | s0', …]: the two
            // halves of the second round add to the four sums.
            let gather = |s: &[__m256i]| {
                let q = _mm256_hadd_epi32(
                    _mm256_hadd_epi32(s[0], s[1]),
                    _mm256_hadd_epi32(s[2], s[3]),
                );
                halves(q)
            };
            let mut sums = [0i32; 8];
            _mm_storeu_si128(sums.as_mut_ptr().cast(), gather(&s[..4]));
            _mm_storeu_si128(sums[4..].as_mut_ptr().cast(), gather(&s[4..]));
            for (acc, s) in acc.iter_mut().zip(sums) {
                *acc += s;
            }
        }
        for i in done..n {
            let (xa, xb) = (a[i] as i32, b[i] as i32);
            for j in 0..4 {
                acc[j] += xa * w[j][i] as i32;
                acc[4 + j] += xb * w[j][i] as i32;
            }
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
        /// The four-lane requantization is the scalar one, lane by lane, over the parameters
        /// the one-multiply form takes (shifts in -22..=-2) and any accumulator.
        #[test]
        fn fast_requantization_is_the_scalar_one(
            acc in proptest::array::uniform4(any::<i32>()),
            multipliers in proptest::array::uniform4(1i32 << 30..=i32::MAX),
            shifts in proptest::array::uniform4(-22i32..=-2),
            zero_point in -256i32..=255,
            rounding_base in -(1i64 << 40)..(1i64 << 40),
            negative_rounding in prop_oneof![Just(0i64), Just(-1), Just(-(1i64 << 31))],
            min in -200i32..=0,
            span in 0i32..=400,
        ) {
            let max = min + span;
            let fast = super::requantize_rounded_4(
                acc, multipliers, shifts, zero_point, rounding_base, negative_rounding, min, max,
            );
            let plain: Vec<i32> = (0..4)
                .map(|i| {
                    crate::kernels::quant::requantize_rounded(
                        acc[i],
                        multipliers[i],
                        shifts[i],
                        zero_point,
                        rounding_base,
                        negative_rounding,
                        min,
                        max,
                    )
                })
                .collect();
            prop_assert_eq!(fast.map(|r| r.to_vec()), Some(plain));
        }

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
            let mut acc8 = [0, 1, 2, 3, 4, 5, 6, 7].map(|i| start[i % 4] - i as i32);
            let w = [u, v, a, b];
            let expected: Vec<i32> = (0..8)
                .map(|i| acc8[i] + dot(if i < 4 { a } else { b }, w[i % 4]))
                .collect();
            prop_assert!(super::dot_2x4(&mut acc8, a, b, w));
            prop_assert_eq!(acc8.to_vec(), expected);
            let mut acc = [start[0], start[1]];
            prop_assert!(super::dot_1x2(&mut acc, a, u, v));
            prop_assert_eq!(acc, [start[0] + dot(a, u), start[1] + dot(a, v)]);
        }
    }
}
