//! `/api/v1/vnis`: VNIs, their replication lists (remote VTEPs) and their
//! static MACs. Each change goes through [`crate::apply::Applier::change`].

use super::body::{json, json_with, merge_patch, segment};
use super::error::ApiError;
use super::{add_unique, apply, changed, created, no_content, remove_matching};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use vtepgw_config::{Config, MacAddr, StaticMac, VniConfig};

type Result<T> = std::result::Result<T, ApiError>;

/// Parses the `{vni}` path segment.
pub(super) fn parse_vni(text: &str) -> Result<u32> {
    const WHAT: &str = "a VNI (a number from 1 to 16777215)";
    let vni: u32 = segment("vni", text, WHAT)?;
    if !(1..=vtepgw_config::MAX_VNI).contains(&vni) {
        return Err(ApiError::bad_request(
            "vni",
            format!("\"{text}\" is not {WHAT}"),
        ));
    }
    Ok(vni)
}

/// The index of VNI `vni` in the config, or 404.
pub(super) fn find(config: &Config, vni: u32) -> Result<usize> {
    config
        .vni
        .iter()
        .position(|v| v.id == vni)
        .ok_or_else(|| ApiError::not_found("vni", format!("VNI {vni} is not configured")))
}

/// `GET /api/v1/vnis`.
pub async fn list(State(s): State<AppState>) -> Json<Vec<VniConfig>> {
    Json(s.applier.config().vni.clone())
}

/// `GET /api/v1/vnis/{vni}`.
pub async fn get(State(s): State<AppState>, Path(vni): Path<String>) -> Result<Json<VniConfig>> {
    let config = &s.applier.config();
    let i = find(config, parse_vni(&vni)?)?;
    Ok(Json(config.vni[i].clone()))
}

/// `POST /api/v1/vnis`: adds a VNI (409 if it exists).
pub async fn create(State(s): State<AppState>, body: Bytes) -> Result<Response> {
    let new: VniConfig = json(&body)?;
    let id = new.id;
    let (v, applied) = apply(&s, |c| {
        if c.vni.iter().any(|v| v.id == id) {
            return Err(ApiError::conflict(
                "id",
                format!("VNI {id} already exists; PUT /api/v1/vnis/{id} replaces it"),
            ));
        }
        c.vni.push(new.clone());
        Ok(new)
    })
    .await?;
    Ok(created(format!("/api/v1/vnis/{id}"), &v, &applied))
}

/// Replaces VNI `id` with what `make` builds from it (the id stays).
async fn update(
    s: &AppState,
    id: u32,
    make: impl FnOnce(&VniConfig) -> Result<VniConfig>,
) -> Result<Response> {
    let (v, applied) = apply(s, |c| {
        let i = find(c, id)?;
        let new = make(&c.vni[i])?;
        if new.id != id {
            return Err(ApiError::bad_request("id", "a VNI's id cannot change"));
        }
        c.vni[i] = new;
        Ok(c.vni[i].clone())
    })
    .await?;
    Ok(changed(&v, &applied))
}

/// `PUT /api/v1/vnis/{vni}`: replaces a VNI whole (omitted fields take
/// their defaults; `id` may be left out).
pub async fn replace(
    State(s): State<AppState>,
    Path(vni): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let id = parse_vni(&vni)?;
    update(&s, id, |_| json_with(&body, &[("id", id.into())], &[])).await
}

/// `PATCH /api/v1/vnis/{vni}`: changes the fields the merge patch names.
pub async fn patch(
    State(s): State<AppState>,
    Path(vni): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let id = parse_vni(&vni)?;
    update(&s, id, |old| merge_patch(old, &body)).await
}

/// `DELETE /api/v1/vnis/{vni}`: 409 while a port still binds it.
pub async fn delete(State(s): State<AppState>, Path(vni): Path<String>) -> Result<Response> {
    let id = parse_vni(&vni)?;
    let ((), applied) = apply(&s, |c| {
        let i = find(c, id)?;
        for (p, port) in c.port.iter().enumerate() {
            if port.untagged_vni == Some(id) {
                return Err(ApiError::conflict(
                    &format!("port[{p}].untagged_vni"),
                    format!(
                        "VNI {id} is port \"{}\"'s untagged VNI; change that first",
                        port.name
                    ),
                ));
            }
            if let Some(j) = port.vlans.iter().position(|b| b.vni == id) {
                return Err(ApiError::conflict(
                    &format!("port[{p}].vlans[{j}]"),
                    format!(
                        "VNI {id} is bound to VLAN {} on port \"{}\"; remove the binding first",
                        port.vlans[j].vlan, port.name
                    ),
                ));
            }
        }
        c.vni.remove(i);
        Ok(())
    })
    .await?;
    Ok(no_content(&applied))
}

/// A remote VTEP of a replication list.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VtepRef {
    pub ip: Ipv4Addr,
}

/// `GET /api/v1/vnis/{vni}/vteps`: the replication (flood) list.
pub async fn vteps(State(s): State<AppState>, Path(vni): Path<String>) -> Result<Response> {
    let config = &s.applier.config();
    let i = find(config, parse_vni(&vni)?)?;
    let list: Vec<VtepRef> = config.vni[i]
        .flood
        .iter()
        .map(|&ip| VtepRef { ip })
        .collect();
    Ok(Json(list).into_response())
}

/// `POST /api/v1/vnis/{vni}/vteps` `{"ip": ...}`.
pub async fn add_vtep(
    State(s): State<AppState>,
    Path(vni): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let id = parse_vni(&vni)?;
    let VtepRef { ip } = json(&body)?;
    let ((), applied) = apply(&s, |c| {
        let i = find(c, id)?;
        add_unique(
            &mut c.vni[i].flood,
            ip,
            |&x| x == ip,
            |_| {
                let reason = format!("{ip} is already in VNI {id}'s replication list");
                ApiError::conflict("ip", reason)
            },
        )
    })
    .await?;
    Ok(created(
        format!("/api/v1/vnis/{id}/vteps/{ip}"),
        &VtepRef { ip },
        &applied,
    ))
}

/// `DELETE /api/v1/vnis/{vni}/vteps/{ip}`.
pub async fn remove_vtep(
    State(s): State<AppState>,
    Path((vni, ip)): Path<(String, String)>,
) -> Result<Response> {
    let id = parse_vni(&vni)?;
    let ip: Ipv4Addr = segment("ip", &ip, "an IPv4 address")?;
    let ((), applied) = apply(&s, |c| {
        let i = find(c, id)?;
        remove_matching(
            &mut c.vni[i].flood,
            |&x| x == ip,
            || ApiError::not_found("ip", format!("{ip} is not in VNI {id}'s replication list")),
        )
    })
    .await?;
    Ok(no_content(&applied))
}

/// `GET /api/v1/vnis/{vni}/static-macs`.
pub async fn static_macs(State(s): State<AppState>, Path(vni): Path<String>) -> Result<Response> {
    let config = &s.applier.config();
    let i = find(config, parse_vni(&vni)?)?;
    Ok(Json(config.vni[i].static_macs.clone()).into_response())
}

/// `POST /api/v1/vnis/{vni}/static-macs` `{"mac": ..., "vtep": ...}`.
pub async fn add_static_mac(
    State(s): State<AppState>,
    Path(vni): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let id = parse_vni(&vni)?;
    let entry: StaticMac = json(&body)?;
    let ((), applied) = apply(&s, |c| {
        let i = find(c, id)?;
        add_unique(
            &mut c.vni[i].static_macs,
            entry,
            |m| m.mac == entry.mac,
            |old| {
                let reason = format!(
                    "{} is already pinned to {} in VNI {id}; remove it first",
                    old.mac, old.vtep
                );
                ApiError::conflict("mac", reason)
            },
        )
    })
    .await?;
    Ok(created(
        format!("/api/v1/vnis/{id}/static-macs/{}", entry.mac),
        &entry,
        &applied,
    ))
}

/// `DELETE /api/v1/vnis/{vni}/static-macs/{mac}`.
pub async fn remove_static_mac(
    State(s): State<AppState>,
    Path((vni, mac)): Path<(String, String)>,
) -> Result<Response> {
    let id = parse_vni(&vni)?;
    let mac: MacAddr = segment("mac", &mac, "a MAC address like 02:00:00:00:00:01")?;
    let ((), applied) = apply(&s, |c| {
        let i = find(c, id)?;
        remove_matching(
            &mut c.vni[i].static_macs,
            |m| m.mac == mac,
            || ApiError::not_found("mac", format!("{mac} is not a static MAC of VNI {id}")),
        )
    })
    .await?;
    Ok(no_content(&applied))
}
