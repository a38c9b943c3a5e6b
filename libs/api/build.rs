//! Generates the gRPC contract from `proto/` with the vendored protoc, so the build needs no
//! system package.

use std::path::{Path, PathBuf};

/// Packages whose services are built: a server that misses one of their RPCs fails to compile.
const FINISHED: [&str; 3] = [
    "lms/common/v1/common.proto",
    "lms/identity/v1/identity.proto",
    "lms/authorization/v1/authorization.proto",
];

/// Packages still being built: RPCs a server does not implement yet answer UNIMPLEMENTED
/// through generated default methods.
const UNDER_CONSTRUCTION: [&str; 2] = [
    "lms/delegation/v1/delegation.proto",
    "lms/reporting/v1/reporting.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=PROTOC");
    // `PROTOC` wins when set; otherwise the vendored binary (setting the variable would need
    // `unsafe` in edition 2024, so hand the path to the builder instead).
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let includes = [proto_root.clone(), protoc_bin_vendored::include_path()?];
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let files = |names: &[&str]| -> Vec<PathBuf> {
        names.iter().map(|name| proto_root.join(name)).collect()
    };
    for path in files(&FINISHED).iter().chain(&files(&UNDER_CONSTRUCTION)) {
        println!("cargo:rerun-if-changed={}", path.display());
    }

    // The descriptor of every package, for reflection (messages only; the passes below write
    // the same messages again beside their services).
    let every: Vec<PathBuf> = files(&FINISHED)
        .into_iter()
        .chain(files(&UNDER_CONSTRUCTION))
        .collect();
    generate(
        &protoc,
        &every,
        &includes,
        false,
        Some(&out_dir.join("lms_descriptor.bin")),
    )?;
    generate(&protoc, &files(&FINISHED), &includes, false, None)?;
    generate(&protoc, &files(&UNDER_CONSTRUCTION), &includes, true, None)?;
    Ok(())
}

/// One protoc run over `files`; `stubs` gives servers default methods answering UNIMPLEMENTED.
fn generate(
    protoc: &Path,
    files: &[PathBuf],
    includes: &[PathBuf],
    stubs: bool,
    descriptor: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    let builder = tonic_prost_build::configure()
        .build_client(descriptor.is_none() && cfg!(feature = "client"))
        .build_server(descriptor.is_none() && cfg!(feature = "server"))
        .generate_default_stubs(stubs);
    let builder = match descriptor {
        Some(path) => builder.file_descriptor_set_path(path),
        None => builder,
    };
    builder.compile_with_config(config, files, includes)?;
    Ok(())
}
