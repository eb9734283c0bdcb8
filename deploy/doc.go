// Package deploy holds what ships sluice itself, and the tests that check it
// with real parsers instead of by eye:
//
//   - docker/: the container image (Dockerfile properties; a build and a
//     /livez smoke test where a Docker engine answers);
//   - compose/: the local stack, loaded by the Compose Specification loader,
//     its app specs decoded by sluice's own spec package;
//   - kubernetes/: the Kustomize base and the proxy component, every
//     manifest decoded strictly into the real k8s.io/api types;
//   - prometheus/ and grafana/: the scrape configs, the alerting rules and
//     the dashboard, whose queries may use only the metric names sluice
//     exports;
//   - systemd/: the hardened unit.
//
// promtool, actionlint, goreleaser and systemd-analyze check the rest
// (make lint-deploy). The package has no code of its own.
package deploy
