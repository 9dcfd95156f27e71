//! Chunk reassembly: a client-side session cut across `NAME.0 … NAME.k`
//! by the crate's own plan, then reordered, dropped, repeated, renumbered,
//! mixed with the chunks of a second sealing, re-cut or altered, among
//! arbitrary other cookies.
//!
//! ```text
//! byte 0   bits 0-1  the cookie name: `id`, `__Host-session`, 100 × `n`, `id`
//!          bits 2-7  the plaintext's length: 3072 + 256 × this
//! byte 1   bits 0-1  the size limit: the plan's size, one byte less, 8 KB,
//!                    no limit
//!          bits 2-3  the chunks' layout: one field in index order, one field
//!                    reversed, a field each, one field with the dot of each
//!                    name percent-encoded
//!          bit 4     the other cookies go after the chunks
//! u16 LE + bytes     other `Cookie` header fields, one per line (`\n`)
//! u16 LE + bytes     edits, two bytes each (see `edit`)
//! the rest           the plaintext, repeated to its length (zeros if empty)
//! ```

use std::collections::BTreeMap;

use tower_cookie_sessions::envelope::MAX_COOKIE_SIZE;
use tower_cookie_sessions::fuzzing::{
    chunk_values, join_chunks, open_within, plan_chunks, seal_as, values_named_or_under,
    ChunkRefusal, JoinedChunks, Purpose, DEFAULT_MAX_COOKIE_SIZE, MAX_COOKIE_CHUNKS,
};

use super::fuzz_key_ring;
use super::input::Reader;

/// The names a session's chunks are tried under: the default, a prefixed
/// one, and one long enough to leave each chunk noticeably less room.
const NAMES: [&str; 3] = ["id", "__Host-session", LONG_NAME];
const LONG_NAME: &str = "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn";

/// Seals a plaintext made from `data` with [`fuzz_key_ring`], cuts it into
/// chunks the way the session layer does, and joins them back as the layer
/// does, after the edits and among the other cookies `data` asks for
/// (laid out in this module's source).
///
/// Asserts that:
///
/// - the plan cuts every chunk within one cookie, none empty, their sizes
///   adding up to the plan's, and the unedited chunks join to the sealed
///   text, which opens to the plaintext (a round trip);
/// - whatever the edits and other cookies, chunk reassembly (the layer's
///   `join_chunks`) answers what a model written from its rules answers:
///   a chunk name seen twice is refused, and a join is exactly chunk 0
///   without its count followed by chunks 1 to count − 1, in index order;
/// - what joins opens if and only if it is one of the two sealed texts,
///   whole (so a chunk moved, dropped, repeated, or mixed in from the
///   second sealing never opens), and then opens to the plaintext.
///
/// # Panics
///
/// When one of those does not hold: a finding.
///
/// # Examples
///
/// ```
/// // A 3072-byte session named `id`, its chunks in order, an unrelated
/// // cookie, and one edit: swap chunks 0 and 1.
/// let others = b"theme=dark";
/// let mut input = vec![0, 0];
/// input.extend_from_slice(&(others.len() as u16).to_le_bytes());
/// input.extend_from_slice(others);
/// input.extend_from_slice(&2u16.to_le_bytes());
/// input.extend_from_slice(&[0, 0]);
/// input.extend_from_slice(b"a session");
/// fuzz_harness::chunks(&input);
/// ```
pub fn chunks(data: &[u8]) {
    let mut input = Reader::new(data);
    let shape = input.byte();
    let setting = input.byte();
    let others = input.sized();
    let edits = input.sized();
    let seed = input.rest();

    let name = NAMES[usize::from(shape & 0b11) % NAMES.len()];
    let plaintext = plaintext_of(seed, MIN_PLAINTEXT + 256 * usize::from(shape >> 2));
    let sealed = seal_as(fuzz_key_ring(), Purpose::Session, name, &plaintext);
    let (cut, size) = round_trip(name, &sealed, &plaintext);

    // The same plaintext sealed again: same length, same cut, another
    // nonce, so its chunks fit in place of the first's, and must not open.
    let other = seal_as(fuzz_key_ring(), Purpose::Session, name, &plaintext);
    let other_cut =
        chunk_values(name.len(), other.as_bytes()).expect("the same length cuts the same");

    let mut chunks: Vec<(String, Vec<u8>)> = cut
        .into_iter()
        .enumerate()
        .map(|(index, value)| (index.to_string(), value))
        .collect();
    for pair in edits.chunks_exact(2) {
        edit(&mut chunks, &other_cut, pair[0], pair[1]);
    }

    let limit = match setting & 0b11 {
        0 => size,
        1 => size - 1,
        2 => DEFAULT_MAX_COOKIE_SIZE,
        _ => usize::MAX,
    };
    let fields = header(
        name,
        &chunks,
        setting >> 2 & 0b11,
        others,
        setting & 0x10 != 0,
    );
    let pairs: Vec<(Option<Vec<u8>>, Vec<u8>)> = fields
        .iter()
        .flat_map(|field| values_named_or_under(field, name))
        .collect();

    let joined = join_chunks(name, pairs.iter().map(|(s, v)| (s.as_ref(), v)), limit);
    assert_eq!(joined, model_join(name, &pairs, limit), "{pairs:?}");
    let Ok(joined) = joined else {
        return;
    };
    let opened = open_within(fuzz_key_ring(), Purpose::Session, name, &joined.text, limit);
    match opened {
        Ok(opened) => {
            assert!(
                joined.text == sealed.as_bytes() || joined.text == other.as_bytes(),
                "chunks that are neither sealed text opened"
            );
            assert_eq!(
                opened.plaintext, plaintext,
                "the chunks opened to another plaintext"
            );
        }
        Err(error) => assert!(
            joined.text != sealed.as_bytes() && joined.text != other.as_bytes(),
            "a sealed text, joined, does not open: {error}"
        ),
    }
}

/// The shortest plaintext made here: its sealed text is over one cookie
/// for every name, as the layer only cuts such texts.
const MIN_PLAINTEXT: usize = 3072;

/// `seed` repeated to `len` bytes; zeros if it is empty.
fn plaintext_of(seed: &[u8], len: usize) -> Vec<u8> {
    if seed.is_empty() {
        return vec![0; len];
    }
    seed.iter().copied().cycle().take(len).collect()
}

/// Cuts `sealed` as the layer does and checks the cut: every chunk within
/// one cookie and carrying text, all of them the plan's size, joined back
/// to `sealed`, which opens to `plaintext`. The chunk values, and their
/// size with their names.
fn round_trip(name: &str, sealed: &str, plaintext: &[u8]) -> (Vec<Vec<u8>>, usize) {
    assert!(
        name.len() + sealed.len() > MAX_COOKIE_SIZE,
        "the layer cuts only what does not fit"
    );
    let plan =
        plan_chunks(name.len(), sealed.len()).expect("the plaintexts made here fit in 50 cookies");
    let cut = chunk_values(name.len(), sealed.as_bytes()).expect("planned");
    assert_eq!(cut.len(), plan.count);
    let mut size = 0;
    for (index, value) in cut.iter().enumerate() {
        let cookie = name.len() + 1 + index.to_string().len() + value.len();
        assert!(cookie <= MAX_COOKIE_SIZE, "chunk {index} is {cookie} bytes");
        let text = if index == 0 {
            &value[value.iter().position(|&b| b == b'.').expect("a count") + 1..]
        } else {
            &value[..]
        };
        assert!(!text.is_empty(), "chunk {index} carries no text");
        size += cookie;
    }
    assert_eq!(size, plan.size);
    let joined = join_chunks(
        name,
        cut.iter()
            .enumerate()
            .map(|(index, value)| (Some(index.to_string()), value)),
        plan.size,
    )
    .expect("a correct cut joins");
    assert_eq!(
        (joined.count, &joined.text[..]),
        (plan.count, sealed.as_bytes())
    );
    let opened = open_within(
        fuzz_key_ring(),
        Purpose::Session,
        name,
        &joined.text,
        plan.size,
    )
    .expect("a correct cut opens");
    assert_eq!(opened.plaintext, plaintext);
    (cut, plan.size)
}

/// One edit of the chunk cookies (name suffix, value), by `op`, at the
/// chunk `arg` picks.
fn edit(chunks: &mut Vec<(String, Vec<u8>)>, other: &[Vec<u8>], op: u8, arg: u8) {
    let n = chunks.len();
    let i = usize::from(arg) % n.max(1);
    let small = usize::from(arg >> 4);
    match op % 12 {
        // Another chunk's index: not a chunk (`07`, `50`), or one above
        // the count, which is skipped.
        8 => chunks.push(((n + small).to_string(), b"stale".to_vec())),
        _ if n == 0 => {}
        0 => {
            let j = (i + 1) % n;
            let (a, b) = (chunks[i].1.clone(), chunks[j].1.clone());
            chunks[i].1 = b;
            chunks[j].1 = a;
        }
        1 => {
            chunks.remove(i);
        }
        2 => chunks.push(chunks[i].clone()),
        3 => chunks[i].0 = (usize::from(arg >> 2) % (MAX_COOKIE_CHUNKS + 2)).to_string(),
        4 => {
            if let Some(value) = chunks[i].0.parse::<usize>().ok().and_then(|j| other.get(j)) {
                chunks[i].1.clone_from(value);
            }
        }
        5 => {
            if let Some(first) = chunks.iter_mut().find(|(suffix, _)| suffix == "0") {
                let dot = first.1.iter().position(|&b| b == b'.').unwrap_or(0);
                let count = (arg % 64).to_string();
                first.1.splice(..dot, count.bytes());
            }
        }
        6 if i + 1 < n => {
            // Moves a boundary: the same text, cut elsewhere.
            let value = &mut chunks[i].1;
            let moved = value.split_off(value.len().saturating_sub(small + 1));
            chunks[i + 1].1.splice(..0, moved);
        }
        7 => {
            let value = &mut chunks[i].1;
            if !value.is_empty() {
                let at = usize::from(arg) * 31 % value.len();
                value[at] ^= 1 << (arg % 7);
            }
        }
        9 => {
            let value = &mut chunks[i].1;
            value.truncate(value.len().saturating_sub(small + 1));
        }
        10 => chunks[i].0.insert(0, '0'),
        11 => chunks[i].1.clear(),
        _ => {}
    }
}

/// The `Cookie` header fields: the chunks laid out as `layout` says, and
/// the other fields before or after them.
fn header(
    name: &str,
    chunks: &[(String, Vec<u8>)],
    layout: u8,
    others: &[u8],
    others_after: bool,
) -> Vec<Vec<u8>> {
    let pair = |(suffix, value): &(String, Vec<u8>), dot: &str| {
        [
            name.as_bytes(),
            dot.as_bytes(),
            suffix.as_bytes(),
            b"=",
            value,
        ]
        .concat()
    };
    let joined = |pairs: Vec<Vec<u8>>| pairs.join(&b"; "[..]);
    let mut fields = match layout {
        0 => vec![joined(chunks.iter().map(|c| pair(c, ".")).collect())],
        1 => vec![joined(chunks.iter().rev().map(|c| pair(c, ".")).collect())],
        2 => chunks.iter().map(|c| pair(c, ".")).collect(),
        _ => vec![joined(chunks.iter().map(|c| pair(c, "%2E")).collect())],
    };
    let others = others.split(|&b| b == b'\n').map(<[u8]>::to_vec);
    if others_after {
        fields.extend(others);
    } else {
        fields.splice(..0, others);
    }
    fields
}

/// What [`join_chunks`] must answer, from its documented rules, written
/// apart from it.
fn model_join(
    name: &str,
    pairs: &[(Option<Vec<u8>>, Vec<u8>)],
    limit: usize,
) -> Result<JoinedChunks, ChunkRefusal> {
    let mut by_index = BTreeMap::new();
    for (suffix, value) in pairs {
        let Some(index) = suffix
            .as_deref()
            .and_then(decimal)
            .filter(|&i| i < MAX_COOKIE_CHUNKS)
        else {
            continue;
        };
        if by_index.insert(index, &value[..]).is_some() {
            return Err(ChunkRefusal::Repeated);
        }
    }
    let first = by_index.get(&0).ok_or(ChunkRefusal::NoFirstChunk)?;
    let dot = first
        .iter()
        .position(|&b| b == b'.')
        .ok_or(ChunkRefusal::BadCount)?;
    let count = decimal(&first[..dot])
        .filter(|count| (2..=MAX_COOKIE_CHUNKS).contains(count))
        .ok_or(ChunkRefusal::BadCount)?;
    let mut text = Vec::new();
    let mut total = 0;
    for index in 0..count {
        let value = by_index.get(&index).ok_or(ChunkRefusal::Missing)?;
        let piece = if index == 0 { &value[dot + 1..] } else { value };
        if piece.is_empty() {
            return Err(ChunkRefusal::Empty);
        }
        let size = name.len() + 1 + index.to_string().len() + value.len();
        if size > MAX_COOKIE_SIZE {
            return Err(ChunkRefusal::ChunkTooLarge);
        }
        total += size;
        text.extend_from_slice(piece);
    }
    if total > limit {
        return Err(ChunkRefusal::TooLarge);
    }
    Ok(JoinedChunks { text, count })
}

/// A number written in decimal as the crate writes chunk indexes and
/// counts: one or two digits, no leading zero.
fn decimal(digits: &[u8]) -> Option<usize> {
    let canonical = matches!(digits.len(), 1 | 2)
        && digits.iter().all(u8::is_ascii_digit)
        && !(digits.len() == 2 && digits[0] == b'0');
    if !canonical {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}
