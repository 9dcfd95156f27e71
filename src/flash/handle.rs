//! `Flash`: the handler's view of its request's flash messages.

use std::fmt;
use std::sync::Arc;

use http::{Extensions, Request};

use crate::cookies::Cookies;
use crate::flash::state::FlashState;
use crate::flash::{FlashError, FlashMessage, Level};
use crate::request::owners::Registration;

/// The flash messages of one request: those the previous response left
/// for it, and those this one leaves for the next.
///
/// Obtained from the axum extractor or [`Flash::from_request`], for the
/// innermost [`SessionLayer`](crate::SessionLayer) that saw the request,
/// whatever its session type. Clones share one set of messages.
///
/// [`take`](Flash::take) reads the messages and removes them from the
/// browser with this response; [`peek`](Flash::peek) reads them and leaves
/// them. A request whose handler does neither (a favicon, an XHR) leaves
/// them for the page that shows them. Messages added with
/// [`info`](Flash::info), [`success`](Flash::success),
/// [`warning`](Flash::warning), [`error`](Flash::error) or
/// [`push`](Flash::push) reach the next request, as after a redirect.
///
/// Two requests sent at once with the same flash cookie (two tabs, a page
/// and its XHR) may each see its messages: each is answered on its own,
/// and the browser keeps whichever cookie comes last.
///
/// # Examples
///
/// ```
/// use axum::response::Redirect;
/// use tower_cookie_sessions::flash::{Flash, FlashError};
///
/// async fn save(flash: Flash) -> Result<Redirect, FlashError> {
///     flash.success("profile saved")?;
///     Ok(Redirect::to("/profile"))
/// }
///
/// async fn profile(flash: Flash) -> String {
///     flash.take().iter().map(|m| format!("[{}] {}\n", m.level(), m.text())).collect()
/// }
/// # let _ = (save, profile);
/// ```
#[derive(Clone)]
pub struct Flash {
    state: Arc<FlashState>,
}

impl Flash {
    /// The flash of the innermost session layer that saw the request.
    ///
    /// # Errors
    ///
    /// [`FlashError::MissingLayer`] when no session layer saw it.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::{Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_cookie_sessions::flash::{Flash, FlashError};
    /// use tower_cookie_sessions::{Key, SessionLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = SessionLayer::<()>::new(Key::generate())?.layer(service_fn(
    ///     |request: Request<String>| async move {
    ///         Flash::from_request(&request)?.info("hello")?;
    ///         Ok::<_, FlashError>(Response::new(String::new()))
    ///     },
    /// ));
    /// let response = service.oneshot(Request::new(String::new())).await?;
    /// assert!(response.headers()["set-cookie"].to_str()?.starts_with("id-flash="));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_request<B>(request: &Request<B>) -> Result<Flash, FlashError> {
        Self::from_extensions(request.extensions())
    }

    /// [`from_request`](Flash::from_request) from the request's
    /// extensions, as axum's `Parts` holds them.
    ///
    /// # Errors
    ///
    /// [`FlashError::MissingLayer`] when no session layer saw the request.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::{Flash, FlashError};
    ///
    /// let extensions = http::Extensions::new();
    /// assert_eq!(Flash::from_extensions(&extensions).err(), Some(FlashError::MissingLayer));
    /// ```
    pub fn from_extensions(extensions: &Extensions) -> Result<Flash, FlashError> {
        let jar = extensions
            .get::<Cookies>()
            .ok_or(FlashError::MissingLayer)?;
        jar.request()
            .find_owner(|registration| {
                let Registration { owner, flash, .. } = registration;
                let config = owner.flash_config()?;
                let state = flash
                    .get_or_insert_with(|| Arc::new(FlashState::open(Arc::clone(config), jar)));
                Some(Flash {
                    state: Arc::clone(state),
                })
            })
            .ok_or(FlashError::MissingLayer)
    }

    /// The messages the previous response left, oldest first; this
    /// response removes them from the browser. A second call in the same
    /// request gives none.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::Flash;
    ///
    /// async fn page(flash: Flash) -> String {
    ///     let notices: Vec<String> = flash.take().into_iter().map(|m| m.text().to_owned()).collect();
    ///     notices.join("\n")
    /// }
    /// # let _ = page;
    /// ```
    #[must_use = "taken messages are gone from the browser: show them"]
    pub fn take(&self) -> Vec<FlashMessage> {
        self.state.take()
    }

    /// The messages the previous response left, left in place for a later
    /// request (unless this one [takes](Flash::take) them).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::Flash;
    ///
    /// async fn badge(flash: Flash) -> String {
    ///     format!("{} notices", flash.peek().len())
    /// }
    /// # let _ = badge;
    /// ```
    #[must_use]
    pub fn peek(&self) -> Vec<FlashMessage> {
        self.state.peek()
    }

    /// Leaves `message` for the next request.
    ///
    /// # Errors
    ///
    /// [`FlashError::TooLarge`] when the flash cookie would outgrow one
    /// cookie (4096 bytes) with it; it is then not added.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::{Flash, FlashError, FlashMessage, Level};
    ///
    /// fn note(flash: &Flash) -> Result<(), FlashError> {
    ///     flash.push(FlashMessage::new(Level::Warning, "check your email").with_category("account"))
    /// }
    /// # let _ = note;
    /// ```
    pub fn push(&self, message: FlashMessage) -> Result<(), FlashError> {
        self.state.push(message)
    }

    /// [`push`](Flash::push)es an [`Info`](Level::Info) message.
    ///
    /// # Errors
    ///
    /// As [`push`](Flash::push).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::flash::{Flash, FlashError};
    /// fn note(flash: &Flash) -> Result<(), FlashError> {
    ///     flash.info("please sign in")
    /// }
    /// # let _ = note;
    /// ```
    pub fn info(&self, text: impl Into<String>) -> Result<(), FlashError> {
        self.push(FlashMessage::new(Level::Info, text))
    }

    /// [`push`](Flash::push)es a [`Success`](Level::Success) message.
    ///
    /// # Errors
    ///
    /// As [`push`](Flash::push).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::flash::{Flash, FlashError};
    /// fn note(flash: &Flash) -> Result<(), FlashError> {
    ///     flash.success("welcome back")
    /// }
    /// # let _ = note;
    /// ```
    pub fn success(&self, text: impl Into<String>) -> Result<(), FlashError> {
        self.push(FlashMessage::new(Level::Success, text))
    }

    /// [`push`](Flash::push)es a [`Warning`](Level::Warning) message.
    ///
    /// # Errors
    ///
    /// As [`push`](Flash::push).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::flash::{Flash, FlashError};
    /// fn note(flash: &Flash) -> Result<(), FlashError> {
    ///     flash.warning("your card expires soon")
    /// }
    /// # let _ = note;
    /// ```
    pub fn warning(&self, text: impl Into<String>) -> Result<(), FlashError> {
        self.push(FlashMessage::new(Level::Warning, text))
    }

    /// [`push`](Flash::push)es an [`Error`](Level::Error) message.
    ///
    /// # Errors
    ///
    /// As [`push`](Flash::push).
    ///
    /// # Examples
    ///
    /// ```
    /// # use tower_cookie_sessions::flash::{Flash, FlashError};
    /// fn note(flash: &Flash) -> Result<(), FlashError> {
    ///     flash.error("wrong username or password")
    /// }
    /// # let _ = note;
    /// ```
    pub fn error(&self, text: impl Into<String>) -> Result<(), FlashError> {
        self.push(FlashMessage::new(Level::Error, text))
    }
}

impl fmt::Debug for Flash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages may carry what the visitor typed: not for logs.
        f.debug_struct("Flash").finish_non_exhaustive()
    }
}
