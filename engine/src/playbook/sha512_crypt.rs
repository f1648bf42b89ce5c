//! sha512-crypt (`$6$`), the password hash of `/etc/shadow`, as glibc's
//! `crypt(3)` makes it (Ulrich Drepper's SHA-crypt), on ring's SHA-512.

use ring::digest::{Context, SHA512};

/// Rounds when none are asked for (then none are written in the hash).
const DEFAULT_ROUNDS: u32 = 5000;

/// The characters of crypt's base64.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Hashes `password` with `salt` (its first 16 characters) and `rounds`
/// (1000 to 999,999,999; 5000 by default): `$6$[rounds=N$]salt$hash`.
pub fn hash(password: &[u8], salt: &str, rounds: Option<u32>) -> String {
    let salt: String = salt.chars().take(16).collect();
    let s = salt.as_bytes();
    let p = password;
    let r = rounds.map_or(DEFAULT_ROUNDS, |r| r.clamp(1000, 999_999_999));

    let b = sha512(&[p, s, p]);
    let mut a = Context::new(&SHA512);
    a.update(p);
    a.update(s);
    repeat_into(&mut a, &b, p.len());
    let mut n = p.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(&b);
        } else {
            a.update(p);
        }
        n >>= 1;
    }
    let mut c: Vec<u8> = a.finish().as_ref().to_vec();

    let mut dp = Context::new(&SHA512);
    for _ in 0..p.len() {
        dp.update(p);
    }
    let p_seq = cycle(dp.finish().as_ref(), p.len());
    let mut ds = Context::new(&SHA512);
    for _ in 0..16 + usize::from(c[0]) {
        ds.update(s);
    }
    let s_seq = cycle(ds.finish().as_ref(), s.len());

    for i in 0..r {
        let mut round = Context::new(&SHA512);
        if i & 1 == 1 {
            round.update(&p_seq);
        } else {
            round.update(&c);
        }
        if i % 3 != 0 {
            round.update(&s_seq);
        }
        if i % 7 != 0 {
            round.update(&p_seq);
        }
        if i & 1 == 1 {
            round.update(&c);
        } else {
            round.update(&p_seq);
        }
        c = round.finish().as_ref().to_vec();
    }

    let mut out = String::from("$6$");
    if rounds.is_some() {
        out.push_str(&format!("rounds={r}$"));
    }
    out.push_str(&salt);
    out.push('$');
    const ORDER: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    for (x, y, z) in ORDER {
        encode24(&mut out, c[x], c[y], c[z], 4);
    }
    encode24(&mut out, 0, 0, c[63], 2);
    out
}

fn sha512(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = Context::new(&SHA512);
    for part in parts {
        ctx.update(part);
    }
    ctx.finish().as_ref().to_vec()
}

/// Adds `len` bytes of `block` repeated.
fn repeat_into(ctx: &mut Context, block: &[u8], len: usize) {
    let mut left = len;
    while left > 0 {
        let take = left.min(block.len());
        ctx.update(&block[..take]);
        left -= take;
    }
}

/// `len` bytes of `block` repeated.
fn cycle(block: &[u8], len: usize) -> Vec<u8> {
    block.iter().copied().cycle().take(len).collect()
}

fn encode24(out: &mut String, b2: u8, b1: u8, b0: u8, n: usize) {
    let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
    for _ in 0..n {
        out.push(ITOA64[(w & 0x3f) as usize] as char);
        w >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_vectors_of_the_sha_crypt_specification() {
        assert_eq!(
            hash(b"Hello world!", "saltstring", None),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            hash(b"Hello world!", "saltstringsaltstring", Some(10000)),
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
        );
    }
}
