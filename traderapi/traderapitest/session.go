package traderapitest

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/pmx-login/pmx-login/traderapi"
)

// loginReply is the body of a login response, exactly the documented fields.
type loginReply struct {
	AccessToken           string `json:"accessToken"`
	RefreshToken          string `json:"refreshToken"`
	AccessIssueTime       string `json:"accessIssueTime"`
	AccessExpirationTime  string `json:"accessExpirationTime"`
	RefreshIssueTime      string `json:"refreshIssueTime"`
	RefreshExpirationTime string `json:"refreshExpirationTime"`
}

// refreshReply is the body of a refresh_access_token response.
type refreshReply struct {
	AccessToken          string `json:"accessToken"`
	AccessIssueTime      string `json:"accessIssueTime"`
	AccessExpirationTime string `json:"accessExpirationTime"`
}

func (e *Exchange) serveLogin(_ *http.Request, body []byte) reply {
	return e.withUser(body, false, func(in credentials, u *user) reply {
		if u.mfaSecret != "" {
			if in.OTP == "" {
				return unauthenticated("otp required")
			}
			if !e.acceptOTP(u, u.mfaSecret, in.OTP.Reveal()) {
				return unauthenticated("invalid otp")
			}
		}
		access, ag := e.issueAccess(u.name)
		refresh, rg := e.issueRefresh(u.name)
		return jsonReply(http.StatusOK, loginReply{
			AccessToken:           access,
			RefreshToken:          refresh,
			AccessIssueTime:       e.stamp(ag.issued),
			AccessExpirationTime:  e.stamp(ag.expires),
			RefreshIssueTime:      e.stamp(rg.issued),
			RefreshExpirationTime: e.stamp(rg.expires),
		})
	})
}

func (e *Exchange) serveRefresh(_ *http.Request, body []byte) reply {
	var in struct {
		RefreshToken traderapi.Secret `json:"refreshToken"`
	}
	if rep := decodeRequest(body, &in); rep != nil {
		return *rep
	}
	if rep := required("refreshToken", in.RefreshToken.Reveal()); rep != nil {
		return *rep
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rg, err := e.checkRefresh(in.RefreshToken.Reveal())
	if err != nil {
		return unauthenticated(err.Error())
	}
	access, ag := e.issueAccess(rg.user)
	return jsonReply(http.StatusOK, refreshReply{
		AccessToken:          access,
		AccessIssueTime:      e.stamp(ag.issued),
		AccessExpirationTime: e.stamp(ag.expires),
	})
}

// serveLogout needs the raw access token both as Authorization and in the
// body, and revokes it and the refresh token (if it is the same user's).
func (e *Exchange) serveLogout(r *http.Request, body []byte) reply {
	var in struct {
		AccessToken  traderapi.Secret `json:"accessToken"`
		RefreshToken traderapi.Secret `json:"refreshToken"`
	}
	if rep := decodeRequest(body, &in); rep != nil {
		return *rep
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ag, rep := e.authorize(r)
	if rep != nil {
		return *rep
	}
	if in.AccessToken.Reveal() != r.Header.Get("Authorization") {
		return invalidArgument("accessToken must be the access token sent in the Authorization header")
	}
	ag.revoked = true
	if rg, ok := e.refresh[tokenKey(in.RefreshToken.Reveal())]; ok && rg.user == ag.user {
		rg.revoked = true
	}
	return jsonReply(http.StatusOK, struct{}{})
}

// serveInsertOrder is the sample trading endpoint: any JSON object is an
// accepted order, if the raw access token is good.
func (e *Exchange) serveInsertOrder(r *http.Request, body []byte) reply {
	var order map[string]any
	if rep := decodeRequest(body, &order); rep != nil {
		return *rep
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, rep := e.authorize(r); rep != nil {
		return *rep
	}
	return jsonReply(http.StatusOK, map[string]string{"orderId": uuid.NewString(), "status": "accepted"})
}
