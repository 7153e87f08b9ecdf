// Package storetest checks keystore backends, the way testing/fstest
// checks file systems: [TestStore] runs the behaviour every
// [keystore.Store] owes its callers (round trips, last user, validation,
// redaction, compare-and-set, Lock) against a backend's constructor. Each
// backend's tests call it, and so may a third-party backend's; [Bench]
// measures one.
package storetest
