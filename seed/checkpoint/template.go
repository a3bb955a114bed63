package checkpoint

// PostgresDB names the PostgreSQL database that holds checkpoint m's copy
// of the app database. Nothing ever connects to it, so it can be the
// TEMPLATE of a CREATE DATABASE: stacktest.Isolated clones each test's own
// database from the seed's this way, without touching the app database
// (which has clients and so cannot be a template).
func (m *Manifest) PostgresDB() string { return ckPrefix + m.id() }
