//! The fleet's pages: the list with its filters and bulk actions, a WorkSpace's own page, the
//! create page and the overview.

mod create;
mod detail;
mod list;
mod overview;

pub use create::CreatePage;
pub use detail::DetailPage;
pub use list::FleetPage;
pub use overview::HomePage;

/// How often a page showing transitional WorkSpaces asks for their state again.
pub const LIVE_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);
