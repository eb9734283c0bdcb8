// Package client is a Go client of sluice's REST API. The sluice CLI uses
// nothing else to talk to a server, and other programs may import it:
//
//	c, err := client.New("http://127.0.0.1:7070", token)
//	res, err := c.Apply(ctx, yamlBytes)
//
// Errors from the server are *apiv1.Problem values carrying the HTTP status
// and, for invalid input, every field error.
package client
