// Package tokencache is the one token cache behind both session.Manager and
// isv.Source: a current entry read with one atomic load, stale and expired
// flags set by timers, one refresh flight at a time on a context detached
// from its first caller, back-off between failed flights, and generations
// that decide whether a flight's result may still be published.
//
// The hot path, [Cache.Token] on a fresh entry, loads one pointer and one
// flag: no lock, no clock read, no allocation.
//
// Publishing rules:
//   - A refresh flight publishes only if the entry it began from is still
//     current and no [Cache.Replace], [Cache.End] or [Cache.Close] came in
//     between (each of them starts a new epoch).
//   - [Cache.Replace] (a login) publishes only if no other Replace, End or
//     Close came since the caller took its [Cache.Epoch].
//   - [Cache.End] (a logout) always wins and ends every flight's right to
//     publish; [Cache.Close] ends everything for good.
//
// The commit hook runs under the publish lock, so a store write made there
// is never overtaken by a logout.
package tokencache
