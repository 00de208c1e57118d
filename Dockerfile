# syntax=docker/dockerfile:1
#
# tidings as one static binary on distroless, running as the nonroot user
# (uid 65532) with its SQLite file on the /data volume.
#
#   docker build --build-arg VERSION=1.2.3 -t tidings .
#   docker run -v tidings:/data -p 8080:8080 tidings
#
# The build step is scripts/build-static.sh, the same script CI runs and
# checks (deploy_test.go):
#   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/tidings/tidings/cli.version=$VERSION"

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN VERSION="$VERSION" sh scripts/build-static.sh /out/tidings
# The volume's mount point, owned by nonroot so the store can create its
# files there (a new named volume copies this ownership).
RUN mkdir -p /out/data && chown 65532:65532 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tidings /tidings
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV TIDINGS_DB=/data/tidings.db TIDINGS_ADDR=:8080
VOLUME /data
EXPOSE 8080
# No HEALTHCHECK: the image has no shell or curl; orchestrators probe
# GET /readyz (the store is readable and writable) and GET /healthz.
ENTRYPOINT ["/tidings"]
