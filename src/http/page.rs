//! HTML pages. A handler or an error says which page to show and what goes
//! in it (a [`Page`]); the [`render_pages`] layer, which holds the
//! templates and the site's settings, renders it. So an error can be a
//! plain value that turns into a response, and handlers can use `?`.

use super::state::AppState;
use crate::config::Config;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A page waiting for the render layer: it travels in the response's
/// extensions from the handler to [`render_pages`], which the router
/// installs around every route.
#[derive(Clone, Debug)]
pub struct Page {
    status: StatusCode,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// A template with its own variables.
    Template {
        name: &'static str,
        context: tera::Context,
    },
    /// `pages/message.html`: a heading, paragraphs, and links that all lead
    /// back to the front page.
    Message {
        heading: &'static str,
        paragraphs: Vec<String>,
        home_links: Vec<&'static str>,
    },
    /// `pages/error.html`, or the bare heading if that cannot be rendered.
    Error {
        heading: &'static str,
        message: &'static str,
    },
}

impl Page {
    /// `template` with a 200 status and no variables besides `site`.
    pub fn new(template: &'static str) -> Self {
        Self {
            status: StatusCode::OK,
            kind: Kind::Template {
                name: template,
                context: tera::Context::new(),
            },
        }
    }

    /// Adds a variable to a template page (message and error pages have
    /// theirs).
    pub fn with(mut self, key: &'static str, value: &(impl Serialize + ?Sized)) -> Self {
        if let Kind::Template { context, .. } = &mut self.kind {
            context.insert(key, value);
        }
        self
    }

    /// `pages/message.html` with `heading` and one paragraph.
    pub fn message(
        status: StatusCode,
        heading: &'static str,
        paragraph: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind: Kind::Message {
                heading,
                paragraphs: vec![paragraph.into()],
                home_links: Vec::new(),
            },
        }
    }

    /// Adds a link to the front page, labelled `label` (message pages).
    pub fn link_home(mut self, label: &'static str) -> Self {
        if let Kind::Message { home_links, .. } = &mut self.kind {
            home_links.push(label);
        }
        self
    }

    /// The site's 404 page.
    pub fn not_found() -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing at this address.",
        )
    }

    /// The site's 500 page; the error itself goes to the log, not to the
    /// visitor.
    pub fn failure() -> Self {
        Self::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The error has been logged. Please try again later.",
        )
    }

    fn error(status: StatusCode, heading: &'static str, message: &'static str) -> Self {
        Self {
            status,
            kind: Kind::Error { heading, message },
        }
    }

    /// The heading of an error page: all that is left to say, as plain
    /// text, when the error page itself cannot be rendered.
    fn error_heading(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Error { heading, .. } => Some(heading),
            Kind::Template { .. } | Kind::Message { .. } => None,
        }
    }

    /// The template to render and its variables, `site` included.
    fn into_template(self, config: &Config) -> (&'static str, tera::Context) {
        let mut ctx = site_context(config);
        match self.kind {
            Kind::Template { name, context } => {
                ctx.extend(context);
                (name, ctx)
            }
            Kind::Message {
                heading,
                paragraphs,
                home_links,
            } => {
                let home = format!("{}/", config.site.base());
                let links: Vec<Link> = home_links
                    .iter()
                    .map(|label| Link { url: &home, label })
                    .collect();
                ctx.insert("heading", heading);
                ctx.insert("paragraphs", &paragraphs);
                ctx.insert("links", &links);
                ("pages/message.html", ctx)
            }
            Kind::Error { heading, message } => {
                ctx.insert("status", &self.status.as_u16());
                ctx.insert("heading", heading);
                ctx.insert("message", message);
                ("pages/error.html", ctx)
            }
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

#[derive(Serialize)]
struct Link<'a> {
    url: &'a str,
    label: &'a str,
}

#[derive(Serialize)]
struct FeedLink {
    url: String,
    media_type: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct SiteView<'a> {
    title: &'a str,
    description: &'a str,
    language: &'a str,
    home_url: String,
    feeds: Vec<FeedLink>,
}

/// The `site` variable every page template gets.
fn site_context(c: &Config) -> tera::Context {
    let site = SiteView {
        title: &c.site.title,
        description: &c.site.description,
        language: &c.site.language,
        home_url: format!("{}/", c.site.base()),
        feeds: c
            .feeds
            .formats
            .iter()
            .map(|f| FeedLink {
                url: c.site.url(&format!("/feeds/{}", f.file_name())),
                media_type: f.media_type(),
                label: f.label(),
            })
            .collect(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("site", &site);
    ctx
}

/// Renders the `Page` a handler answered with, if any (the router maps
/// every response through this); every other response passes as it is. A
/// page that fails to render becomes the 500 page, without the headers the
/// handler set for the page it meant; an error page that fails becomes its
/// heading in plain text.
pub fn render_pages(state: &AppState, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Some(page) = parts.extensions.remove::<Page>() else {
        return Response::from_parts(parts, body);
    };
    let error_heading = page.error_heading();
    match render(state, page) {
        Ok(html) => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(html))
        }
        Err(e) => match error_heading {
            Some(heading) => {
                tracing::error!(error = %e, "error page failed to render");
                (parts.status, heading).into_response()
            }
            None => {
                tracing::error!(error = e.to_string(), "request failed");
                render_pages(state, Page::failure().into_response())
            }
        },
    }
}

fn render(state: &AppState, page: Page) -> Result<String, crate::templates::TemplateError> {
    page.render(state)
}

impl Page {
    /// The page's HTML, for a handler that keeps it (see `page_cache`).
    pub fn render(self, state: &AppState) -> Result<String, crate::templates::TemplateError> {
        let (name, ctx) = self.into_template(&state.config);
        crate::templates::render(&state.tera, name, &ctx)
    }
}
