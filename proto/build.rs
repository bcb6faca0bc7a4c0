//! Compiles the gRPC API with protox (a pure-Rust protobuf compiler), so no system `protoc` is
//! needed, and hands the file descriptors to tonic's code generator. The encoded descriptor set
//! is also written to `OUT_DIR/ledger_descriptor.bin` for gRPC server reflection
//! (prost-build's `compile_fds` writes none itself).

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    if std::env::var_os("CARGO_FEATURE_GRPC").is_none() {
        return Ok(());
    }
    let descriptors = protox::compile(["volt/ledger.proto"], ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("ledger_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
