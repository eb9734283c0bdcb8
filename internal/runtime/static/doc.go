// Package static is the runtime driver for instances the user runs
// themselves: for each revision of an app it is told a list of "host:port"
// addresses and reports one Running instance per address.
//
// Nothing is started or stopped: Ensure and Stop only record the desired
// state, and the health checker decides which of the addresses may take
// traffic. Instance IDs are derived from the app, revision and address, so
// they stay the same across sluice restarts.
package static
