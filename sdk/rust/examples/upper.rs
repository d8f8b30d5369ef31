//! upper (reactor): responds with its request in upper case (ASCII letters
//! only, every other byte as it came), and logs the request size on stderr —
//! the Rust twin of functions/text/upper.c.
use cwasi::{Error, Request, Response};

fn upper(req: Request) -> Result<Response, Error> {
    let mut body = req.into_body();
    body.make_ascii_uppercase();
    eprintln!("upper: {} bytes", body.len());
    Ok(Response::ok(body))
}

cwasi::handler!(upper);
