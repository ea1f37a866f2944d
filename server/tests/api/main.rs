//! The integration tests: the real portal on port 0 with the embedded emulator, driven over
//! HTTP. One test binary (one link of the whole app), one harness, a file per domain.

mod access;
mod access_review;
mod approvals;
mod audit;
mod fleet;
mod fuzz;
mod hardening;
mod harness;
mod identity;
mod inventory;
mod matrix;
mod verify;
