//! Generates the gRPC contract from `proto/` with the vendored protoc, so the build needs no
//! system package.

use std::path::PathBuf;

const PROTOS: [&str; 5] = [
    "lms/common/v1/common.proto",
    "lms/identity/v1/identity.proto",
    "lms/authorization/v1/authorization.proto",
    "lms/delegation/v1/delegation.proto",
    "lms/reporting/v1/reporting.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=PROTOC");
    let mut config = tonic_prost_build::Config::new();
    // `PROTOC` wins when set; otherwise the vendored binary (setting the variable would need
    // `unsafe` in edition 2024, so hand the path to the builder instead).
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    config.protoc_executable(protoc);

    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let paths: Vec<PathBuf> = PROTOS.iter().map(|file| proto_root.join(file)).collect();
    for path in &paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let includes = [proto_root, protoc_bin_vendored::include_path()?];
    let descriptor = PathBuf::from(std::env::var("OUT_DIR")?).join("lms_descriptor.bin");
    tonic_prost_build::configure()
        .build_client(cfg!(feature = "client"))
        .build_server(cfg!(feature = "server"))
        // RPCs a service has not built yet answer UNIMPLEMENTED through the generated defaults.
        .generate_default_stubs(true)
        .file_descriptor_set_path(descriptor)
        .compile_with_config(config, &paths, &includes)?;
    Ok(())
}
