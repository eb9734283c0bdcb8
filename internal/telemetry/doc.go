// Package telemetry sets up sluice's logs (and, as they grow, metrics and
// traces). Nothing here is global: the server builds what it needs and
// passes it to each part.
package telemetry
