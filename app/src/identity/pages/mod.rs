//! Identity's pages: signing in, first-run setup, and the administrators' users page.

mod login;
mod users;

pub use login::{LoginPage, SetupPage};
pub use users::UsersPage;
