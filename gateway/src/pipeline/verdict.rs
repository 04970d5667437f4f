//! Verdict accounting: every packet a burst brings in (and every copy or
//! control frame the worker makes) ends sent, dropped with its reason, or
//! consumed (an ARP reply handed to the control thread). The ledger counts
//! each kind during a burst; at the end of the burst the sums must agree,
//! or a packet left the pipeline without a verdict, which is a bug: debug
//! builds stop on it, release builds count it in
//! `WorkerCounters::no_verdict`.

/// What happened to the packets of one burst.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ledger {
    /// Packets that entered: received, copied for flooding, control frames.
    pub entered: u32,
    /// Queued for transmission.
    pub sent: u32,
    /// Dropped (each counted under one reason).
    pub dropped: u32,
    /// Taken by the control plane (ARP replies and announcements).
    pub consumed: u32,
}

impl Ledger {
    /// Packets that entered and got no verdict (0 when all is well).
    pub(super) fn missing(&self) -> u32 {
        self.entered
            .saturating_sub(self.sent + self.dropped + self.consumed)
    }

    /// Closes the burst: returns the packets without a verdict and starts over.
    pub(super) fn close(&mut self) -> u32 {
        let missing = self.missing();
        debug_assert!(
            missing == 0 && self.sent + self.dropped + self.consumed == self.entered,
            "packets without a verdict (or with two): {self:?}"
        );
        *self = Ledger::default();
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_balanced_burst_closes_clean() {
        let mut l = Ledger {
            entered: 5,
            sent: 3,
            dropped: 1,
            consumed: 1,
        };
        assert_eq!(l.close(), 0);
        assert_eq!(l, Ledger::default());
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "without a verdict"))]
    fn a_packet_without_a_verdict_is_caught() {
        let mut l = Ledger {
            entered: 2,
            sent: 1,
            ..Ledger::default()
        };
        // Release builds report it instead of stopping.
        assert_eq!(l.close(), 1);
    }
}
