# syntax=docker/dockerfile:1
#
# The release image, built by GoReleaser (.goreleaser.yaml, dockers_v2) from
# the binaries it has already built and stamped: CGO_ENABLED=0, -trimpath,
# -ldflags "-X main.version=… -X main.commit=… -X main.date=…". GoReleaser
# puts each platform's binary at $TARGETPLATFORM/sluice in the build context.
#
# The image is the same as deploy/docker/Dockerfile's final stage: distroless
# static (no shell, no package manager), a non-root user, a health check in
# exec form.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/sluice /usr/local/bin/sluice
# An empty directory owned by the non-root user, for the data directory.
COPY --from=gcr.io/distroless/static-debian12:nonroot --chown=65532:65532 /home/nonroot /var/lib/sluice

ENV SLUICE_LISTEN=0.0.0.0:7070 \
    SLUICE_DATA_DIR=/var/lib/sluice \
    SLUICE_LOG_FORMAT=json

EXPOSE 7070 8080

USER 65532:65532
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/sluice", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["server"]
