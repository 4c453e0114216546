//! The migrations are embedded in the binary (`embed_migrations!`): a new
//! migration folder must rebuild it, as diesel's documentation advises.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
