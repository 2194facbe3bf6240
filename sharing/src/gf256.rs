//! Arithmetic in GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11B).
//!
//! Every operation runs in constant time: no table is indexed and no branch is taken on
//! an operand, so share bytes and coefficients cannot leak through the cache or the branch
//! predictor. Addition and subtraction are both XOR; multiplication is shift-and-add with
//! masks; the inverse is `a^254` (Fermat: `a^255 = 1` for `a != 0`), which maps 0 to 0.

/// The low byte of the reduction polynomial 0x11B (the x^8 term is implied).
const REDUCTION: u8 = 0x1B;

/// `a + b` (and `a - b`: the same thing in characteristic 2).
#[inline]
pub const fn add(a: u8, b: u8) -> u8 {
    a ^ b
}

/// `a · b`, in constant time.
#[inline]
pub const fn mul(a: u8, b: u8) -> u8 {
    let mut a = a;
    let mut b = b;
    let mut product = 0u8;
    let mut i = 0;
    while i < 8 {
        // Add `a` when the low bit of `b` is set: the mask is 0x00 or 0xFF.
        product ^= a & (b & 1).wrapping_neg();
        // Multiply `a` by x, reducing when the x^7 term overflows.
        let overflow = (a >> 7).wrapping_neg();
        a = (a << 1) ^ (REDUCTION & overflow);
        b >>= 1;
        i += 1;
    }
    product
}

/// `a^-1`, computed as `a^254` with a fixed chain of squarings and multiplications;
/// `inv(0) = 0`.
pub const fn inv(a: u8) -> u8 {
    // 254 = 0b1111_1110: a^254 = a^2 · a^4 · a^8 · ... · a^128.
    let mut square = mul(a, a); // a^2
    let mut result = square;
    let mut i = 0;
    while i < 6 {
        square = mul(square, square); // a^4, a^8, ..., a^128
        result = mul(result, square);
        i += 1;
    }
    result
}

/// `a / b`; dividing by zero yields zero (callers never divide by zero: denominators are
/// differences of distinct x-coordinates).
#[inline]
pub const fn div(a: u8, b: u8) -> u8 {
    mul(a, inv(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Multiplication the slow, obviously-correct way: carry-less product, then reduction
    /// by long division with 0x11B.
    fn reference_mul(a: u8, b: u8) -> u8 {
        let mut wide = 0u16;
        for bit in 0..8 {
            if b >> bit & 1 == 1 {
                wide ^= u16::from(a) << bit;
            }
        }
        for bit in (8..16).rev() {
            if wide >> bit & 1 == 1 {
                wide ^= 0x11B << (bit - 8);
            }
        }
        u8::try_from(wide).unwrap_or_default()
    }

    #[test]
    fn known_values() {
        assert_eq!(mul(3, 7), 9);
        assert_eq!(div(6, 3), 2);
        assert_eq!(add(6, 3), 5);
        // FIPS-197 §4.2: {57} · {83} = {c1}, {57} · {13} = {fe}.
        assert_eq!(mul(0x57, 0x83), 0xC1);
        assert_eq!(mul(0x57, 0x13), 0xFE);
        // FIPS-197 §5.1.1: the inverse of {53} is {ca}.
        assert_eq!(inv(0x53), 0xCA);
        assert_eq!(inv(0), 0);
        assert_eq!(inv(1), 1);
    }

    #[test]
    fn matches_reference_for_every_pair() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), reference_mul(a, b), "{a} · {b}");
            }
        }
    }

    #[test]
    fn every_nonzero_element_has_an_inverse() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "{a}");
            for b in 1..=255u8 {
                assert_eq!(mul(div(a, b), b), a);
            }
        }
    }

    #[test]
    fn field_laws() {
        for a in 0..=255u8 {
            for b in [0u8, 1, 2, 3, 0x53, 0x80, 0xFF] {
                assert_eq!(mul(a, b), mul(b, a));
                for c in [1u8, 7, 0xCA] {
                    assert_eq!(mul(a, add(b, c)), add(mul(a, b), mul(a, c)));
                    assert_eq!(mul(mul(a, b), c), mul(a, mul(b, c)));
                }
            }
        }
    }
}
