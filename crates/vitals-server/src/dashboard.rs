//! The dashboard: static HTML, CSS and native ES modules (with the vendored uPlot) compiled
//! into the binary and served at `/` and `/assets/…`. The page has no build step and calls
//! only the public `/api/v1`; it logs in through `/api/v1/session`, so the assets themselves
//! need no token. Every file under `dashboard/` must be listed in [`ASSETS`] (a test checks).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::state::Shared;

/// One embedded file: its path under `dashboard/`, its media type and its bytes.
pub struct Asset {
    /// The path under `dashboard/` (and under `/assets/` in URLs).
    pub path: &'static str,
    /// The `Content-Type` it is served with.
    pub media_type: &'static str,
    /// The file.
    pub bytes: &'static [u8],
}

macro_rules! assets {
    ($(($path:literal, $media:expr)),* $(,)?) => {
        &[$(Asset {
            path: $path,
            media_type: $media,
            bytes: include_bytes!(concat!("../dashboard/", $path)),
        }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the dashboard.
pub const ASSETS: &[Asset] = assets![
    ("index.html", "text/html; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("favicon.svg", "image/svg+xml"),
    ("js/app.js", JS),
    ("js/api.js", JS),
    ("js/state.js", JS),
    ("js/format.js", JS),
    ("js/filters.js", JS),
    ("js/tabs.js", JS),
    ("js/panels.js", JS),
    ("js/charts.js", JS),
    ("js/heatmap.js", JS),
    ("js/table.js", JS),
    ("js/drill.js", JS),
    ("js/ticket.js", JS),
    ("js/dom.js", JS),
    ("js/why.js", JS),
    ("vendor/uPlot.esm.js", JS),
    ("vendor/uPlot.min.css", "text/css; charset=utf-8"),
    ("vendor/LICENSE", "text/plain; charset=utf-8"),
    ("vendor/README.md", "text/markdown; charset=utf-8"),
];

/// The dashboard's routes: the page at `/` and its files at `/assets/{path}`.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

async fn index() -> Response {
    serve("index.html")
}

async fn asset(Path(path): Path<String>) -> Response {
    serve(&path)
}

fn serve(path: &str) -> Response {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.media_type),
                // The files change with the binary only; revalidate so an upgrade shows at once.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            asset.bytes,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no dashboard file `{path}`"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn files(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, base, out);
            } else {
                let rel = path.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_of_the_dashboard_is_embedded() {
        let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dashboard");
        let mut on_disk = Vec::new();
        files(&base, &base, &mut on_disk);
        on_disk.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "dashboard/ and ASSETS differ");
    }

    #[test]
    fn pages_hold_no_inline_script_or_style() {
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".html")) {
            let text = std::str::from_utf8(asset.bytes).unwrap();
            assert!(!text.contains("<script>"), "{}: inline script", asset.path);
            assert!(!text.contains("<style"), "{}: inline style", asset.path);
            assert!(!text.contains("style="), "{}: style attribute", asset.path);
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
    }

    #[test]
    fn the_page_preloads_every_module() {
        let page = ASSETS.iter().find(|a| a.path == "index.html").unwrap();
        let page = std::str::from_utf8(page.bytes).unwrap();
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let preload = format!(
                r#"<link rel="modulepreload" href="/assets/{}">"#,
                asset.path
            );
            let entry = format!(r#"<script type="module" src="/assets/{}">"#, asset.path);
            assert!(
                page.contains(&preload) || page.contains(&entry),
                "index.html does not preload {}",
                asset.path
            );
        }
    }
}
