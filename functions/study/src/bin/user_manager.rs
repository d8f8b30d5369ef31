//! user-manager: creates, reads and lists user records kept in PostgreSQL,
//! through its REST API (PostgREST conventions: table `users` with columns
//! id, name, email) at USERS_API_URL (default http://127.0.0.1:3000).
//!   {"action": "create", "name": "Ada", "email": "ada@example.org"}
//!   {"action": "get", "id": 1}
//!   {"action": "list", "limit": 100}     ({} = list)
//!
//! Every call to the API goes through `Outbound`, the seam: natively a plain
//! HTTP/1.1 client (std::net); in Wasm, cwasi's outbound-HTTP host import,
//! which does not exist yet — until it does, the Wasm build validates the
//! request and answers 503.
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

#[cfg(not(target_os = "wasi"))]
impl Outbound for NativeHttp {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let headers = [("Content-Type", "application/json"), ("Accept", "application/json"),
                       ("Prefer", "return=representation")];
        let url = format!("{}{}", self.base.trim_end_matches('/'), path);
        let r = study::http::request(method, &url, &headers, &bytes)?;
        let value = if r.body.iter().all(|b| b.is_ascii_whitespace()) {
            Value::Null
        } else {
            serde_json::from_slice(&r.body)
                .map_err(|e| Error { status: 502, message: format!("{}: bad JSON: {}", url, e) })?
        };
        Ok((r.status, value))
    }
}

/// LEFT TO DO: call cwasi's outbound-HTTP host import here (method, URL,
/// headers and body out; status and body back) once the host provides it.
#[cfg(target_os = "wasi")]
struct HostHttp {
    base: String,
}

#[cfg(target_os = "wasi")]
impl Outbound for HostHttp {
    fn send(&self, method: &str, path: &str, _body: Option<&Value>) -> Result<(u16, Value)> {
        Err(Error::unavailable(format!(
            "{} {}{}: outbound HTTP from Wasm needs cwasi's host import, not available yet",
            method, self.base, path)))
    }
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
        Err(Error { status: 502, message: format!("the users API answered {}: {}", status, body) })
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
