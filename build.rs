//! The store's migrations are compiled into the binary (`sqlx::migrate!`);
//! without this, a migration added with no other change would not be.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
