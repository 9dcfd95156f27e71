//! "Your devices", with a store: `GET /devices` lists the signed-in
//! user's sessions, this one marked, each other one with a button that
//! signs it out (`POST /devices/end`). Each session is labelled at sign-in
//! from the browser's `User-Agent`; the labels and times are sealed in the
//! store records, and a device is named by its public handle, which opens
//! nothing. Ending one only ever looks among the signed-in user's own
//! sessions, so a handle of anyone else's, posted by hand, ends nothing.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_cookie_sessions::flash::{Flash, FlashError};
use tower_cookie_sessions::session::DeviceHandle;
use tower_cookie_sessions::Session;

use super::{escape, page, SignOut, User};

const NEEDS_A_STORE: &str =
    "devices are listed with a store: run with SESSION_STORE=memory (or a store URL)";

pub(super) async fn devices(
    State(sign_out): State<SignOut>,
    session: Session<Option<User>>,
    flash: Flash,
) -> Result<Response, FlashError> {
    let SignOut::Store(layer) = sign_out else {
        return Ok((StatusCode::NOT_FOUND, NEEDS_A_STORE).into_response());
    };
    let Some(user) = session.cloned() else {
        flash.info("please sign in")?;
        return Ok(Redirect::to("/login").into_response());
    };
    let devices = match layer.devices(&user.name).await {
        Ok(devices) => devices,
        Err(error) => {
            tracing::error!(%error, "could not list the user's sessions");
            return Ok((StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response());
        }
    };
    let this = session.device();
    let items: String = devices
        .iter()
        .map(|device| {
            let current = this == Some(device.handle());
            let action = if current {
                "<strong>this device</strong>".to_owned()
            } else {
                format!(
                    "<form method=\"post\" action=\"/devices/end\">\
                     <input type=\"hidden\" name=\"device\" value=\"{handle}\">\
                     <button class=\"end\">sign out this device</button></form>",
                    handle = escape(&device.handle().to_string()),
                )
            };
            format!(
                "<li class=\"device{class}\">{label}, signed in {created}, last seen {seen} \
                 {action}</li>",
                class = if current { " current" } else { "" },
                label = escape(device.label().unwrap_or("an unknown browser")),
                created = ago(device.created()),
                seen = ago(device.last_seen()),
            )
        })
        .collect();
    let body = format!("<h1>your devices</h1><ul>{items}</ul><p><a href=\"/\">home</a></p>");
    Ok(page("your devices", &flash, &body).into_response())
}

#[derive(Deserialize)]
pub(super) struct EndDevice {
    device: String,
}

pub(super) async fn end_device(
    State(sign_out): State<SignOut>,
    session: Session<Option<User>>,
    flash: Flash,
    Form(form): Form<EndDevice>,
) -> Result<Response, FlashError> {
    let SignOut::Store(layer) = sign_out else {
        return Ok((StatusCode::NOT_FOUND, NEEDS_A_STORE).into_response());
    };
    let Some(user) = session.cloned() else {
        flash.info("please sign in")?;
        return Ok(Redirect::to("/login").into_response());
    };
    // The signed-in user's sessions only, never an owner from the form.
    let ended = match form.device.parse::<DeviceHandle>() {
        Ok(handle) => layer.end_device(&user.name, handle).await,
        Err(_) => Ok(false),
    };
    match ended {
        Ok(true) => flash.success("device signed out")?,
        Ok(false) => flash.warning("no such device")?,
        Err(error) => {
            tracing::error!(%error, "could not end the session");
            return Ok((StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response());
        }
    }
    Ok(Redirect::to("/devices").into_response())
}

/// A short label for the browser a `User-Agent` names, such as "Firefox on
/// Linux": enough for its owner to recognise it, and no more of the header
/// than that.
pub(super) fn label(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or_default();
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(mark, _)| agent.contains(mark))
    .map_or("a browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(mark, _)| agent.contains(mark))
    .map_or("an unknown system", |(_, name)| name);
    format!("{browser} on {system}")
}

/// How long ago `time` was, roughly.
fn ago(time: SystemTime) -> String {
    let seconds = time.elapsed().map_or(0, |since| since.as_secs());
    match seconds {
        0..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", seconds / 60),
        3_600..86_400 => format!("{} h ago", seconds / 3_600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}
