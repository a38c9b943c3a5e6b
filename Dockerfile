# syntax=docker/dockerfile:1
# The `lms` image: one binary holding every service (`lms serve <service>`, `lms migrate`,
# `lms health`), run as a non-root user on a minimal base (glibc, CA certificates, no shell).
#
# With a registry:      docker build -t lms .
# Without one (podman): make image   (builds the binary on the host and a base from its own
#                       files; see scripts/image.sh)

# The toolchain the binary is built with, and the base it runs on.
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot
# Where the binary comes from: the `build` stage below, or an image holding one at /lms
# (`make image` imports the host's build, so no toolchain image is needed).
ARG BINARY_FROM=build

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p lms-platform --bin lms \
    && strip --strip-debug -o /lms target/release/lms

FROM ${BINARY_FROM} AS binary

FROM ${BASE_IMAGE}
COPY --from=binary /lms /usr/local/bin/lms
# The uid the Kubernetes manifests run as (k8s/base): no name needed, no home, no shell.
USER 10001:10001
# mimalloc commits its arenas' memory as it is touched rather than up front: an idle service
# then holds about 30 MB rather than 45–55 MB (k8s/README.md, "Memory").
ENV MIMALLOC_ARENA_EAGER_COMMIT=0
EXPOSE 50051 50052 50053 50054
ENTRYPOINT ["/usr/local/bin/lms"]
CMD ["--help"]
