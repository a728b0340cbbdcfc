//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document (`openapi.json` beside this
//! crate's manifest), served as written. A test checks that it lists every route.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `GET /api/v1/openapi.json` (behind a `read` token, as every `/api` call).
pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_and_nothing_else() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for (method, path) in crate::ROUTES {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is not in openapi.json"
            );
        }
        let listed: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(
            listed,
            crate::ROUTES.len(),
            "openapi.json lists a route the server lacks"
        );
    }
}
