//! `GET /api/v1/groups`: the underlay multicast groups the VNIs flood to,
//! the gateway's IGMP membership of each, what it heard from the querier
//! and the traffic, as the control thread last published them.

use crate::server::AppState;
use crate::totals::{self, VtepTotals};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::net::Ipv4Addr;
use vtepgw_gateway::wire::igmp::QueryVersion;

/// One group.
#[derive(Debug, Serialize)]
pub struct GroupView {
    pub group: Ipv4Addr,
    /// VNIs that flood to it.
    pub vnis: Vec<u32>,
    /// `joining` (unsolicited reports still going out), `member`, or
    /// `pending` (configured, not yet taken up by the control thread).
    pub state: &'static str,
    /// Milliseconds since the last report for it.
    pub last_report_ms_ago: Option<u64>,
    /// rx: VXLAN decapsulated from the group; tx: BUM copies sent to it.
    #[serde(flatten)]
    pub traffic: VtepTotals,
}

/// IGMP messages sent and queries heard.
#[derive(Debug, Serialize)]
pub struct IgmpCounts {
    pub v2_reports_sent: u64,
    pub v3_reports_sent: u64,
    pub leaves_sent: u64,
    pub v1_queries: u64,
    pub v2_queries: u64,
    pub v3_queries: u64,
}

/// The whole answer.
#[derive(Debug, Serialize)]
pub struct Groups {
    /// The version of the last query heard (null: none heard).
    pub querier_version: Option<u8>,
    /// The version reports go out in now (2 while an older querier is heard).
    pub report_version: u8,
    /// How the underlay NIC receives the groups: `mac_filter`,
    /// `all_multicast`, `promiscuous`, `unfiltered` or `none`.
    pub receive_mode: &'static str,
    pub igmp: IgmpCounts,
    pub groups: Vec<GroupView>,
}

/// `GET /api/v1/groups`.
pub async fn list(State(s): State<AppState>) -> Json<Groups> {
    let snap = s.shared.snapshot.load();
    let running = s.applier.config();
    let view = s
        .shared
        .multicast
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    let traffic = totals::groups(&s.shared);
    let now_ms = s.shared.clock.millis();
    let groups = snap
        .groups
        .iter()
        .map(|g| {
            let status = view.groups.iter().find(|m| m.group == g.addr);
            GroupView {
                group: g.addr,
                vnis: running
                    .vni
                    .iter()
                    .filter(|v| v.group == Some(g.addr))
                    .map(|v| v.id)
                    .collect(),
                state: match status {
                    None => "pending",
                    Some(m) if m.joining => "joining",
                    Some(_) => "member",
                },
                last_report_ms_ago: status
                    .and_then(|m| m.last_report_ms)
                    .map(|t| now_ms.saturating_sub(t)),
                traffic: traffic.get(&g.addr).copied().unwrap_or_default(),
            }
        })
        .collect();
    let st = view.stats;
    Json(Groups {
        querier_version: view.querier_version.map(|v| match v {
            QueryVersion::V1 => 1,
            QueryVersion::V2 => 2,
            QueryVersion::V3 => 3,
        }),
        report_version: if view.v2_mode { 2 } else { 3 },
        receive_mode: if view.receive_mode.is_empty() {
            "none"
        } else {
            view.receive_mode
        },
        igmp: IgmpCounts {
            v2_reports_sent: st.v2_reports_sent,
            v3_reports_sent: st.v3_reports_sent,
            leaves_sent: st.leaves_sent,
            v1_queries: st.queries[0],
            v2_queries: st.queries[1],
            v3_queries: st.queries[2],
        },
        groups,
    })
}
