package traderapitest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pmx-login/pmx-login/traderapi"
)

// DefaultHost is the REST host an [Exchange] answers to when [Options.Host]
// is empty: the preprod one, so that the local exchange imitates preprod.
const DefaultHost = "rest.preprod.polymarketexchange.com"

// Options configure an [Exchange]. The zero value is usable.
type Options struct {
	// Host is the REST host the exchange answers to (the Host header every
	// request must carry); default [DefaultHost].
	Host string
	// Now is the exchange's clock; default [time.Now]. See also
	// [Exchange.SetNow] and [Exchange.Advance].
	Now func() time.Time
	// AccessTTL is the access token lifetime; default 1 hour.
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime; default 7 days.
	RefreshTTL time.Duration
	// JWTRefreshTokens makes refresh tokens HS256 JWTs, as in the exchange's
	// example; false gives opaque random refresh tokens.
	JWTRefreshTokens bool
	// Issuer is the "iss" claim of every JWT; default "https://" + Host.
	Issuer string
	// MinPasswordLen is the password policy's minimum length; default 12.
	MinPasswordLen int
}

// Exchange is a local Polymarket Exchange: an [http.Handler] serving the
// v1beta1 auth endpoints and insert_order. All its state is behind one mutex;
// it is safe for concurrent use. Create it with [New].
type Exchange struct {
	host, issuer          string
	accessTTL, refreshTTL time.Duration
	jwtRefresh            bool
	minPasswordLen        int
	timeFormat            string
	key                   []byte // HMAC key of every JWT and password hash; never changes
	routes                map[string]func(*http.Request, []byte) reply

	mu            sync.Mutex
	nowFn         func() time.Time
	offset        time.Duration
	users         map[string]*user
	registrations map[string]bool // jti of registration tokens already used
	access        map[string]*grant
	refresh       map[string]*grant // by SHA-256 of the token
	calls         map[string]int
	requests      []Request
	faults        map[string]*armedFault
	holds         map[string][]*Hold
	allHolds      []*Hold // every hold armed since the last ReleaseHolds
}

// New returns an exchange configured by opts, with no users.
func New(opts Options) *Exchange {
	e := &Exchange{
		host:           strings.ToLower(cmpOr(opts.Host, DefaultHost)),
		issuer:         opts.Issuer,
		accessTTL:      opts.AccessTTL,
		refreshTTL:     opts.RefreshTTL,
		jwtRefresh:     opts.JWTRefreshTokens,
		minPasswordLen: opts.MinPasswordLen,
		timeFormat:     time.RFC3339,
		key:            make([]byte, 32),
		nowFn:          opts.Now,
		users:          map[string]*user{},
		registrations:  map[string]bool{},
		access:         map[string]*grant{},
		refresh:        map[string]*grant{},
		calls:          map[string]int{},
		faults:         map[string]*armedFault{},
		holds:          map[string][]*Hold{},
	}
	_, _ = rand.Read(e.key) // crypto/rand.Read never fails
	if e.issuer == "" {
		e.issuer = "https://" + e.host
	}
	if e.accessTTL <= 0 {
		e.accessTTL = time.Hour
	}
	if e.refreshTTL <= 0 {
		e.refreshTTL = 7 * 24 * time.Hour
	}
	if e.minPasswordLen <= 0 {
		e.minPasswordLen = 12
	}
	if e.nowFn == nil {
		e.nowFn = time.Now
	}
	e.routes = map[string]func(*http.Request, []byte) reply{
		traderapi.PathRegister:       e.serveRegister,
		traderapi.PathCheckPassword:  e.serveCheckPassword,
		traderapi.PathLogin:          e.serveLogin,
		traderapi.PathRefresh:        e.serveRefresh,
		traderapi.PathLogout:         e.serveLogout,
		traderapi.PathChangePassword: e.serveChangePassword,
		traderapi.PathEnrollMFA:      e.serveEnrollMFA,
		traderapi.PathConfirmMFA:     e.serveConfirmMFA,
		traderapi.PathInsertOrder:    e.serveInsertOrder,
	}
	if e.accessTTL%time.Second != 0 || e.refreshTTL%time.Second != 0 {
		e.timeFormat = time.RFC3339Nano // sub-second lifetimes need sub-second times
	}
	return e
}

// Host returns the REST host the exchange answers to.
func (e *Exchange) Host() string { return e.host }

// AccessTTL returns the access token lifetime.
func (e *Exchange) AccessTTL() time.Duration { return e.accessTTL }

// RefreshTTL returns the refresh token lifetime.
func (e *Exchange) RefreshTTL() time.Duration { return e.refreshTTL }

// String describes the exchange without its keys or state.
func (e *Exchange) String() string {
	return fmt.Sprintf("traderapitest.Exchange{Host: %q}", e.host)
}

// GoString is [Exchange.String], so that %#v shows no key either.
func (e *Exchange) GoString() string { return e.String() }

// Now returns the exchange clock's time.
func (e *Exchange) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now()
}

// SetNow replaces the exchange clock (nil restores [time.Now]) and clears
// any [Exchange.Advance] offset.
func (e *Exchange) SetNow(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nowFn, e.offset = now, 0
}

// Advance moves the exchange clock forward by d (backward if d < 0), on top
// of whatever clock it runs on.
func (e *Exchange) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset += d
}

// now reads the clock; e.mu must be held.
func (e *Exchange) now() time.Time { return e.nowFn().Add(e.offset) }

// stamp formats a time for a response body: RFC 3339, UTC.
func (e *Exchange) stamp(t time.Time) string { return t.UTC().Format(e.timeFormat) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ServeHTTP records the request, applies any fault armed for its path, and
// otherwise answers it as the exchange would; a [Hold] armed for its path
// pauses it before the answer is written.
func (e *Exchange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The Date header comes from the exchange's clock, so a skewed clock
	// (SetNow, Advance) shows there as it would on a real server.
	w.Header().Set("Date", e.Now().UTC().Format(http.TimeFormat))
	body, tooBig := readBody(w, r)
	fault, hold := e.record(r, body)
	if tooBig {
		if hold.wait(r) {
			writeReply(w, rpcError(http.StatusRequestEntityTooLarge, codeResourceExhausted,
				fmt.Sprintf("request body over %d bytes", maxRequestBody)))
		}
		return
	}
	if fault != nil {
		e.serveFault(w, r, *fault, hold, func() reply { return e.handle(r, body) })
		return
	}
	rep := e.handle(r, body)
	if hold.wait(r) {
		writeReply(w, rep)
	}
}

// handle checks Host, method and path and runs the endpoint.
func (e *Exchange) handle(r *http.Request, body []byte) reply {
	if !e.hostMatches(r.Host) {
		return misdirected()
	}
	h, ok := e.routes[r.URL.Path]
	if !ok {
		return rpcError(http.StatusNotFound, codeNotFound, "Not Found")
	}
	if r.Method != http.MethodPost {
		rep := rpcError(http.StatusMethodNotAllowed, codeUnimplemented, "Method Not Allowed")
		rep.header.Set("Allow", http.MethodPost)
		return rep
	}
	return h(r, body)
}

// hostMatches compares a request's Host with the exchange's REST host,
// ignoring case and port.
func (e *Exchange) hostMatches(h string) bool {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.EqualFold(h, e.host)
}
