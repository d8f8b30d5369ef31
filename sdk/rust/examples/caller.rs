//! caller (reactor): calls another function and answers with its response.
//! The request is "TARGET\nPAYLOAD"; an error of the call (no such target,
//! the target failed...) fails this function with that error, named.
use cwasi::{Error, Request, Response};

fn caller(req: Request) -> Result<Response, Error> {
    let body = req.body();
    let nl = body.iter().position(|&c| c == b'\n').ok_or("caller: expected TARGET\\nPAYLOAD")?;
    let target = std::str::from_utf8(&body[..nl])?;
    let response = cwasi::call(target, &body[nl + 1..]).map_err(|e| e.context(format_args!("call {}", target)))?;
    Ok(Response::ok(response))
}

cwasi::handler!(caller);
