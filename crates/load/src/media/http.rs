//! The few lines of HTTP/1.1 the Janus adapter needs: one JSON request per connection
//! (`Connection: close`), the body read to the end (plain or chunked), bounded in time
//! and size. Plain `http://` on loopback only.

use anyhow::{bail, Context};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response read.
const MAX_RESPONSE: usize = 4 << 20;

/// A server at `http://host:port` with a base path (e.g. `/janus`).
#[derive(Clone, Debug)]
pub struct Http {
    addr: SocketAddr,
    host: String,
    base: String,
}

impl Http {
    /// Parses `http://host:port/base`; the host must resolve.
    pub async fn new(url: &str) -> anyhow::Result<Http> {
        let rest = url
            .strip_prefix("http://")
            .context("only http:// URLs are supported")?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let hostport = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = tokio::net::lookup_host(&hostport)
            .await?
            .next()
            .context("URL host does not resolve")?;
        Ok(Http {
            addr,
            host: authority.to_owned(),
            base: format!("/{}", path.trim_end_matches('/')),
        })
    }

    /// POSTs `body` to base + `path`; the JSON answer.
    pub async fn post(&self, path: &str, body: &Value, timeout: Duration) -> anyhow::Result<Value> {
        let body = body.to_string();
        self.request("POST", path, Some(&body), timeout).await
    }

    /// GETs base + `path`; the JSON answer.
    pub async fn get(&self, path: &str, timeout: Duration) -> anyhow::Result<Value> {
        self.request("GET", path, None, timeout).await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let target = format!("{}{}", self.base.trim_end_matches('/'), path);
        let work = async {
            let mut s = TcpStream::connect(self.addr).await.context("connect")?;
            let mut req = format!(
                "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\n",
                self.host
            );
            if let Some(b) = body {
                req.push_str(&format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n",
                    b.len()
                ));
            }
            req.push_str("\r\n");
            if let Some(b) = body {
                req.push_str(b);
            }
            s.write_all(req.as_bytes()).await?;
            let mut buf = Vec::new();
            (&mut s)
                .take(MAX_RESPONSE as u64 + 1)
                .read_to_end(&mut buf)
                .await?;
            if buf.len() > MAX_RESPONSE {
                bail!("response over {MAX_RESPONSE} bytes");
            }
            parse_response(&buf)
        };
        tokio::time::timeout(timeout, work)
            .await
            .with_context(|| format!("{method} {target}: no answer within {timeout:?}"))?
            .with_context(|| format!("{method} {target}"))
    }
}

/// Status, headers and JSON body of a complete HTTP/1.1 response.
fn parse_response(buf: &[u8]) -> anyhow::Result<Value> {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let head = std::str::from_utf8(&buf[..split]).context("headers not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .context("bad status line")?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let raw = &buf[split + 4..];
    let body = if chunked { dechunk(raw)? } else { raw.to_vec() };
    if status != 200 {
        bail!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        );
    }
    serde_json::from_slice(&body).context("body is not JSON")
}

fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("bad chunk")?;
        let size_text = std::str::from_utf8(&raw[..eol])?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        anyhow::ensure!(raw.len() >= size + 2, "short chunk");
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_bodies_parse() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"a\":[1,2]}";
        assert_eq!(parse_response(plain).unwrap()["a"][1], 2);
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap()["a"], 1);
        let refused = b"HTTP/1.1 404 Not Found\r\n\r\nnope";
        assert!(parse_response(refused).is_err());
    }
}
