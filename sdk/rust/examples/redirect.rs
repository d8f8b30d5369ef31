//! redirect (reactor): answers 302 Found with the request body as the
//! Location (https://example.com/ when the body is empty) — the Rust twin of
//! functions/http/redirect.c. A target that is not a valid header value (a
//! CR or LF inside it) is answered 400 with the reason.
use cwasi::{Error, Request, Response};

fn redirect(req: Request) -> Result<Response, Error> {
    let body = req.body();
    // A trailing newline is how `echo URL | curl --data-binary @-` sends it.
    let end = body.iter().rposition(|&c| c != b'\n' && c != b'\r').map_or(0, |i| i + 1);
    let target = String::from_utf8_lossy(&body[..end]).into_owned();
    if target.bytes().any(|c| c.is_ascii_control() && c != b'\t') {
        return Ok(Response::new().status(400).text("redirect: the target is not a valid Location\n"));
    }
    let target = if target.is_empty() { "https://example.com/".to_string() } else { target };
    Ok(Response::redirect(302, target))
}

cwasi::handler!(redirect);
