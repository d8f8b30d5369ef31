//! user-manager: creates, reads and lists user records kept in PostgreSQL,
//! through its REST API (PostgREST conventions: table `users` with columns
//! id, name, email) at USERS_API_URL (default http://127.0.0.1:3000).
//!   {"action": "create", "name": "Ada", "email": "ada@example.org"}
//!   {"action": "get", "id": 1}
//!   {"action": "list", "limit": 100}     ({} = list)
//!
//! Every call to the API goes through `Outbound`, the seam: natively a plain
//! HTTP/1.1 client (std::net); in Wasm, cwasi's outbound-HTTP host import
//! (`cwasi_http_request`, guest ABI 3, through the Rust SDK), which reaches
//! only the destinations the deployment grants (`allowedOutboundHosts`,
//! `cwasi run --allow-outbound`). An API error status is reported with the
//! API's own answer: 409 (a duplicate email) as 409, others as 502.
use study::{get_str, get_u64, json, Error, Map, Result, Value};

/// One exchange with the users' API: method, path (with query) and an
/// optional JSON body, to (status, JSON body).
trait Outbound {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)>;
}

#[cfg(not(target_os = "wasi"))]
struct NativeHttp {
    base: String,
}

/// The headers of every call: JSON both ways, and the created row back.
const HEADERS: [(&str, &str); 3] = [("Content-Type", "application/json"), ("Accept", "application/json"),
                                    ("Prefer", "return=representation")];

/// The API's body as JSON (an empty body is null).
fn decode(url: &str, status: u16, body: &[u8]) -> Result<(u16, Value)> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok((status, Value::Null));
    }
    serde_json::from_slice(body)
        .map(|v| (status, v))
        .map_err(|e| Error { status: 502, message: format!("{}: bad JSON: {}", url, e) })
}

#[cfg(not(target_os = "wasi"))]
impl Outbound for NativeHttp {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let url = format!("{}{}", self.base.trim_end_matches('/'), path);
        let r = study::http::request(method, &url, &HEADERS, &bytes)?;
        decode(&url, r.status, &r.body)
    }
}

/// cwasi's outbound-HTTP host import: the host makes the request if the
/// deployment grants the destination, and places the answer in this module's
/// memory through `cwasi_alloc` (exported below: a command has no `handler!`).
#[cfg(target_os = "wasi")]
struct HostHttp {
    base: String,
}

#[cfg(target_os = "wasi")]
cwasi::export_alloc!();

#[cfg(target_os = "wasi")]
impl Outbound for HostHttp {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let url = format!("{}{}", self.base.trim_end_matches('/'), path);
        let mut request = cwasi::http::HttpRequest::new(method, url.as_str())
            .body(bytes);
        for (k, v) in HEADERS {
            request = request.header(k, v);
        }
        let r = request.send().map_err(|e| host_error(&url, e))?;
        decode(&url, r.status, &r.body)
    }
}

/// What the host refused or could not do, as the native client would say it
/// (unreachable: 503) — and a destination not granted said as such (403).
#[cfg(target_os = "wasi")]
fn host_error(url: &str, e: cwasi::Error) -> Error {
    use cwasi::Error as E;
    let (status, why) = match e {
        E::Denied => (403, "the destination was denied: it is not among this function's allowed \
                            outbound hosts (allowedOutboundHosts, cwasi run --allow-outbound)".to_string()),
        E::Connect => (503, "cannot connect".to_string()),
        E::Timeout => (504, "timed out".to_string()),
        E::Unsupported => (503, "outbound HTTP is not offered by this host (only http:// URLs)".to_string()),
        E::InvalidArgument => (400, "the host refused the URL or a header".to_string()),
        other => (502, other.to_string()),
    };
    Error { status, message: format!("{}: {}", url, why) }
}

fn outbound() -> Box<dyn Outbound> {
    let base = std::env::var("USERS_API_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    #[cfg(not(target_os = "wasi"))]
    return Box::new(NativeHttp { base });
    #[cfg(target_os = "wasi")]
    return Box::new(HostHttp { base });
}

/// The API's answer, or an error that says which status it gave.
fn expect(status: u16, want: u16, body: Value) -> Result<Value> {
    if status == want {
        Ok(body)
    } else {
        // A conflict is the caller's (a duplicate email): say it with the same status.
        let ours = if status == 409 { 409 } else { 502 };
        Err(Error { status: ours, message: format!("the users API answered {}: {}", status, body) })
    }
}

enum Action {
    Create { name: String, email: String },
    Get { id: u64 },
    List { limit: u64 },
}

/// Validates the request before any call goes out.
fn parse(req: &Map<String, Value>) -> Result<Action> {
    match get_str(req, "action")?.unwrap_or("list") {
        "create" => {
            let name = get_str(req, "name")?.unwrap_or("").trim();
            let email = get_str(req, "email")?.unwrap_or("").trim();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(Error::invalid("name must have 1 to 100 characters"));
            }
            let at = email.find('@');
            if email.len() > 254 || at.map_or(true, |i| i == 0 || i + 1 == email.len()) {
                return Err(Error::invalid("email must look like user@domain"));
            }
            Ok(Action::Create { name: name.into(), email: email.into() })
        }
        "get" => Ok(Action::Get { id: get_u64(req, "id", 0, 1, i64::MAX as u64)
            .and_then(|id| if req.contains_key("id") { Ok(id) } else { Err(Error::invalid("get needs an id")) })? }),
        "list" => Ok(Action::List { limit: get_u64(req, "limit", 100, 1, 1000)? }),
        other => Err(Error::invalid(format!("unknown action {:?}: create, get or list", other))),
    }
}

fn run(action: Action, api: &dyn Outbound) -> Result<Value> {
    match action {
        Action::Create { name, email } => {
            let (status, body) = api.send("POST", "/users", Some(&json!({ "name": name, "email": email })))?;
            let rows = expect(status, 201, body)?;
            let user = rows.get(0).cloned().ok_or_else(|| Error::internal("the API returned no row"))?;
            Ok(json!({ "function": "user-manager", "action": "create", "user": user }))
        }
        Action::Get { id } => {
            let (status, body) = api.send("GET", &format!("/users?id=eq.{}", id), None)?;
            let rows = expect(status, 200, body)?;
            let user = rows.get(0).cloned().ok_or_else(|| Error::not_found(format!("no user {}", id)))?;
            Ok(json!({ "function": "user-manager", "action": "get", "user": user }))
        }
        Action::List { limit } => {
            let (status, body) = api.send("GET", &format!("/users?order=id.asc&limit={}", limit), None)?;
            let rows = expect(status, 200, body)?;
            let count = rows.as_array().map_or(0, |a| a.len());
            Ok(json!({ "function": "user-manager", "action": "list", "count": count, "users": rows }))
        }
    }
}

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let action = parse(req)?;
    run(action, outbound().as_ref())
}

fn main() {
    study::main(handle)
}
