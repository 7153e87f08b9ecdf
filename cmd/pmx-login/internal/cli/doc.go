// Package cli is the pmx-login command line: a table of commands (see
// [commands]), each with an options struct, a flag parser and a run function,
// all terminal IO through [IOStreams], and every error turned into an exit
// code and a one-line message in one place ([exitCode], [message]).
//
// Exit codes: 0 success, 1 other failure, 2 usage, 3 not logged in or session
// expired, 4 credentials rejected (password, OTP, registration token), 5
// exchange unreachable or unavailable.
//
// Adding a command is one new file with its options, flags and run function,
// and one line in [commands].
package cli
