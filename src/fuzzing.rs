//! A window onto the crate's internals for its fuzz harness and its own
//! tests (feature `fuzzing`).
//!
//! **Not for applications, and outside the crate's semver promise**: any
//! release may change or remove anything here. The fuzz targets, their
//! seeds and assertions live in the harness crate `fuzz/harness/`; this
//! module only lets them, and the crate's tests, reach what the public API
//! keeps private: sealing under the crate's own [`Purpose`]s (to forge
//! session cookies, ids and store records), the `Cookie` header parser,
//! chunk planning and joining, the session plaintext and store records.
//! Each item is a thin wrapper over bytes, strings and small structs of
//! this module, so the crate's own types stay private.
//!
//! # Examples
//!
//! ```
//! use tower_cookie_sessions::fuzzing::{self, Purpose};
//! use tower_cookie_sessions::{Key, KeyRing};
//!
//! let ring = KeyRing::from(Key::generate());
//! let sealed = fuzzing::seal_as(&ring, Purpose::Session, "id", b"a session");
//! let opened = fuzzing::open_as(&ring, Purpose::Session, "id", &sealed).unwrap();
//! assert_eq!(opened.plaintext, b"a session");
//! ```

use std::convert::Infallible;
use std::sync::LazyLock;

use serde::Serialize;

use crate::codec::{self, Codec};
use crate::cookies::parse;
use crate::envelope::{self, KeyId, OpenError, Opened};
use crate::key::{Key, KeyRing};
use crate::session::client::chunks;
use crate::session::shared::config::{self, SessionConfig};
use crate::session::shared::plaintext;
use crate::session::store::device::{self, DeviceHandle, Origin};
use crate::session::store::record;
use crate::session::SessionData;
use crate::store::RecordKey;

pub use crate::key::Purpose;
#[doc(hidden)]
pub use crate::session::client::chunks::ChunkRefusal;

/// Seals under any purpose, the crate's own included: the crate's tests
/// and fuzz targets forge session cookies, ids and records with it. Not
/// for applications, which seal under
/// [`AppPurpose`](crate::envelope::AppPurpose).
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{open_as, seal_as, Purpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let ring = KeyRing::from(Key::generate());
/// let sealed = seal_as(&ring, Purpose::Session, "id", b"x");
/// assert!(open_as(&ring, Purpose::SessionId, "id", &sealed).is_err());
/// ```
#[must_use]
pub fn seal_as(ring: &KeyRing, purpose: Purpose, name: &str, plaintext: &[u8]) -> String {
    envelope::seal_as(ring, purpose, name, plaintext)
}

/// Opens under any purpose; see [`seal_as`].
///
/// # Errors
///
/// Why the value did not open.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{open_as, seal_as, Purpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let ring = KeyRing::from(Key::generate());
/// let sealed = seal_as(&ring, Purpose::Session, "id", b"x");
/// let opened = open_as(&ring, Purpose::Session, "id", &sealed).unwrap();
/// assert_eq!(opened.plaintext, b"x");
/// ```
pub fn open_as(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    value: &str,
) -> Result<Opened, OpenError> {
    envelope::open_as(ring, purpose, name, value)
}

/// Opens a value's raw bytes as they come out of a `Cookie` header, with
/// name plus value up to `limit` bytes: [`MAX_COOKIE_SIZE`] for one cookie
/// (what the jar and a one-cookie session open), more for a session joined
/// from chunks.
///
/// [`MAX_COOKIE_SIZE`]: crate::envelope::MAX_COOKIE_SIZE
///
/// # Errors
///
/// Why the value did not open; [`OpenError::TooLarge`] over `limit`.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::MAX_COOKIE_SIZE;
/// use tower_cookie_sessions::fuzzing::{open_within, seal_as, Purpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let ring = KeyRing::from(Key::generate());
/// let sealed = seal_as(&ring, Purpose::Session, "id", b"x");
/// let opened = open_within(&ring, Purpose::Session, "id", sealed.as_bytes(), MAX_COOKIE_SIZE);
/// assert_eq!(opened.unwrap().plaintext, b"x");
/// assert!(open_within(&ring, Purpose::Session, "id", sealed.as_bytes(), 8).is_err());
/// ```
pub fn open_within(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    value: &[u8],
    limit: usize,
) -> Result<Opened, OpenError> {
    envelope::open_within(ring, purpose, name, value, limit, |plaintext, key_id| {
        opened(ring, plaintext, key_id)
    })
}

/// Seals into the binary envelope (no base64, no size limit), as store
/// records are sealed.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{open_raw, seal_raw, Purpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let ring = KeyRing::from(Key::generate());
/// let sealed = seal_raw(&ring, Purpose::StoreRecord, "id", b"x");
/// assert_eq!(open_raw(&ring, Purpose::StoreRecord, "id", &sealed).unwrap().plaintext, b"x");
/// ```
#[must_use]
pub fn seal_raw(ring: &KeyRing, purpose: Purpose, name: &str, plaintext: &[u8]) -> Vec<u8> {
    envelope::seal_raw(ring, purpose, name, plaintext)
}

/// Opens a binary envelope; see [`seal_raw`].
///
/// # Errors
///
/// Why the envelope did not open.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::OpenError;
/// use tower_cookie_sessions::fuzzing::{open_raw, Purpose};
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let ring = KeyRing::from(Key::generate());
/// assert_eq!(open_raw(&ring, Purpose::Session, "id", &[1, 2]), Err(OpenError::Truncated));
/// ```
pub fn open_raw(
    ring: &KeyRing,
    purpose: Purpose,
    name: &str,
    raw: &[u8],
) -> Result<Opened, OpenError> {
    let mut raw = raw.to_vec();
    envelope::open_raw(ring, purpose, name, &mut raw, |plaintext, key_id| {
        opened(ring, plaintext, key_id)
    })
}

fn opened(ring: &KeyRing, plaintext: &[u8], key_id: KeyId) -> Opened {
    Opened {
        plaintext: plaintext.to_vec(),
        key_id,
        is_current_key: key_id == ring.current_id(),
    }
}

/// The record data a store holds for the session plaintext `plaintext`
/// under `key`, as the layer writes it: after a device block (always the
/// same one here), bound to the key, and sealed unless `trusted`.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{open_record, seal_record};
/// use tower_cookie_sessions::store::RecordKey;
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let ring = KeyRing::from(Key::generate());
/// let key = RecordKey::for_session_id(b"a session id");
/// let data = seal_record(&ring, false, &key, b"x");
/// assert_eq!(open_record(&ring, false, &key, &data).unwrap(), b"x");
/// ```
#[must_use]
pub fn seal_record(ring: &KeyRing, trusted: bool, key: &RecordKey, plaintext: &[u8]) -> Vec<u8> {
    let config = SessionConfig::new(ring.clone());
    record::seal(&config, trusted, key, |out| {
        device::encode_into(&FUZZ_DEVICE, 0, None, out);
        out.extend_from_slice(plaintext);
        Ok::<_, Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
}

/// The session plaintext of the record data a store returned under
/// `key`, as the layer opens it, without its device block; see
/// [`seal_record`].
///
/// # Errors
///
/// Why the layer refuses the record: bound to another key, unsealed in a
/// store that is not `trusted`, not authentic, of an unknown format.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{open_record, seal_record};
/// use tower_cookie_sessions::store::RecordKey;
/// use tower_cookie_sessions::{Key, KeyRing};
///
/// let ring = KeyRing::from(Key::generate());
/// let key = RecordKey::for_session_id(b"a session id");
/// let unsealed = seal_record(&ring, true, &key, b"x");
/// assert!(open_record(&ring, false, &key, &unsealed).is_err());
/// ```
pub fn open_record(
    ring: &KeyRing,
    trusted: bool,
    key: &RecordKey,
    data: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let config = SessionConfig::new(ring.clone());
    let plaintext = record::open(&config, trusted, key, data)?;
    let (_, session) = device::decode(&plaintext).ok_or("malformed device block")?;
    Ok(session.to_vec())
}

/// The device block [`seal_record`] writes: the same for every record, so
/// a seed sealed twice is the same seed.
const FUZZ_DEVICE: Origin = Origin {
    handle: DeviceHandle([0; 16]),
    created: 0,
};

/// The pairs of one `Cookie` header field, as the jar reads them.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::parse_cookie_header;
///
/// let pairs = parse_cookie_header(b"a=1; b=%32");
/// assert_eq!(pairs, [("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())]);
/// ```
#[must_use]
pub fn parse_cookie_header(header: &[u8]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    parse::parse_cookie_header(header, &mut pairs);
    pairs
}

/// The raw values of the pairs called exactly `name` in one `Cookie`
/// header field, as the layer looks up its session's cookie.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::values_named;
///
/// assert_eq!(values_named(b"id=1; ID=2; id=3", "id"), [b"1", b"3"]);
/// ```
#[must_use]
pub fn values_named(header: &[u8], name: &str) -> Vec<Vec<u8>> {
    parse::values_named(header, name)
        .map(|value| value.into_owned())
        .collect()
}

/// The pairs called exactly `name` (suffix `None`) or `name.SUFFIX`, as
/// the layer looks up a session and its chunks, with their raw values.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::values_named_or_under;
///
/// let pairs = values_named_or_under(b"id=a; id.0=b; idx=c", "id");
/// assert_eq!(pairs, [(None, b"a".to_vec()), (Some(b"0".to_vec()), b"b".to_vec())]);
/// ```
#[must_use]
pub fn values_named_or_under(header: &[u8], name: &str) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    parse::values_named_or_under(header, name)
        .map(|(suffix, value)| (suffix.map(<[u8]>::to_vec), value.into_owned()))
        .collect()
}

/// `bytes` without the spaces and tabs around it, as the parser trims
/// names and values.
///
/// # Examples
///
/// ```
/// assert_eq!(tower_cookie_sessions::fuzzing::trim_ows(b" \ta b\t"), b"a b");
/// ```
#[must_use]
pub fn trim_ows(bytes: &[u8]) -> &[u8] {
    crate::syntax::trim_ows(bytes)
}

/// The most cookies one session is cut into.
///
/// # Examples
///
/// ```
/// assert_eq!(tower_cookie_sessions::fuzzing::MAX_COOKIE_CHUNKS, 50);
/// ```
pub const MAX_COOKIE_CHUNKS: usize = config::MAX_COOKIE_CHUNKS;

/// A layer's `max_cookie_size` unless set.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::envelope::MAX_COOKIE_SIZE;
///
/// assert!(tower_cookie_sessions::fuzzing::DEFAULT_MAX_COOKIE_SIZE > MAX_COOKIE_SIZE);
/// ```
pub const DEFAULT_MAX_COOKIE_SIZE: usize = config::DEFAULT_MAX_COOKIE_SIZE;

/// The largest `max_cookie_size` a layer accepts: every chunk full.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{MAX_COOKIE_CHUNKS, MAX_SESSION_COOKIES_SIZE};
///
/// assert_eq!(MAX_SESSION_COOKIES_SIZE, MAX_COOKIE_CHUNKS * 4096);
/// ```
pub const MAX_SESSION_COOKIES_SIZE: usize = config::MAX_SESSION_COOKIES_SIZE;

/// How far in the future a session's issue time may lie, in seconds,
/// before it is refused.
///
/// # Examples
///
/// ```
/// assert_eq!(tower_cookie_sessions::fuzzing::CLOCK_SKEW_SECONDS, 60);
/// ```
pub const CLOCK_SKEW_SECONDS: u64 = config::CLOCK_SKEW_SECONDS;

/// How the layer cuts a sealed text into chunks.
///
/// # Examples
///
/// ```
/// let plan = tower_cookie_sessions::fuzzing::plan_chunks(2, 5000).unwrap();
/// assert!(plan.size > 5000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    /// How many chunks.
    pub count: usize,
    /// All chunks' names plus values, in bytes.
    pub size: usize,
}

/// The plan for a sealed text of `text_len` bytes under a cookie name of
/// `name_len` bytes; `None` when even [`MAX_COOKIE_CHUNKS`] cookies cannot
/// carry it.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::plan_chunks;
///
/// assert_eq!(plan_chunks(2, 5000).unwrap().count, 2);
/// assert!(plan_chunks(2, 1 << 20).is_none());
/// ```
#[must_use]
pub fn plan_chunks(name_len: usize, text_len: usize) -> Option<ChunkPlan> {
    let plan = chunks::plan(name_len, text_len).ok()?;
    Some(ChunkPlan {
        count: plan.count,
        size: plan.size,
    })
}

/// The values of the chunks the layer cuts `text` into, in index order,
/// chunk 0 starting with the count; `None` as for [`plan_chunks`].
///
/// # Examples
///
/// ```
/// let values = tower_cookie_sessions::fuzzing::chunk_values(2, &[b'a'; 5000]).unwrap();
/// assert_eq!(values.len(), 2);
/// assert!(values[0].starts_with(b"2."));
/// ```
#[must_use]
pub fn chunk_values(name_len: usize, text: &[u8]) -> Option<Vec<Vec<u8>>> {
    chunks::chunk_values(name_len, text)
}

/// The chunk index of a cookie called `NAME.suffix`, as the layer reads
/// it: `None` for anything not written as this crate writes indexes.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::chunk_index;
///
/// assert_eq!(chunk_index(b"12"), Some(12));
/// assert_eq!(chunk_index(b"07"), None);
/// ```
#[must_use]
pub fn chunk_index(suffix: &[u8]) -> Option<usize> {
    chunks::chunk_index(suffix)
}

/// A session's sealed text, joined from its chunks.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{join_chunks, JoinedChunks};
///
/// let joined = join_chunks("id", [(Some("0"), "2.a"), (Some("1"), "b")], 4096);
/// assert_eq!(joined, Ok(JoinedChunks { text: b"ab".to_vec(), count: 2 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedChunks {
    /// The sealed text, as one cookie would have carried it.
    pub text: Vec<u8>,
    /// How many chunks it was joined from.
    pub count: usize,
}

/// Joins the session cookie `name`'s sealed text from a request's pairs
/// called `name` (suffix `None`, skipped) or `name.SUFFIX`, all chunks,
/// names plus values, within `limit` bytes, as the layer does.
///
/// # Errors
///
/// Why the chunks cannot be a session.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{join_chunks, ChunkRefusal};
///
/// let joined = join_chunks("id", [(Some("0"), "2.ab"), (Some("1"), "cd")], 4096).unwrap();
/// assert_eq!((&joined.text[..], joined.count), (&b"abcd"[..], 2));
/// let twice = join_chunks("id", [(Some("0"), "2.ab"), (Some("0"), "2.ab")], 4096);
/// assert_eq!(twice, Err(ChunkRefusal::Repeated));
/// ```
pub fn join_chunks<S, V>(
    name: &str,
    cookies: impl IntoIterator<Item = (Option<S>, V)>,
    limit: usize,
) -> Result<JoinedChunks, ChunkRefusal>
where
    S: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let joined = chunks::join_chunks(name, cookies, limit)?;
    Ok(JoinedChunks {
        text: joined.text,
        count: joined.count,
    })
}

/// When a session was issued and when it ends, in Unix seconds, as its
/// plaintext carries them.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::Deadlines;
///
/// let browser = Deadlines { issued: 10, absolute: 20, idle: None, persistent: false };
/// assert_eq!(Deadlines { persistent: true, ..browser }.absolute, 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// When it was issued.
    pub issued: u64,
    /// When it ends, whatever the activity.
    pub absolute: u64,
    /// When it ends without activity, if it does.
    pub idle: Option<u64>,
    /// Whether its cookie outlives the browser.
    pub persistent: bool,
}

impl From<plaintext::Deadlines> for Deadlines {
    fn from(deadlines: plaintext::Deadlines) -> Self {
        let plaintext::Deadlines {
            issued,
            absolute,
            idle,
            persistent,
        } = deadlines;
        Self {
            issued,
            absolute,
            idle,
            persistent,
        }
    }
}

impl From<Deadlines> for plaintext::Deadlines {
    fn from(deadlines: Deadlines) -> Self {
        let Deadlines {
            issued,
            absolute,
            idle,
            persistent,
        } = deadlines;
        Self {
            issued,
            absolute,
            idle,
            persistent,
        }
    }
}

/// How a layer writes and reads a session plaintext: its schema version,
/// its codec and, for reading only, its decode depth limit.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::PlaintextFormat;
/// use tower_cookie_sessions::Codec;
///
/// let cbor = PlaintextFormat { codec: Codec::Cbor, ..PlaintextFormat::default() };
/// assert_eq!(cbor.schema, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaintextFormat {
    /// The layer's schema version.
    pub schema: u32,
    /// The codec of the session data.
    pub codec: Codec,
    /// How deep the session data may nest.
    pub max_decode_depth: usize,
}

/// A layer's defaults.
impl Default for PlaintextFormat {
    fn default() -> Self {
        Self {
            schema: 0,
            codec: Codec::default(),
            max_decode_depth: config::DEFAULT_MAX_DECODE_DEPTH,
        }
    }
}

impl PlaintextFormat {
    fn format(self) -> plaintext::Format {
        plaintext::Format {
            schema: self.schema,
            codec: self.codec,
        }
    }
}

/// A session plaintext's header, decoded, and its still-encoded data.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::decode_header;
/// use tower_cookie_sessions::Codec;
///
/// let header = decode_header(&[1, 0, 3, 1, 2], Codec::Bincode).unwrap();
/// assert_eq!((header.schema, header.payload), (3, &[][..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodedHeader<'a> {
    /// The deadlines.
    pub deadlines: Deadlines,
    /// The schema version it was written under.
    pub schema: u32,
    /// The session data.
    pub payload: &'a [u8],
}

/// Encodes a session plaintext: the header, then `data`.
///
/// # Errors
///
/// What the codec says when it cannot encode `data`.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{decode_header, encode_plaintext, Deadlines, PlaintextFormat};
///
/// let deadlines = Deadlines { issued: 1, absolute: 2, idle: None, persistent: false };
/// let format = PlaintextFormat::default();
/// let bytes = encode_plaintext(&deadlines, format, &7u8).unwrap();
/// assert_eq!(decode_header(&bytes, format.codec).unwrap().deadlines, deadlines);
/// ```
pub fn encode_plaintext<T: SessionData>(
    deadlines: &Deadlines,
    format: PlaintextFormat,
    data: &T,
) -> Result<Vec<u8>, String> {
    plaintext::encode(&(*deadlines).into(), format.format(), data).map_err(|error| error.0)
}

/// [`encode_plaintext`] into `buffer`, as a cookie session is encoded on
/// the stack: the length written, or `None` when it does not fit.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{encode_plaintext_to_slice, Deadlines, PlaintextFormat};
///
/// let deadlines = Deadlines { issued: 1, absolute: 2, idle: None, persistent: false };
/// let mut buffer = [0; 64];
/// let format = PlaintextFormat::default();
/// assert!(encode_plaintext_to_slice(&deadlines, format, &7u8, &mut buffer).is_some());
/// assert!(encode_plaintext_to_slice(&deadlines, format, &7u8, &mut buffer[..2]).is_none());
/// ```
#[must_use]
pub fn encode_plaintext_to_slice<T: SessionData>(
    deadlines: &Deadlines,
    format: PlaintextFormat,
    data: &T,
    buffer: &mut [u8],
) -> Option<usize> {
    plaintext::encode_to_slice(&(*deadlines).into(), format.format(), data, buffer)
}

/// Decodes a session plaintext's header, for data written by `codec`.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::decode_header;
/// use tower_cookie_sessions::Codec;
///
/// // Format 1 (bincode), no flags, schema 0, issued at 1, ending at 2.
/// let header = decode_header(&[1, 0, 0, 1, 2, 0xff], Codec::Bincode).unwrap();
/// assert_eq!((header.deadlines.absolute, header.payload), (2, &[0xff][..]));
/// ```
#[must_use]
pub fn decode_header(bytes: &[u8], codec: Codec) -> Option<DecodedHeader<'_>> {
    let decoded = plaintext::decode(bytes, codec)?;
    Some(DecodedHeader {
        deadlines: decoded.deadlines.into(),
        schema: decoded.schema,
        payload: decoded.payload,
    })
}

/// Reads an authentic session plaintext at `now` as the layer does: its
/// schema and deadlines checked (`record_expiry`, a store record's own
/// expiry, replacing the idle deadline), then its data decoded.
///
/// # Errors
///
/// Why the layer refuses the session.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::{decode_session, encode_plaintext, Deadlines, PlaintextFormat};
///
/// let deadlines = Deadlines { issued: 1, absolute: 20, idle: None, persistent: false };
/// let format = PlaintextFormat::default();
/// let bytes = encode_plaintext(&deadlines, format, &7u8).unwrap();
/// assert_eq!(decode_session::<u8>(format, &bytes, 10, None), Ok((7, deadlines)));
/// assert!(decode_session::<u8>(format, &bytes, 20, None).is_err());
/// ```
pub fn decode_session<T: SessionData>(
    format: PlaintextFormat,
    bytes: &[u8],
    now: u64,
    record_expiry: Option<u64>,
) -> Result<(T, Deadlines), &'static str> {
    // The plaintext is already open: the configuration's keys are never used.
    static KEYS: LazyLock<KeyRing> = LazyLock::new(|| KeyRing::from(Key::generate()));
    let mut config = SessionConfig::new(KEYS.clone());
    config.schema_version = format.schema;
    config.codec = format.codec;
    config.max_decode_depth = format.max_decode_depth;
    plaintext::decode_session(&config, bytes, now, record_expiry)
        .map(|(data, deadlines)| (data, deadlines.into()))
        .map_err(|refusal| refusal.reason)
}

/// Encodes `value` with `codec`, as the layer encodes session data.
///
/// # Errors
///
/// What the codec says when it cannot encode `value`.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::fuzzing::codec_encode;
/// use tower_cookie_sessions::Codec;
///
/// assert_eq!(codec_encode(Codec::Bincode, &()).unwrap(), b"");
/// ```
pub fn codec_encode<T: Serialize + ?Sized>(codec: Codec, value: &T) -> Result<Vec<u8>, String> {
    codec::encode(codec, value).map_err(|error| error.0)
}
