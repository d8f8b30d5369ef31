//! fetch (reactor, guest ABI version 3): GETs the URL in its request body
//! through the host's outbound HTTP and answers with the destination's
//! status, Content-Type and body. A refused destination (not granted), a
//! failed connection or a timeout fails the invocation, named.
use std::time::Duration;

use cwasi::http::HttpRequest;
use cwasi::{Error, Request, Response};

fn fetch(req: Request) -> Result<Response, Error> {
    let url = req.text()?.trim().to_string();
    let r = HttpRequest::get(url.clone())
        .header("Accept", "*/*")
        .timeout(Duration::from_secs(10))
        .send()
        .map_err(|e| e.context(format_args!("fetch {}", url)))?;
    let mut resp = Response::new().status(r.status).body(r.body.clone());
    if let Some(ct) = r.header("Content-Type") {
        resp = resp.content_type(ct);
    }
    Ok(resp)
}

cwasi::handler!(fetch);
