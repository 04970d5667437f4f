//! Request bodies and path segments, parsed here (not by axum's
//! extractors) so that every error names the offending field.

use super::error::ApiError;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::str::FromStr;
use vtepgw_config::Config;

/// Parses a JSON body into `T`; a 400 names the field that failed.
pub fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "",
            "the request body is empty; a JSON document is expected",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| ApiError::bad_request(&field_path(e.path()), e.inner().to_string()))?;
    de.end()
        .map_err(|e| ApiError::bad_request("", e.to_string()))?;
    Ok(value)
}

/// Whether the request says its body is TOML.
fn is_toml(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| matches!(t.trim(), "application/toml" | "text/toml"))
}

/// A whole config: TOML when `Content-Type: application/toml`, else JSON.
/// Parsed, not validated.
pub fn config(headers: &HeaderMap, bytes: &[u8]) -> Result<Config, ApiError> {
    if !is_toml(headers) {
        return json(bytes);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("", "the TOML body is not UTF-8"))?;
    Config::parse_toml(text).map_err(|e| {
        let mut errors = e.0.into_iter();
        let first = errors
            .next()
            .map(|e| ApiError::bad_request(&e.path, e.reason));
        let mut err = first.unwrap_or_else(|| ApiError::bad_request("", "invalid TOML"));
        err.errors.extend(errors);
        err
    })
}

/// Parses an object body after filling in fields it leaves out: those in
/// `fixed` must equal the given value when present (e.g. an `id` that
/// must match the URL); those in `fill` only default.
pub fn json_with<T: DeserializeOwned>(
    bytes: &[u8],
    fixed: &[(&str, Value)],
    fill: &[(&str, Value)],
) -> Result<T, ApiError> {
    let mut value: Value = json(bytes)?;
    let Some(object) = value.as_object_mut() else {
        return Err(ApiError::bad_request("", "a JSON object is expected"));
    };
    for (key, expected) in fixed {
        match object.get(*key) {
            Some(given) if given != expected => {
                return Err(ApiError::bad_request(
                    key,
                    format!("{given} does not match the URL ({expected})"),
                ))
            }
            _ => {
                object.insert((*key).to_string(), expected.clone());
            }
        }
    }
    for (key, default) in fill {
        object
            .entry((*key).to_string())
            .or_insert_with(|| default.clone());
    }
    from_value(value)
}

/// Applies a JSON merge patch (RFC 7386) from `bytes` to `current`.
pub fn merge_patch<T: serde::Serialize + DeserializeOwned>(
    current: &T,
    bytes: &[u8],
) -> Result<T, ApiError> {
    let patch: Value = json(bytes)?;
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "",
            "a JSON merge patch (an object) is expected",
        ));
    }
    let mut value = serde_json::to_value(current).map_err(|e| ApiError::internal(e.to_string()))?;
    merge(&mut value, patch);
    from_value(value)
}

fn merge(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(&key);
            } else {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
    }
}

/// A deserializer's path as a field path: "" for the document itself,
/// and without the "?" it writes for a key it could not read.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    text.split('.')
        .filter(|s| !s.is_empty() && *s != "?")
        .collect::<Vec<_>>()
        .join(".")
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| ApiError::bad_request(&field_path(e.path()), e.inner().to_string()))
}

/// Parses a path segment such as a VNI, an address or a MAC (400 if bad).
pub fn segment<T: FromStr>(name: &str, text: &str, what: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(name, format!("\"{text}\" is not {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use vtepgw_config::VniConfig;

    #[test]
    fn json_errors_name_the_field() {
        let e = json::<VniConfig>(br#"{"id": 5, "flood": ["192.0.2.1", "nope"]}"#).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.errors[0].path, "flood[1]");
        let e = json::<VniConfig>(br#"{"id": 5, "colour": 1}"#).unwrap_err();
        assert!(e.errors[0].reason.contains("unknown field"), "{e:?}");
        let e = json::<VniConfig>(b"{\"id\": 5").unwrap_err();
        assert_eq!(e.status, 400);
        let e = json::<VniConfig>(b"{bad").unwrap_err();
        assert_eq!(e.errors[0].path, "", "{e:?}");
        let e = json::<VniConfig>(b"  ").unwrap_err();
        assert!(e.error.contains("empty"));
        let e = json::<VniConfig>(br#"{"id": 5} {}"#).unwrap_err();
        assert!(e.error.contains("trailing"), "{e:?}");
    }

    #[test]
    fn toml_by_content_type() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/toml"));
        let good = "[underlay]\ndevice = \"u\"\naddress = \"192.0.2.10/24\"\n";
        let bad = format!("{good}mtu = \"big\"\n");
        let e = config(&h, bad.as_bytes()).unwrap_err();
        assert_eq!(e.errors[0].path, "underlay.mtu");
        assert_eq!(config(&h, good.as_bytes()).unwrap().underlay.device, "u");
        assert!(
            config(&HeaderMap::new(), good.as_bytes()).is_err(),
            "not JSON"
        );
    }

    #[test]
    fn defaults_fill_in_and_must_match() {
        let fixed = [("id", 7.into())];
        let fill = [("mac_limit", 9.into())];
        let v: VniConfig = json_with(br#"{"learning": false}"#, &fixed, &fill).unwrap();
        assert_eq!((v.id, v.learning, v.mac_limit), (7, false, 9));
        let v: VniConfig = json_with(br#"{"id": 7, "mac_limit": 3}"#, &fixed, &fill).unwrap();
        assert_eq!(v.mac_limit, 3, "given fields win over fill-ins");
        let e = json_with::<VniConfig>(br#"{"id": 8}"#, &fixed, &[]).unwrap_err();
        assert_eq!(e.errors[0].path, "id");
        assert!(json_with::<VniConfig>(b"[1]", &fixed, &[]).is_err());
    }

    #[test]
    fn merge_patch_changes_only_what_it_names() {
        let current: VniConfig =
            json(br#"{"id": 7, "flood": ["192.0.2.1"], "mtu": 1400}"#).unwrap();
        let v = merge_patch(&current, br#"{"mac_limit": 10, "mtu": null}"#).unwrap();
        assert_eq!(v.mac_limit, 10);
        assert_eq!(v.mtu, None);
        assert_eq!(v.flood, current.flood);
        let e = merge_patch(&current, br#"{"mac_limit": "many"}"#).unwrap_err();
        assert_eq!(e.errors[0].path, "mac_limit");
    }
}
