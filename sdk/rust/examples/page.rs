//! page (command): the same handler style served from `main`, writing CGI
//! output for a deployment with the annotation cwasi.io/response: cgi — an
//! HTML page with a cookie, or 418 for the request "teapot".
use cwasi::{Error, Output, Request, Response};

fn page(req: Request) -> Result<Response, Error> {
    let text = req.text()?;
    if text == "teapot" {
        return Ok(Response::new().status(418).text("short and stout\n"));
    }
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    Ok(Response::new()
        .content_type("text/html; charset=utf-8")
        .header("Set-Cookie", "seen=1; Path=/")
        .body(format!("<!doctype html>\n<p>{} request: <code>{}</code></p>\n", req.method(), escaped)))
}

fn main() {
    std::process::exit(cwasi::run_command(page, Output::Cgi));
}
