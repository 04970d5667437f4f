//! The gateway as an IGMP host on the underlay, for the groups its VNIs
//! flood to (RFC 3376 version 3, RFC 2236 version 2):
//! - a join sends an unsolicited report, repeated [robustness] times at
//!   random gaps within the unsolicited report interval; a leave likewise;
//! - a query is answered after a random delay within its maximum response
//!   time (an earlier pending answer is kept);
//! - while a v1 or v2 querier is heard (the "older version querier present"
//!   timeout), it speaks v2, as RFC 3376 section 7.2.1 asks.
//!
//! Pure state: the control thread feeds it the wanted groups, the queries
//! the workers pass up and the time, and sends the messages `poll` returns.

use crate::wire::igmp::{Message, Query, QueryVersion, RecordType};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use vtepgw_config::{Igmp, IgmpVersion};

/// Messages sent and queries heard, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IgmpStats {
    pub v2_reports_sent: u64,
    pub v3_reports_sent: u64,
    pub leaves_sent: u64,
    /// Queries heard, by version (v1, v2, v3).
    pub queries: [u64; 3],
}

/// What the API shows of one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupStatus {
    pub group: Ipv4Addr,
    /// Still sending its unsolicited join reports.
    pub joining: bool,
    pub last_report_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct Repeat {
    left: u8,
    next_ms: u64,
}

#[derive(Clone, Copy, Debug)]
struct Group {
    join: Repeat,
    /// When a query's answer for this group is due.
    answer_ms: Option<u64>,
    last_report_ms: Option<u64>,
}

pub struct IgmpHost {
    settings: Igmp,
    groups: BTreeMap<Ipv4Addr, Group>,
    leaving: BTreeMap<Ipv4Addr, Repeat>,
    /// A v3 general query's answer (all groups in one report) is due.
    general_answer_ms: Option<u64>,
    older_querier_until_ms: Option<u64>,
    /// The querier's interval when it told us (v3 QQIC).
    query_interval_secs: Option<u32>,
    last_query_version: Option<QueryVersion>,
    rng: fastrand::Rng,
    pub stats: IgmpStats,
}

impl IgmpHost {
    pub fn new(settings: &Igmp, seed: u64) -> Self {
        IgmpHost {
            settings: settings.clone(),
            groups: BTreeMap::new(),
            leaving: BTreeMap::new(),
            general_answer_ms: None,
            older_querier_until_ms: None,
            query_interval_secs: None,
            last_query_version: None,
            rng: fastrand::Rng::with_seed(seed),
            stats: IgmpStats::default(),
        }
    }

    /// New settings (a config change); memberships are kept.
    pub fn configure(&mut self, settings: &Igmp) {
        self.settings = settings.clone();
    }

    /// Joins the groups of `wanted` not yet joined and leaves the others.
    pub fn set_groups(&mut self, wanted: &BTreeSet<Ipv4Addr>, now_ms: u64) {
        let first = Repeat {
            left: self.settings.robustness,
            next_ms: now_ms,
        };
        let gone: Vec<Ipv4Addr> = self
            .groups
            .keys()
            .filter(|g| !wanted.contains(g))
            .copied()
            .collect();
        for g in gone {
            self.groups.remove(&g);
            self.leaving.insert(g, first);
        }
        for &g in wanted {
            self.leaving.remove(&g);
            self.groups.entry(g).or_insert(Group {
                join: first,
                answer_ms: None,
                last_report_ms: None,
            });
        }
    }

    /// A membership query heard on the underlay.
    pub fn on_query(&mut self, q: &Query, now_ms: u64) {
        let v = match q.version {
            QueryVersion::V1 => 0,
            QueryVersion::V2 => 1,
            QueryVersion::V3 => 2,
        };
        self.stats.queries[v] += 1;
        self.last_query_version = Some(q.version);
        if q.version == QueryVersion::V3 {
            if let Some(qi) = q.query_interval_secs {
                self.query_interval_secs = Some(qi);
            }
        } else {
            // RFC 3376 section 8.12: Robustness x Query Interval + Query
            // Response Interval.
            let qi = u64::from(self.query_interval());
            let timeout = u64::from(self.settings.robustness) * qi * 1000
                + u64::from(self.settings.query_response_interval_ms);
            self.older_querier_until_ms = Some(now_ms + timeout);
        }
        let v3 = !self.v2_mode(now_ms);
        let max = u64::from(q.max_response_ms);
        match q.group {
            None if v3 => {
                let due = now_ms + self.rng.u64(0..=max);
                self.general_answer_ms = Some(self.general_answer_ms.map_or(due, |d| d.min(due)));
            }
            None => {
                for group in self.groups.values_mut() {
                    let due = now_ms + self.rng.u64(0..=max);
                    group.answer_ms = Some(group.answer_ms.map_or(due, |d| d.min(due)));
                }
            }
            Some(g) => {
                let due = now_ms + self.rng.u64(0..=max);
                if let Some(group) = self.groups.get_mut(&g) {
                    group.answer_ms = Some(group.answer_ms.map_or(due, |d| d.min(due)));
                }
            }
        }
    }

    /// The messages due at `now_ms`.
    pub fn poll(&mut self, now_ms: u64) -> Vec<Message> {
        let v2 = self.v2_mode(now_ms);
        let interval = u64::from(self.settings.unsolicited_report_interval_ms);
        let mut records = Vec::new();
        let mut out = Vec::new();
        let general = self.general_answer_ms.is_some_and(|t| t <= now_ms);
        if general {
            self.general_answer_ms = None;
        }
        for (&g, group) in &mut self.groups {
            let join_due = group.join.left > 0 && group.join.next_ms <= now_ms;
            let answer_due = general || group.answer_ms.is_some_and(|t| t <= now_ms);
            if join_due {
                group.join.left -= 1;
                group.join.next_ms = now_ms + self.rng.u64(1..=interval);
            }
            if answer_due {
                group.answer_ms = None;
            }
            if !(join_due || answer_due) {
                continue;
            }
            group.last_report_ms = Some(now_ms);
            if v2 {
                out.push(Message::V2Report(g));
            } else if join_due {
                records.push((RecordType::ChangeToExclude, g));
            } else {
                records.push((RecordType::ModeIsExclude, g));
            }
        }
        self.leaving.retain(|&g, leave| {
            if leave.next_ms > now_ms {
                return true;
            }
            if v2 {
                out.push(Message::V2Leave(g));
            } else {
                records.push((RecordType::ChangeToInclude, g));
            }
            leave.left = leave.left.saturating_sub(1);
            leave.next_ms = now_ms + self.rng.u64(1..=interval);
            leave.left > 0
        });
        if !records.is_empty() {
            out.push(Message::V3Report(records));
        }
        for m in &out {
            match m {
                Message::V2Report(_) => self.stats.v2_reports_sent += 1,
                Message::V2Leave(_) => self.stats.leaves_sent += 1,
                Message::V3Report(r) => {
                    self.stats.v3_reports_sent += 1;
                    let leaves = r.iter().filter(|(k, _)| *k == RecordType::ChangeToInclude);
                    self.stats.leaves_sent += leaves.count() as u64;
                }
            }
        }
        out
    }

    /// Whether reports go out as IGMPv2 now.
    pub fn v2_mode(&self, now_ms: u64) -> bool {
        self.settings.version == IgmpVersion::V2
            || self.older_querier_until_ms.is_some_and(|t| now_ms < t)
    }

    /// The version of the last query heard, if any.
    pub fn querier_version(&self) -> Option<QueryVersion> {
        self.last_query_version
    }

    /// The joined groups.
    pub fn status(&self) -> Vec<GroupStatus> {
        self.groups
            .iter()
            .map(|(&group, g)| GroupStatus {
                group,
                joining: g.join.left > 0,
                last_report_ms: g.last_report_ms,
            })
            .collect()
    }

    fn query_interval(&self) -> u32 {
        self.query_interval_secs
            .unwrap_or(self.settings.query_interval_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G1: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
    const G2: Ipv4Addr = Ipv4Addr::new(239, 2, 2, 2);

    fn host() -> IgmpHost {
        IgmpHost::new(&Igmp::default(), 7)
    }

    fn groups(g: &[Ipv4Addr]) -> BTreeSet<Ipv4Addr> {
        g.iter().copied().collect()
    }

    /// Every message sent from `from` to `to` ms, polling each millisecond.
    fn run(h: &mut IgmpHost, from: u64, to: u64) -> Vec<(u64, Message)> {
        (from..to)
            .flat_map(|t| h.poll(t).into_iter().map(move |m| (t, m)))
            .collect()
    }

    fn query(version: QueryVersion, group: Option<Ipv4Addr>, max_response_ms: u32) -> Query {
        Query {
            version,
            group,
            max_response_ms,
            query_interval_secs: None,
        }
    }

    #[test]
    fn a_join_is_reported_robustness_times_within_the_interval() {
        let mut h = host();
        h.set_groups(&groups(&[G1]), 0);
        let sent = run(&mut h, 0, 5000);
        assert_eq!(sent.len(), 2, "robustness 2: {sent:?}");
        assert_eq!(
            sent[0],
            (
                0,
                Message::V3Report(vec![(RecordType::ChangeToExclude, G1)])
            )
        );
        assert!(
            sent[1].0 >= 1 && sent[1].0 <= 1000,
            "within 1 s: {}",
            sent[1].0
        );
        assert_eq!(h.stats.v3_reports_sent, 2);
        assert!(!h.status()[0].joining);
    }

    #[test]
    fn queries_are_answered_within_their_max_response_time() {
        let mut h = host();
        h.set_groups(&groups(&[G1, G2]), 0);
        run(&mut h, 0, 5000);
        // A general v3 query: one current-state report for both groups.
        h.on_query(&query(QueryVersion::V3, None, 2000), 10_000);
        let sent = run(&mut h, 10_000, 13_000);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(sent[0].0 <= 12_000);
        assert_eq!(
            sent[0].1,
            Message::V3Report(vec![
                (RecordType::ModeIsExclude, G1),
                (RecordType::ModeIsExclude, G2)
            ])
        );
        // A group-specific query for a group we are not in: nothing.
        h.on_query(
            &query(QueryVersion::V3, Some(Ipv4Addr::new(239, 9, 9, 9)), 1000),
            20_000,
        );
        assert!(run(&mut h, 20_000, 22_000).is_empty());
        // For G2: G2 only.
        h.on_query(&query(QueryVersion::V3, Some(G2), 1000), 30_000);
        let sent = run(&mut h, 30_000, 32_000);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].1,
            Message::V3Report(vec![(RecordType::ModeIsExclude, G2)])
        );
        assert_eq!(h.stats.queries, [0, 0, 3]);
    }

    #[test]
    fn a_v2_querier_makes_reports_v2_until_it_goes_quiet() {
        let mut h = host();
        h.set_groups(&groups(&[G1]), 0);
        run(&mut h, 0, 5000);
        h.on_query(&query(QueryVersion::V2, None, 1000), 10_000);
        assert!(h.v2_mode(10_000));
        let sent = run(&mut h, 10_000, 12_000);
        assert_eq!(
            sent.iter().map(|s| &s.1).collect::<Vec<_>>(),
            [&Message::V2Report(G1)]
        );
        // Leaving in v2 mode sends v2 leaves to all-routers.
        h.set_groups(&groups(&[]), 20_000);
        let sent = run(&mut h, 20_000, 23_000);
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(|s| s.1 == Message::V2Leave(G1)));
        // 2 x 125 s + 10 s after the v2 query, v3 again.
        assert!(h.v2_mode(10_000 + 259_999));
        assert!(!h.v2_mode(10_000 + 260_000));
        assert_eq!(h.stats.leaves_sent, 2);
    }

    #[test]
    fn configured_v2_joins_with_v2_reports_and_leaves_go_v3_otherwise() {
        let v2 = Igmp {
            version: IgmpVersion::V2,
            ..Igmp::default()
        };
        let mut h = IgmpHost::new(&v2, 1);
        h.set_groups(&groups(&[G1]), 0);
        assert_eq!(run(&mut h, 0, 2000).len(), 2);
        assert_eq!(h.stats.v2_reports_sent, 2);

        let mut h = host();
        h.set_groups(&groups(&[G1]), 0);
        run(&mut h, 0, 2000);
        h.set_groups(&groups(&[G2]), 5000);
        let sent = run(&mut h, 5000, 8000);
        let first = &sent[0].1;
        assert_eq!(
            first,
            &Message::V3Report(vec![
                (RecordType::ChangeToExclude, G2),
                (RecordType::ChangeToInclude, G1)
            ]),
            "moving groups: join the new one, leave the old one"
        );
        assert_eq!(h.status().iter().map(|s| s.group).collect::<Vec<_>>(), [G2]);
    }

    #[test]
    fn rejoining_a_group_being_left_cancels_the_leave() {
        let mut h = host();
        h.set_groups(&groups(&[G1]), 0);
        run(&mut h, 0, 2000);
        h.set_groups(&groups(&[]), 3000);
        h.set_groups(&groups(&[G1]), 3000);
        let sent = run(&mut h, 3000, 6000);
        assert!(
            sent.iter().all(|(_, m)| matches!(m, Message::V3Report(r) if r.iter().all(|(k, _)| *k == RecordType::ChangeToExclude))),
            "{sent:?}"
        );
    }
}
