# reassign as a container image: a static Go binary on distroless. The final image has the
# binary, CA certificates and a nonroot user (uid/gid 65532), and no shell or package
# manager. Kubernetes manifests that run it: samples/kubernetes/.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t reassign:dev .
#   docker run --rm reassign:dev --version
#   docker run --rm -v "$PWD/samples:/plan:ro" reassign:dev --sandbox --plan /plan/plan.csv --report -
#
# Multi-platform: docker buildx build --platform linux/amd64,linux/arm64 ... builds on the
# builder's own platform and cross-compiles (CGO_ENABLED=0 needs no C toolchain).

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Modules first: a source change then reuses the cached download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# As the Makefile builds it: static (no libc in the final image), reproducible paths, no
# symbol table, the version stamped in.
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/reassign .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/reassign /reassign
# The base image's nonroot user, numerically, so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
# Exec form: reassign is PID 1 and gets SIGTERM itself (it drains and exits 75).
ENTRYPOINT ["/reassign"]
