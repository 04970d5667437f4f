//! The `/api/v1` REST API. [`routes`] is the one table of every route: the
//! router is built from it and so is the OpenAPI document, so neither can
//! miss a route.

pub mod auth;
pub mod body;
mod config;
pub mod error;
mod groups;
mod l3;
mod openapi;
mod ports;
pub mod precondition;
mod reads;
#[cfg(test)]
mod tests;
mod vnis;

use crate::apply::Applied;
use crate::server::AppState;
use axum::http::header::{ETAG, LOCATION};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Json;
use serde::Serialize;

/// Response header carrying the running config's generation after a change.
pub const GENERATION_HEADER: HeaderName = HeaderName::from_static("x-config-generation");
/// One per warning of an applied change (`path: reason`), e.g. an MTU
/// accepted only because `mtu_check = "warn"`.
pub const WARNING_HEADER: HeaderName = HeaderName::from_static("x-config-warning");

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    /// Upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

/// A body: media type and the name of its schema (see `openapi`).
pub type Media = (&'static str, &'static str);

const JSON: &str = "application/json";

/// One route: what the router serves and what the OpenAPI document says.
pub struct Route {
    pub verb: Verb,
    /// axum path syntax, which is also OpenAPI's: `/api/v1/vnis/{vni}`.
    pub path: &'static str,
    pub summary: &'static str,
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
    /// Accepted request bodies.
    pub request: &'static [Media],
    /// Success status and its bodies.
    pub status: u16,
    pub response: &'static [Media],
    /// Error statuses it can answer (401 is added for changes).
    pub errors: &'static [u16],
    /// The success response carries the config generation as its `ETag`;
    /// on a change, `If-Match` is honoured too (412 when stale).
    pub etag: bool,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

impl Route {
    fn new(
        verb: Verb,
        path: &'static str,
        handler: fn(MethodFilter) -> MethodRouter<AppState>,
    ) -> Route {
        Route {
            verb,
            path,
            summary: "",
            query: &[],
            request: &[],
            status: 200,
            response: &[],
            errors: &[],
            etag: verb != Verb::Get,
            handler,
        }
    }

    /// A read of the config: tagged with its generation.
    fn tagged(mut self) -> Self {
        self.etag = true;
        self
    }

    /// A POST that changes nothing: no `ETag`, no `If-Match`.
    fn untagged(mut self) -> Self {
        self.etag = false;
        self
    }

    fn about(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }

    fn query(mut self, q: &'static [(&'static str, &'static str)]) -> Self {
        self.query = q;
        self
    }

    fn takes(mut self, request: &'static [Media]) -> Self {
        self.request = request;
        self
    }

    fn gives(mut self, status: u16, response: &'static [Media]) -> Self {
        self.status = status;
        self.response = response;
        self
    }

    fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }

    /// The axum method router for this route.
    pub fn method_router(&self) -> MethodRouter<AppState> {
        (self.handler)(self.verb.filter())
    }
}

/// Every route of the management server.
pub fn routes() -> Vec<Route> {
    use Verb::*;
    const CONFIG_BODY: &[Media] = &[(JSON, "Config"), ("application/toml", "string")];
    const VNI_ERR: &[u16] = &[400, 404, 422];
    vec![
        Route::new(Get, "/healthz", |f| on(f, crate::server::healthz))
            .about("Liveness: status, workers, config generation")
            .gives(200, &[(JSON, "Health")]),
        Route::new(Get, "/metrics", |f| on(f, crate::server::metrics))
            .about("Prometheus metrics (text exposition format)")
            .gives(200, &[("text/plain", "string")]),
        Route::new(Get, "/api/v1/openapi.json", |f| on(f, openapi::serve))
            .about("This OpenAPI document")
            .gives(200, &[(JSON, "object")]),
        Route::new(Get, "/api/v1/config", |f| on(f, config::get))
            .tagged()
            .about("The running configuration")
            .query(&[(
                "format",
                "`json` (default) or `toml` (the config file's form)",
            )])
            .gives(200, CONFIG_BODY)
            .errors(&[400]),
        Route::new(Put, "/api/v1/config", |f| on(f, config::put))
            .about("Replace the whole running config (JSON, or TOML as application/toml)")
            .takes(CONFIG_BODY)
            .gives(200, &[(JSON, "Applied")])
            .errors(&[400, 422]),
        Route::new(Post, "/api/v1/config/validate", |f| on(f, config::validate))
            .untagged()
            .about("Check a candidate config against the rules and the running gateway")
            .takes(CONFIG_BODY)
            .gives(200, &[(JSON, "Verdict")])
            .errors(&[400]),
        Route::new(Post, "/api/v1/config/save", |f| on(f, config::save))
            .about("Write the running configuration to the file given to `vtepgw run --config`")
            .gives(200, &[(JSON, "Saved")])
            .errors(&[409, 500]),
        Route::new(Get, "/api/v1/vnis", |f| on(f, vnis::list))
            .tagged()
            .about("List VNIs")
            .gives(200, &[(JSON, "VniList")]),
        Route::new(Post, "/api/v1/vnis", |f| on(f, vnis::create))
            .about("Add a VNI")
            .takes(&[(JSON, "Vni")])
            .gives(201, &[(JSON, "Vni")])
            .errors(&[400, 409, 422]),
        Route::new(Get, "/api/v1/vnis/{vni}", |f| on(f, vnis::get))
            .tagged()
            .about("One VNI")
            .gives(200, &[(JSON, "Vni")])
            .errors(&[400, 404]),
        Route::new(Put, "/api/v1/vnis/{vni}", |f| on(f, vnis::replace))
            .about("Replace a VNI (omitted fields take their defaults)")
            .takes(&[(JSON, "Vni")])
            .gives(200, &[(JSON, "Vni")])
            .errors(VNI_ERR),
        Route::new(Patch, "/api/v1/vnis/{vni}", |f| on(f, vnis::patch))
            .about("Change some of a VNI's settings (JSON merge patch)")
            .takes(&[("application/merge-patch+json", "Vni")])
            .gives(200, &[(JSON, "Vni")])
            .errors(VNI_ERR),
        Route::new(Delete, "/api/v1/vnis/{vni}", |f| on(f, vnis::delete))
            .about("Remove a VNI (not while a port binds it)")
            .gives(204, &[])
            .errors(&[400, 404, 409, 422]),
        Route::new(Get, "/api/v1/vnis/{vni}/vteps", |f| on(f, vnis::vteps))
            .tagged()
            .about("A VNI's replication list (remote VTEPs that get its BUM traffic)")
            .gives(200, &[(JSON, "VtepRefList")])
            .errors(&[400, 404]),
        Route::new(Post, "/api/v1/vnis/{vni}/vteps", |f| on(f, vnis::add_vtep))
            .about("Add a remote VTEP to a VNI's replication list")
            .takes(&[(JSON, "VtepRef")])
            .gives(201, &[(JSON, "VtepRef")])
            .errors(&[400, 404, 409, 422]),
        Route::new(Delete, "/api/v1/vnis/{vni}/vteps/{ip}", |f| {
            on(f, vnis::remove_vtep)
        })
        .about("Remove a remote VTEP from a VNI's replication list")
        .gives(204, &[])
        .errors(VNI_ERR),
        Route::new(Get, "/api/v1/vnis/{vni}/static-macs", |f| {
            on(f, vnis::static_macs)
        })
        .tagged()
        .about("A VNI's static MACs")
        .gives(200, &[(JSON, "StaticMacList")])
        .errors(&[400, 404]),
        Route::new(Post, "/api/v1/vnis/{vni}/static-macs", |f| {
            on(f, vnis::add_static_mac)
        })
        .about("Pin a MAC to a remote VTEP")
        .takes(&[(JSON, "StaticMac")])
        .gives(201, &[(JSON, "StaticMac")])
        .errors(&[400, 404, 409, 422]),
        Route::new(Delete, "/api/v1/vnis/{vni}/static-macs/{mac}", |f| {
            on(f, vnis::remove_static_mac)
        })
        .about("Unpin a static MAC")
        .gives(204, &[])
        .errors(VNI_ERR),
        Route::new(Get, "/api/v1/ports", |f| on(f, ports::list))
            .tagged()
            .about("List physical ports")
            .gives(200, &[(JSON, "PortList")]),
        Route::new(Post, "/api/v1/ports", |f| on(f, ports::create))
            .about("Add a port: validated, then refused (ports need a restart)")
            .takes(&[(JSON, "Port")])
            .gives(201, &[(JSON, "Port")])
            .errors(&[400, 409, 422]),
        Route::new(Get, "/api/v1/ports/{name}", |f| on(f, ports::get))
            .tagged()
            .about("One port")
            .gives(200, &[(JSON, "Port")])
            .errors(&[404]),
        Route::new(Put, "/api/v1/ports/{name}", |f| on(f, ports::replace))
            .about("Replace a port's VLAN bindings, untagged VNI and MTU")
            .takes(&[(JSON, "Port")])
            .gives(200, &[(JSON, "Port")])
            .errors(VNI_ERR),
        Route::new(Patch, "/api/v1/ports/{name}", |f| on(f, ports::patch))
            .about("Change some of a port's settings (JSON merge patch)")
            .takes(&[("application/merge-patch+json", "Port")])
            .gives(200, &[(JSON, "Port")])
            .errors(VNI_ERR),
        Route::new(Delete, "/api/v1/ports/{name}", |f| on(f, ports::delete))
            .about("Remove a port: refused (ports need a restart)")
            .gives(204, &[])
            .errors(&[404, 422]),
        Route::new(Get, "/api/v1/ports/{name}/vlans", |f| on(f, ports::vlans))
            .tagged()
            .about("A port's VLAN bindings")
            .gives(200, &[(JSON, "VlanBindingList")])
            .errors(&[404]),
        Route::new(Post, "/api/v1/ports/{name}/vlans", |f| {
            on(f, ports::add_vlan)
        })
        .about("Bind a VLAN of a port to a VNI")
        .takes(&[(JSON, "VlanBinding")])
        .gives(201, &[(JSON, "VlanBinding")])
        .errors(&[400, 404, 409, 422]),
        Route::new(Delete, "/api/v1/ports/{name}/vlans/{vlan}", |f| {
            on(f, ports::remove_vlan)
        })
        .about("Unbind a VLAN")
        .gives(204, &[])
        .errors(VNI_ERR),
        Route::new(Get, "/api/v1/underlay", |f| on(f, ports::underlay))
            .tagged()
            .about("Underlay settings")
            .gives(200, &[(JSON, "Underlay")]),
        Route::new(Put, "/api/v1/underlay", |f| on(f, ports::replace_underlay))
            .about("Replace the underlay settings (device is fixed)")
            .takes(&[(JSON, "Underlay")])
            .gives(200, &[(JSON, "Underlay")])
            .errors(&[400, 422]),
        Route::new(Patch, "/api/v1/underlay", |f| on(f, ports::patch_underlay))
            .about("Change some underlay settings (JSON merge patch)")
            .takes(&[("application/merge-patch+json", "Underlay")])
            .gives(200, &[(JSON, "Underlay")])
            .errors(&[400, 422]),
        Route::new(Get, "/api/v1/macs", |f| on(f, reads::macs))
            .about("Learned and static MACs, by VNI and MAC")
            .query(&[
                ("vni", "only this VNI"),
                ("mac", "only this MAC"),
                ("vtep", "only MACs behind this remote VTEP"),
            ])
            .gives(200, &[(JSON, "MacList")])
            .errors(&[400]),
        Route::new(Get, "/api/v1/stats/ports", |f| on(f, reads::port_stats))
            .about("Per-port packets and bytes (pipeline and NIC)")
            .gives(200, &[(JSON, "PortStatsList")]),
        Route::new(Get, "/api/v1/stats/vnis", |f| on(f, reads::vni_stats))
            .about("Per-VNI traffic, flooding and MAC table activity")
            .gives(200, &[(JSON, "VniStatsList")]),
        Route::new(Get, "/api/v1/stats/drops", |f| on(f, reads::drop_stats))
            .about("Drops by reason, with what each reason means")
            .gives(200, &[(JSON, "DropList")]),
        Route::new(Get, "/api/v1/workers", |f| on(f, reads::workers))
            .about("Per-worker packets, busy cycles, polls and cycles per packet")
            .gives(200, &[(JSON, "Workers")]),
        Route::new(Get, "/api/v1/vteps", |f| on(f, reads::vteps))
            .about("Remote VTEPs: next hop, ARP state and traffic")
            .gives(200, &[(JSON, "RemoteVtepList")]),
        Route::new(Get, "/api/v1/groups", |f| on(f, groups::list))
            .about("Underlay multicast groups: VNIs, IGMP membership, querier heard, traffic")
            .gives(200, &[(JSON, "Groups")]),
        Route::new(Get, "/api/v1/interfaces", |f| on(f, l3::interfaces))
            .about("L3 interfaces (VNI gateway and routed interfaces): VRF, address, MAC, MTU, routed traffic")
            .gives(200, &[(JSON, "InterfaceList")]),
        Route::new(Get, "/api/v1/routes", |f| on(f, l3::routes))
            .about("IPv4 routes of the L3 gateway, by VRF and prefix: connected and static")
            .query(&[("vrf", "only this VRF")])
            .gives(200, &[(JSON, "RouteList")])
            .errors(&[400]),
        Route::new(Get, "/api/v1/neighbours", |f| on(f, l3::neighbours))
            .about("The L3 gateway's neighbours (its ARP table), by VRF, interface and address")
            .query(&[
                ("vrf", "only this VRF"),
                ("interface", "only this L3 interface"),
            ])
            .gives(200, &[(JSON, "NeighbourEntryList")])
            .errors(&[400]),
        Route::new(Get, "/api/v1/mtu", |f| on(f, reads::mtu))
            .about("Per VNI: overlay MTU, underlay MTU, required underlay MTU and margin")
            .gives(200, &[(JSON, "MtuList")]),
    ]
}

/// Runs `edit` on a copy of the running config and applies the result
/// (see [`crate::apply::Applier::change`]), if the request's `If-Match`
/// allows the running generation.
async fn apply<T>(
    s: &AppState,
    edit: impl FnOnce(&mut vtepgw_config::Config) -> Result<T, error::ApiError>,
) -> Result<(T, Applied), error::ApiError> {
    let expected = precondition::expected();
    s.applier.change(&s.shared, &expected, edit).await
}

/// Appends `item` to `list`, unless an entry `clashes` with it: then the
/// error `conflict` makes from that entry.
fn add_unique<T>(
    list: &mut Vec<T>,
    item: T,
    clashes: impl Fn(&T) -> bool,
    conflict: impl FnOnce(&T) -> error::ApiError,
) -> Result<(), error::ApiError> {
    if let Some(existing) = list.iter().find(|x| clashes(x)) {
        return Err(conflict(existing));
    }
    list.push(item);
    Ok(())
}

/// Removes the entries `matches` selects; the error `missing` if none did.
fn remove_matching<T>(
    list: &mut Vec<T>,
    matches: impl Fn(&T) -> bool,
    missing: impl FnOnce() -> error::ApiError,
) -> Result<(), error::ApiError> {
    let before = list.len();
    list.retain(|x| !matches(x));
    if list.len() == before {
        return Err(missing());
    }
    Ok(())
}

fn with_generation(mut r: Response, applied: &Applied) -> Response {
    let headers = r.headers_mut();
    headers.insert(GENERATION_HEADER, applied.generation.into());
    headers.insert(ETAG, precondition::etag(applied.generation));
    for w in &applied.warnings {
        // Header values are one line of visible ASCII.
        let text: String = w
            .to_string()
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
            .collect();
        if let Ok(value) = axum::http::HeaderValue::from_str(&text) {
            headers.append(WARNING_HEADER, value);
        }
    }
    r
}

/// 200 with `body`, after a change.
fn changed(body: &impl Serialize, applied: &Applied) -> Response {
    with_generation(Json(body).into_response(), applied)
}

/// 201 with `body` and its `Location`.
fn created(location: String, body: &impl Serialize, applied: &Applied) -> Response {
    let r = (StatusCode::CREATED, [(LOCATION, location)], Json(body)).into_response();
    with_generation(r, applied)
}

/// 204, after a removal.
fn no_content(applied: &Applied) -> Response {
    with_generation(StatusCode::NO_CONTENT.into_response(), applied)
}
