//! Multicast core replication against Linux multicast VTEPs on an
//! IGMP-snooping underlay (see `common::mcast::McastLab`).

mod common;

use common::mcast::*;
use common::*;
use std::time::Duration;

/// The lab without the gateway: the kernel VTEPs join the group, the
/// switch keeps group traffic off the gateway's port (it has not joined),
/// and BUM between the kernel VTEPs goes through the group.
#[test]
fn the_snooping_underlay_carries_the_group_only_to_members() {
    let lab = McastLab::new();
    wait_until(
        Duration::from_secs(10),
        "both kernel VTEPs in the mdb",
        || lab.member("hv1", GROUP) && lab.member("hv2", GROUP),
    );
    assert!(!lab.member("gw", GROUP), "{:?}", lab.mdb());
    let at_gw = Capture::start(ROOT, &lab.underlay_if(), &format!("dst host {GROUP}"));
    let at_hv2 = Capture::start(Some(&lab.hv2), "u1", &format!("dst host {GROUP}"));
    // A broadcast from h1 (its ARP for h2) goes to the group.
    assert!(lab.h1.ping(H2_IP, 1), "h1 and h2 talk through the group");
    at_hv2.stop_after("vxlan", 1);
    let rows = tshark_fields(&at_gw.stop(), "", &["ip.dst"]);
    assert!(
        rows.is_empty(),
        "group traffic reached the gateway's port: {rows:?}"
    );
}
