//! The `crossloc` command-line tool.

fn main() {
    println!("crossloc");
}
