fn main() {
    println!("kanon: not yet implemented");
}
