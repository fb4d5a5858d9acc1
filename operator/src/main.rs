fn main() {
    println!("mcp-operator: not yet implemented");
}
