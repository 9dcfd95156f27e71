//! Reading a fuzz input as a few choices followed by payloads.
//!
//! The shapes are simple on purpose: a choice is one byte, a payload a
//! two-byte little-endian length and its bytes, and whatever remains is
//! the last payload. libFuzzer mutates such inputs well, and a seed is
//! easy to write by hand (see [`Writer`]).

/// Takes an input apart from the front. Missing bytes read as zero, so
/// every input, the empty one included, means something.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// The next byte, or 0 once the input is spent.
    pub(super) fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&byte, rest)) => {
                self.rest = rest;
                byte
            }
            None => 0,
        }
    }

    /// A payload with a two-byte length, cut short where the input ends.
    pub(super) fn sized(&mut self) -> &'a [u8] {
        let len = usize::from(u16::from_le_bytes([self.byte(), self.byte()]));
        let (taken, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        taken
    }

    /// Everything not read yet.
    pub(super) fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// Builds the inputs [`Reader`] takes apart, for the seed corpus.
#[derive(Default)]
pub(super) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(super) fn byte(mut self, byte: u8) -> Self {
        self.bytes.push(byte);
        self
    }

    pub(super) fn sized(mut self, payload: &[u8]) -> Self {
        let len = u16::try_from(payload.len()).expect("seed payloads are small");
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(payload);
        self
    }

    pub(super) fn rest(mut self, payload: &[u8]) -> Vec<u8> {
        self.bytes.extend_from_slice(payload);
        self.bytes
    }
}
