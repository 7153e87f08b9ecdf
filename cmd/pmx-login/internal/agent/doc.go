// Package agent is the server of `pmx-login agent`: one process per machine
// (or pod) that owns the trader's session and, when given ISV credentials,
// the partner's token, and hands them to programs in any language.
//
// An [Agent] is built over the same [session.Manager] (and [isv.Source]) a
// Go bot uses: it resumes the stored session without a network call, keeps
// its token fresh with [session.Manager.Start], follows the store (logins,
// logouts and newer logins by other processes) and never prompts. With no
// session stored it waits, not ready, and takes up a later `pmx-login login`.
//
// Its surfaces, each served by the command on its own listener:
//
//   - the token socket ([Listen], [Agent.SocketHandler]): HTTP over a Unix
//     socket in a 0700 directory, socket 0600, every connection's peer uid
//     checked against the agent's (SO_PEERCRED on Linux, LOCAL_PEERCRED on
//     macOS; on Windows and the other systems only the directory's and the
//     socket's permissions guard it). GET /v1/token, /v1/isv/token and
//     /v1/status; [Client] is the CLI's side of it;
//   - the file sink ([Sink]): the current token written atomically each time
//     a new one is published, removed while the agent holds no valid token;
//   - the API proxy ([Agent.ProxyHandler]): forwards to the exchange with the
//     token, refreshing once and retrying once on the exchange's 401;
//   - readiness for the operations listener ([Agent.Ready]).
//
// [Serve] runs a handler on a listener until its context ends and then shuts
// it down gracefully.
package agent
