// Package redis is the keystore backend for fleets: one session shared by
// every process and machine that reaches one Redis (a single node, a
// Sentinel-managed master or a Cluster; 7.0 or newer), each record
// encrypted with AES-256-GCM under a key from a key file ([LoadKeyFile],
// [WriteKeyFile]) that Redis never sees. Writes are compare-and-set,
// fenced by generation; [Store.Lock] is a lease lock, and [Store.Watch]
// tells a process when another one stored a new record.
//
// [Open] takes a URL ([ParseURL]: redis://, rediss://, redis-sentinel://,
// redis-cluster://) and a key file; [New] takes a go-redis client the
// program built itself.
package redis
