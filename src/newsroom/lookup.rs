//! A source's details read from its page (SPEC "Sources from the
//! article"): the page fetched through the safe fetcher, its JSON-LD,
//! Highwire `citation_*`, Dublin Core and OpenGraph metadata read by
//! `reading::metadata`.

use crate::archive::Archive;
use crate::error::{ApiError, ErrorCode};
use crate::reading::metadata::{self, PageMetadata};

/// The most of a page read for its metadata.
pub const MAX_PAGE: u64 = 5 << 20;

/// What a page says of itself, and where it was after redirects.
#[derive(Debug, Clone)]
pub struct LookedUp {
    pub url: String,
    pub metadata: PageMetadata,
}

/// Fetches `url` and reads its metadata.
pub async fn look_up(archive: &Archive, url: String) -> Result<LookedUp, ApiError> {
    let page = archive.fetch_page(url, MAX_PAGE).await?;
    if !page.is_html() {
        return Err(ApiError::new(
            ErrorCode::CaptureFailed,
            format!(
                "the page is {}, not HTML: nothing to read",
                page.content_type
            ),
        ));
    }
    if crate::reading::too_deep(&page.text()) {
        return Err(ApiError::new(
            ErrorCode::CaptureFailed,
            format!(
                "the page's markup is nested deeper than {} elements: not read",
                crate::reading::MAX_DEPTH
            ),
        ));
    }
    let base = url::Url::parse(&page.url).map_err(ApiError::internal)?;
    let final_url = page.url.clone();
    let metadata = actix_web::rt::task::spawn_blocking(move || metadata::read(&page.text(), &base))
        .await
        .map_err(ApiError::internal)?;
    Ok(LookedUp {
        url: final_url,
        metadata,
    })
}
