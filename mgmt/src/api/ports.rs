//! `/api/v1/ports` (VLAN bindings, untagged VNI, MTU) and
//! `/api/v1/underlay`. Ports themselves (name, device) are fixed at start:
//! adding, removing or renaming one is refused as needing a restart.

use super::body::{json, json_with, merge_patch, segment};
use super::error::ApiError;
use super::{add_unique, apply, changed, created, no_content, remove_matching};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use vtepgw_config::{Config, PortConfig, Underlay, VlanBinding};

type Result<T> = std::result::Result<T, ApiError>;

/// The index of port `name`, or 404.
fn find(config: &Config, name: &str) -> Result<usize> {
    config
        .port
        .iter()
        .position(|p| p.name == name)
        .ok_or_else(|| ApiError::not_found("name", format!("there is no port \"{name}\"")))
}

/// `GET /api/v1/ports`.
pub async fn list(State(s): State<AppState>) -> Json<Vec<PortConfig>> {
    Json(s.applier.config().port.clone())
}

/// `GET /api/v1/ports/{name}`.
pub async fn get(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<PortConfig>> {
    let config = &s.applier.config();
    Ok(Json(config.port[find(config, &name)?].clone()))
}

/// `POST /api/v1/ports`: validated like any change, then refused: ports
/// are started with their queues at start-up.
pub async fn create(State(s): State<AppState>, body: Bytes) -> Result<Response> {
    let new: PortConfig = json(&body)?;
    let name = new.name.clone();
    let (p, applied) = apply(&s, |c| {
        if c.port.iter().any(|p| p.name == name) {
            return Err(ApiError::conflict(
                "name",
                format!("port \"{name}\" already exists"),
            ));
        }
        c.port.push(new.clone());
        Ok(new)
    })
    .await?;
    Ok(created(format!("/api/v1/ports/{name}"), &p, &applied))
}

/// `DELETE /api/v1/ports/{name}`: refused (needs a restart) unless absent.
pub async fn delete(State(s): State<AppState>, Path(name): Path<String>) -> Result<Response> {
    let ((), applied) = apply(&s, |c| {
        let i = find(c, &name)?;
        c.port.remove(i);
        Ok(())
    })
    .await?;
    Ok(no_content(&applied))
}

/// Replaces port `name` with what `make` builds from it.
async fn update(
    s: &AppState,
    name: &str,
    make: impl FnOnce(&PortConfig) -> Result<PortConfig>,
) -> Result<Response> {
    let (p, applied) = apply(s, |c| {
        let i = find(c, name)?;
        c.port[i] = make(&c.port[i])?;
        Ok(c.port[i].clone())
    })
    .await?;
    Ok(changed(&p, &applied))
}

/// `PUT /api/v1/ports/{name}`: replaces the port's settings whole;
/// `name` and `device` may be left out.
pub async fn replace(
    State(s): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let fixed = [("name", name.clone().into())];
    update(&s, &name, |old| {
        json_with(&body, &fixed, &[("device", old.device.clone().into())])
    })
    .await
}

/// `PATCH /api/v1/ports/{name}`: changes the fields the merge patch names.
pub async fn patch(
    State(s): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response> {
    update(&s, &name, |old| merge_patch(old, &body)).await
}

/// `GET /api/v1/ports/{name}/vlans`.
pub async fn vlans(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<VlanBinding>>> {
    let config = &s.applier.config();
    Ok(Json(config.port[find(config, &name)?].vlans.clone()))
}

/// `POST /api/v1/ports/{name}/vlans` `{"vlan": 10, "vni": 100}`.
pub async fn add_vlan(
    State(s): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let binding: VlanBinding = json(&body)?;
    let ((), applied) = apply(&s, |c| {
        let i = find(c, &name)?;
        add_unique(
            &mut c.port[i].vlans,
            binding,
            |b| b.vlan == binding.vlan,
            |old| {
                let reason = format!(
                    "VLAN {} on port \"{name}\" is already bound to VNI {}",
                    old.vlan, old.vni
                );
                ApiError::conflict("vlan", reason)
            },
        )
    })
    .await?;
    Ok(created(
        format!("/api/v1/ports/{name}/vlans/{}", binding.vlan),
        &binding,
        &applied,
    ))
}

/// `DELETE /api/v1/ports/{name}/vlans/{vlan}`.
pub async fn remove_vlan(
    State(s): State<AppState>,
    Path((name, vlan)): Path<(String, String)>,
) -> Result<Response> {
    let vlan: u16 = segment("vlan", &vlan, "a VLAN id")?;
    let ((), applied) = apply(&s, |c| {
        let i = find(c, &name)?;
        remove_matching(
            &mut c.port[i].vlans,
            |b| b.vlan == vlan,
            || {
                let reason = format!("VLAN {vlan} is not bound on port \"{name}\"");
                ApiError::not_found("vlan", reason)
            },
        )
    })
    .await?;
    Ok(no_content(&applied))
}

/// `GET /api/v1/underlay`.
pub async fn underlay(State(s): State<AppState>) -> Json<Underlay> {
    Json(s.applier.config().underlay.clone())
}

/// Replaces the underlay settings with what `make` builds from them.
async fn update_underlay(
    s: &AppState,
    make: impl FnOnce(&Underlay) -> Result<Underlay>,
) -> Result<Response> {
    let (u, applied) = apply(s, |c| {
        c.underlay = make(&c.underlay)?;
        Ok(c.underlay.clone())
    })
    .await?;
    Ok(changed(&u, &applied))
}

/// `PUT /api/v1/underlay`: replaces the underlay settings (`device` may be
/// left out; changing it needs a restart).
pub async fn replace_underlay(State(s): State<AppState>, body: Bytes) -> Result<Response> {
    update_underlay(&s, |old| {
        json_with(&body, &[], &[("device", old.device.clone().into())])
    })
    .await
}

/// `PATCH /api/v1/underlay`: changes the fields the merge patch names.
pub async fn patch_underlay(State(s): State<AppState>, body: Bytes) -> Result<Response> {
    update_underlay(&s, |old| merge_patch(old, &body)).await
}
