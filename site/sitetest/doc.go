// Package sitetest holds fakes for testing package site and its users: an
// in-memory Store with the store's replication semantics, and a TCP Proxy
// that can cut and restore the links between boxes. It is for tests only.
package sitetest
