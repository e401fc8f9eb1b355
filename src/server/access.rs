//! Who may use the server. Two keys, as Qdrant has them: `server.api_key` (admin: ingest, deletes, the
//! readers' ratings) and `server.read_key` (asking, searching and the pages). With no read key everything
//! but the admin routes is open, which is the right default on 127.0.0.1; bound beyond loopback, set one.
//! API clients send `Authorization: Bearer <key>`; a browser signs in once at /key with the read key,
//! which it keeps in an HttpOnly, SameSite=Strict cookie that the pages' own requests carry (the admin key
//! is never put in a cookie). The admin key opens the reading routes too, as a bearer token. Keys are
//! compared in constant time and never printed.

use std::sync::Arc;

use axum::extract::{Form, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::{web, AppError, AppState};

/// The cookie a browser keeps the read key in.
const KEY_COOKIE: &str = "curator_key";

/// Routes that change the index or read what readers sent need `Authorization: Bearer <server.api_key>`;
/// with no key set they are off.
pub fn require_api_key(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let key = &state.curator.settings.server.api_key;
    if key.is_empty() {
        return Err(AppError::IngestDisabled);
    }
    if !bearer(headers).is_some_and(|given| constant_time_eq(given.as_bytes(), key.as_bytes())) {
        return Err(AppError::Unauthorized);
    }
    Ok(())
}

/// Middleware over the reading routes: passes when no read key is set, or the request carries the read
/// key or the admin key (as a bearer token or the sign-in cookie). Otherwise a page gets the sign-in form
/// and everything else a 401 JSON error.
pub async fn require_read_key(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let server = &state.curator.settings.server;
    if server.read_key.is_empty() {
        return next.run(request).await;
    }
    let headers = request.headers();
    let opens = |given: &str| {
        let given = given.as_bytes();
        constant_time_eq(given, server.read_key.as_bytes()) || (!server.api_key.is_empty() && constant_time_eq(given, server.api_key.as_bytes()))
    };
    if bearer(headers).is_some_and(opens) || cookies(headers, KEY_COOKIE).any(opens) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let is_page = !(path.starts_with("/api/") || path.starts_with("/v1/"));
    if is_page {
        let back = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
        return key_form(StatusCode::UNAUTHORIZED, &back, None);
    }
    AppError::ReadKeyNeeded.into_response()
}

#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    key: String,
    next: Option<String>,
}

/// GET /key: the sign-in form.
pub async fn key_page(query: Result<Query<KeyQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let next = query.ok().and_then(|Query(q)| q.next).unwrap_or_else(|| "/".into());
    key_form(StatusCode::OK, &next, None)
}

/// POST /key: keeps a right key in the cookie and goes back to the page that asked for it.
pub async fn sign_in(State(state): State<Arc<AppState>>, form: Result<Form<KeyForm>, axum::extract::rejection::FormRejection>) -> Response {
    let Ok(Form(form)) = form else {
        return AppError::BadRequest("expected a form with `key` (and `next`)".into()).into_response();
    };
    let next = same_site_path(form.next.as_deref());
    let server = &state.curator.settings.server;
    if server.read_key.is_empty() {
        // Nothing to sign in to; and the admin key is never kept in a browser's cookie.
        return Redirect::to(next).into_response();
    }
    let given = form.key.trim();
    if !constant_time_eq(given.as_bytes(), server.read_key.as_bytes()) {
        return key_form(StatusCode::UNAUTHORIZED, next, Some("That key does not open this server."));
    }
    // The cookie's value is sent back by the browser only; a key with characters a cookie cannot hold is
    // refused rather than mangled.
    let cookie_safe = given.chars().all(|c| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '"' | '\\'));
    let Some(cookie) = cookie_safe.then(|| HeaderValue::from_str(&format!("{KEY_COOKIE}={given}; Path=/; HttpOnly; SameSite=Strict")).ok()).flatten() else {
        return key_form(StatusCode::BAD_REQUEST, next, Some("This key cannot be kept in a cookie; use it as a bearer token."));
    };
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

fn key_form(status: StatusCode, next: &str, error: Option<&str>) -> Response {
    web::page(status, "key.html", context! { page => "key", next => same_site_path(Some(next)), error })
}

/// `next` when it is a path on this server; "/" otherwise, so the form cannot send anyone elsewhere.
fn same_site_path(next: Option<&str>) -> &str {
    // Browsers drop tabs and newlines from a Location, so "/\t/evil.example" would become "//evil.example":
    // no whitespace or control character at all.
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            path
        }
        _ => "/",
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Every value of the cookie `name` (a browser may send two, of different paths).
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(move |pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
