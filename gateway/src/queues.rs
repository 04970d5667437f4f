//! Which worker uses which NIC queue: each worker owns a list of
//! (port, rx queue) pairs and one TX queue per port, as in DPDK's l3fwd.
//! Computed here, in one place, by [`assign`].
//!
//! **RX.** Every receive queue has exactly one poller. The queues are dealt
//! out round-robin, port after port (port 0's queues, then port 1's, ...),
//! with the deal continuing across ports, so single-queue ports spread over
//! the workers instead of all landing on worker 0. A port with fewer receive
//! queues than workers is polled by fewer workers; one with more gives some
//! workers several of its queues. RSS (or the af_packet fanout hash) keeps a
//! flow on one queue, hence on one worker, hence in order.
//!
//! **TX.** Any worker may send on any port: a frame decapsulated from the
//! underlay goes out on a physical port, one encapsulated goes out on the
//! underlay, and worker 0 sends the control thread's frames on every port.
//! So every port has one transmit queue per worker ([`tx_queues`]), and
//! worker `w` transmits on queue `w` of every port. No TX queue is shared,
//! so transmitting takes no lock; a device with fewer TX queues than
//! workers cannot be used with that many workers.

use crate::types::PortId;

/// One receive queue: `queue` of the data plane's port `port` (0 is the underlay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RxQueue {
    pub port: PortId,
    pub queue: u16,
}

/// What one worker uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerQueues {
    /// The receive queues it polls, in polling order.
    pub rx: Vec<RxQueue>,
    /// Its transmit queue, the same on every port.
    pub tx_queue: u16,
}

/// TX queues every port needs for `workers` workers: one each.
pub fn tx_queues(workers: usize) -> u16 {
    u16::try_from(workers).unwrap_or(u16::MAX)
}

/// The queues of each of `workers` workers, given each port's number of
/// receive queues (`rx_queues[p]` for data-plane port `p`).
pub fn assign(workers: usize, rx_queues: &[u16]) -> Vec<WorkerQueues> {
    let mut out: Vec<WorkerQueues> = (0..tx_queues(workers))
        .map(|w| WorkerQueues {
            rx: Vec::new(),
            tx_queue: w,
        })
        .collect();
    if out.is_empty() {
        return out;
    }
    let all = rx_queues.iter().enumerate().flat_map(|(port, &n)| {
        (0..n).map(move |queue| RxQueue {
            port: PortId(port as u8),
            queue,
        })
    });
    for (k, q) in all.enumerate() {
        let w = k % out.len();
        out[w].rx.push(q);
    }
    out
}

/// The single-queue layout: queue 0 of each of `ports` ports (what one
/// worker gets from [`assign`] when every port has one receive queue).
pub fn every_port(ports: usize) -> Vec<RxQueue> {
    (0..ports)
        .map(|port| RxQueue {
            port: PortId(port as u8),
            queue: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(w: &WorkerQueues) -> Vec<(u8, u16)> {
        w.rx.iter().map(|q| (q.port.0, q.queue)).collect()
    }

    #[test]
    fn one_worker_polls_every_queue_of_every_port() {
        let a = assign(1, &[1, 1, 1]);
        assert_eq!(a.len(), 1);
        assert_eq!(rx(&a[0]), [(0, 0), (1, 0), (2, 0)]);
        assert_eq!(a[0].rx, every_port(3));
        assert_eq!(a[0].tx_queue, 0);
    }

    #[test]
    fn queues_per_worker_on_every_port_as_in_l3fwd() {
        let a = assign(2, &[2, 2]);
        assert_eq!(rx(&a[0]), [(0, 0), (1, 0)]);
        assert_eq!(rx(&a[1]), [(0, 1), (1, 1)]);
        assert_eq!((a[0].tx_queue, a[1].tx_queue), (0, 1));
    }

    #[test]
    fn a_port_with_fewer_queues_is_polled_by_fewer_workers() {
        // The underlay has 4 queues, the physical port 1.
        let a = assign(4, &[4, 1]);
        assert_eq!(rx(&a[0]), [(0, 0), (1, 0)]);
        assert_eq!(rx(&a[1]), [(0, 1)]);
        assert_eq!(rx(&a[2]), [(0, 2)]);
        assert_eq!(rx(&a[3]), [(0, 3)]);
        // Single-queue ports spread over the workers.
        let a = assign(2, &[1, 1, 1]);
        assert_eq!(rx(&a[0]), [(0, 0), (2, 0)]);
        assert_eq!(rx(&a[1]), [(1, 0)]);
    }

    #[test]
    fn more_queues_than_workers_gives_workers_several() {
        let a = assign(2, &[4]);
        assert_eq!(rx(&a[0]), [(0, 0), (0, 2)]);
        assert_eq!(rx(&a[1]), [(0, 1), (0, 3)]);
    }

    #[test]
    fn every_queue_has_exactly_one_poller_and_every_worker_a_tx_queue() {
        for workers in 1..6 {
            for ports in [vec![1], vec![3, 1, 2], vec![8, 8], vec![0, 5]] {
                let a = assign(workers, &ports);
                assert_eq!(a.len(), workers);
                let mut seen: Vec<(u8, u16)> = a.iter().flat_map(rx).collect();
                seen.sort_unstable();
                let want: Vec<(u8, u16)> = ports
                    .iter()
                    .enumerate()
                    .flat_map(|(p, &n)| (0..n).map(move |q| (p as u8, q)))
                    .collect();
                assert_eq!(seen, want, "{workers} workers, ports {ports:?}");
                let tx: Vec<u16> = a.iter().map(|w| w.tx_queue).collect();
                assert_eq!(tx, (0..tx_queues(workers)).collect::<Vec<_>>());
            }
        }
        assert!(assign(0, &[1]).is_empty());
    }
}
