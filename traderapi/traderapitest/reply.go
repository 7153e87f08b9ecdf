package traderapitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/pmx-login/pmx-login/traderapi"
)

// gRPC status codes the exchange answers with.
const (
	codeInvalidArgument    = 3
	codeNotFound           = 5
	codeAlreadyExists      = 6
	codePermissionDenied   = 7
	codeResourceExhausted  = 8
	codeFailedPrecondition = 9
	codeUnimplemented      = 12
	codeUnavailable        = 14
	codeUnauthenticated    = 16
)

// maxRequestBody caps the request bodies the exchange reads.
const maxRequestBody = 1 << 20

// reply is a response before it is written: faults rewrite it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// jsonReply marshals v as the body of a reply with the given status.
func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil { // only our own types are marshalled
		return rpcError(http.StatusInternalServerError, 13, "encoding the response: "+err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return reply{status: status, header: h, body: b}
}

// rpcStatus is the gRPC-gateway error body.
type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

// rpcError is a reply in the exchange's gRPC-gateway error shape.
func rpcError(status, code int, msg string, details ...any) reply {
	if details == nil {
		details = []any{}
	}
	rep := jsonReply(status, rpcStatus{Code: code, Message: msg, Details: details})
	rep.header.Set("Grpc-Metadata-Content-Type", "application/grpc")
	return rep
}

// unauthenticated is a 401 with gRPC code 16 (UNAUTHENTICATED).
func unauthenticated(msg string) reply {
	return rpcError(http.StatusUnauthorized, codeUnauthenticated, msg)
}

// invalidArgument is a 400 with gRPC code 3 (INVALID_ARGUMENT).
func invalidArgument(msg string, details ...any) reply {
	return rpcError(http.StatusBadRequest, codeInvalidArgument, msg, details...)
}

// failedPrecondition is a 400 with gRPC code 9 (FAILED_PRECONDITION).
func failedPrecondition(msg string) reply {
	return rpcError(http.StatusBadRequest, codeFailedPrecondition, msg)
}

// misdirected is what a load balancer answers for a Host it does not serve.
func misdirected() reply {
	h := http.Header{}
	h.Set("Content-Type", "text/html")
	return reply{status: http.StatusMisdirectedRequest, header: h, body: []byte(
		"<html>\r\n<head><title>421 Misdirected Request</title></head>\r\n<body>\r\n" +
			"<center><h1>421 Misdirected Request</h1></center>\r\n</body>\r\n</html>\r\n")}
}

// writeReply writes rep with an exact Content-Length.
func writeReply(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// readBody reads at most maxRequestBody bytes of the request body; tooBig
// reports a body over the cap.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, tooBig bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	var mbe *http.MaxBytesError
	return b, errors.As(err, &mbe)
}

// decodeRequest decodes a JSON request body into v the way the exchange's
// gateway does: one object, no unknown fields. It returns the 400 to send
// when the body is not that.
func decodeRequest(body []byte, v any) *reply {
	if len(bytes.TrimSpace(body)) == 0 {
		rep := invalidArgument("request body is empty: send a JSON object")
		return &rep
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	if err == nil && d.More() {
		err = errors.New("data after the JSON object")
	}
	if err != nil {
		rep := invalidArgument(fmt.Sprintf("invalid request body: %s", describeJSONError(err)))
		return &rep
	}
	return nil
}

// describeJSONError names what is wrong with a request body without quoting
// it (it may hold a password).
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not JSON (syntax error at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be a %s", te.Field, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	if msg := err.Error(); len(msg) < 80 && bytes.HasPrefix([]byte(msg), []byte("json: unknown field")) {
		return "unknown field " + msg[len("json: unknown field "):]
	}
	return "not a JSON object"
}

// required returns the 400 for the first empty field, naming it.
func required(fields ...string) *reply {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			rep := invalidArgument(fields[i] + " is required")
			return &rep
		}
	}
	return nil
}

// credentials is the body of the calls that take a username, a password
// and, for some, a one-time code.
type credentials struct {
	Username string           `json:"username"`
	Password traderapi.Secret `json:"password"`
	OTP      traderapi.Secret `json:"otp"`
}

// decodeCredentials decodes body as credentials; the username and the
// password are required, and the code too when needOTP is set.
func decodeCredentials(body []byte, needOTP bool) (credentials, *reply) {
	var in credentials
	if rep := decodeRequest(body, &in); rep != nil {
		return in, rep
	}
	fields := []string{"username", in.Username, "password", in.Password.Reveal()}
	if needOTP {
		fields = append(fields, "otp", in.OTP.Reveal())
	}
	return in, required(fields...)
}

// withUser answers a request that carries a user's credentials: it decodes
// them (with a one-time code when needOTP), takes the exchange's lock,
// checks the password and answers with f, under the lock. A bad request
// or a wrong password is answered without calling f.
func (e *Exchange) withUser(body []byte, needOTP bool, f func(in credentials, u *user) reply) reply {
	in, rep := decodeCredentials(body, needOTP)
	if rep != nil {
		return *rep
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.checkPassword(in.Username, in.Password.Reveal())
	if !ok {
		return unauthenticated(msgBadCredentials)
	}
	return f(in, u)
}
