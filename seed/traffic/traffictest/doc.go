// Package traffictest runs the traffic workload against a real, seeded
// stack (integration tests only).
package traffictest
