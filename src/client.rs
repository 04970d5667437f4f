//! A small HTTP/1.1 client for the management API (plain HTTP, usually on
//! localhost): one request per connection, std only.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long connecting, sending and reading may each take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the API is and how to authenticate.
pub struct Client {
    /// `host:port`, for connecting and the `Host` header.
    authority: String,
    /// Path prefix from the URL (usually empty).
    prefix: String,
    token: Option<String>,
    /// Sent as `If-Match` on every request but GET.
    if_match: Option<u64>,
}

/// A response: status, the config generation after a change, body.
pub struct Response {
    pub status: u16,
    /// `X-Config-Generation` of an applied change, else the `ETag` of a
    /// config read: the generation `--if-match` takes.
    pub generation: Option<u64>,
    /// `X-Config-Warning`s of an applied change.
    pub warnings: Vec<String>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`null` when empty).
    pub fn json(&self) -> Result<Value, String> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("the API sent invalid JSON: {e}"))
    }

    /// 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Client {
    /// A client for `url` (`http://host:port[/prefix]`), sending `token` as
    /// a bearer token when given.
    pub fn new(url: &str, token: Option<String>) -> Result<Client, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("\"{url}\": only http:// URLs are supported"))?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("\"{url}\" has no host"));
        }
        let authority = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.contains(']'))
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Client {
            authority,
            prefix: prefix.to_string(),
            token,
            if_match: None,
        })
    }

    /// Makes every change conditional on the running config being
    /// `generation` (`If-Match`; the gateway answers 412 otherwise).
    pub fn with_if_match(mut self, generation: Option<u64>) -> Client {
        self.if_match = generation;
        self
    }

    /// Sends one request; `body` with its content type, if any.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<Response, String> {
        let unreachable = |e: std::io::Error| {
            format!(
                "cannot reach the vtepgw API at http://{}: {e}",
                self.authority
            )
        };
        let addr = self
            .authority
            .to_socket_addrs()
            .map_err(unreachable)?
            .next()
            .ok_or_else(|| format!("{} resolves to no address", self.authority))?;
        let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(unreachable)?;
        stream
            .set_write_timeout(Some(TIMEOUT))
            .map_err(unreachable)?;

        let (content_type, bytes) = body.unwrap_or(("", b""));
        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Accept: application/json\r\nContent-Length: {}\r\n",
            self.prefix,
            self.authority,
            bytes.len()
        );
        if !content_type.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        if let Some(token) = &self.token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let (Some(g), false) = (self.if_match, method == "GET") {
            head.push_str(&format!("If-Match: \"{g}\"\r\n"));
        }
        head.push_str("\r\n");
        let io = |e: std::io::Error| format!("{method} {path}: {e}");
        stream.write_all(head.as_bytes()).map_err(io)?;
        stream.write_all(bytes).map_err(io)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(io)?;
        parse(&raw).map_err(|e| format!("{method} {path}: {e}"))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Response, String> {
        self.request("GET", path, None)
    }
}

/// Parses a whole HTTP/1.1 response (Content-Length, chunked, or
/// read-to-close body).
fn parse(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the connection closed before a complete response")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("not an HTTP response")?;
    let mut length = None;
    let mut chunked = false;
    let mut generation = None;
    let mut etag = None;
    let mut warnings = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = value.parse::<usize>().ok();
        } else if name == "transfer-encoding" {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name == "x-config-generation" {
            generation = value.parse().ok();
        } else if name == "etag" {
            etag = value.trim_matches('"').parse().ok();
        } else if name == "x-config-warning" {
            warnings.push(value.to_string());
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n)
            .ok_or("the body is shorter than announced")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        generation: generation.or(etag),
        warnings,
        body,
    })
}

fn dechunk(mut s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = s
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk")?;
        let size = String::from_utf8_lossy(&s[..eol]);
        let size = size.split(';').next().unwrap_or("").trim();
        let n = usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {size:?}"))?;
        s = &s[eol + 2..];
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(s.get(..n).ok_or("truncated chunk")?);
        s = s.get(n + 2..).ok_or("truncated chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn urls() {
        let c = Client::new("http://127.0.0.1:9180", None).unwrap();
        assert_eq!(
            (c.authority.as_str(), c.prefix.as_str()),
            ("127.0.0.1:9180", "")
        );
        let c = Client::new("http://gw.example/vtepgw/", None).unwrap();
        assert_eq!(
            (c.authority.as_str(), c.prefix.as_str()),
            ("gw.example:80", "/vtepgw")
        );
        let c = Client::new("http://[::1]:9180", None).unwrap();
        assert_eq!(c.authority, "[::1]:9180");
        assert_eq!(
            Client::new("http://[::1]", None).unwrap().authority,
            "[::1]:80"
        );
        assert!(Client::new("https://127.0.0.1:9180", None).is_err());
        assert!(Client::new("http:///x", None).is_err());
    }

    #[test]
    fn response_bodies() {
        let r = parse(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\nX-Config-Generation: 7\r\n\r\n{}trailing").unwrap();
        assert_eq!((r.status, r.text()), (201, "{}".to_string()));
        assert_eq!(r.generation, Some(7));
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.text(), "abcde");
        let r = parse(b"HTTP/1.1 200 OK\r\nETag: \"12\"\r\ncontent-length: 0\r\n\r\n").unwrap();
        assert_eq!(r.generation, Some(12));
        let r = parse(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!((r.status, r.json().unwrap()), (204, Value::Null));
        assert!(parse(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc").is_err());
        assert!(parse(b"garbage").is_err());
    }

    #[test]
    fn sends_method_path_token_and_body() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/p", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !String::from_utf8_lossy(&got).ends_with("{\"a\":1}") {
                let n = s.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ntrue")
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let c = Client::new(&url, Some("tok".into()))
            .unwrap()
            .with_if_match(Some(7));
        let r = c
            .request(
                "POST",
                "/api/v1/x",
                Some(("application/json", b"{\"a\":1}")),
            )
            .unwrap();
        assert_eq!(r.json().unwrap(), Value::Bool(true));
        let sent = server.join().unwrap();
        assert!(sent.starts_with("POST /p/api/v1/x HTTP/1.1\r\n"), "{sent}");
        assert!(sent.contains("Authorization: Bearer tok\r\n"));
        assert!(sent.contains("Content-Type: application/json\r\n"));
        assert!(sent.contains("Content-Length: 7\r\n"));
        assert!(sent.contains("If-Match: \"7\"\r\n"), "{sent}");
    }
}
