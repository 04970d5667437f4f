//! Bearer-token authentication for changes: with `management.token_file`
//! set, every request other than GET/HEAD must carry
//! `Authorization: Bearer <token>`, or it gets 401 and changes nothing.

use super::error::ApiError;
use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::path::Path;

/// Reads a token file: its content, trimmed. An empty token is an error,
/// and so is a file that group or others may access (as ssh refuses such a
/// private key): anyone who can read the token can change the gateway.
pub fn read_token(path: &Path) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let cannot = |e: std::io::Error| format!("cannot read token file {}: {e}", path.display());
    // The permissions of the file opened, not of whatever the path names later.
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mode = file.metadata().map_err(cannot)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "token file {} is accessible by group or others (mode {:03o}); \
             run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        ));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(cannot)?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "token file {} must hold one token without spaces",
            path.display()
        ));
    }
    Ok(token.to_string())
}

/// The warning for an API that anyone on the network can change: one
/// listening beyond loopback without a token.
pub fn open_door_warning(listen: std::net::SocketAddr, has_token: bool) -> Option<String> {
    (!has_token && !listen.ip().is_loopback()).then(|| {
        format!(
            "the management API listens on {listen}, beyond loopback, without \
             management.token_file: anyone who can reach it can change the gateway"
        )
    })
}

/// The credentials of a `Bearer` authorization (the scheme is
/// case-insensitive, RFC 7235).
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The middleware: lets reads through, checks the token on everything else.
pub async fn require_token(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = s.token.as_deref() else {
        return next.run(req).await;
    };
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_credentials);
    match given {
        Some(given) if same(given.as_bytes(), token.as_bytes()) => next.run(req).await,
        Some(_) => {
            let path = req.uri().path();
            tracing::warn!(method = %req.method(), path, "refused: wrong bearer token");
            ApiError::unauthorized("wrong bearer token").into_response()
        }
        None => ApiError::unauthorized(
            "this gateway requires \"Authorization: Bearer <token>\" for changes \
             (management.token_file)",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_credentials("Bearer s3cret"), Some("s3cret"));
        assert_eq!(bearer_credentials("bearer  s3cret "), Some("s3cret"));
        assert_eq!(bearer_credentials("Basic s3cret"), None);
        assert_eq!(bearer_credentials("Bearer"), None);
    }

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("vtepgw-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn token_files_are_trimmed_and_checked() {
        let dir = scratch_dir("token");
        let file = dir.join("t");
        std::fs::write(&file, "  s3cret\n").unwrap();
        chmod(&file, 0o600);
        assert_eq!(read_token(&file).unwrap(), "s3cret");
        std::fs::write(&file, "\n").unwrap();
        assert!(read_token(&file).unwrap_err().contains("empty"));
        std::fs::write(&file, "two words").unwrap();
        assert!(read_token(&file).is_err());
        assert!(read_token(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn token_files_others_may_read_are_refused() {
        let dir = scratch_dir("token-mode");
        let file = dir.join("t");
        std::fs::write(&file, "s3cret").unwrap();
        for mode in [0o640, 0o604, 0o620, 0o644] {
            chmod(&file, mode);
            let e = read_token(&file).unwrap_err();
            assert!(e.contains(&format!("chmod 600 {}", file.display())), "{e}");
            assert!(e.contains(&format!("mode {mode:03o}")), "{e}");
        }
        chmod(&file, 0o400);
        assert_eq!(read_token(&file).unwrap(), "s3cret");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_api_beyond_loopback_without_a_token_is_an_open_door() {
        let at = |a: &str| a.parse().unwrap();
        let w = open_door_warning(at("0.0.0.0:9180"), false).unwrap();
        assert!(w.contains("0.0.0.0:9180") && w.contains("management.token_file"));
        assert!(open_door_warning(at("192.0.2.10:9180"), false).is_some());
        assert!(open_door_warning(at("0.0.0.0:9180"), true).is_none());
        assert!(open_door_warning(at("127.0.0.1:9180"), false).is_none());
        assert!(open_door_warning(at("[::1]:9180"), false).is_none());
    }

    #[test]
    fn comparison() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
