//! Counts gathered in locals: a run of packets with one key (VNI slot,
//! tunnel) is added to the shared counters once, when the key changes or
//! the poll ends.

/// The current run: its key, packets and bytes.
pub(super) struct Run<K> {
    key: Option<K>,
    packets: u64,
    bytes: u64,
}

impl<K> Default for Run<K> {
    fn default() -> Self {
        Run {
            key: None,
            packets: 0,
            bytes: 0,
        }
    }
}

impl<K: Copy + PartialEq> Run<K> {
    /// Counts a packet of `bytes` under `key`; returns the previous run
    /// (key, packets, bytes) when `key` ends it, for the caller to publish.
    #[inline]
    pub(super) fn add(&mut self, key: K, bytes: u64) -> Option<(K, u64, u64)> {
        if self.key == Some(key) {
            self.packets += 1;
            self.bytes += bytes;
            return None;
        }
        let ended = self.take();
        *self = Run {
            key: Some(key),
            packets: 1,
            bytes,
        };
        ended
    }

    /// Ends the run, returning it if it counted anything.
    pub(super) fn take(&mut self) -> Option<(K, u64, u64)> {
        let run = std::mem::take(self);
        run.key.map(|k| (k, run.packets, run.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_published_when_the_key_changes_and_at_the_end() {
        let mut r = Run::default();
        assert_eq!(r.add(1u16, 10), None);
        assert_eq!(r.add(1, 20), None);
        assert_eq!(r.add(2, 5), Some((1, 2, 30)));
        assert_eq!(r.take(), Some((2, 1, 5)));
        assert_eq!(r.take(), None);
    }
}
