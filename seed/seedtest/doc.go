// Package seedtest holds the seed's integration tests: a real stack of the
// platform (stacktest.Main), seeded at small scale, then verified; each
// cross-store invariant is broken on purpose in one store and must be
// caught by verify and repaired by reset. No mocks: every test talks to
// the servers through the paths apps use.
package seedtest
