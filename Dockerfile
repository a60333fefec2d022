# reassign as a container image: a static Go binary on distroless. The final image has the
# binary, CA certificates and a nonroot user (uid/gid 65532), and no shell or package
# manager. Kubernetes samples that run it: samples/kubernetes/.
#
#   docker build -t reassign:dev \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg SOURCE="$(git remote get-url origin)" .
#   docker run --rm reassign:dev --version
#
# Run it on files in the current folder: mount it as /reports and work there, as your own
# user (the folder is yours, not uid 65532's), so that the default report lands beside the
# plan. A read-only root and a /tmp of its own are how it runs in Kubernetes too:
#
#   docker run --rm --user "$(id -u):$(id -g)" --read-only --tmpfs /tmp \
#     -v "$PWD:/reports" -w /reports reassign:dev --sandbox --plan plan.csv
#   docker run --rm --user "$(id -u):$(id -g)" --read-only --tmpfs /tmp \
#     -v "$PWD:/reports" -w /reports -e DIALNEXA_API_KEY reassign:dev --plan plan.csv --dry-run=server
#
# (-e DIALNEXA_API_KEY passes the key from your environment without writing it on the
# command line.) Multi-platform: docker buildx build --platform linux/amd64,linux/arm64 ...
# builds on the builder's own platform and cross-compiles (CGO_ENABLED=0 needs no C
# toolchain).

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
# Build arguments are per stage: declared again for the labels.
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=
# What registries and scanners show (OCI image annotations). No licenses label: the
# project states no licence yet.
LABEL org.opencontainers.image.title="reassign" \
      org.opencontainers.image.description="Moves DialNexa phone numbers between inbound agents in bulk, from a CSV or .xlsx plan, rate-limited, with a report per row" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/reassign /reassign
# The base image's nonroot user, numerically, so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
# Exec form: reassign is PID 1 and gets SIGTERM itself (it drains and exits 75).
ENTRYPOINT ["/reassign"]
