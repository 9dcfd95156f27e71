//! Client-side sessions larger than one cookie.
//!
//! A session whose sealed text does not fit in one cookie (4 KB, name
//! included) is still one envelope, sealed under the session's own cookie
//! name as always; only its text is cut into chunk cookies:
//!
//! ```text
//! NAME.0 = COUNT "." text[..a]
//! NAME.1 = text[a..b]
//! ...
//! NAME.{COUNT-1} = text[..]
//! ```
//!
//! The count in chunk 0 says which chunks belong to the session: a chunk
//! left above it by an earlier, larger session is ignored (and removed by
//! the next response), never joined. Joined in index order the chunks are
//! the envelope's text and its one tag covers all of it, so a chunk moved
//! to another index, dropped, repeated, or taken from another session's
//! cookies, and a count changed to leave out the last chunks, do not
//! authenticate. A chunk name that comes twice (two cookies of one name
//! with different `Path` or `Domain`) refuses the session outright:
//! trying which copy is right would cost a decryption per combination.

use std::fmt;
use std::ops::Range;

use crate::envelope::MAX_COOKIE_SIZE;
use crate::session::shared::config::MAX_COOKIE_CHUNKS;

/// Which of a session's cookies a request carried, and which of them the
/// session was read from: what the response may have to remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Carried {
    /// The request carried `NAME` itself.
    pub(crate) plain: bool,
    /// Bit `i`: the request carried `NAME.i`.
    pub(crate) chunks: u64,
    /// Some `NAME.i` came more than once.
    pub(crate) repeated: bool,
    /// Where the session was read from, if a cookie authenticated.
    pub(crate) opened: Opened,
}

/// Which cookies an authentic session was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Opened {
    /// None authenticated.
    #[default]
    Nothing,
    /// `NAME`.
    Plain,
    /// `NAME.0` to `NAME.{count - 1}`.
    Chunks(usize),
}

// Every chunk index has its own bit.
const _: () = assert!(MAX_COOKIE_CHUNKS <= u64::BITS as usize);

impl Carried {
    /// Notes a request cookie called `NAME` (`suffix` is `None`) or
    /// `NAME.suffix`. Suffixes that are not a chunk index this crate
    /// writes are not the session's cookies and are ignored.
    pub(crate) fn note(&mut self, suffix: Option<&[u8]>) {
        let Some(suffix) = suffix else {
            self.plain = true;
            return;
        };
        if let Some(index) = chunk_index(suffix) {
            let bit = 1u64 << index;
            self.repeated |= self.chunks & bit != 0;
            self.chunks |= bit;
        }
    }

    /// Whether the request carried `NAME.0`, without which the other
    /// chunks are no session.
    pub(crate) fn has_first_chunk(&self) -> bool {
        self.chunks & 1 != 0
    }

    /// The chunks the response removes even when it sends nothing else:
    /// those the session it was read from shows to be stale. A request
    /// whose cookies did not authenticate has its chunks left alone: they
    /// may be sealed under a key this node does not have yet.
    pub(crate) fn stale_chunks(&self) -> u64 {
        match self.opened {
            Opened::Nothing => 0,
            // A response that wrote chunks removed `NAME`, so a `NAME` that
            // opens is newer than any chunk beside it.
            Opened::Plain => self.chunks,
            Opened::Chunks(count) => self.chunks & !low_bits(count),
        }
    }
}

/// The bits of indexes below `count`.
pub(crate) fn low_bits(count: usize) -> u64 {
    if count >= u64::BITS as usize {
        u64::MAX
    } else {
        (1u64 << count) - 1
    }
}

/// The indexes whose bits are set in `chunks`, lowest first.
pub(crate) fn indexes(mut chunks: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if chunks == 0 {
            return None;
        }
        let index = chunks.trailing_zeros() as usize;
        chunks &= chunks - 1;
        Some(index)
    })
}

/// The chunk index a cookie called `NAME.suffix` has: a decimal number
/// below [`MAX_COOKIE_CHUNKS`] written as this crate writes it (no sign,
/// no leading zero). `NAME.07` or `NAME.99` is someone else's cookie.
pub(crate) fn chunk_index(suffix: &[u8]) -> Option<usize> {
    let index = parse_decimal(suffix)?;
    (index < MAX_COOKIE_CHUNKS).then_some(index)
}

/// A decimal number of at most two digits, without a leading zero.
fn parse_decimal(digits: &[u8]) -> Option<usize> {
    match digits {
        [d] if d.is_ascii_digit() => Some(usize::from(d - b'0')),
        [a @ b'1'..=b'9', b] if b.is_ascii_digit() => {
            Some(usize::from(a - b'0') * 10 + usize::from(b - b'0'))
        }
        _ => None,
    }
}

/// How many characters `n` takes in decimal.
pub(crate) fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// The length of the name `NAME.index`, for a session cookie name of
/// `name_len` bytes.
pub(crate) fn chunk_name_len(name_len: usize, index: usize) -> usize {
    name_len + 1 + digits(index as u64)
}

/// A chunked session's sealed text, joined from the request's cookies.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Joined {
    /// The envelope's text, as one cookie would have carried it.
    pub(crate) text: Vec<u8>,
    /// How many chunks it was joined from.
    pub(crate) count: usize,
}

/// Why a request's chunks are not a session. Safe to log: none carries a
/// cookie's bytes. Public only through the `fuzzing` bridge.
#[doc(hidden)]
#[allow(unreachable_pub)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkRefusal {
    /// There is no `NAME.0`.
    NoFirstChunk,
    /// A chunk name came more than once.
    Repeated,
    /// `NAME.0` does not start with a chunk count from 2 to
    /// [`MAX_COOKIE_CHUNKS`] and a `.`.
    BadCount,
    /// A chunk below the count is missing.
    Missing,
    /// A chunk carries no text.
    Empty,
    /// A chunk's name plus value is over one cookie's limit.
    ChunkTooLarge,
    /// The chunks' names plus values are over the layer's limit.
    TooLarge,
}

impl fmt::Display for ChunkRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkRefusal::NoFirstChunk => "session chunks without the first",
            ChunkRefusal::Repeated => "a session chunk name came twice",
            ChunkRefusal::BadCount => "first session chunk has no valid count",
            ChunkRefusal::Missing => "a session chunk is missing",
            ChunkRefusal::Empty => "a session chunk is empty",
            ChunkRefusal::ChunkTooLarge => "a session chunk is over the cookie size limit",
            ChunkRefusal::TooLarge => "session chunks are over the session size limit",
        })
    }
}

/// Joins the sealed text of the session cookie `name` from a request's
/// cookies: `cookies` are the request's pairs called `name` (suffix
/// `None`, skipped here) or `name.SUFFIX`, as the jar reads them, and
/// `limit` is the most all chunks, names plus values, may take. Only
/// chunks `0` to `count - 1` are joined; others are skipped.
///
/// # Errors
///
/// A [`ChunkRefusal`] when the chunks cannot be a session: the text is
/// never opened then.
pub(crate) fn join_chunks<S, V>(
    name: &str,
    cookies: impl IntoIterator<Item = (Option<S>, V)>,
    limit: usize,
) -> Result<Joined, ChunkRefusal>
where
    S: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut slots: [Option<V>; MAX_COOKIE_CHUNKS] = std::array::from_fn(|_| None);
    for (suffix, value) in cookies {
        let Some(index) = suffix.and_then(|suffix| chunk_index(suffix.as_ref())) else {
            continue;
        };
        if slots[index].replace(value).is_some() {
            return Err(ChunkRefusal::Repeated);
        }
    }
    let first = slots[0].as_ref().ok_or(ChunkRefusal::NoFirstChunk)?;
    let (count, first_text) = split_count(first.as_ref()).ok_or(ChunkRefusal::BadCount)?;
    let mut total = 0;
    for (index, slot) in slots[..count].iter().enumerate() {
        let value = slot.as_ref().ok_or(ChunkRefusal::Missing)?.as_ref();
        let text = if index == 0 { first_text } else { value };
        if text.is_empty() {
            return Err(ChunkRefusal::Empty);
        }
        let size = chunk_name_len(name.len(), index) + value.len();
        if size > MAX_COOKIE_SIZE {
            return Err(ChunkRefusal::ChunkTooLarge);
        }
        total += size;
    }
    if total > limit {
        return Err(ChunkRefusal::TooLarge);
    }
    let mut text = Vec::with_capacity(total);
    text.extend_from_slice(first_text);
    for slot in &slots[1..count] {
        // Each one was checked above.
        text.extend_from_slice(slot.as_ref().map_or(&[][..], AsRef::as_ref));
    }
    Ok(Joined { text, count })
}

/// The count at the start of chunk 0's value, and the text after its `.`.
fn split_count(value: &[u8]) -> Option<(usize, &[u8])> {
    let dot = value.iter().take(3).position(|&b| b == b'.')?;
    let count = parse_decimal(&value[..dot])?;
    (2..=MAX_COOKIE_CHUNKS)
        .contains(&count)
        .then(|| (count, &value[dot + 1..]))
}

/// How a sealed text is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// How many chunks.
    pub(crate) count: usize,
    /// All chunks' names plus values, in bytes.
    pub(crate) size: usize,
    name_len: usize,
    text_len: usize,
}

/// The fewest chunks of at most [`MAX_COOKIE_SIZE`] bytes each, name
/// included, that carry a sealed text of `text_len` bytes for the cookie
/// name of `name_len` bytes; the fewest chunks take the fewest bytes.
///
/// # Errors
///
/// When even [`MAX_COOKIE_CHUNKS`] chunks cannot carry it: the size those
/// would take, which is over `MAX_COOKIE_CHUNKS * MAX_COOKIE_SIZE`.
pub(crate) fn plan(name_len: usize, text_len: usize) -> Result<Plan, usize> {
    let size = |count: usize| {
        (0..count)
            .map(|index| chunk_name_len(name_len, index))
            .sum::<usize>()
            + digits(count as u64)
            + 1
            + text_len
    };
    for count in 2..=MAX_COOKIE_CHUNKS {
        let room: usize = (0..count).map(|index| room(name_len, index, count)).sum();
        if room >= text_len {
            return Ok(Plan {
                count,
                size: size(count),
                name_len,
                text_len,
            });
        }
    }
    Err(size(MAX_COOKIE_CHUNKS))
}

/// How much text chunk `index` of `count` can carry.
fn room(name_len: usize, index: usize, count: usize) -> usize {
    let prefix = if index == 0 {
        digits(count as u64) + 1
    } else {
        0
    };
    MAX_COOKIE_SIZE.saturating_sub(chunk_name_len(name_len, index) + prefix)
}

impl Plan {
    /// Each chunk's index and its part of the text, filled in order.
    pub(crate) fn pieces(&self) -> impl Iterator<Item = (usize, Range<usize>)> + '_ {
        let mut start = 0;
        (0..self.count).map(move |index| {
            let end = (start + room(self.name_len, index, self.count)).min(self.text_len);
            let piece = start..end;
            start = end;
            (index, piece)
        })
    }
}

/// The values of the chunks the layer cuts `text`, sealed for a cookie
/// name of `name_len` bytes, into, in index order: chunk 0 starts with the
/// count. `None` when even [`MAX_COOKIE_CHUNKS`] cookies cannot carry it.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn chunk_values(name_len: usize, text: &[u8]) -> Option<Vec<Vec<u8>>> {
    let plan = plan(name_len, text.len()).ok()?;
    let values = plan
        .pieces()
        .map(|(index, piece)| {
            let mut value = Vec::with_capacity(piece.len() + 3);
            if index == 0 {
                value.extend_from_slice(format!("{}.", plan.count).as_bytes());
            }
            value.extend_from_slice(&text[piece]);
            value
        })
        .collect();
    Some(values)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use proptest::prelude::*;

    use super::*;

    /// The chunk cookies `plan` cuts `text` into, as (suffix, value).
    fn cut(name: &str, text: &[u8]) -> Vec<(Option<String>, Vec<u8>)> {
        let values = chunk_values(name.len(), text).expect("fits");
        values
            .into_iter()
            .enumerate()
            .map(|(index, value)| (Some(index.to_string()), value))
            .collect()
    }

    #[test]
    fn chunk_indexes_are_written_one_way_only() {
        assert_eq!(chunk_index(b"0"), Some(0));
        assert_eq!(chunk_index(b"9"), Some(9));
        assert_eq!(chunk_index(b"49"), Some(49));
        for other in [
            &b""[..],
            b"50",
            b"07",
            b"00",
            b"+1",
            b"-1",
            b"1 ",
            b"100",
            b"x",
        ] {
            assert_eq!(chunk_index(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_plan_takes_the_fewest_chunks_that_fit() {
        // `id.0` + `2.` + 4090 and `id.1` + 4092: two full cookies.
        let two = plan(2, 4090 + 4092).expect("fits");
        assert_eq!((two.count, two.size), (2, 2 * MAX_COOKIE_SIZE));
        assert_eq!(plan(2, 4090 + 4093).expect("fits").count, 3);
        let pieces: Vec<_> = two.pieces().collect();
        assert_eq!(pieces, [(0, 0..4090), (1, 4090..8182)]);
    }

    #[test]
    fn more_than_the_most_chunks_is_refused_with_its_size() {
        let Err(size) = plan(2, MAX_COOKIE_CHUNKS * MAX_COOKIE_SIZE) else {
            panic!("fifty cookies cannot carry fifty cookies' worth of text and names");
        };
        assert!(size > MAX_COOKIE_CHUNKS * MAX_COOKIE_SIZE);
        // A name that leaves no room in a cookie cannot be cut at all.
        assert!(plan(MAX_COOKIE_SIZE, 10).is_err());
    }

    #[test]
    fn refusals() {
        let text = vec![b'A'; 9000];
        let good = cut("id", &text);
        let join = |cookies: &[(Option<String>, Vec<u8>)]| {
            join_chunks("id", cookies.iter().cloned(), usize::MAX)
        };
        assert_eq!(
            join(&good).map(|j| (j.count, j.text)),
            Ok((3, text.clone()))
        );

        let mut repeated = good.clone();
        repeated.push(good[1].clone());
        assert_eq!(join(&repeated), Err(ChunkRefusal::Repeated));

        assert_eq!(join(&good[1..]), Err(ChunkRefusal::NoFirstChunk));
        assert_eq!(join(&good[..2]), Err(ChunkRefusal::Missing));

        let mut no_count = good.clone();
        no_count[0].1.drain(..2);
        assert_eq!(join(&no_count), Err(ChunkRefusal::BadCount));
        for count in ["1.", "51.", "03.", "x."] {
            let mut bad = good.clone();
            bad[0].1.splice(..2, count.bytes());
            assert_eq!(join(&bad), Err(ChunkRefusal::BadCount), "{count}");
        }

        let mut empty = good.clone();
        empty[2].1.clear();
        assert_eq!(join(&empty), Err(ChunkRefusal::Empty));

        let mut oversized = good.clone();
        oversized[1].1.extend_from_slice(&[b'A'; 10]);
        assert_eq!(join(&oversized), Err(ChunkRefusal::ChunkTooLarge));

        let total: usize = good.iter().map(|(_, v)| 4 + v.len()).sum();
        assert!(join_chunks("id", good.iter().cloned(), total).is_ok());
        assert_eq!(
            join_chunks("id", good.iter().cloned(), total - 1),
            Err(ChunkRefusal::TooLarge)
        );
    }

    #[test]
    fn chunks_above_the_count_and_other_cookies_are_skipped() {
        let text = vec![b'B'; 5000];
        let mut cookies = cut("id", &text);
        cookies.push((Some("2".to_owned()), b"stale".to_vec()));
        cookies.push((Some("07".to_owned()), b"other".to_vec()));
        cookies.push((None, b"plain".to_vec()));
        let joined = join_chunks("id", cookies, usize::MAX).expect("joins");
        assert_eq!((joined.count, joined.text), (2, text));
    }

    #[test]
    fn carried_notes_chunks_repeats_and_what_is_stale() {
        let mut carried = Carried::default();
        for suffix in [None, Some(&b"0"[..]), Some(b"1"), Some(b"3"), Some(b"99")] {
            carried.note(suffix);
        }
        assert!(carried.plain && carried.has_first_chunk() && !carried.repeated);
        assert_eq!(indexes(carried.chunks).collect::<Vec<_>>(), [0, 1, 3]);
        assert_eq!(carried.stale_chunks(), 0, "nothing opened: left alone");
        carried.opened = Opened::Chunks(2);
        assert_eq!(indexes(carried.stale_chunks()).collect::<Vec<_>>(), [3]);
        carried.opened = Opened::Plain;
        assert_eq!(carried.stale_chunks(), carried.chunks);
        carried.note(Some(b"1"));
        assert!(carried.repeated);
    }

    proptest! {
        #[test]
        fn cutting_then_joining_gives_the_text_back(
            name_len in 1usize..200,
            text_len in 4096usize..60_000,
        ) {
            let name = "n".repeat(name_len);
            let text: Vec<u8> = (0..text_len).map(|i| b'A' + (i % 26) as u8).collect();
            let plan = plan(name_len, text_len).expect("fits");
            let cookies = cut(&name, &text);
            prop_assert_eq!(cookies.len(), plan.count);
            let mut size = 0;
            for (index, (_, value)) in cookies.iter().enumerate() {
                let cookie = chunk_name_len(name_len, index) + value.len();
                prop_assert!(cookie <= MAX_COOKIE_SIZE);
                size += cookie;
            }
            prop_assert_eq!(size, plan.size);
            prop_assert!(plan.pieces().all(|(_, piece)| !piece.is_empty()));
            let joined = join_chunks(&name, cookies, plan.size).expect("joins");
            prop_assert_eq!(joined.text, text);
        }

        #[test]
        fn arbitrary_cookies_never_panic(
            cookies in proptest::collection::vec(
                (proptest::option::of("[0-9]{0,3}"), proptest::collection::vec(any::<u8>(), 0..64)),
                0..60,
            ),
            limit: usize,
        ) {
            let cookies = cookies.into_iter().map(|(suffix, value)| (suffix, Cow::<[u8]>::Owned(value)));
            let _ = join_chunks("id", cookies, limit);
        }
    }
}
