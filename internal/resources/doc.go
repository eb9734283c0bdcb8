// Package resources applies user documents to the store: it creates and
// updates resources with optimistic concurrency, makes a new revision of an
// app when its workload changes (and only then), checks what no single
// document can check alone (two apps on one address), records an event
// and a history entry (the new spec, who, when) for every change, and tells
// watchers that something changed.
package resources
