//! One flash message: its level, its optional category and its text.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a flash message should be shown.
///
/// [`as_str`](Level::as_str) gives a lower-case name fit for a CSS class or
/// a `data-level` attribute.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::flash::Level;
///
/// assert_eq!(Level::Warning.as_str(), "warning");
/// assert_eq!(Level::Error.to_string(), "error");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    /// Something the visitor may want to know.
    Info,
    /// What the visitor asked for was done.
    Success,
    /// Done, but with something to look at.
    Warning,
    /// What the visitor asked for failed.
    Error,
}

impl Level {
    /// The level's lower-case name: `info`, `success`, `warning` or
    /// `error`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::Level;
    ///
    /// assert_eq!(Level::Success.as_str(), "success");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A one-shot message for the visitor's next page.
///
/// The text is shown as the handler that reads it decides: escape it
/// before putting it in HTML, as any text that came through a browser.
///
/// # Examples
///
/// ```
/// use tower_cookie_sessions::flash::{FlashMessage, Level};
///
/// let message = FlashMessage::new(Level::Success, "saved").with_category("profile");
/// assert_eq!(message.level(), Level::Success);
/// assert_eq!(message.category(), Some("profile"));
/// assert_eq!(message.text(), "saved");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlashMessage {
    level: Level,
    category: Option<String>,
    text: String,
}

impl FlashMessage {
    /// A message of `level` without a category.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::{FlashMessage, Level};
    ///
    /// assert_eq!(FlashMessage::new(Level::Info, "hello").category(), None);
    /// ```
    #[must_use]
    pub fn new(level: Level, text: impl Into<String>) -> Self {
        Self {
            level,
            category: None,
            text: text.into(),
        }
    }

    /// The same message under `category`, a label of the application's
    /// own (a form's name, a part of the page).
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::{FlashMessage, Level};
    ///
    /// let message = FlashMessage::new(Level::Error, "too short").with_category("password");
    /// assert_eq!(message.category(), Some("password"));
    /// ```
    #[must_use]
    pub fn with_category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// The message's level.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::{FlashMessage, Level};
    ///
    /// assert_eq!(FlashMessage::new(Level::Warning, "low disk").level(), Level::Warning);
    /// ```
    #[must_use]
    pub fn level(&self) -> Level {
        self.level
    }

    /// The message's category, if it has one.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::{FlashMessage, Level};
    ///
    /// assert_eq!(FlashMessage::new(Level::Info, "hi").with_category("chat").category(), Some("chat"));
    /// ```
    #[must_use]
    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }

    /// The message's text.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower_cookie_sessions::flash::{FlashMessage, Level};
    ///
    /// assert_eq!(FlashMessage::new(Level::Info, "hi").text(), "hi");
    /// ```
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }
}
