// Package redistest starts real Redis servers for tests: Debian's
// redis-server, redis-sentinel and redis-cli, run as plain processes on free
// loopback ports with a temporary directory each. [StartServer] gives one
// node, [StartCluster] a three-master Redis Cluster and [StartSentinel] a
// master, a replica and one Sentinel (quorum 1, short timeouts) with
// [Sentinel.KillMaster] to force a failover.
//
// Every process is killed in t.Cleanup (and, on Linux, when the test
// process dies). When the tools are missing the tests are skipped, or
// fail when PMX_REQUIRE_TOOLS=1 (as in CI).
package redistest
