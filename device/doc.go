// Package device will hold a device's full local replica and its sync engine
// (a go-webdav client), and the fleet simulator (DESIGN.md §3, §5; issue 5).
// It talks to the server over HTTP only: it imports syncproto, never server
// or storage. Nothing is implemented yet.
package device
