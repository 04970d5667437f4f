//! The vtepgw data plane, independent of DPDK.
//!
//! Everything here is generic over [`buf::PacketBuf`] and [`io::PortIo`], so
//! the whole pipeline runs in unit tests on plain byte vectors; the DPDK
//! layer in the `vtepgw` binary supplies the mbuf-backed implementation.
//!
//! Threads: poll-mode [`worker`]s own their NIC [`queues`] and run each
//! packet to completion through the [`pipeline`]; the [`control`] thread is
//! the single writer of the shared [`tables`]; the management plane reads
//! [`counters`] and publishes new [`snapshot`]s.
#![forbid(unsafe_code)]

pub mod batch;
pub mod buf;
pub mod clock;
pub mod control;
pub mod counters;
pub mod events;
pub mod groups;
pub mod io;
pub mod l3;
pub mod offload;
pub mod pipeline;
pub mod queues;
pub mod shared;
pub mod snapshot;
pub mod tables;
pub mod types;
pub mod wire;
pub mod worker;

#[cfg(test)]
mod testkit;
