// A new file in migrations/ must rebuild the app (sqlx::migrate! embeds the folder).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
