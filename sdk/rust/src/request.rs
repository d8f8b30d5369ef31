//! Request: the body the host placed in memory, and the HTTP request around
//! it as cwasid (like OpenFaaS's watchdog) passes it in the environment:
//! Http_Method, Http_Path, Http_Query and one Http_<Header> per header
//! ("X-Forwarded-For" is Http_X_Forwarded_For).

/// One invocation's request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    body: Vec<u8>,
    method: String,
    path: String,
    query: String,
}

impl Request {
    /// A request with `body`, the rest read from the environment.
    pub fn from_env(body: Vec<u8>) -> Request {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        Request { body, method: var("Http_Method"), path: var("Http_Path"), query: var("Http_Query") }
    }

    /// A request with `body` and no HTTP context (tests; commands).
    pub fn new(body: impl Into<Vec<u8>>) -> Request {
        Request { body: body.into(), ..Request::default() }
    }

    /// The request body, byte for byte.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, owned (no copy).
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as UTF-8 text, or an `Error::Message` naming where it is not.
    pub fn text(&self) -> Result<&str, crate::Error> {
        Ok(std::str::from_utf8(&self.body)?)
    }

    /// The HTTP method ("POST"); empty when not invoked over HTTP (cwasi run,
    /// another function's cwasi::call).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path below /function/NAME ("/" for none); empty when not over HTTP.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string, without "?".
    pub fn query(&self) -> &str {
        &self.query
    }

    /// The first value of query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if percent_decode(k) == name {
                Some(percent_decode(v))
            } else {
                None
            }
        })
    }

    /// The value of request header `name` (any case), if the client sent it.
    /// Authorization and Proxy-Authorization never reach a function.
    pub fn header(&self, name: &str) -> Option<String> {
        std::env::var(env_name_for_header(name)).ok()
    }

    /// All request headers, names as "Content-Type" (the environment loses
    /// the client's spelling and any header given twice keeps one value).
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::env::vars()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("Http_")?;
                if matches!(rest, "Method" | "Path" | "Query") || rest.is_empty() {
                    return None;
                }
                Some((rest.replace('_', "-"), v))
            })
            .collect();
        out.sort();
        out
    }
}

/// "content-type" -> "Http_Content_Type", as the host names header variables
/// (src/node/function_http.cc): '-' becomes '_', each word capitalised, any
/// other character dropped.
pub fn env_name_for_header(header: &str) -> String {
    let mut out = String::from("Http_");
    let mut upper = true;
    for c in header.chars() {
        if c == '-' {
            out.push('_');
            upper = true;
        } else if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
            upper = false;
        }
    }
    out
}

/// application/x-www-form-urlencoded decoding: "+" is a space, "%41" is "A";
/// a malformed escape stays as it is.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_map_like_the_host() {
        assert_eq!(env_name_for_header("content-type"), "Http_Content_Type");
        assert_eq!(env_name_for_header("X-FORWARDED-for"), "Http_X_Forwarded_For");
        assert_eq!(env_name_for_header("Authori.zation"), "Http_Authorization");
    }

    #[test]
    fn query_parameters_are_decoded() {
        let r = Request { query: "a=1&to=https%3A%2F%2Fx%2F&sp=a+b&bad=%4".into(), ..Request::default() };
        assert_eq!(r.query_param("a").as_deref(), Some("1"));
        assert_eq!(r.query_param("to").as_deref(), Some("https://x/"));
        assert_eq!(r.query_param("sp").as_deref(), Some("a b"));
        assert_eq!(r.query_param("bad").as_deref(), Some("%4"));
        assert_eq!(r.query_param("none"), None);
    }
}
