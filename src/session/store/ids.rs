//! Server-side session ids: 128 bits each from the operating system's
//! CSPRNG, fetched in batches.
//!
//! A `getrandom` system call costs about 400 ns, a tenth of what creating a
//! server-side session costs in all, so each thread asks the operating
//! system for [`IDS_PER_BATCH`] ids at once and hands them out one by one. Every id is
//! still made of bytes the operating system produced; none is derived from
//! another. A byte handed out is wiped from the batch, so the batch never
//! holds an id that is in use, only ids not yet issued.
//!
//! A process that forks copies the forking thread's batch into the child.
//! Both could then issue the same ids; stores create records only where
//! none exists (and retry with the next id), so they would refuse the
//! second copy in a shared store. Servers built on tokio do not fork after
//! they start serving.

use std::cell::RefCell;

use zeroize::Zeroize;

use crate::session::shared::state::SessionId;

/// How many ids one system call fetches: 1 KiB of randomness.
pub(crate) const IDS_PER_BATCH: usize = 64;

const ID_LEN: usize = std::mem::size_of::<SessionId>();

/// A thread's unissued ids.
struct Batch {
    bytes: [u8; IDS_PER_BATCH * ID_LEN],
    /// How many ids of `bytes` were issued (and wiped).
    issued: usize,
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

thread_local! {
    static BATCH: RefCell<Batch> = const {
        RefCell::new(Batch {
            bytes: [0; IDS_PER_BATCH * ID_LEN],
            issued: IDS_PER_BATCH,
        })
    };
}

/// A fresh id, or the operating system's error if it has no randomness to
/// give.
pub(crate) fn fresh_id() -> Result<SessionId, getrandom::Error> {
    BATCH
        .try_with(|batch| take(&mut batch.borrow_mut()))
        // A thread being torn down has no batch: ask for this one id alone.
        .unwrap_or_else(|_| {
            let mut id = SessionId::default();
            getrandom::fill(&mut id)?;
            Ok(id)
        })
}

fn take(batch: &mut Batch) -> Result<SessionId, getrandom::Error> {
    if batch.issued == IDS_PER_BATCH {
        getrandom::fill(&mut batch.bytes)?;
        batch.issued = 0;
    }
    let bytes = &mut batch.bytes[batch.issued * ID_LEN..][..ID_LEN];
    let mut id = SessionId::default();
    id.copy_from_slice(bytes);
    bytes.zeroize();
    batch.issued += 1;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_distinct_across_batches_and_threads() {
        let mut seen = HashSet::new();
        for _ in 0..IDS_PER_BATCH * 3 + 1 {
            assert!(seen.insert(fresh_id().unwrap()), "an id repeated");
        }
        let others = std::thread::spawn(|| {
            (0..IDS_PER_BATCH + 1)
                .map(|_| fresh_id().unwrap())
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        for id in others {
            assert!(seen.insert(id), "an id repeated across threads");
        }
    }

    #[test]
    fn an_issued_id_is_wiped_from_the_batch() {
        let id = fresh_id().unwrap();
        BATCH.with_borrow(|batch| {
            assert!(batch.issued >= 1);
            let issued = &batch.bytes[..batch.issued * ID_LEN];
            assert!(issued.iter().all(|&b| b == 0), "issued bytes are kept");
            assert!(
                batch.bytes[batch.issued * ID_LEN..]
                    .chunks(ID_LEN)
                    .all(|rest| rest != id),
                "the issued id is still in the batch"
            );
        });
    }
}
