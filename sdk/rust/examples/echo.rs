//! echo (reactor): responds with its request byte for byte, and shows what
//! the SDK sees of the request when the query asks:
//!   ?show=request     the method, path, query and headers instead, as text
//!   ?fail=MESSAGE     the handler returns Err(MESSAGE): HTTP 500 with it
//!   ?header=N:V       adds response header N: V (the host may refuse it)
//!   ?status=N         answers status N
use cwasi::{Error, Request, Response};

fn echo(req: Request) -> Result<Response, Error> {
    if let Some(message) = req.query_param("fail") {
        return Err(Error::msg(message));
    }
    let header = req.query_param("header");
    let status = req.query_param("status");
    let mut resp = if req.query_param("show").as_deref() == Some("request") {
        let mut text = format!("method={}\npath={}\nquery={}\n", req.method(), req.path(), req.query());
        for (k, v) in req.headers() {
            text.push_str(&format!("header {}={}\n", k, v));
        }
        Response::new().text(text)
    } else {
        Response::ok(req.into_body())
    };
    if let Some(h) = header {
        let (name, value) = h.split_once(':').unwrap_or((&h, ""));
        resp = resp.header(name, value);
    }
    if let Some(s) = status {
        resp = resp.status(s.parse().map_err(|_| Error::msg(format!("bad status {:?}", s)))?);
    }
    Ok(resp)
}

cwasi::handler!(echo);
